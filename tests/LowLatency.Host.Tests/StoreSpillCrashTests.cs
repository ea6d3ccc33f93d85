using System.Globalization;
using Confluent.Kafka;
using LowLatency.Connectors.Replay;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Kafka;
using LowLatency.TestSupport.Postgres;
using Npgsql;

namespace LowLatency.Host.Tests;

/// <summary>
/// The daemon as a separate process with the spill policy: PostgreSQL goes down, the sink spills to its journal and the
/// Kafka commits move on (the journal is durable), then the daemon is killed with SIGKILL in the middle of the spill.
/// PostgreSQL comes back, the daemon restarts, replays the journal and reads the rest: every candle is in PostgreSQL,
/// equal to the uninterrupted run. Without the journal's replay the candles committed during the outage would be lost.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class StoreSpillCrashTests(MockKafkaFixture kafka, PostgresServerFixture postgres)
    : IClassFixture<MockKafkaFixture>, IClassFixture<PostgresServerFixture>, IDisposable
{
    private const int Partitions = 8;
    private const string Schema = "spill_crash";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lowlatency-spill-crash-" + Guid.NewGuid().ToString("N"));
    private readonly DaemonTopics _topics = new(kafka);
    private bool _postgresStopped;

    public void Dispose()
    {
        if (_postgresStopped)
        {
            postgres.Start(); // whatever happened, the next test finds it up
        }

        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [PostgresKafkaFact]
    public void Run_KilledWhileSpillingThenRestarted_JournalReplayedAndEveryCandleInPostgres()
    {
        var input = kafka.CreateTopic("spill-crash", Partitions);
        var candles = kafka.CreateTopic("spill-crash-aggs", 4);
        var group = MockKafkaFixture.NewGroupId("spill-crash");
        var generated = new GeneratedInput(_dir, 60_000, new MarketDataGeneratorOptions { MeanGapNs = 1_000_000, MaxDepthLevelsPerSide = 5 });
        var frames = generated.Frames;
        var journal = Path.Combine(_dir, "journal");
        var spill = Path.Combine(journal, "postgres.spill");
        // 1 m candles would hold the commits back for the whole minute of input.
        var environment = _topics.ChildEnvironment(input, candles, group, Path.Combine(_dir, "out"), intervals: "1s");
        foreach (var (name, value) in new Dictionary<string, string>
        {
            ["POSTGRES_HOST"] = postgres.Host,
            ["POSTGRES_PORT"] = postgres.Port.ToString(CultureInfo.InvariantCulture),
            ["POSTGRES_USER"] = PostgresServerFixture.User,
            ["POSTGRES_PASSWORD"] = PostgresServerFixture.Password,
            ["POSTGRES_DB"] = PostgresServerFixture.Database,
            ["POSTGRES_SCHEMA"] = Schema,
            ["POSTGRES_RETENTION_DAYS"] = "36500", // the generated market time is in 2024
            ["SINK_OVERFLOW"] = "spill",
            ["SINK_JOURNAL_DIR"] = journal,
            ["SINK_BATCH_SIZE"] = "200",
        })
        {
            environment[name] = value;
        }

        var partitions = Enumerable.Range(0, Partitions).Select(p => new TopicPartition(input, p)).ToList();
        using var observer = _topics.Consumer(group); // never subscribes: reads the group's commits
        long Committed() => observer.Committed(partitions, Poll.DefaultTimeout).Sum(c => Math.Max(0, c.Offset.Value));
        var logs = new StringWriter();

        _topics.Produce(input, frames.Take(20_000));
        long committedAtOutage, committedAtKill;
        using (var first = DotnetProcess.Start("lowlatency.dll", ["run"], environment))
        {
            Poll.Until(() => { Thread.Sleep(200); return !first.HasExited && CountCandles() > 0; }, "the first candles in PostgreSQL", TimeSpan.FromSeconds(120), () => first.Output);

            postgres.Stop();
            _postgresStopped = true;
            committedAtOutage = Committed();
            _topics.Produce(input, frames.Skip(20_000).Take(20_000));

            // The sink spills and the journal counts as durable: the group commits input whose candles PostgreSQL lacks.
            long committed = 0;
            Poll.Until(
                () =>
                {
                    Thread.Sleep(200);
                    Assert.False(first.HasExited, "the daemon runs while PostgreSQL is down:\n" + first.Output);
                    committed = Committed();
                    return File.Exists(spill) && new FileInfo(spill).Length > 4096 && committed >= committedAtOutage + 10_000;
                },
                "the spill journal to grow and the commits to move on while PostgreSQL is down",
                TimeSpan.FromSeconds(120),
                () => $"committed {committed} (at the outage {committedAtOutage}), journal {(File.Exists(spill) ? new FileInfo(spill).Length : -1)} bytes\n{first.Output}");

            first.Kill();
            Assert.Equal(137, first.ExitCode); // 128 + SIGKILL: no drain, no last commit
            committedAtKill = Committed();
            logs.WriteLine($"first daemon (committed {committedAtOutage} at the outage, {committedAtKill} at the kill; journal {new FileInfo(spill).Length} bytes):\n{first.Output}");
        }

        Assert.True(File.Exists(spill) && new FileInfo(spill).Length > 4096, "the kill left a journal to replay");
        postgres.Start();
        _postgresStopped = false;
        var writtenAtKill = _topics.CountMessages(candles);

        using (var second = DotnetProcess.Start("lowlatency.dll", ["run"], environment))
        {
            _topics.Produce(input, frames.Skip(40_000));
            Poll.Until(_topics.Settled(candles, above: writtenAtKill), "the restarted daemon's output to settle", TimeSpan.FromSeconds(180), () => $"{DaemonTopics.LastCount}\n{second.Output}");
            Poll.Until(() => !File.Exists(spill), "the journal to be replayed and removed", TimeSpan.FromSeconds(60), () => second.Output);
            second.Terminate();
            Assert.True(second.WaitForExit(TimeSpan.FromSeconds(60)), "the daemon stops within a minute of SIGTERM");
            logs.WriteLine("second daemon:\n" + second.Output);
            Assert.True(second.ExitCode == 0, logs.ToString());
        }

        // Every candle in PostgreSQL equals the uninterrupted run's (rolling volatility aside), and every candle that
        // closed is there: including those whose only copy, at the kill, was the journal.
        var expected = generated.ReplayCandles(_dir, intervals: "1s");
        var stored = ReadCandles();
        var wrong = stored.Where(s => !expected.TryGetValue(s.Key, out var e) || !StoredCandles.SameCandle(e, s.Value)).Take(5).ToList();
        Assert.True(wrong.Count == 0, "rows that differ from the uninterrupted run:\n" + string.Join("\n", wrong.Select(w => $"{w.Key}: {w.Value}\nexpected {expected.GetValueOrDefault(w.Key)}")) + "\n" + logs);
        var lost = expected.Keys.Where(key => !stored.ContainsKey(key) && generated.ClosedByItsTrades(key)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} closed candles missing from PostgreSQL, e.g. {string.Join(", ", lost.Take(10))}\n{logs}");
        Assert.True(committedAtKill > committedAtOutage, "the commits moved on during the outage, so only the journal held those candles");
    }

    private long CountCandles()
    {
        try
        {
            using var connection = Open();
            using var count = new NpgsqlCommand($"SELECT count(*) FROM {Schema}.candles", connection);
            return Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return 0; // not migrated yet
        }
    }

    /// <summary>The candles table by key (SYMBOL:interval:open_ms): "open high low close volume quote_volume trades first last gap".</summary>
    private Dictionary<string, string> ReadCandles()
    {
        using var connection = Open();
        using var command = new NpgsqlCommand(
            $"""
            SELECT symbol, "interval", (extract(epoch FROM open_time) * 1000)::bigint, "open", high, low, "close", volume, quote_volume,
                   trades, first_trade_id, last_trade_id, has_gap
            FROM {Schema}.candles
            """,
            connection);
        using var reader = command.ExecuteReader();
        var rows = new Dictionary<string, string>();
        while (reader.Read())
        {
            var key = $"{reader.GetString(0)}:{reader.GetString(1)}:{reader.GetInt64(2)}";
            rows[key] = StoredCandles.Describe(reader.GetDecimal(3), reader.GetDecimal(4), reader.GetDecimal(5), reader.GetDecimal(6), reader.GetDecimal(7), reader.GetDecimal(8),
                reader.GetInt64(9), reader.GetInt64(10), reader.GetInt64(11), reader.GetBoolean(12));
        }

        return rows;
    }

    private NpgsqlConnection Open()
    {
        var connection = new NpgsqlConnection(postgres.ConnectionString + ";Pooling=false"); // the pool may hold a connection a restart killed
        connection.Open();
        return connection;
    }
}

/// <summary>A fact that needs librdkafka and PostgreSQL: skipped with the reason when one is missing.</summary>
public sealed class PostgresKafkaFactAttribute : FactAttribute
{
    public PostgresKafkaFactAttribute()
    {
        Skip = new KafkaFactAttribute().Skip ?? new PostgresFactAttribute().Skip;
    }
}

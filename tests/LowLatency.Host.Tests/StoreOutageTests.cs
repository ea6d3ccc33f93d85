using LowLatency.Connectors.Replay;
using LowLatency.Host.Daemon;
using LowLatency.Postgres;
using LowLatency.Redis;
using LowLatency.Redis.Sink;
using LowLatency.Sinks.Batching;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Kafka;
using LowLatency.TestSupport.Postgres;
using LowLatency.TestSupport.Redis;
using Npgsql;

namespace LowLatency.Host.Tests;

/// <summary>
/// A Kafka-fed daemon whose stores go away in the middle of the run: Redis, then PostgreSQL, each down for 20 s while
/// input keeps arriving. Under backpressure the engine waits for them; under spill it goes on and the journal is
/// replayed. Either way, once they are back, every candle is in both stores, each once, and memory stayed bounded.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class StoreOutageTests(MockKafkaFixture kafka, RedisServerFixture redis, PostgresServerFixture postgres)
    : IClassFixture<MockKafkaFixture>, IClassFixture<RedisServerFixture>, IClassFixture<PostgresServerFixture>, IDisposable
{
    private static readonly TimeSpan s_outage = TimeSpan.FromSeconds(20);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lowlatency-store-outage-" + Guid.NewGuid().ToString("N"));
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

    [StoresKafkaTheory]
    [InlineData(OverflowPolicy.Backpressure)]
    [InlineData(OverflowPolicy.Spill)]
    public void Run_RedisThenPostgresDownMidRun_EveryCandleInBothStoresOnceTheyReturn(OverflowPolicy overflow)
    {
        var name = "store-outage-" + overflow.ToString().ToLowerInvariant();
        var schema = name.Replace('-', '_');
        var input = kafka.CreateTopic(name, 4);
        var candles = kafka.CreateTopic(name + "-aggs", 4);
        var generated = new GeneratedInput(Path.Combine(_dir, name), 60_000, new MarketDataGeneratorOptions { MeanGapNs = 1_000_000, MaxDepthLevelsPerSide = 5 });
        using var redisServer = redis.StartServer("--appendonly", "yes", "--appendfsync", "always"); // acknowledged writes survive its kill
        var output = Path.Combine(_dir, "out");
        var journal = Path.Combine(_dir, "journal");
        var options = _topics.DaemonOptions(input, candles, MockKafkaFixture.NewGroupId(input), output) with
        {
            Redis = new RedisSinkOptions { Redis = new RedisOptions { Host = redisServer.Host, Port = redisServer.Port } },
            Postgres = new PostgresOptions
            {
                Host = postgres.Host,
                Port = postgres.Port,
                User = PostgresServerFixture.User,
                Password = PostgresServerFixture.Password,
                Database = PostgresServerFixture.Database,
                Schema = schema,
                RetentionDays = 36_500,
            },
            Sinks = new BatchingSinkOptions { Name = "sink", Overflow = overflow, JournalDirectory = journal, BatchSize = 200 },
        };

        var frames = generated.Frames.ToList();
        _topics.Produce(input, frames.Take(20_000));
        var daemon = InProcessDaemon.Start(options);
        Poll.Until(_topics.Settled(candles, above: 0), "the first part's candles", TimeSpan.FromSeconds(120), () => $"{DaemonTopics.LastCount}\n{daemon.Log}");

        redisServer.Stop();
        _topics.Produce(input, frames.Skip(20_000).Take(20_000));
        var spilledWhileRedisDown = WaitThroughOutage(daemon, journal, "redis.spill");
        redisServer.Start();

        postgres.Stop();
        _postgresStopped = true;
        _topics.Produce(input, frames.Skip(40_000));
        var spilledWhilePostgresDown = WaitThroughOutage(daemon, journal, "postgres.spill");
        postgres.Start();
        _postgresStopped = false;

        var before = 0L;
        Poll.Until(_topics.Settled(candles, above: before), "every candle after the stores are back", TimeSpan.FromSeconds(180), () => $"{DaemonTopics.LastCount}\n{daemon.Log}");
        Assert.Equal(0, daemon.Stop());
        generated.AssertCandlesEqualTheReplay(_topics.ReadCandleRecords(candles), _dir);

        // The file sink saw every candle once: both stores must hold each of them.
        var written = File.ReadLines(Path.Combine(output, "candles.jsonl")).Select(DaemonTopics.CandleKey).ToHashSet();
        using (var connection = new NpgsqlConnection(postgres.ConnectionString + ";Pooling=false")) // the pool may hold a connection the restart killed
        {
            connection.Open();
            using var count = new NpgsqlCommand($"SELECT count(*) FROM {schema}.candles", connection);
            var rows = Convert.ToInt32(count.ExecuteScalar());
            Assert.True(written.Count == rows, $"{overflow}: {rows} of {written.Count} candles in PostgreSQL\n" +
                string.Join('\n', daemon.Log.Split('\n').Where(l => l.Contains("sink", StringComparison.OrdinalIgnoreCase) || l.Contains("postgres", StringComparison.OrdinalIgnoreCase)).TakeLast(30)));
        }

        using var check = new RedisConnection(new RedisOptions { Host = redisServer.Host, Port = redisServer.Port });
        var lastCandles = File.ReadLines(Path.Combine(output, "candles.jsonl"))
            .Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement)
            .GroupBy(c => (c.GetProperty("symbol").GetString(), c.GetProperty("interval").GetString()))
            .Select(g => g.MaxBy(c => c.GetProperty("open_time").GetInt64()));
        foreach (var last in lastCandles)
        {
            var stored = check.Execute("HGET", $"candle:{last.GetProperty("symbol").GetString()}:{last.GetProperty("interval").GetString()}", "open_time").Text;
            Assert.Equal(last.GetProperty("open_time").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), stored);
        }

        if (overflow == OverflowPolicy.Spill)
        {
            Assert.True(spilledWhileRedisDown && spilledWhilePostgresDown, "each store's sink spilled while its store was down");
            Assert.False(File.Exists(Path.Combine(journal, "redis.spill")) || File.Exists(Path.Combine(journal, "postgres.spill")), "the journals were replayed and removed");
        }
    }

    /// <summary>The daemon runs on through the outage and its memory does not grow past a bound; whether the sink spilled.</summary>
    private static bool WaitThroughOutage(InProcessDaemon daemon, string journal, string spillFile)
    {
        var baseline = Environment.WorkingSet;
        var peak = baseline;
        var spilled = false;
        var end = DateTime.UtcNow + s_outage;
        while (DateTime.UtcNow < end)
        {
            Assert.True(daemon.IsRunning, "the daemon runs on while a store is down:\n" + daemon.Log);
            peak = Math.Max(peak, Environment.WorkingSet);
            spilled |= File.Exists(Path.Combine(journal, spillFile)) && new FileInfo(Path.Combine(journal, spillFile)).Length > 12;
            Thread.Sleep(100);
        }

        Assert.True(peak - baseline < 256L << 20, $"working set grew by {(peak - baseline) >> 20} MiB during the outage");
        return spilled;
    }
}

/// <summary>A theory that needs librdkafka, redis-server and PostgreSQL: skipped with the reason when one is missing.</summary>
public sealed class StoresKafkaTheoryAttribute : TheoryAttribute
{
    public StoresKafkaTheoryAttribute()
    {
        Skip = new KafkaFactAttribute().Skip ?? new RedisFactAttribute().Skip ?? new PostgresFactAttribute().Skip;
    }
}

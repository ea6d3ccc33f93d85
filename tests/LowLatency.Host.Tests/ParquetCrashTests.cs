using System.Globalization;
using Confluent.Kafka;
using LowLatency.Connectors.Replay;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Duckdb;
using LowLatency.TestSupport.Kafka;

namespace LowLatency.Host.Tests;

/// <summary>
/// The daemon as a separate process with the Parquet cold tier rolling files every few hundred rows, killed with SIGKILL
/// while it writes them. Every file a reader can see is whole (DuckDB reads them all); the restarted daemon reads its
/// input again from the last commit, and in the end every candle is in the files exactly once, equal to the
/// uninterrupted run's.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class ParquetCrashTests(MockKafkaFixture kafka) : IClassFixture<MockKafkaFixture>, IDisposable
{
    private const int Partitions = 8;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lowlatency-parquet-crash-" + Guid.NewGuid().ToString("N"));
    private readonly DaemonTopics _topics = new(kafka);

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [KafkaDuckdbFact]
    public void Run_KilledWhileWritingFilesThenRestarted_NoPartialFileAndEveryCandleExactlyOnce()
    {
        var input = kafka.CreateTopic("parquet-crash", Partitions);
        var candles = kafka.CreateTopic("parquet-crash-aggs", 4);
        var group = MockKafkaFixture.NewGroupId("parquet-crash");
        var generated = new GeneratedInput(_dir, 60_000, new MarketDataGeneratorOptions { MeanGapNs = 1_000_000, MaxDepthLevelsPerSide = 5 });
        var frames = generated.Frames;
        var cold = Path.Combine(_dir, "cold");
        var environment = _topics.ChildEnvironment(input, candles, group, Path.Combine(_dir, "out"), intervals: "1s");
        environment["PARQUET_DIR"] = cold;
        environment["PARQUET_ROLL_ROWS"] = "300"; // a roll every few batches: the kill lands among them
        environment["PARQUET_ROLL_SECONDS"] = "1";
        environment["SINK_BATCH_SIZE"] = "100";
        environment["PARQUET_TRADES"] = "true";
        var logs = new StringWriter();

        _topics.Produce(input, frames.Take(30_000));
        using (var first = DotnetProcess.Start("lowlatency.dll", ["run"], environment))
        {
            // Candle files among them: trade files reach 300 rows long before the candles' 1 s roll, and waiting for any
            // ten files once let the kill land before the first candle file was published.
            Poll.Until(() => { Thread.Sleep(100); return !first.HasExited && Visible(cold).Count >= 10 && Visible(Path.Combine(cold, "candles")).Count >= 2; }, "the first closed Parquet files, candles among them", TimeSpan.FromSeconds(120), () => first.Output);
            var producing = Task.Run(() => _topics.Produce(input, frames.Skip(30_000).Take(15_000)));
            var before = Visible(cold).Count;
            Poll.Until(() => Visible(cold).Count >= before + 5, "more files while input keeps arriving", TimeSpan.FromSeconds(60), () => first.Output);
            first.Kill();
            Assert.Equal(137, first.ExitCode); // 128 + SIGKILL: no drain, no last commit
            producing.GetAwaiter().GetResult();
            logs.WriteLine("first daemon:\n" + first.Output);
        }

        // What a reader sees after the crash: whole files only (the unfinished ones are .tmp or .sealed, not *.parquet).
        var afterKill = Visible(cold);
        using (var db = new DuckdbConnection())
        {
            var rows = long.Parse(db.Scalar($"SELECT count(*) FROM read_parquet({Glob(cold)})")!, CultureInfo.InvariantCulture);
            Assert.True(rows > 0, $"{afterKill.Count} files after the kill, all readable");
        }

        var writtenAtKill = _topics.CountMessages(candles);
        using (var second = DotnetProcess.Start("lowlatency.dll", ["run"], environment))
        {
            _topics.Produce(input, frames.Skip(45_000));
            Poll.Until(_topics.Settled(candles, above: writtenAtKill), "the restarted daemon's output to settle", TimeSpan.FromSeconds(180), () => $"{DaemonTopics.LastCount}\n{second.Output}");
            second.Terminate(); // drains: the open files close
            Assert.True(second.WaitForExit(TimeSpan.FromSeconds(60)), "the daemon stops within a minute of SIGTERM");
            logs.WriteLine("second daemon:\n" + second.Output);
            Assert.True(second.ExitCode == 0, logs.ToString());
        }

        // The restart did read input whose candles were in closed files, so the test checks what it means to.
        Assert.True(logs.ToString().Contains("rows not written again", StringComparison.Ordinal) && !logs.ToString().Contains(" 0 rows not written again", StringComparison.Ordinal), logs.ToString());
        Assert.Empty(Directory.GetFiles(cold, "*.sealed", SearchOption.AllDirectories).Concat(Directory.GetFiles(cold, "*.tmp", SearchOption.AllDirectories)));

        var stored = new Dictionary<string, string>();
        var duplicates = new List<string>();
        using (var db = new DuckdbConnection())
        {
            foreach (var r in db.Query(
                $"""
                SELECT symbol, "interval", epoch_ms(open_time), "open", high, low, "close", volume, quote_volume, trades, first_trade_id, last_trade_id, has_gap
                FROM read_parquet({Glob(cold)})
                """))
            {
                decimal D(int i) => decimal.Parse(r[i]!, CultureInfo.InvariantCulture);
                long L(int i) => long.Parse(r[i]!, CultureInfo.InvariantCulture);
                var key = $"{r[0]}:{r[1]}:{r[2]}";
                if (!stored.TryAdd(key, StoredCandles.Describe(D(3), D(4), D(5), D(6), D(7), D(8), L(9), L(10), L(11), r[12] == "true")))
                {
                    duplicates.Add(key);
                }
            }
        }

        Assert.True(duplicates.Count == 0, $"{duplicates.Count} candles are in the files more than once, e.g. {string.Join(", ", duplicates.Take(10))}\n{logs}");
        var expected = generated.ReplayCandles(_dir, intervals: "1s");
        var wrong = stored.Where(s => !expected.TryGetValue(s.Key, out var e) || !StoredCandles.SameCandle(e, s.Value)).Take(5).ToList();
        Assert.True(wrong.Count == 0, "rows that differ from the uninterrupted run:\n" + string.Join("\n", wrong.Select(w => $"{w.Key}: {w.Value}\nexpected {expected.GetValueOrDefault(w.Key)}")) + "\n" + logs);
        var lost = expected.Keys.Where(key => !stored.ContainsKey(key) && generated.ClosedByItsTrades(key)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} closed candles missing from the files, e.g. {string.Join(", ", lost.Take(10))}\n{logs}");

        // The raw trades, kept too: each exactly once, and replayed from the files they give the uninterrupted run's candles.
        var trades = generated.Frames.Count(f => System.Text.Encoding.UTF8.GetString(f.Frame).Contains("\"e\":\"trade\"", StringComparison.Ordinal));
        using (var db = new DuckdbConnection())
        {
            var counts = db.Query($"SELECT count(*), count(DISTINCT (symbol, trade_id)) FROM read_parquet({DuckdbConnection.Literal(Path.Combine(cold, "trades", "*", "*", "*.parquet"))})").Single();
            Assert.Equal($"{trades} {trades}", string.Join(' ', counts));
        }

        var replayed = Path.Combine(_dir, "replayed");
        Assert.Equal(0, Replay.ReplayCommand.Run([Path.Combine(cold, "trades"), "--out", replayed, "--no-pin", "--quiet-alerts", "--intervals", "1s"], TextWriter.Null));
        var fromTrades = File.ReadLines(Path.Combine(replayed, "candles.jsonl")).ToDictionary(DaemonTopics.CandleKey);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), fromTrades.Keys.Order(StringComparer.Ordinal));
        Assert.All(expected, e => Assert.Equal(DaemonTopics.WithoutVolatility(e.Value), DaemonTopics.WithoutVolatility(fromTrades[e.Key])));
    }

    private static List<string> Visible(string cold) =>
        Directory.Exists(cold) ? [.. Directory.GetFiles(cold, "*.parquet", SearchOption.AllDirectories)] : [];

    private static string Glob(string cold) => DuckdbConnection.Literal(Path.Combine(cold, "candles", "*", "*", "*.parquet"));
}

/// <summary>A fact that needs librdkafka and DuckDB: skipped with the reason when one is missing.</summary>
public sealed class KafkaDuckdbFactAttribute : FactAttribute
{
    public KafkaDuckdbFactAttribute()
    {
        Skip = new KafkaFactAttribute().Skip ?? new DuckdbFactAttribute().Skip;
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using LowLatency.Connectors.Replay;
using LowLatency.Host.Replay;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Kafka;

namespace LowLatency.Host.Tests;

/// <summary>
/// The daemon as a separate process, killed with SIGKILL in the middle of a run of a million messages and restarted:
/// downstream, every candle exists once by key, equal to the uninterrupted run (the replay path over the same frames).
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class DaemonCrashTests(MockKafkaFixture kafka) : IClassFixture<MockKafkaFixture>, IDisposable
{
    private const int Messages = 1_000_000;
    private const int Partitions = 64; // the mock keeps at most 5 MiB per partition
    private const long LatenessMs = 2_000;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lowlatency-crash-" + Guid.NewGuid().ToString("N"));
    private readonly DaemonTopics _topics = new(kafka);

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Run_KilledMidRunThenRestarted_EveryCandleOnceByKeyAndEqualToTheUninterruptedRun()
    {
        Directory.CreateDirectory(_dir);
        var input = kafka.CreateTopic("crash", Partitions);
        var candles = kafka.CreateTopic("crash-aggs", 32); // about 90,000 candles, compressed by the sink (zstd)
        var group = MockKafkaFixture.NewGroupId("crash");

        // A million generated frames (the recordings' mix of trades, book tickers and depth updates), 1 ms apart: about
        // 17 minutes of market time. 100 symbols with a flatter activity than the default (BTCUSDT 5% instead of 22%)
        // and zstd, so that no partition outgrows what the mock keeps. The same frames become the replay's recording.
        var recording = Path.Combine(_dir, "crash.txt");
        var frames = new List<(string Symbol, byte[] Frame)>(Messages);
        var newestTradeMs = new Dictionary<string, long>();
        var generator = new MarketDataGenerator(new MarketDataGeneratorOptions { MeanGapNs = 1_000_000, MaxDepthLevelsPerSide = 10, SymbolCount = 100, ZipfExponent = 0.5 });
        var buffer = new byte[generator.MaxFrameBytes];
        using (var writer = new StreamWriter(recording, append: false, new UTF8Encoding(false)))
        {
            for (var i = 0; i < Messages; i++)
            {
                var length = generator.WriteNext(buffer, out var timeNs);
                var symbol = generator.Symbols[generator.LastSymbolIndex];
                frames.Add((symbol, buffer[..length]));
                var text = Encoding.UTF8.GetString(buffer, 0, length);
                writer.Write(timeNs.ToString(CultureInfo.InvariantCulture));
                writer.Write(' ');
                writer.WriteLine(text);
                if (text.Contains("\"e\":\"trade\"", StringComparison.Ordinal))
                {
                    newestTradeMs[symbol] = Math.Max(newestTradeMs.GetValueOrDefault(symbol), TradeTimeMs(text));
                }
            }
        }

        _topics.Produce(input, frames, CompressionType.Zstd);
        _topics.AssertNothingDropped(input);
        frames.Clear();

        var environment = new Dictionary<string, string>
        {
            ["KAFKA_BOOTSTRAP_SERVERS"] = kafka.BootstrapServers,
            ["KAFKA_GROUP_ID"] = group,
            ["TOPIC_RAW_TRADES"] = input,
            ["TOPIC_RAW_KLINES"] = "",
            ["TOPIC_RAW_TICKERS"] = "",
            ["ASSET_PRICES_TOPIC"] = "",
            ["TOPIC_PROCESSED_AGGS"] = candles,
            ["TOPIC_ALERTS"] = candles + "-alerts",
            ["TOPIC_TICKERS"] = candles + "-tickers",
            ["DEAD_LETTER_TOPIC"] = candles + "-dead",
            ["CANDLE_INTERVALS"] = "1s,1m",
            ["KAFKA_COMPRESSION"] = "zstd",
            ["COMMIT_INTERVAL_MS"] = "200",
            ["SHARDS"] = "2",
            ["OUTPUT_DIR"] = Path.Combine(_dir, "out"),
            ["HTTP_LISTEN"] = "",
            ["LOG_LEVEL"] = "Information",
        };

        // Run, and kill -9 once the group has committed some of the input but far from all of it.
        var partitions = Enumerable.Range(0, Partitions).Select(p => new TopicPartition(input, p)).ToList();
        using var observer = _topics.Consumer(group); // never subscribes: reads the group's commits
        long committed = 0;
        using (var first = DotnetProcess.Start("lowlatency.dll", ["run"], environment))
        {
            Poll.Until(
                () =>
                {
                    Thread.Sleep(100);
                    Assert.False(first.HasExited, "the daemon runs:\n" + first.Output);
                    committed = observer.Committed(partitions, Poll.DefaultTimeout).Sum(c => Math.Max(0, c.Offset.Value));
                    return committed >= Messages / 10;
                },
                "the first daemon to commit a tenth of the input",
                TimeSpan.FromSeconds(120),
                () => $"committed {committed}\n{first.Output}");
            first.Kill();
            Assert.Equal(137, first.ExitCode); // 128 + SIGKILL: no drain, no last commit
        }

        var committedAtKill = observer.Committed(partitions, Poll.DefaultTimeout).Sum(c => Math.Max(0, c.Offset.Value));
        Assert.True(committedAtKill < Messages, $"killed in the middle: {committedAtKill} of {Messages} committed");
        var writtenAtKill = _topics.CountMessages(candles);

        // Restart: the group resumes from its last commit; stop it as an operator would once its output has settled.
        using (var second = DotnetProcess.Start("lowlatency.dll", ["run"], environment))
        {
            Poll.Until(_topics.Settled(candles, above: writtenAtKill), "the restarted daemon's output to settle", TimeSpan.FromSeconds(180), () => $"{DaemonTopics.LastCount}\n{second.Output}");
            second.Terminate();
            Assert.True(second.WaitForExit(TimeSpan.FromSeconds(60)), "the daemon stops within a minute of SIGTERM");
            Assert.True(second.ExitCode == 0, second.Output);
        }

        // The uninterrupted run: the replay path over the same frames.
        Assert.Equal(0, ReplayCommand.Run([recording, "--out", Path.Combine(_dir, "replay"), "--no-pin", "--quiet-alerts", "--intervals", "1s,1m"], TextWriter.Null));
        var expected = File.ReadLines(Path.Combine(_dir, "replay", "candles.jsonl")).ToDictionary(DaemonTopics.CandleKey, DaemonTopics.WithoutVolatility);

        // Every record equals the uninterrupted run's candle of its key (rolling volatility aside: its window restarts at
        // the resume point), so the ones written twice, before the kill and again after the restart, are identical.
        var records = _topics.ReadCandleRecords(candles);
        var wrong = records.Where(r => !expected.TryGetValue(r.Key, out var value) || value != DaemonTopics.WithoutVolatility(r.Value)).Take(5).ToList();
        Assert.True(wrong.Count == 0, "records that differ from the uninterrupted run:\n" + string.Join("\n", wrong.Select(w => $"{w.Value}\nexpected {expected.GetValueOrDefault(w.Key)}")));
        var keys = records.Select(r => r.Key).ToHashSet();
        Assert.True(records.Count > keys.Count, "the restart rewrote the candles after the last commit (at-least-once replay)");

        // Nothing lost: every candle that its symbol's own trades closed before the input ended was written.
        var lost = expected.Keys.Where(key => !keys.Contains(key) && ClosedBy(key, newestTradeMs)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} candles closed but never written, e.g. {string.Join(", ", lost.Take(10))}");
        Assert.True(keys.Count > expected.Count * 9 / 10, $"{keys.Count} of {expected.Count} candles written");
    }

    /// <summary>Whether the candle <paramref name="key"/> (SYMBOL:interval:open_ms) ends more than the lateness before its symbol's last trade.</summary>
    private static bool ClosedBy(string key, Dictionary<string, long> newestTradeMs)
    {
        var parts = key.Split(':');
        var intervalMs = parts[1] == "1s" ? 1_000 : 60_000;
        var openMs = long.Parse(parts[2], CultureInfo.InvariantCulture);
        return openMs + intervalMs + LatenessMs < newestTradeMs[parts[0]];
    }

    private static long TradeTimeMs(string frame)
    {
        using var doc = JsonDocument.Parse(frame);
        var data = doc.RootElement.TryGetProperty("data", out var d) ? d : doc.RootElement;
        return data.GetProperty("T").GetInt64();
    }
}

/// <summary>The daemon tests run one class at a time: each starts daemons that use both cores.</summary>
[CollectionDefinition(Name)]
public sealed class DaemonCollection
{
    public const string Name = "daemon";
}

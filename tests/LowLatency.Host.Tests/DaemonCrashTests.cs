using Confluent.Kafka;
using LowLatency.Connectors.Replay;
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
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lowlatency-crash-" + Guid.NewGuid().ToString("N"));
    private readonly DaemonTopics _topics = new(kafka);

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [KafkaFact]
    public void Run_KilledMidRunThenRestarted_EveryCandleOnceByKeyAndEqualToTheUninterruptedRun()
    {
        Directory.CreateDirectory(_dir);
        var input = kafka.CreateTopic("crash", Partitions);
        var candles = kafka.CreateTopic("crash-aggs", 32); // about 90,000 candles, compressed by the sink (zstd)
        var group = MockKafkaFixture.NewGroupId("crash");

        // A million generated frames (the recordings' mix of trades, book tickers and depth updates), 1 ms apart: about
        // 17 minutes of market time. 100 symbols with a flatter activity than the default (BTCUSDT 5% instead of 22%)
        // and zstd, so that no partition outgrows what the mock keeps.
        var generated = new GeneratedInput(_dir, Messages, new MarketDataGeneratorOptions { MeanGapNs = 1_000_000, MaxDepthLevelsPerSide = 10, SymbolCount = 100, ZipfExponent = 0.5 });
        var frames = generated.Frames;
        _topics.Produce(input, frames, CompressionType.Zstd);
        _topics.AssertNothingDropped(input);
        frames.Clear();

        var environment = _topics.ChildEnvironment(input, candles, group, Path.Combine(_dir, "out"));
        environment["KAFKA_COMPRESSION"] = "zstd";

        // Run, and kill -9 once the group has committed some of the input but far from all of it.
        var partitions = Enumerable.Range(0, Partitions).Select(p => new TopicPartition(input, p)).ToList();
        using var observer = _topics.Consumer(group); // never subscribes: reads the group's commits
        long committed = 0;
        var logs = new StringWriter();
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
            logs.WriteLine("first daemon:\n" + first.Output);
        }

        var commitsAtKill = observer.Committed(partitions, Poll.DefaultTimeout);
        var committedAtKill = commitsAtKill.Sum(c => Math.Max(0, c.Offset.Value));
        logs.WriteLine("commits at kill: " + string.Join(", ", commitsAtKill.Select(c => $"{c.Partition.Value}@{c.Offset.Value}")));
        Assert.True(committedAtKill < Messages, $"killed in the middle: {committedAtKill} of {Messages} committed");
        var writtenAtKill = _topics.CountMessages(candles);

        // Restart: the group resumes from its last commit; stop it as an operator would once its output has settled.
        using (var second = DotnetProcess.Start("lowlatency.dll", ["run"], environment))
        {
            Poll.Until(_topics.Settled(candles, above: writtenAtKill), "the restarted daemon's output to settle", TimeSpan.FromSeconds(180), () => $"{DaemonTopics.LastCount}\n{second.Output}");
            second.Terminate();
            Assert.True(second.WaitForExit(TimeSpan.FromSeconds(60)), "the daemon stops within a minute of SIGTERM");
            Assert.True(second.ExitCode == 0, second.Output);
            logs.WriteLine("second daemon:\n" + second.Output);
        }

        // Every record equals the uninterrupted run's candle of its key (the replay path over the same frames; rolling
        // volatility aside: its window restarts at the resume point), so the ones written twice, before the kill and
        // again after the restart, are identical; and every candle that closed was written.
        var records = _topics.ReadCandleRecords(candles);
        var keys = generated.AssertCandlesEqualTheReplay(records, _dir, logs.ToString());
        Assert.True(records.Count > keys.Count, "the restart rewrote the candles after the last commit (at-least-once replay)");
    }
}

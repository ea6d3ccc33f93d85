using LowLatency.Connectors.Replay;
using LowLatency.Host.Daemon;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Kafka;

namespace LowLatency.Host.Tests;

/// <summary>
/// The daemon while its broker is down, at start and in the middle of a run: it says so, keeps retrying, does not crash
/// or grow, and once the broker is back it writes every candle, equal to the uninterrupted run's. Each test class has
/// its own mock cluster, so taking the broker down here disturbs no other test.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class BrokerOutageTests(MockKafkaFixture kafka) : IClassFixture<MockKafkaFixture>, IDisposable
{
    private const int Broker = 1;
    private static readonly TimeSpan s_outage = TimeSpan.FromSeconds(8);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lowlatency-outage-" + Guid.NewGuid().ToString("N"));
    private readonly DaemonTopics _topics = new(kafka);

    public void Dispose()
    {
        kafka.Cluster.SetBrokerUp(Broker); // whatever happened, the next test finds it up
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [KafkaFact]
    public void Run_BrokerDownAtStart_RetriesThenWritesEveryCandle()
    {
        var (input, candles, generated) = Setup("outage-start", 20_000);
        _topics.Produce(input, generated.Frames);

        kafka.Cluster.SetBrokerDown(Broker);
        var daemon = InProcessDaemon.Start(Options(input, candles));
        WaitThroughOutage(daemon);
        kafka.Cluster.SetBrokerUp(Broker);

        Poll.Until(_topics.Settled(candles, above: 0), "the candles after the broker is back", TimeSpan.FromSeconds(120), () => $"{DaemonTopics.LastCount}\n{daemon.Log}");
        Assert.Equal(0, daemon.Stop());
        generated.AssertCandlesEqualTheReplay(_topics.ReadCandleRecords(candles), _dir);
    }

    [KafkaFact]
    public void Run_BrokerDownMidRun_RetriesThenWritesEveryCandle()
    {
        var (input, candles, generated) = Setup("outage-mid", 40_000);
        _topics.Produce(input, generated.Frames.Take(20_000));
        var daemon = InProcessDaemon.Start(Options(input, candles));
        Poll.Until(_topics.Settled(candles, above: 0), "the first half's candles", TimeSpan.FromSeconds(120), () => $"{DaemonTopics.LastCount}\n{daemon.Log}");

        kafka.Cluster.SetBrokerDown(Broker);
        WaitThroughOutage(daemon);
        kafka.Cluster.SetBrokerUp(Broker);

        var before = _topics.CountMessages(candles);
        _topics.Produce(input, generated.Frames.Skip(20_000));
        Poll.Until(_topics.Settled(candles, above: before), "the second half's candles after the broker is back", TimeSpan.FromSeconds(120), () => $"{DaemonTopics.LastCount}\n{daemon.Log}");
        Assert.Equal(0, daemon.Stop());
        generated.AssertCandlesEqualTheReplay(_topics.ReadCandleRecords(candles), _dir);
    }

    /// <summary>
    /// For the outage: the daemon keeps running, logs the broker's absence clearly (librdkafka retries with backoff),
    /// and its memory does not grow by more than a bound while nothing can be fetched or delivered.
    /// </summary>
    private static void WaitThroughOutage(InProcessDaemon daemon)
    {
        var logged = daemon.Log.Length;
        var baseline = Environment.WorkingSet;
        var peak = baseline;
        var end = DateTime.UtcNow + s_outage;
        while (DateTime.UtcNow < end)
        {
            Assert.True(daemon.IsRunning, "the daemon runs on while the broker is down:\n" + daemon.Log);
            peak = Math.Max(peak, Environment.WorkingSet);
            Thread.Sleep(100);
        }

        var during = daemon.Log[logged..];
        Assert.Contains("librdkafka retries with backoff", during, StringComparison.Ordinal);
        Assert.True(peak - baseline < 256L << 20, $"working set grew by {(peak - baseline) >> 20} MiB during the outage");
    }

    private (string Input, string Candles, GeneratedInput Generated) Setup(string name, int frames)
    {
        var input = kafka.CreateTopic(name, 4);
        var candles = kafka.CreateTopic(name + "-aggs", 4);
        var generated = new GeneratedInput(Path.Combine(_dir, name), frames, new MarketDataGeneratorOptions { MeanGapNs = 1_000_000, MaxDepthLevelsPerSide = 5 });
        return (input, candles, generated);
    }

    private DaemonOptions Options(string input, string candles) =>
        _topics.DaemonOptions(input, candles, MockKafkaFixture.NewGroupId(input), Path.Combine(_dir, "out-" + input));
}

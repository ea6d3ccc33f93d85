using System.Text.Json;
using Confluent.Kafka;
using LowLatency.Aggregation;
using LowLatency.Connectors.Replay;
using LowLatency.Engine;
using LowLatency.Kafka.Source;
using LowLatency.Market;
using LowLatency.Ring;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Kafka;

namespace LowLatency.Kafka.Tests;

/// <summary>
/// The clock committed with a partition's offset follows the marks even while an open candle pins the offset. A restart
/// starts the partition's clock from the commit; a stale clock there made a restarted daemon close and write again the
/// 1 s candles that had been written after the pinned offset (52 of them once, in the daemon's restart test).
/// </summary>
public sealed class KafkaSourceClockTests(MockKafkaFixture kafka) : IClassFixture<MockKafkaFixture>
{
    private const int Count = 10_000;

    [KafkaFact]
    public void Run_OffsetPinnedByOpenHourCandle_CommittedClockStillAdvancesToTheLastTrade()
    {
        var topic = kafka.CreateTopic("clock-pinned", 1);
        var groupId = MockKafkaFixture.NewGroupId("clock-pinned");

        // 1 ms apart: 10 s of trades, all in one hour, so the 1 h candles stay open and hold the committable offset near
        // the start while 1 s candles close and every mark completes with a later clock.
        var sent = TestClients.ProduceFrames(kafka, topic, Count, new MarketDataGeneratorOptions { MeanGapNs = 1_000_000 });
        var lastTradeNs = sent.Select(TradeTimeNs).Max();
        var firstTradeNs = sent.Select(TradeTimeNs).Where(t => t > 0).Min();
        Assert.Equal(firstTradeNs / 3_600_000_000_000, lastTradeNs / 3_600_000_000_000); // the generator's start is fixed: one hour

        var watermark = new CommitWatermark(shards: 1, durableSinks: 1, partitionCapacity: 4);
        using var pipeline = new MarketDataPipeline(new SymbolTable(256), new MarketDataPipelineOptions
        {
            Shards = 1,
            Pin = false,
            RingSize = 1024,
            CommitMarks = watermark,
            PartitionCapacity = 4,
            FlushOpenCandlesOnShutdown = false,
            Candles = new CandleAggregatorOptions { Intervals = [TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)], AllowedLateness = TimeSpan.Zero, SymbolCapacity = 256 },
        });
        pipeline.Output.HandleEventsWith(new MarkAcknowledgingHandler(watermark));
        using var source = new KafkaSource(
            new KafkaSourceOptions
            {
                BootstrapServers = kafka.BootstrapServers,
                GroupId = groupId,
                Topics = new Dictionary<string, FrameFormat> { [topic] = FrameFormat.BinanceJson },
                SessionTimeoutMs = MockKafkaFixture.SessionTimeoutMs,
                CommitInterval = TimeSpan.FromMilliseconds(100),
            },
            pipeline,
            watermark);
        pipeline.Start();
        using var stop = new CancellationTokenSource();
        var thread = new Thread(() => source.Run(stop.Token)) { Name = "test-source" };
        thread.Start();
        try
        {
            Poll.Until(() => source.Messages >= Count, "every message read", TimeSpan.FromSeconds(60), () => $"{source.Messages} read");

            // Read while the source still runs: what a crash now would leave (the drain at a clean stop commits anyway).
            using var observer = TestClients.Consumer(kafka, groupId);
            var commits = new GroupCommits(observer);
            var partition = new List<TopicPartition> { new(topic, 0) };
            var committed = default(CommittedPosition);
            Poll.Until(
                () =>
                {
                    Thread.Sleep(100);
                    committed = commits.Committed(partition, Poll.DefaultTimeout).Single();
                    return committed.ClockNs != GroupCommits.NoClock && committed.ClockNs >= lastTradeNs - 1_000_000_000;
                },
                "the committed clock to reach the last second of trades",
                TimeSpan.FromSeconds(30),
                () => $"committed offset {committed.Offset}, clock {committed.ClockNs} ns; last trade {lastTradeNs} ns, first {firstTradeNs} ns, {source.Commits} commits");

            // The case in question: the offset stayed pinned near the start by the open hour candles.
            Assert.True(committed.Offset < Count / 10, $"committed offset {committed.Offset}: the open 1 h candles should hold it near the start");
        }
        finally
        {
            stop.Cancel();
            Assert.True(thread.Join(TimeSpan.FromSeconds(60)));
            Assert.True(pipeline.Complete(TimeSpan.FromSeconds(30)));
        }
    }

    // A trade frame's trade time in ns (the clock follows trades), 0 for other frames.
    private static long TradeTimeNs(SentFrame frame)
    {
        using var document = JsonDocument.Parse(frame.Frame);
        var data = document.RootElement.TryGetProperty("data", out var wrapped) ? wrapped : document.RootElement;
        return data.TryGetProperty("e", out var kind) && kind.GetString() == "trade" ? data.GetProperty("T").GetInt64() * 1_000_000 : 0;
    }
}

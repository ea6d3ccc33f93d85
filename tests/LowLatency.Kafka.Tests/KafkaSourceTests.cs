using LowLatency.Aggregation;
using LowLatency.Engine;
using LowLatency.Kafka.Source;
using LowLatency.Market;
using LowLatency.Ring;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Kafka;

namespace LowLatency.Kafka.Tests;

/// <summary>The Kafka source against the real (mock) broker: backpressure pauses and resumes without losing a message.</summary>
public sealed class KafkaSourceTests(MockKafkaFixture kafka) : IClassFixture<MockKafkaFixture>
{
    [Fact]
    public void Run_SinkStalled_SourcePausesThenResumesAndEveryMessageArrives()
    {
        const int count = 20_000;
        var topic = kafka.CreateTopic("backpressure", partitions: 4);
        TestClients.ProduceFrames(kafka, topic, count);

        // Small rings and an output handler held at a gate: the output ring fills, then the shard waits, then the input
        // ring fills, and the source must pause rather than block or drop.
        var gate = new ManualResetEventSlim(false);
        var symbols = new SymbolTable(256);
        var watermark = new CommitWatermark(shards: 1, durableSinks: 1, partitionCapacity: 16);
        using var pipeline = new MarketDataPipeline(symbols, new MarketDataPipelineOptions
        {
            Shards = 1,
            Pin = false,
            RingSize = 256,
            CommitMarks = watermark,
            PartitionCapacity = 16,
            FlushOpenCandlesOnShutdown = false,
            Candles = new CandleAggregatorOptions { Intervals = [TimeSpan.FromSeconds(1)], SymbolCapacity = 256 },
        });
        var seen = new long[1];
        pipeline.Output.HandleEventsWith(new GatedHandler(gate, watermark, seen));
        using var source = new KafkaSource(
            new KafkaSourceOptions
            {
                BootstrapServers = kafka.BootstrapServers,
                GroupId = MockKafkaFixture.NewGroupId("backpressure"),
                Topics = new Dictionary<string, FrameFormat> { [topic] = FrameFormat.BinanceJson },
                SessionTimeoutMs = MockKafkaFixture.SessionTimeoutMs,
                CommitInterval = TimeSpan.FromMilliseconds(100),
                DrainTimeout = TimeSpan.FromSeconds(2), // a rebalance while the sink is held cannot drain; do not wait 30 s
            },
            pipeline,
            watermark);
        pipeline.Start();

        using var stop = new CancellationTokenSource();
        var thread = new Thread(() => source.Run(stop.Token)) { Name = "test-source" };
        thread.Start();
        try
        {
            Poll.Until(() => source.Pauses > 0 && source.IsPaused, "the source pauses while the sink is stalled");
            var stalledAt = source.Messages;
            Assert.True(stalledAt < count, $"{stalledAt} consumed while stalled: the pause holds the rest back");
            Assert.Equal(0, source.Commits); // nothing is durable while the sink holds everything

            gate.Set();
            Poll.Until(() => source.Messages == count && !source.IsPaused, $"all {count} messages after the sink resumes", TimeSpan.FromSeconds(60), () => $"{source.Messages} messages, paused {source.IsPaused}, {source.Pauses} pauses");
            Poll.Until(() => source.Commits > 0, "commits once the sink acknowledges marks");
        }
        finally
        {
            gate.Set();
            stop.Cancel();
            Assert.True(thread.Join(TimeSpan.FromSeconds(60)));
        }

        Assert.True(pipeline.Complete(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, source.Rejected);
        Assert.Equal(count, pipeline.Messages);
        Assert.Equal(pipeline.Events, pipeline.Shards.Sum(s => s.Handler.Counters.EventsByKind.Sum())); // every event reached the shard
    }

    /// <summary>Blocks on its first event until the gate opens; acknowledges marks (it is the one durable sink).</summary>
    private readonly struct GatedHandler(ManualResetEventSlim gate, CommitWatermark watermark, long[] seen) : IValueEventHandler<OutputEvent>
    {
        public void OnEvent(ref OutputEvent data, long sequence, bool endOfBatch)
        {
            gate.Wait();
            seen[0]++;
            if (data.Kind == OutputKind.Mark)
            {
                watermark.OnDurable(data.MarkId);
            }
        }
    }
}

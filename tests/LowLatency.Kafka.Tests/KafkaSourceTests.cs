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
/// The Kafka source against the real (mock) broker: backpressure pauses and resumes without losing a message, also when
/// the group rebalances while the partitions are paused.
/// </summary>
public sealed class KafkaSourceTests(MockKafkaFixture kafka) : IClassFixture<MockKafkaFixture>
{
    private const int Count = 20_000;
    private const int Partitions = 4;
    private static readonly TimeSpan RebalanceTimeout = TimeSpan.FromSeconds(90);

    [KafkaFact]
    public void Run_SinkStalled_SourcePausesThenResumesAndReadsEverything()
    {
        using var run = new StalledRun(kafka, "backpressure");
        run.WaitUntilPaused();

        run.Gate.Set();
        run.WaitUntilEverythingRead();
    }

    [KafkaFact]
    public void Run_StallShorterThanPauseAfter_WaitedOutWithoutPausing()
    {
        // Pausing makes librdkafka 2.0 drop the prefetched messages and fetch them again at its next fetch tick; a short
        // stall must not pay for that. The sink is held for 300 ms, well inside the source's grace.
        using var run = new StalledRun(kafka, "short-stall", pauseAfter: TimeSpan.FromSeconds(10));
        Poll.Until(() => run.Source.Messages > 0, "the source to read the first messages");
        Thread.Sleep(300);
        run.Gate.Set();
        run.WaitUntilEverythingRead();
        Assert.Equal(0, run.Source.Pauses);
    }

    [KafkaFact]
    public void Run_RebalanceWhilePaused_PartitionsFlowAgainAfterwards()
    {
        // librdkafka keeps a partition's pause flag across a re-assignment: without care, a rebalance while paused
        // leaves the re-assigned partitions paused for good and the source starves with lag on every partition.
        using var run = new StalledRun(kafka, "paused-rebalance");
        run.WaitUntilPaused();

        // A second member joins (everything is revoked from the source and split), then leaves (everything comes back).
        // Each rebalance of the mock coordinator waits for every member to rejoin, up to the session timeout: measured
        // 5 to 25 s per step on a loaded 2-core machine, so the default 30 s deadline was too tight once in CI.
        using (var other = TestClients.Consumer(kafka, run.GroupId))
        {
            other.Subscribe(run.Topic);
            Poll.Until(() => { other.Consume(50); return other.Assignment.Count > 0; }, "the second member to get partitions", RebalanceTimeout);
            other.Close();
        }

        Poll.Until(() => run.Source.AssignedPartitions == Partitions, "the source to own every partition again", RebalanceTimeout);
        run.Gate.Set();
        run.WaitUntilEverythingRead();
    }

    /// <summary>
    /// <see cref="Count"/> frames on a fresh topic, consumed by a source into small rings whose one output handler is held
    /// at <see cref="Gate"/>: the output ring fills, then the shard waits, then the input ring fills, and the source must
    /// pause rather than block or drop.
    /// </summary>
    private sealed class StalledRun : IDisposable
    {
        private readonly MockKafkaFixture _kafka;
        private readonly MarketDataPipeline _pipeline;
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread _thread;

        public StalledRun(MockKafkaFixture kafka, string name, TimeSpan? pauseAfter = null)
        {
            _kafka = kafka;
            Topic = kafka.CreateTopic(name, Partitions);
            GroupId = MockKafkaFixture.NewGroupId(name);
            // 1 ms between frames: 20 s of market time, so 1 s candles close and the commits move.
            TestClients.ProduceFrames(kafka, Topic, Count, new MarketDataGeneratorOptions { MeanGapNs = 1_000_000 });

            var watermark = new CommitWatermark(shards: 1, durableSinks: 1, partitionCapacity: 16);
            _pipeline = new MarketDataPipeline(new SymbolTable(256), new MarketDataPipelineOptions
            {
                Shards = 1,
                Pin = false,
                RingSize = 256,
                CommitMarks = watermark,
                PartitionCapacity = 16,
                FlushOpenCandlesOnShutdown = false,
                Candles = new CandleAggregatorOptions { Intervals = [TimeSpan.FromSeconds(1)], SymbolCapacity = 256 },
            });
            _pipeline.Output.HandleEventsWith(new MarkAcknowledgingHandler(watermark, Gate));
            Source = new KafkaSource(
                new KafkaSourceOptions
                {
                    BootstrapServers = kafka.BootstrapServers,
                    GroupId = GroupId,
                    Topics = new Dictionary<string, FrameFormat> { [Topic] = FrameFormat.BinanceJson },
                    SessionTimeoutMs = MockKafkaFixture.SessionTimeoutMs,
                    CommitInterval = TimeSpan.FromMilliseconds(100),
                    PauseAfter = pauseAfter ?? TimeSpan.FromMilliseconds(100),
                    DrainTimeout = TimeSpan.FromSeconds(2), // a rebalance while the sink is held cannot drain; do not wait 30 s
                },
                _pipeline,
                watermark);
            _pipeline.Start();
            _thread = new Thread(() => Source.Run(_stop.Token)) { Name = "test-source" };
            _thread.Start();
        }

        public string Topic { get; }

        public string GroupId { get; }

        public ManualResetEventSlim Gate { get; } = new(false);

        public KafkaSource Source { get; }

        public void WaitUntilPaused()
        {
            Poll.Until(() => Source.Pauses > 0 && Source.IsPaused, "the source pauses while the sink is stalled");
            Assert.True(Source.Messages < Count, $"{Source.Messages} consumed while stalled: the pause holds the rest back");
            Assert.Equal(0, Source.Commits); // nothing is durable while the sink holds everything
        }

        /// <summary>
        /// Nothing lost: the source reads every partition to its end (lag 0 with every partition assigned), and the
        /// group's commits, which the source makes only for what the sink acknowledged, move on every partition. (The
        /// commits stop short of the end by the candles still open; a rebalance may make the source read some messages
        /// again, which is allowed.)
        /// </summary>
        public void WaitUntilEverythingRead()
        {
            Poll.Until(
                () => Source.Messages >= Count && Source.AssignedPartitions == Partitions && Source.LagOf(0) == 0 && !Source.IsPaused,
                "every message read after the sink resumes",
                TimeSpan.FromSeconds(60),
                () => $"{Source.Messages} messages, lag {Source.LagOf(0)}, paused {Source.IsPaused}, {Source.Pauses} pauses, {Source.AssignedPartitions} partitions");

            var partitions = Enumerable.Range(0, Partitions).Select(p => new TopicPartition(Topic, p)).ToList();
            using var observer = TestClients.Consumer(_kafka, GroupId); // not subscribed: reads the group's commits only
            var committed = new List<TopicPartitionOffset>();
            Poll.Until(
                () =>
                {
                    Thread.Sleep(200);
                    committed = observer.Committed(partitions, Poll.DefaultTimeout);
                    return committed.All(c => c.Offset.Value > 0);
                },
                "commits on every partition after the sink resumes",
                TimeSpan.FromSeconds(30),
                () => $"committed {string.Join(", ", committed)}");
            Assert.Equal(0, Source.Rejected);
            Assert.Equal(0, Source.Rewinds); // librdkafka never skipped ahead of what the source expected
        }

        public void Dispose()
        {
            Gate.Set();
            _stop.Cancel();
            Assert.True(_thread.Join(TimeSpan.FromSeconds(60)));
            Assert.True(_pipeline.Complete(TimeSpan.FromSeconds(30)));
            Assert.Equal(_pipeline.Events, _pipeline.Shards.Sum(s => s.Handler.Counters.EventsByKind.Sum())); // every event reached the shard
            Source.Dispose();
            _pipeline.Dispose();
            _stop.Dispose();
            Gate.Dispose();
        }
    }
}

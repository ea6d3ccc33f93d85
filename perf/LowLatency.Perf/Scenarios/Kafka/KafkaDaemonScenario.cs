using System.Diagnostics;
using Confluent.Kafka;
using LowLatency.Aggregation;
using LowLatency.Engine;
using LowLatency.Kafka;
using LowLatency.Kafka.Sink;
using LowLatency.Kafka.Source;
using LowLatency.KafkaBroker;
using LowLatency.Market;
using LowLatency.Perf.Harness;

namespace LowLatency.Perf.Scenarios.Kafka;

/// <summary>
/// <c>kafka-daemon</c>: what <c>lowlatency run</c> does with the topic <c>kafka-bare-consume</c> reads, measured the
/// same way: the same generated frames in a 64-partition topic of a fresh in-process mock broker, consumed by
/// <see cref="KafkaSource"/> in a consumer group, decoded into the input ring, aggregated by one shard into 1 s … 1 h
/// candles, tickers and alerts, and produced by <see cref="KafkaSink"/> to a derived topic, with commit marks every
/// second. Measured: messages/s from the first message consumed (the group join, ~3 s with the mock, is not counted)
/// until the shard has handled the last. Compare with <c>kafka-bare-consume</c> in the same run (target ≥ 0.9×).
/// </summary>
internal sealed class KafkaDaemonScenario : IScenario
{
    public string Name => "kafka-daemon";

    public ScenarioKind Kind => ScenarioKind.Throughput;

    public string Category => KafkaScenarios.Category;

    public string Description =>
        "The same topic as kafka-bare-consume -> KafkaSource (group, commit marks) -> decode -> ring -> 1 shard -> KafkaSink (derived topic).";

    public string? Baseline => "kafka-bare-consume";

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var messages = KafkaBareConsumeScenario.FrameMessages.Get(ref KafkaBareConsumeScenario.s_messages, Math.Min(context.Options.Events, KafkaBareConsumeScenario.MaxFrames));
        var count = messages.Values.Length;
        LibRdKafka.EnsureResolvable();
        using var cluster = MockKafkaCluster.Start(
            brokers: 1,
            new MockTopic(KafkaBareConsumeScenario.Topic, KafkaBareConsumeScenario.Partitions),
            new MockTopic("processed_aggs", 8),
            new MockTopic("alerts", 8),
            new MockTopic("tickers", 8));
        KafkaBareConsumeScenario.Produce(cluster.BootstrapServers, messages.Values);

        var symbols = new SymbolTable(4096);
        var watermark = new CommitWatermark(shards: 1, durableSinks: 1, partitionCapacity: 1024);
        using var pipeline = new MarketDataPipeline(symbols, new MarketDataPipelineOptions
        {
            Shards = 1,
            Pin = context.Options.Pin,
            CommitMarks = watermark,
            FlushOpenCandlesOnShutdown = false,
        });
        using var sink = new KafkaSink(new KafkaSinkOptions { BootstrapServers = cluster.BootstrapServers }, symbols, watermark);
        pipeline.Output.HandleEventsWith(new KafkaSinkHandler(sink), context.ProcessorOptions("sink-kafka", cpu: null));
        using var source = new KafkaSource(
            new KafkaSourceOptions
            {
                BootstrapServers = cluster.BootstrapServers,
                GroupId = "lowlatency-perf-" + Guid.NewGuid().ToString("N"),
                Topics = new Dictionary<string, FrameFormat> { [KafkaBareConsumeScenario.Topic] = FrameFormat.BinanceJson },
                SessionTimeoutMs = 6_000,
            },
            pipeline,
            watermark);
        pipeline.Start();

        using var stop = new CancellationTokenSource();
        var loop = context.StartThread("source", context.NextCpu(), () => source.Run(stop.Token));
        var deadline = Stopwatch.GetTimestamp() + (long)(ScenarioContext.Timeout(count, nanosecondsPerEvent: 20_000).TotalSeconds * Stopwatch.Frequency);

        // The clock starts at the first message (after the group join), as the bare loop's starts at its assignment.
        while (source.Messages == 0)
        {
            Wait(deadline, "no message arrived");
        }

        var window = context.BeginMeasurement();
        var firstCounted = source.Messages;
        while (pipeline.Messages < count || HandledByShard(pipeline) < pipeline.Events)
        {
            Wait(deadline, $"consumed {source.Messages:N0} of {count:N0}");
        }

        var measurement = window.End(Stopwatch.GetTimestamp());
        stop.Cancel();
        if (!loop.Join(TimeSpan.FromSeconds(60)))
        {
            throw new RunAbortedException("the Kafka source did not stop.");
        }

        pipeline.Complete(TimeSpan.FromSeconds(30));
        if (source.Rejected != 0 || pipeline.Messages != count)
        {
            throw new VerificationException($"published {pipeline.Messages:N0} of {count:N0} messages, {source.Rejected:N0} rejected.");
        }

        return context.CreateResult(count - firstCounted, measurement, $"KafkaSource + 1 shard + KafkaSink ({sink.Delivered:N0} outputs delivered, {source.Commits} commits)", pipeline.Options.RingSize);
    }

    private static long HandledByShard(MarketDataPipeline pipeline) => pipeline.Shards[0].Handler.Counters.EventsByKind.Sum();

    private static void Wait(long deadline, string what)
    {
        if (Stopwatch.GetTimestamp() > deadline)
        {
            throw new RunAbortedException($"{what} before the deadline.");
        }

        Thread.Sleep(1);
    }
}

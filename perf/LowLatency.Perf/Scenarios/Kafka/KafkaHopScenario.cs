using System.Buffers.Binary;
using System.Diagnostics;
using Confluent.Kafka;
using LowLatency.Kafka;
using LowLatency.KafkaBroker;
using LowLatency.Perf.Harness;
using LowLatency.Telemetry;

namespace LowLatency.Perf.Scenarios.Kafka;

/// <summary>
/// <c>kafka-hop</c>: the broker's own floor with nothing else running, for reading <c>kafka-latency</c>'s figures. A
/// fresh mock broker, one partition, a producer with <c>kafka-latency</c>'s load settings (<c>linger.ms</c> 0, acks=all,
/// idempotent) offering one message every 2 ms, and one assigned consumer per pass: first with <c>fetch.wait.max.ms</c> 1
/// (<c>kafka-latency</c>'s consumers), then with 0 (the broker answers an empty fetch at once and the consumer fetches in a
/// loop). Measured: a Stopwatch stamp in the message just before <c>Produce</c> to its <c>Consume</c>, after a 1 s
/// warm-up per pass (the producer's connection and id set-up hold the first messages for up to a second).
/// </summary>
internal sealed class KafkaHopScenario : IScenario
{
    private const string Topic = "hop";
    private const int MaxMessagesPerPass = 2_500;
    private static readonly TimeSpan s_pace = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan s_warmup = TimeSpan.FromSeconds(1);

    public string Name => "kafka-hop";

    public ScenarioKind Kind => ScenarioKind.Latency;

    public string Category => KafkaScenarios.Category;

    public string Description =>
        "Mock broker alone, 1 partition: producer (linger.ms 0, acks=all, idempotent) at 500 msg/s -> assigned consumer; " +
        $"produce -> consume, fetch.wait.max.ms 1 (+ a second pass with 0); 1 s warm-up, then min(--latency-events, {MaxMessagesPerPass:N0}) messages per pass.";

    public string? Baseline => null;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var measured = context.IsWarmup ? 200 : Math.Min(context.Options.LatencyEvents, MaxMessagesPerPass);
        LibRdKafka.EnsureResolvable();
        using var cluster = MockKafkaCluster.Start(brokers: 1, new MockTopic(Topic, 1));
        var window = context.BeginMeasurement();
        var waitOne = Pass(context, cluster.BootstrapServers, fetchWaitMs: 1, measured, offset: 0);
        var waitZero = Pass(context, cluster.BootstrapServers, fetchWaitMs: 0, measured, offset: waitOne.Sent);
        var measurement = window.End(Stopwatch.GetTimestamp());
        return context.CreateResult(2 * measured, measurement, "mock broker alone, 500 msg/s, fetch.wait.max.ms 1", ringSize: 0, waitOne.Latency.Summarize()) with
        {
            OtherLatencies = new Dictionary<string, LatencySummary> { ["fetch.wait.max.ms 0"] = waitZero.Latency.Summarize() },
        };
    }

    private static (LatencyHistogram Latency, long Sent) Pass(ScenarioContext context, string bootstrapServers, int fetchWaitMs, long measured, long offset)
    {
        var latency = new LatencyHistogram(highestTrackableValue: 60_000_000_000);
        var warmup = (long)(s_warmup / s_pace);
        var total = warmup + measured;
        using var stop = new CancellationTokenSource();
        long received = 0, outOfOrder = 0;
        var consumer = context.StartThread($"consumer-wait-{fetchWaitMs}", cpu: null, () =>
        {
            using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig(new Dictionary<string, string> { ["fetch.wait.max.ms"] = fetchWaitMs.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            {
                BootstrapServers = bootstrapServers,
                GroupId = "lowlatency-perf-hop", // required by Confluent; the partition is assigned, so it never joins
                EnableAutoCommit = false,
                EnableAutoOffsetStore = false,
            }).Build();
            consumer.Assign(new TopicPartitionOffset(Topic, 0, offset));
            long n = 0, disorder = 0;
            while (n < total && !stop.IsCancellationRequested)
            {
                if (consumer.Consume(100) is not { } result)
                {
                    continue;
                }

                var now = Stopwatch.GetTimestamp();
                var value = result.Message.Value;
                var index = BinaryPrimitives.ReadInt64LittleEndian(value);
                disorder += index == n ? 0 : 1;
                if (index >= warmup)
                {
                    latency.Record(Timing.TicksToNanoseconds(now - BinaryPrimitives.ReadInt64LittleEndian(value.AsSpan(8))));
                }

                n++;
            }

            (received, outOfOrder) = (n, disorder);
        });

        using (var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 0,
        }).Build())
        {
            var partition = new TopicPartition(Topic, 0);
            var pace = (long)(s_pace.TotalSeconds * Stopwatch.Frequency);
            var due = Stopwatch.GetTimestamp();
            for (var i = 0L; i < total; i++)
            {
                while (Stopwatch.GetTimestamp() < due)
                {
                    Thread.Sleep(1);
                }

                due += pace;
                var value = new byte[16];
                BinaryPrimitives.WriteInt64LittleEndian(value, i);
                BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(8), Stopwatch.GetTimestamp());
                producer.Produce(partition, new Message<Null, byte[]> { Value = value });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        if (!consumer.Join(TimeSpan.FromSeconds(60)))
        {
            stop.Cancel();
            consumer.Join(TimeSpan.FromSeconds(10));
            throw new RunAbortedException($"the consumer (fetch.wait.max.ms {fetchWaitMs}) received {received:N0} of {total:N0} messages within a minute of the last produce.");
        }

        if (received != total || outOfOrder != 0 || latency.NegativeCount != 0)
        {
            throw new VerificationException($"fetch.wait.max.ms {fetchWaitMs}: received {received:N0} of {total:N0}, {outOfOrder:N0} out of order, {latency.NegativeCount:N0} before they were produced.");
        }

        return (latency, total);
    }
}

using System.Diagnostics;
using Confluent.Kafka;
using LowLatency.Kafka;
using LowLatency.KafkaBroker;
using LowLatency.Perf.Harness;
using LowLatency.Perf.Scenarios.Replay;

namespace LowLatency.Perf.Scenarios.Kafka;

/// <summary>The Kafka scenarios: a real broker (librdkafka's mock cluster, in this process) filled with generated frames.</summary>
internal static class KafkaScenarios
{
    /// <summary>The group name on the command line.</summary>
    public const string Category = "kafka";

    public static IEnumerable<IScenario> All() => [new KafkaBareConsumeScenario(), new KafkaDaemonScenario(), new KafkaLatencyScenario(), new KafkaHopScenario()];
}

/// <summary>
/// <c>kafka-bare-consume</c>: the baseline for Kafka ingest, what a plain Confluent.Kafka consumer achieves on this machine.
/// Each run starts a fresh mock broker, fills a 64-partition topic with generated Binance frames (timed: the
/// <c>produce</c> rate), then a pinned thread assigns every partition and runs the usual <c>Consume</c> loop until the
/// last message, touching each value but decoding nothing. Measured: messages/s from the assignment to the last
/// message. Verified: the broker kept every message (watermarks), and the loop saw them all, byte for byte in total.
/// </summary>
/// <remarks>
/// The broker runs in this process (its threads are native and compete for the same cores, as a broker process on the
/// same machine would); the daemon's Kafka scenario will be compared with this one in the same run.
/// </remarks>
internal sealed class KafkaBareConsumeScenario : IScenario
{
    /// <summary>Partitions of the topic. The mock keeps at most 5 MiB a partition (older data is dropped silently).</summary>
    public const int Partitions = 64;

    /// <summary>Frames per run at most: 1 M generated frames average 250 B, 3.7 MiB a partition, within the mock's 5 MiB.</summary>
    internal const long MaxFrames = 1_000_000;

    internal const string Topic = "binance.frames";

    /// <summary>How long the loop waits in one <c>Consume</c> call (what <c>Consume(CancellationToken)</c> does internally).</summary>
    private const int ConsumeTimeoutMs = 100;

    private static readonly TimeSpan s_giveUpMargin = TimeSpan.FromSeconds(5);

    internal static FrameMessages? s_messages;

    public string Name => "kafka-bare-consume";

    public ScenarioKind Kind => ScenarioKind.Throughput;

    public string Category => KafkaScenarios.Category;

    public string Description =>
        $"Mock Kafka broker in process, {Partitions}-partition topic filled with min(--events, {MaxFrames:N0}) generated Binance frames " +
        "(produce rate reported too) -> bare Confluent.Kafka Consume loop on a pinned thread touching each value, no decode.";

    public string? Baseline => null;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var messages = FrameMessages.Get(ref s_messages, Math.Min(context.Options.Events, MaxFrames));
        var count = messages.Values.Length;
        LibRdKafka.EnsureResolvable();
        using var cluster = MockKafkaCluster.Start(brokers: 1, new MockTopic(Topic, Partitions));
        var produceSeconds = Produce(cluster.BootstrapServers, messages.Values);

        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "lowlatency-perf", // required by Confluent; partitions are assigned, not subscribed, so it never joins
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
        }).Build();
        VerifyStored(consumer, count);

        var partitions = Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(Topic, p, Offset.Beginning)).ToArray();
        var timeout = ScenarioContext.Timeout(count, nanosecondsPerEvent: 20_000);
        var gate = new StartGate();
        var signal = new CompletionSignal();
        long consumed = 0, bytes = 0, checksum = 0;
        var loop = context.StartThread("consumer", context.NextCpu(), () =>
        {
            gate.Wait();
            // Assigned only now: fetching starts with the assignment, so nothing is prefetched before the window opens.
            consumer.Assign(partitions);
            // Give up before the harness does, so this thread has left the consumer when the run is aborted and disposes it.
            var giveUp = Stopwatch.GetTimestamp() + (long)((timeout - s_giveUpMargin).TotalSeconds * Stopwatch.Frequency);
            long n = 0, b = 0, sum = 0;
            while (n < count)
            {
                if (consumer.Consume(ConsumeTimeoutMs) is not { } result)
                {
                    if (Stopwatch.GetTimestamp() > giveUp)
                    {
                        throw new TimeoutException($"received {n:N0} of {count:N0} messages before giving up.");
                    }

                    continue;
                }

                var value = result.Message.Value;
                n++;
                b += value.Length;
                sum += value[0] + value[^1];
            }

            signal.Complete(Stopwatch.GetTimestamp());

            // Read by the main thread after it has joined this one.
            (consumed, bytes, checksum) = (n, b, sum);
        });

        var window = context.BeginMeasurement();
        gate.Open();
        context.AwaitCompletion(signal, timeout, progress: null, loop);
        var measurement = window.End(signal.EndTimestamp);

        if (consumed != count || bytes != messages.Bytes || checksum != messages.Checksum)
        {
            throw new VerificationException(
                $"consumed {consumed:N0} of {count:N0} messages, {bytes:N0} of {messages.Bytes:N0} bytes, checksum {checksum} (expected {messages.Checksum}).");
        }

        return context.CreateResult(count, measurement, $"Consume({ConsumeTimeoutMs} ms) loop, librdkafka {LibRdKafka.Version}", ringSize: 0) with
        {
            OtherRates = new Dictionary<string, double> { ["produce"] = count / produceSeconds },
        };
    }

    /// <summary>
    /// Produces every message, round-robin over the partitions (a key per symbol would put BTCUSDT's fifth of the traffic
    /// on one partition, past the mock's 5 MiB), and returns the seconds from the first produce until the broker had
    /// acknowledged the last. The producer keeps its defaults except a queue that holds the whole run, so the figure is
    /// the client's and the broker's pace, not time spent waiting for room.
    /// </summary>
    internal static double Produce(string bootstrapServers, byte[][] values)
    {
        using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            EnableDeliveryReports = false, // the consume verifies delivery, message for message
            QueueBufferingMaxMessages = Math.Max(100_000, values.Length),
        }).Build();
        var partitions = Enumerable.Range(0, Partitions).Select(p => new TopicPartition(Topic, p)).ToArray();
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < values.Length; i++)
        {
            var message = new Message<Null, byte[]> { Value = values[i] };
            while (true)
            {
                try
                {
                    producer.Produce(partitions[i % Partitions], message);
                    break;
                }
                catch (ProduceException<Null, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(1));
                }
            }
        }

        var unsent = producer.Flush(TimeSpan.FromMinutes(2));
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (unsent != 0)
        {
            throw new RunAbortedException($"{unsent:N0} messages were still unacknowledged two minutes after the last produce.");
        }

        return seconds;
    }

    /// <summary>Checks that the broker holds every message: the mock drops a partition's oldest data past 5 MiB, silently.</summary>
    internal static void VerifyStored(IConsumer<Ignore, byte[]> consumer, long expected)
    {
        long stored = 0;
        for (var p = 0; p < Partitions; p++)
        {
            var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(Topic, p), TimeSpan.FromSeconds(30));
            if (watermarks.Low != 0)
            {
                throw new VerificationException($"partition {p} starts at offset {watermarks.Low}: the mock dropped data (more than 5 MiB a partition).");
            }

            stored += watermarks.High;
        }

        if (stored != expected)
        {
            throw new VerificationException($"the broker holds {stored:N0} of {expected:N0} produced messages.");
        }
    }

    /// <summary>Generated frames as Confluent.Kafka wants message values (an array each), built once per process.</summary>
    internal sealed class FrameMessages
    {
        public required byte[][] Values { get; init; }

        /// <summary>Total bytes of all values.</summary>
        public required long Bytes { get; init; }

        /// <summary>Sum of every value's first and last byte: what the consume loop computes.</summary>
        public required long Checksum { get; init; }

        public static FrameMessages Get(ref FrameMessages? cache, long count)
        {
            if (cache is { } cached && cached.Values.Length == count)
            {
                return cached;
            }

            ReplayThroughputScenario.GeneratedFrames? frames = null;
            frames = ReplayThroughputScenario.GeneratedFrames.Get(ref frames, count);
            var values = new byte[frames.Count][];
            long checksum = 0;
            for (var i = 0; i < values.Length; i++)
            {
                var value = frames.Bytes.AsSpan(frames.Offsets[i], frames.Offsets[i + 1] - frames.Offsets[i]).ToArray();
                values[i] = value;
                checksum += value[0] + value[^1];
            }

            return cache = new FrameMessages { Values = values, Bytes = frames.Bytes.LongLength, Checksum = checksum };
        }
    }
}

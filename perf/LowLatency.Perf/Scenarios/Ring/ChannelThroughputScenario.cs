using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using LowLatency.Perf.Harness;

namespace LowLatency.Perf.Scenarios.Ring;

/// <summary>
/// <c>channel-1p1c</c>: the baseline for the one-producer ring scenarios: what a .NET user would otherwise write. A
/// bounded <see cref="Channel{T}"/> of the ring's capacity with <c>SingleWriter</c>/<c>SingleReader</c> set, driven
/// synchronously from two dedicated threads pinned like the ring's: the producer calls <c>TryWrite</c> and, when full,
/// blocks on <c>WaitToWriteAsync</c>; the consumer drains with <c>TryRead</c> and, when empty, blocks on
/// <c>WaitToReadAsync</c>. Verified: the consumer's count and sum.
/// </summary>
internal sealed class ChannelThroughputScenario : IScenario
{
    public const string ScenarioName = "channel-1p1c";

    public string Name => ScenarioName;

    public ScenarioKind Kind => ScenarioKind.Throughput;

    public string Category => RingScenarios.Category;

    public string Description =>
        "Baseline: bounded Channel<long> (capacity = ring size, single reader/writer), producer TryWrite with a blocking " +
        "WaitToWriteAsync fallback (CPU 0), consumer TryRead with a blocking WaitToReadAsync fallback (CPU 1). Verifies count and sum.";

    public string? Baseline => null;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var events = context.Options.Events;
        var capacity = context.RingSize(Kind);
        var producerCpu = context.NextCpu();
        var consumerCpu = context.NextCpu();

        var channel = Channel.CreateBounded<long>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,

            // The default: continuations of the async waits run on the thread pool, never inline on the other side's thread.
            AllowSynchronousContinuations = false,
        });

        var signal = new CompletionSignal();
        var consumerState = new ConsumerState(events, signal);
        var gate = new StartGate();
        var producer = context.StartThread("producer", producerCpu, () => Produce(channel.Writer, events, gate));
        var consumer = context.StartThread("consumer", consumerCpu, () => Consume(channel.Reader, consumerState));

        var window = context.BeginMeasurement();
        gate.Open();
        context.AwaitCompletion(signal, ScenarioContext.Timeout(events, nanosecondsPerEvent: 1_000), progress: null, producer);
        var measurement = window.End(signal.EndTimestamp);

        if (!consumer.Join(TimeSpan.FromSeconds(10)))
        {
            throw new RunAbortedException("the channel consumer did not exit after the channel completed.");
        }

        var expectedSum = events * (events - 1) / 2;
        if (consumerState.Count != events || consumerState.Sum != expectedSum)
        {
            throw new VerificationException($"consumer saw {consumerState.Count} events summing to {consumerState.Sum}; expected {events} summing to {expectedSum}.");
        }

        return context.CreateResult(events, measurement, "n/a (channel waits)", capacity);
    }

    private static void Produce(ChannelWriter<long> writer, long events, StartGate gate)
    {
        gate.Wait();
        for (long i = 0; i < events; i++)
        {
            while (!writer.TryWrite(i))
            {
                WaitToWrite(writer);
            }
        }

        writer.Complete();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WaitToWrite(ChannelWriter<long> writer)
    {
        var wait = writer.WaitToWriteAsync();
        var canWrite = wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
        if (!canWrite)
        {
            throw new InvalidOperationException("The channel was completed while the producer was still writing.");
        }
    }

    private static void Consume(ChannelReader<long> reader, ConsumerState state)
    {
        long sum = 0;
        long count = 0;
        var events = state.Events;
        do
        {
            while (reader.TryRead(out var value))
            {
                sum += value;
                if (++count == events)
                {
                    state.Signal.Complete(Stopwatch.GetTimestamp());
                }
            }
        }
        while (WaitToRead(reader));

        state.Sum = sum;
        state.Count = count;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool WaitToRead(ChannelReader<long> reader)
    {
        var wait = reader.WaitToReadAsync();
        return wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>The consumer's inputs and results; written by the consumer thread, read after it has been joined.</summary>
    private sealed class ConsumerState(long events, CompletionSignal signal)
    {
        public long Events { get; } = events;

        public CompletionSignal Signal { get; } = signal;

        public long Sum { get; set; }

        public long Count { get; set; }
    }
}

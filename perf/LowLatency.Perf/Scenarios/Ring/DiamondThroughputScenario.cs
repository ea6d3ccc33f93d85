using System.Diagnostics;
using System.Runtime.CompilerServices;
using LowLatency.Perf.Harness;
using LowLatency.Ring;

namespace LowLatency.Perf.Scenarios.Ring;

/// <summary>The event of <c>ring-diamond</c>: a value and the flags two parallel consumers set on it.</summary>
internal struct FizzBuzzEvent
{
    public long Value;
    public bool Fizz;
    public bool Buzz;
}

/// <summary>
/// <c>ring-diamond</c>: one producer; B (fizz: value divisible by 3) and C (buzz: by 5) run in parallel after it; D runs
/// after both and counts fizz, buzz and fizz-buzz events (Disruptor-net's OneToThreeDiamondSequencedThroughputTest). B and
/// C write different fields of the same slot, so the diamond also pays for that false sharing, as the original does.
/// Verified: D's three counts, which are only right if D saw both B's and C's writes for the same lap.
/// </summary>
internal sealed class DiamondThroughputScenario : IScenario
{
    public string Name => "ring-diamond";

    public ScenarioKind Kind => ScenarioKind.Throughput;

    public string Category => RingScenarios.Category;

    public string Description =>
        "1 producer -> B (fizz, value % 3 == 0) and C (buzz, value % 5 == 0) in parallel -> D after both, counting fizz, buzz " +
        "and fizz-buzz. 4 hot threads: on fewer than 4 cores the consumers yield by default.";

    public string? Baseline => null;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var events = context.Options.Events;
        var ringSize = context.RingSize(Kind);
        var wait = context.ResolveWaitStrategy(busyThreads: 4);
        var producerCpu = context.NextCpu();
        var cpuB = context.NextCpu();
        var cpuC = context.NextCpu();
        var cpuD = context.NextCpu();

        var signal = new CompletionSignal();
        using var disruptor = new ValueDisruptor<FizzBuzzEvent>(ringSize, ProducerType.Single, wait.Create());
        var fizz = disruptor.AddConsumer(context, "fizz-b", cpuB, new FizzHandler());
        var buzz = disruptor.AddConsumer(context, "buzz-c", cpuC, new BuzzHandler());
        var join = disruptor.After(fizz, buzz).AddConsumer(context, "fizzbuzz-d", cpuD, new FizzBuzzHandler(lastSequence: events - 1, signal));
        var ring = disruptor.RingBuffer;
        var gate = new StartGate();
        var producer = context.StartThread("producer", producerCpu, () => Produce(ring, events, gate));

        // Producers first (they wait at the gate), so the report lists threads in pipeline order.
        disruptor.Start();
        context.Track(disruptor.Threads);

        var window = context.BeginMeasurement();
        gate.Open();
        context.AwaitCompletion(signal, ScenarioContext.Timeout(events, nanosecondsPerEvent: 1_000), join.Sequence, producer);
        var measurement = window.End(signal.EndTimestamp);

        disruptor.Halt();
        ref var handler = ref join.Handler.Inner;

        // Values 0 .. events-1: multiples of k among them number ceil(events / k).
        long Multiples(long k) => (events + k - 1) / k;
        if (handler.Count != events
            || handler.FizzCount != Multiples(3)
            || handler.BuzzCount != Multiples(5)
            || handler.FizzBuzzCount != Multiples(15))
        {
            throw new VerificationException(
                $"D saw {handler.Count} events, {handler.FizzCount} fizz, {handler.BuzzCount} buzz, {handler.FizzBuzzCount} fizz-buzz; " +
                $"expected {events}, {Multiples(3)}, {Multiples(5)}, {Multiples(15)}.");
        }

        return context.CreateResult(events, measurement, wait.Description, ringSize);
    }

    private static void Produce(ValueRingBuffer<FizzBuzzEvent> ring, long events, StartGate gate)
    {
        gate.Wait();
        for (long i = 0; i < events; i++)
        {
            var sequence = ring.Next();
            ring[sequence].Value = i;
            ring.Publish(sequence);
        }
    }
}

internal struct FizzHandler : IValueEventHandler<FizzBuzzEvent>
{
    public readonly void OnEvent(ref FizzBuzzEvent data, long sequence, bool endOfBatch) => data.Fizz = data.Value % 3 == 0;
}

internal struct BuzzHandler : IValueEventHandler<FizzBuzzEvent>
{
    public readonly void OnEvent(ref FizzBuzzEvent data, long sequence, bool endOfBatch) => data.Buzz = data.Value % 5 == 0;
}

/// <summary>The diamond's join: counts the flags B and C set, and stamps the end of the run on the last sequence.</summary>
internal struct FizzBuzzHandler : IValueEventHandler<FizzBuzzEvent>
{
    private readonly long _lastSequence;
    private readonly CompletionSignal _signal;

    public FizzBuzzHandler(long lastSequence, CompletionSignal signal)
    {
        _lastSequence = lastSequence;
        _signal = signal;
    }

    public long Count { get; private set; }

    public long FizzCount { get; private set; }

    public long BuzzCount { get; private set; }

    public long FizzBuzzCount { get; private set; }

    public void OnEvent(ref FizzBuzzEvent data, long sequence, bool endOfBatch)
    {
        Count++;
        if (data.Fizz)
        {
            FizzCount++;
        }

        if (data.Buzz)
        {
            BuzzCount++;
        }

        if (data.Fizz && data.Buzz)
        {
            FizzBuzzCount++;
        }

        if (sequence == _lastSequence)
        {
            Complete(_signal);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Complete(CompletionSignal signal) => signal.Complete(Stopwatch.GetTimestamp());
}

using System.Diagnostics;
using System.Runtime.CompilerServices;
using LowLatency.Perf.Harness;
using LowLatency.Ring;

namespace LowLatency.Perf.Scenarios.Ring;

/// <summary>The event of the simple throughput scenarios: one long, 8 bytes, eight to a cache line.</summary>
internal struct LongEvent
{
    public long Value;
}

/// <summary>
/// <c>ring-1p1c</c> and <c>ring-1p1c-batch</c>: one producer publishing 0, 1, 2, ... and one
/// <see cref="BatchEventProcessor{T, THandler}"/> summing them (Disruptor-net's OneToOneSequencedThroughputTest and its
/// batch variant). The producer claims and publishes one slot at a time, or <see cref="BatchSize"/> at a time with
/// <c>Next(n)</c> / <c>Publish(lo, hi)</c>. Verified: the consumer's count and sum.
/// </summary>
internal sealed class OneToOneThroughputScenario : IScenario
{
    /// <summary>Slots claimed per <c>Next(n)</c> in the batch variant (Disruptor-net uses 10 too).</summary>
    public const int BatchSize = 10;

    private readonly bool _batched;

    public OneToOneThroughputScenario(bool batched)
    {
        _batched = batched;
    }

    public string Name => _batched ? "ring-1p1c-batch" : "ring-1p1c";

    public ScenarioKind Kind => ScenarioKind.Throughput;

    public string Category => RingScenarios.Category;

    public string Description => _batched
        ? $"1 producer claiming and publishing {BatchSize} slots per Next({BatchSize})/Publish(lo, hi) (CPU 0) -> 1 BatchEventProcessor summing them (CPU 1). Verifies count and sum."
        : "1 producer, Next/write/Publish one slot at a time (CPU 0) -> 1 BatchEventProcessor summing the values (CPU 1). Verifies count and sum.";

    public string? Baseline => ChannelThroughputScenario.ScenarioName;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var events = _batched ? context.Options.Events / BatchSize * BatchSize : context.Options.Events;
        if (events == 0)
        {
            throw new VerificationException($"--events must be at least {BatchSize} for {Name}.");
        }

        var ringSize = context.RingSize(Kind);
        var wait = context.ResolveWaitStrategy(busyThreads: 2);
        var producerCpu = context.NextCpu();
        var consumerCpu = context.NextCpu();

        var signal = new CompletionSignal();
        using var disruptor = new ValueDisruptor<LongEvent>(ringSize, ProducerType.Single, wait.Create());
        var consumer = disruptor.AddConsumer(context, "consumer", consumerCpu, new SumHandler(lastSequence: events - 1, signal));
        var ring = disruptor.RingBuffer;
        var gate = new StartGate();
        var producer = context.StartThread("producer", producerCpu, _batched
            ? () => ProduceBatches(ring, events, gate)
            : () => Produce(ring, events, gate));

        // Producers first (they wait at the gate), so the report lists threads in pipeline order.
        disruptor.Start();
        context.Track(disruptor.Threads);

        var window = context.BeginMeasurement();
        gate.Open();
        context.AwaitCompletion(signal, ScenarioContext.Timeout(events, nanosecondsPerEvent: 1_000), consumer.Sequence, producer);
        var measurement = window.End(signal.EndTimestamp);

        disruptor.Halt();
        ref var handler = ref consumer.Handler.Inner;
        var expectedSum = events * (events - 1) / 2;
        if (handler.Count != events || handler.Sum != expectedSum)
        {
            throw new VerificationException($"consumer saw {handler.Count} events summing to {handler.Sum}; expected {events} summing to {expectedSum}.");
        }

        return context.CreateResult(events, measurement, wait.Description, ringSize);
    }

    /// <summary>The producer's loop: nothing but claim, write, publish.</summary>
    private static void Produce(ValueRingBuffer<LongEvent> ring, long events, StartGate gate)
    {
        gate.Wait();
        for (long i = 0; i < events; i++)
        {
            var sequence = ring.Next();
            ring[sequence].Value = i;
            ring.Publish(sequence);
        }
    }

    /// <summary>The batch producer's loop; <paramref name="events"/> is a multiple of <see cref="BatchSize"/>.</summary>
    private static void ProduceBatches(ValueRingBuffer<LongEvent> ring, long events, StartGate gate)
    {
        gate.Wait();
        for (long i = 0; i < events; i += BatchSize)
        {
            var hi = ring.Next(BatchSize);
            var lo = hi - (BatchSize - 1);
            for (var sequence = lo; sequence <= hi; sequence++)
            {
                // The ring starts at sequence 0 each run, so the sequence is the value (i + offset in the batch).
                ring[sequence].Value = sequence;
            }

            ring.Publish(lo, hi);
        }
    }
}

/// <summary>Sums and counts the values; on the run's last sequence, stamps the end of the measured window.</summary>
internal struct SumHandler : IValueEventHandler<LongEvent>
{
    private readonly long _lastSequence;
    private readonly CompletionSignal _signal;

    public SumHandler(long lastSequence, CompletionSignal signal)
    {
        _lastSequence = lastSequence;
        _signal = signal;
    }

    public long Sum { get; private set; }

    public long Count { get; private set; }

    public void OnEvent(ref LongEvent data, long sequence, bool endOfBatch)
    {
        Sum += data.Value;
        Count++;
        if (sequence == _lastSequence)
        {
            Complete(_signal);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Complete(CompletionSignal signal) => signal.Complete(Stopwatch.GetTimestamp());
}

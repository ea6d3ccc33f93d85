using System.Diagnostics;
using System.Runtime.CompilerServices;
using LowLatency.Perf.Harness;
using LowLatency.Ring;

namespace LowLatency.Perf.Scenarios.Ring;

/// <summary>The event of <c>ring-3p1c</c>: which producer published it and that producer's running number.</summary>
internal struct ProducerEvent
{
    public long Value;
    public int ProducerId;
}

/// <summary>
/// <c>ring-3p1c</c>: three producer threads on a multi-producer ring, each publishing 0, 1, 2, ..., and one consumer
/// (Disruptor-net's ThreeToOneSequencedThroughputTest). Verified: the count, the sum, and that every producer's values
/// arrive in the order it published them, none missing or repeated.
/// </summary>
internal sealed class ThreeToOneThroughputScenario : IScenario
{
    private const int Producers = 3;

    public string Name => "ring-3p1c";

    public ScenarioKind Kind => ScenarioKind.Throughput;

    public string Category => RingScenarios.Category;

    public string Description =>
        $"{Producers} producers on a multi-producer ring -> 1 BatchEventProcessor checking each producer's order. " +
        "4 hot threads: on fewer than 4 cores the consumer yields by default (busy-spinning would starve a producer).";

    public string? Baseline => null;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var perProducer = context.Options.Events / Producers;
        var events = perProducer * Producers;
        if (events == 0)
        {
            throw new VerificationException($"--events must be at least {Producers} for {Name}.");
        }

        var ringSize = context.RingSize(Kind);
        var wait = context.ResolveWaitStrategy(busyThreads: Producers + 1);
        var producerCpus = new int?[Producers];
        for (var p = 0; p < Producers; p++)
        {
            producerCpus[p] = context.NextCpu();
        }

        var consumerCpu = context.NextCpu();

        var signal = new CompletionSignal();
        using var disruptor = new ValueDisruptor<ProducerEvent>(ringSize, ProducerType.Multi, wait.Create());
        var consumer = disruptor.AddConsumer(context, "consumer", consumerCpu, new PerProducerOrderHandler(Producers, lastSequence: events - 1, signal));
        var ring = disruptor.RingBuffer;
        var gate = new StartGate();
        var producers = new DedicatedThread[Producers];
        for (var p = 0; p < Producers; p++)
        {
            var producerId = p;
            producers[p] = context.StartThread($"producer-{p}", producerCpus[p], () => Produce(ring, producerId, perProducer, gate));
        }

        // Producers first (they wait at the gate), so the report lists threads in pipeline order.
        disruptor.Start();
        context.Track(disruptor.Threads);

        var window = context.BeginMeasurement();
        gate.Open();
        context.AwaitCompletion(signal, ScenarioContext.Timeout(events, nanosecondsPerEvent: 1_000), consumer.Sequence, producers);
        var measurement = window.End(signal.EndTimestamp);

        disruptor.Halt();
        ref var handler = ref consumer.Handler.Inner;
        if (handler.FirstError is { } error)
        {
            throw new VerificationException($"{handler.Errors} events out of order; first: {error}");
        }

        var expectedSum = Producers * (perProducer * (perProducer - 1) / 2);
        if (handler.Count != events || handler.Sum != expectedSum)
        {
            throw new VerificationException($"consumer saw {handler.Count} events summing to {handler.Sum}; expected {events} summing to {expectedSum}.");
        }

        for (var p = 0; p < Producers; p++)
        {
            if (handler.NextExpected(p) != perProducer)
            {
                throw new VerificationException($"producer {p}: last value seen {handler.NextExpected(p) - 1}; expected {perProducer - 1}.");
            }
        }

        return context.CreateResult(events, measurement, wait.Description, ringSize);
    }

    private static void Produce(ValueRingBuffer<ProducerEvent> ring, int producerId, long events, StartGate gate)
    {
        gate.Wait();
        for (long i = 0; i < events; i++)
        {
            var sequence = ring.Next();
            ref var data = ref ring[sequence];
            data.Value = i;
            data.ProducerId = producerId;
            ring.Publish(sequence);
        }
    }
}

/// <summary>Checks that each producer's values arrive as 0, 1, 2, ...; counts and sums them.</summary>
internal struct PerProducerOrderHandler : IValueEventHandler<ProducerEvent>
{
    private readonly long[] _nextExpected;
    private readonly long _lastSequence;
    private readonly CompletionSignal _signal;

    public PerProducerOrderHandler(int producers, long lastSequence, CompletionSignal signal)
    {
        _nextExpected = new long[producers];
        _lastSequence = lastSequence;
        _signal = signal;
    }

    public long Sum { get; private set; }

    public long Count { get; private set; }

    public long Errors { get; private set; }

    public string? FirstError { get; private set; }

    /// <summary>The value expected next from <paramref name="producer"/>: after the run, how many it published.</summary>
    public readonly long NextExpected(int producer) => _nextExpected[producer];

    public void OnEvent(ref ProducerEvent data, long sequence, bool endOfBatch)
    {
        if ((uint)data.ProducerId < (uint)_nextExpected.Length)
        {
            ref var expected = ref _nextExpected[data.ProducerId];
            if (data.Value != expected)
            {
                RecordError(ref this, data, expected, sequence);
            }

            expected = data.Value + 1;
        }
        else
        {
            RecordError(ref this, data, expected: -1, sequence);
        }

        Sum += data.Value;
        Count++;
        if (sequence == _lastSequence)
        {
            Complete(_signal);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RecordError(ref PerProducerOrderHandler handler, ProducerEvent data, long expected, long sequence)
    {
        handler.Errors++;
        handler.FirstError ??= $"producer {data.ProducerId} value {data.Value} at sequence {sequence}, expected {expected}";
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Complete(CompletionSignal signal) => signal.Complete(Stopwatch.GetTimestamp());
}

using System.Diagnostics;
using System.Runtime.CompilerServices;
using LowLatency.Perf.Harness;
using LowLatency.Ring;

namespace LowLatency.Perf.Scenarios.Ring;

/// <summary>The event of <c>ring-1p3c-pipeline</c>: the producer's value and what stages A and B made of it.</summary>
internal struct PipelineEvent
{
    public long Value;
    public long StepA;
    public long StepB;
}

/// <summary>
/// <c>ring-1p3c-pipeline</c>: one producer, then consumers A → B → C, each following the previous one
/// (Disruptor-net's OneToThreePipelineSequencedThroughputTest). A writes <c>StepA = Value * 3</c>, B writes
/// <c>StepB = StepA + 7</c>, C sums StepB. Verified: C's count and sum, which are only right if every stage saw the
/// previous stage's write for the same lap of the ring.
/// </summary>
internal sealed class PipelineThroughputScenario : IScenario
{
    public string Name => "ring-1p3c-pipeline";

    public ScenarioKind Kind => ScenarioKind.Throughput;

    public string Category => RingScenarios.Category;

    public string Description =>
        "1 producer -> A (StepA = Value * 3) -> B (StepB = StepA + 7) -> C (sums StepB), each stage gated on the previous. " +
        "4 hot threads: on fewer than 4 cores the consumers yield by default.";

    public string? Baseline => null;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var events = context.Options.Events;
        var ringSize = context.RingSize(Kind);
        var wait = context.ResolveWaitStrategy(busyThreads: 4);
        var producerCpu = context.NextCpu();
        var cpuA = context.NextCpu();
        var cpuB = context.NextCpu();
        var cpuC = context.NextCpu();

        var signal = new CompletionSignal();
        using var disruptor = new ValueDisruptor<PipelineEvent>(ringSize, ProducerType.Single, wait.Create());
        var stageA = disruptor.AddConsumer(context, "stage-a", cpuA, new StageAHandler());
        var stageB = disruptor.After(stageA).AddConsumer(context, "stage-b", cpuB, new StageBHandler());
        var stageC = disruptor.After(stageB).AddConsumer(context, "stage-c", cpuC, new StageCHandler(lastSequence: events - 1, signal));
        var ring = disruptor.RingBuffer;
        var gate = new StartGate();
        var producer = context.StartThread("producer", producerCpu, () => Produce(ring, events, gate));

        // Producers first (they wait at the gate), so the report lists threads in pipeline order.
        disruptor.Start();
        context.Track(disruptor.Threads);

        var window = context.BeginMeasurement();
        gate.Open();
        context.AwaitCompletion(signal, ScenarioContext.Timeout(events, nanosecondsPerEvent: 1_000), stageC.Sequence, producer);
        var measurement = window.End(signal.EndTimestamp);

        disruptor.Halt();
        ref var handler = ref stageC.Handler.Inner;
        var expectedSum = (3 * (events * (events - 1) / 2)) + (7 * events);
        if (handler.Count != events || handler.Sum != expectedSum)
        {
            throw new VerificationException($"stage C saw {handler.Count} events summing to {handler.Sum}; expected {events} summing to {expectedSum}.");
        }

        return context.CreateResult(events, measurement, wait.Description, ringSize);
    }

    private static void Produce(ValueRingBuffer<PipelineEvent> ring, long events, StartGate gate)
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

internal struct StageAHandler : IValueEventHandler<PipelineEvent>
{
    public readonly void OnEvent(ref PipelineEvent data, long sequence, bool endOfBatch) => data.StepA = data.Value * 3;
}

internal struct StageBHandler : IValueEventHandler<PipelineEvent>
{
    public readonly void OnEvent(ref PipelineEvent data, long sequence, bool endOfBatch) => data.StepB = data.StepA + 7;
}

/// <summary>The pipeline's last stage: sums StepB and stamps the end of the run on the last sequence.</summary>
internal struct StageCHandler : IValueEventHandler<PipelineEvent>
{
    private readonly long _lastSequence;
    private readonly CompletionSignal _signal;

    public StageCHandler(long lastSequence, CompletionSignal signal)
    {
        _lastSequence = lastSequence;
        _signal = signal;
    }

    public long Sum { get; private set; }

    public long Count { get; private set; }

    public void OnEvent(ref PipelineEvent data, long sequence, bool endOfBatch)
    {
        Sum += data.StepB;
        Count++;
        if (sequence == _lastSequence)
        {
            Complete(_signal);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Complete(CompletionSignal signal) => signal.Complete(Stopwatch.GetTimestamp());
}

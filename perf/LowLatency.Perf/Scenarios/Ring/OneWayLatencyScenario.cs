using System.Diagnostics;
using System.Runtime.CompilerServices;
using LowLatency.Perf.Harness;
using LowLatency.Ring;
using LowLatency.Telemetry;

namespace LowLatency.Perf.Scenarios.Ring;

/// <summary>The event of the latency scenarios: the <see cref="Stopwatch"/> timestamp taken just before publishing.</summary>
internal struct StampedEvent
{
    public long Timestamp;
}

/// <summary>
/// <c>ring-latency-oneway</c>: a paced producer publishes one event every <c>--pace-ns</c>, stamped with
/// <see cref="Stopwatch.GetTimestamp"/>; a pinned, busy-spinning consumer records now − stamp in nanoseconds into a
/// <see cref="LatencyHistogram"/> (Disruptor-net's latency tests, the ZeroLog latency benchmark).
/// </summary>
/// <remarks>
/// The producer keeps an absolute schedule (event i is due at start + i · pace), busy-waiting on the Stopwatch between
/// events, because sleeping would add the scheduler's wake-up latency to the pace. The stamp is taken after the slot is
/// claimed, right before it is written and published, so the figure is publish + hand-off between cores + the consumer
/// noticing. If the producer is preempted it publishes the overdue events back to back to catch up, so a stall shows as
/// queueing in the tail; the stall itself is not recorded (the histogram is not corrected for coordinated omission).
/// </remarks>
internal sealed class OneWayLatencyScenario : IScenario
{
    public string Name => "ring-latency-oneway";

    public ScenarioKind Kind => ScenarioKind.Latency;

    public string Category => RingScenarios.Category;

    public string Description =>
        "Paced producer (one event every --pace-ns, busy-waiting on Stopwatch, CPU 0) stamps Stopwatch.GetTimestamp() into the event; " +
        "a busy-spinning BatchEventProcessor (CPU 1) records now - stamp in ns. Verifies every event was recorded.";

    public string? Baseline => null;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var events = context.Options.LatencyEvents;
        var paceTicks = Timing.NanosecondsToTicks(context.Options.PaceNanoseconds);
        var ringSize = context.RingSize(Kind);
        var wait = context.ResolveWaitStrategy(busyThreads: 2);
        var producerCpu = context.NextCpu();
        var consumerCpu = context.NextCpu();

        var histogram = new LatencyHistogram();
        var signal = new CompletionSignal();
        using var disruptor = new ValueDisruptor<StampedEvent>(ringSize, ProducerType.Single, wait.Create());
        var consumer = disruptor.AddConsumer(context, "consumer", consumerCpu, new LatencyRecorder(histogram, lastSequence: events - 1, signal));
        var ring = disruptor.RingBuffer;
        var gate = new StartGate();
        var producer = context.StartThread("producer", producerCpu, () => Produce(ring, events, paceTicks, gate));

        // Producers first (they wait at the gate), so the report lists threads in pipeline order.
        disruptor.Start();
        context.Track(disruptor.Threads);

        var window = context.BeginMeasurement();
        gate.Open();
        var nanosecondsPerEvent = context.Options.PaceNanoseconds + 10_000.0;
        context.AwaitCompletion(signal, ScenarioContext.Timeout(events, nanosecondsPerEvent), consumer.Sequence, producer);
        var measurement = window.End(signal.EndTimestamp);

        disruptor.Halt();
        if (histogram.TotalCount != events)
        {
            throw new VerificationException($"recorded {histogram.TotalCount} latencies; expected {events}.");
        }

        return context.CreateResult(events, measurement, wait.Description, ringSize, histogram.Summarize());
    }

    private static void Produce(ValueRingBuffer<StampedEvent> ring, long events, long paceTicks, StartGate gate)
    {
        gate.Wait();
        var due = Stopwatch.GetTimestamp();
        for (long i = 0; i < events; i++)
        {
            due += paceTicks;
            while (Stopwatch.GetTimestamp() < due)
            {
                // Busy-wait: the pace is far below a scheduler quantum.
            }

            var sequence = ring.Next();
            ring[sequence].Timestamp = Stopwatch.GetTimestamp();
            ring.Publish(sequence);
        }
    }
}

/// <summary>Records now − stamp in nanoseconds for every event; stamps the end of the run on the last sequence.</summary>
internal readonly struct LatencyRecorder : IValueEventHandler<StampedEvent>
{
    private readonly LatencyHistogram _histogram;
    private readonly long _lastSequence;
    private readonly CompletionSignal _signal;

    public LatencyRecorder(LatencyHistogram histogram, long lastSequence, CompletionSignal signal)
    {
        _histogram = histogram;
        _lastSequence = lastSequence;
        _signal = signal;
    }

    public void OnEvent(ref StampedEvent data, long sequence, bool endOfBatch)
    {
        var now = Stopwatch.GetTimestamp();
        _histogram.Record(Timing.TicksToNanoseconds(now - data.Timestamp));
        if (sequence == _lastSequence)
        {
            Complete(_signal, now);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Complete(CompletionSignal signal, long now) => signal.Complete(now);
}

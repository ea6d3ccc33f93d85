using System.Diagnostics;
using LowLatency.Perf.Harness;
using LowLatency.Ring;
using LowLatency.Telemetry;

namespace LowLatency.Perf.Scenarios.Ring;

/// <summary>
/// <c>ring-latency-pingpong</c>: round-trip time over two rings, in the manner of Aeron's Ping/Pong and Disruptor-net's
/// ping-pong latency test. The ping thread stamps <see cref="Stopwatch.GetTimestamp"/> into an event on the ping ring and
/// then busy-polls the pong ring with an <see cref="EventPoller{T}"/>; the pong thread, a busy-spinning
/// <see cref="BatchEventProcessor{T, THandler}"/> on the ping ring, copies the stamp into the pong ring. The ping thread
/// records now − stamp for each reply. One round trip is in flight at a time, so there is no queueing: the figure is two
/// hand-offs between cores.
/// </summary>
internal sealed class PingPongLatencyScenario : IScenario
{
    public string Name => "ring-latency-pingpong";

    public ScenarioKind Kind => ScenarioKind.Latency;

    public string Category => RingScenarios.Category;

    public string Description =>
        "Round trip: ping thread (CPU 0) publishes a stamped event to ring 1 and busy-polls ring 2 with an EventPoller; " +
        "pong BatchEventProcessor (CPU 1) republishes the stamp into ring 2. Reports RTT in ns. Verifies every reply came back.";

    public string? Baseline => null;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var roundTrips = context.Options.LatencyEvents;
        var ringSize = context.RingSize(Kind);
        var wait = context.ResolveWaitStrategy(busyThreads: 2);
        var pingCpu = context.NextCpu();
        var pongCpu = context.NextCpu();

        // Ring 2 is only ever polled, never waited on, so its wait strategy is irrelevant.
        var pongs = ValueRingBuffer<StampedEvent>.CreateSingleProducer(ringSize, new BusySpinWaitStrategy());
        var poller = new EventPoller<StampedEvent>(pongs);
        pongs.AddGatingSequences(poller.Sequence);

        var histogram = new LatencyHistogram();
        var signal = new CompletionSignal();
        using var disruptor = new ValueDisruptor<StampedEvent>(ringSize, ProducerType.Single, wait.Create());
        disruptor.AddConsumer(context, "pong", pongCpu, new PongHandler(pongs));
        var pings = disruptor.RingBuffer;
        var gate = new StartGate();
        var ping = context.StartThread("ping", pingCpu, () => Ping(pings, poller, new RoundTripRecorder(histogram), roundTrips, signal, gate));

        // Producers first (they wait at the gate), so the report lists threads in pipeline order.
        disruptor.Start();
        context.Track(disruptor.Threads);

        var window = context.BeginMeasurement();
        gate.Open();
        context.AwaitCompletion(signal, ScenarioContext.Timeout(roundTrips, nanosecondsPerEvent: 100_000), poller.Sequence, ping);
        var measurement = window.End(signal.EndTimestamp);

        disruptor.Halt();
        if (histogram.TotalCount != roundTrips || poller.Sequence.Value != roundTrips - 1)
        {
            throw new VerificationException($"recorded {histogram.TotalCount} round trips (last reply {poller.Sequence.Value}); expected {roundTrips}.");
        }

        return context.CreateResult(roundTrips, measurement, wait.Description, ringSize, histogram.Summarize());
    }

    private static void Ping(
        ValueRingBuffer<StampedEvent> pings,
        EventPoller<StampedEvent> replies,
        RoundTripRecorder recorder,
        long roundTrips,
        CompletionSignal signal,
        StartGate gate)
    {
        gate.Wait();
        for (long i = 0; i < roundTrips; i++)
        {
            var sequence = pings.Next();
            pings[sequence].Timestamp = Stopwatch.GetTimestamp();
            pings.Publish(sequence);
            while (replies.Poll(ref recorder) != PollState.Processing)
            {
                // Busy-poll for the reply, as Aeron's Ping does.
            }
        }

        signal.Complete(Stopwatch.GetTimestamp());
    }
}

/// <summary>The pong side: republishes each ping's stamp into the reply ring.</summary>
internal readonly struct PongHandler(ValueRingBuffer<StampedEvent> replies) : IValueEventHandler<StampedEvent>
{
    public void OnEvent(ref StampedEvent data, long sequence, bool endOfBatch)
    {
        var reply = replies.Next();
        replies[reply].Timestamp = data.Timestamp;
        replies.Publish(reply);
    }
}

/// <summary>The ping side's poll handler: records now − stamp of each reply in nanoseconds.</summary>
internal readonly struct RoundTripRecorder(LatencyHistogram histogram) : IEventPollHandler<StampedEvent>
{
    public bool OnEvent(ref StampedEvent data, long sequence, bool endOfBatch)
    {
        histogram.Record(Timing.TicksToNanoseconds(Stopwatch.GetTimestamp() - data.Timestamp));
        return true;
    }
}

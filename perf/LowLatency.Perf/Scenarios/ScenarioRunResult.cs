using LowLatency.Ring;
using LowLatency.Telemetry;

namespace LowLatency.Perf.Scenarios;

/// <summary>A thread a run started, where it asked to run and what pinning achieved.</summary>
/// <param name="Name">The thread's name (producer, consumer, stage, ...).</param>
/// <param name="Cpu">The CPU requested, or null when not pinned (<c>--no-pin</c>).</param>
/// <param name="Affinity">The outcome reported by <see cref="ThreadAffinity"/>.</param>
internal sealed record ThreadReport(string Name, int? Cpu, AffinityResult Affinity)
{
    public override string ToString() => Cpu is { } cpu ? $"{Name} cpu {cpu} {Affinity}" : $"{Name} {Affinity}";
}

/// <summary>The figures of one run of a scenario.</summary>
internal sealed record ScenarioRunResult
{
    /// <summary>Events handled by the last consumer during the measured part (round trips for ping-pong).</summary>
    public required long Events { get; init; }

    /// <summary>Wall time of the measured part: from opening the start gate to the last event's handling.</summary>
    public required double ElapsedSeconds { get; init; }

    /// <summary>Events per second over the measured part.</summary>
    public double EventsPerSecond => ElapsedSeconds > 0 ? Events / ElapsedSeconds : 0;

    /// <summary>
    /// Rates per second the run measured besides <see cref="EventsPerSecond"/>, by name, e.g. <c>produce</c>: how fast the
    /// Kafka scenarios filled their topic before the measured consume. Reported beside the main rate, never compared
    /// with a baseline. Default: none.
    /// </summary>
    public IReadOnlyDictionary<string, double> OtherRates { get; init; } = new Dictionary<string, double>();

    /// <summary>The latency histogram's summary in nanoseconds (latency scenarios only).</summary>
    public LatencySummary? Latency { get; init; }

    /// <summary>
    /// Latency histograms the run measured besides <see cref="Latency"/>, by name, in nanoseconds, e.g. <c>bare</c>: the
    /// raw topic's produce-to-consume round trip that <c>kafka-latency</c> measures beside its candle latency, in the
    /// same run. Reported under the scenario on a <c>+ name</c> line, never compared with a baseline. Default: none.
    /// </summary>
    public IReadOnlyDictionary<string, LatencySummary> OtherLatencies { get; init; } = new Dictionary<string, LatencySummary>();

    /// <summary>Bytes allocated by every thread of the process during the measured part (<c>GC.GetTotalAllocatedBytes(true)</c> delta).</summary>
    public required long AllocatedBytes { get; init; }

    /// <summary>
    /// Bytes allocated by the run's own producer and consumer threads over their whole life (measured window included):
    /// the hot path alone, without the runtime's background threads that <see cref="AllocatedBytes"/> also counts.
    /// </summary>
    public required long HotThreadAllocatedBytes { get; init; }

    /// <summary><see cref="AllocatedBytes"/> divided by <see cref="Events"/>.</summary>
    public double BytesPerEvent => Events > 0 ? (double)AllocatedBytes / Events : 0;

    /// <summary>Collections per generation during the measured part.</summary>
    public required GcCounts Gc { get; init; }

    /// <summary>How the consumers waited, e.g. "busy-spin", or "n/a" for the channel baseline.</summary>
    public required string WaitStrategy { get; init; }

    /// <summary>Slots of the ring (or capacity of the channel).</summary>
    public required int RingSize { get; init; }

    /// <summary>The run's threads and their pinning outcome.</summary>
    public required IReadOnlyList<ThreadReport> Threads { get; init; }
}

using System.Diagnostics;

namespace LowLatency.Telemetry;

/// <summary>
/// Unix time in nanoseconds from the monotonic high-resolution counter: one <see cref="Stopwatch.GetTimestamp"/> per
/// reading (tens of ns, no allocation), anchored to the system clock once at start-up. It does not follow later
/// adjustments of the system clock, which is what receive timestamps on a hot path want (they must never go backwards).
/// </summary>
public static class WallClock
{
    private static readonly long s_anchorUnixNs = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
    private static readonly long s_anchorTicks = Stopwatch.GetTimestamp();
    private static readonly double s_nsPerTick = 1e9 / Stopwatch.Frequency;

    /// <summary>Now, in nanoseconds since the Unix epoch.</summary>
    public static long UnixNanoseconds() => s_anchorUnixNs + (long)((Stopwatch.GetTimestamp() - s_anchorTicks) * s_nsPerTick);

    /// <summary>
    /// The <see cref="Stopwatch.GetTimestamp"/> value at which <see cref="UnixNanoseconds"/> read
    /// <paramref name="unixNanoseconds"/> (to within a tick): turns a receive time back into the counter that latency
    /// histograms subtract from.
    /// </summary>
    public static long ToTimestamp(long unixNanoseconds) => s_anchorTicks + (long)((unixNanoseconds - s_anchorUnixNs) / s_nsPerTick);
}

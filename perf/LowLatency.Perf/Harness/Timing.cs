using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace LowLatency.Perf.Harness;

/// <summary>Conversions between <see cref="Stopwatch"/> ticks and nanoseconds, cheap enough for a consumer's hot path.</summary>
internal static class Timing
{
    /// <summary>On Linux the Stopwatch counts nanoseconds, and this is true: the conversion is then a no-op the JIT folds away.</summary>
    private static readonly bool s_ticksAreNanoseconds = Stopwatch.Frequency == 1_000_000_000;

    private static readonly double s_nanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    private static readonly double s_ticksPerNanosecond = Stopwatch.Frequency / 1e9;

    /// <summary>Stopwatch ticks to nanoseconds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long TicksToNanoseconds(long ticks) =>
        s_ticksAreNanoseconds ? ticks : (long)(ticks * s_nanosecondsPerTick);

    /// <summary>Nanoseconds to Stopwatch ticks (rounded to the nearest tick).</summary>
    public static long NanosecondsToTicks(long nanoseconds) =>
        s_ticksAreNanoseconds ? nanoseconds : (long)Math.Round(nanoseconds * s_ticksPerNanosecond);
}

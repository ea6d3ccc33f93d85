using System.Diagnostics;
using System.Runtime;
using LowLatency.Telemetry;

namespace LowLatency.Perf.Harness;

/// <summary>What happened between <see cref="MeasuredWindow.Begin"/> and <see cref="MeasuredWindow.End"/>.</summary>
/// <param name="Elapsed">Wall time from the start timestamp to the end timestamp.</param>
/// <param name="AllocatedBytes">Bytes allocated by all threads of the process.</param>
/// <param name="Gc">Collections per generation.</param>
internal readonly record struct Measurement(TimeSpan Elapsed, long AllocatedBytes, GcCounts Gc);

/// <summary>
/// The measured part of a run: captures allocated bytes and GC counts before the start gate opens and after the last
/// event, and the start timestamp; the end timestamp comes from the consumer that handled the last event.
/// </summary>
internal readonly struct MeasuredWindow
{
    private readonly long _allocatedBefore;
    private readonly GcCounts _gcBefore;

    private MeasuredWindow(long allocatedBefore, GcCounts gcBefore, long startTimestamp)
    {
        _allocatedBefore = allocatedBefore;
        _gcBefore = gcBefore;
        StartTimestamp = startTimestamp;
    }

    /// <summary>The <see cref="Stopwatch"/> timestamp at which the window began.</summary>
    public long StartTimestamp { get; }

    /// <summary>How long the JIT must have compiled nothing before a window opens: more than the runtime's 100 ms
    /// call-counting delay, after which methods the set-up called often enough are queued for tier 1.</summary>
    private static readonly TimeSpan s_jitQuietPeriod = TimeSpan.FromMilliseconds(150);

    /// <summary>The longest the window waits for the JIT to go quiet.</summary>
    private static readonly TimeSpan s_jitSettleLimit = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Takes the "before" snapshot; call it right before opening the start gate. It first waits (up to
    /// <see cref="s_jitSettleLimit"/>) until the runtime has compiled no method for <see cref="s_jitQuietPeriod"/>: tier-1
    /// compilations of set-up code run on a background thread and allocate (class constructors, runtime type data), and
    /// would otherwise be counted as allocations of the hot path.
    /// </summary>
    public static MeasuredWindow Begin()
    {
        WaitForJitToSettle();
        // precise: true sums every thread's allocation context, so bytes a hot thread allocated are not missed.
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var gc = GcCounts.Capture();
        return new MeasuredWindow(allocated, gc, Stopwatch.GetTimestamp());
    }

    private static void WaitForJitToSettle()
    {
        var start = Stopwatch.GetTimestamp();
        var lastCount = JitInfo.GetCompiledMethodCount();
        var lastChange = start;
        while (Stopwatch.GetElapsedTime(lastChange) < s_jitQuietPeriod && Stopwatch.GetElapsedTime(start) < s_jitSettleLimit)
        {
            Thread.Sleep(10);
            var count = JitInfo.GetCompiledMethodCount();
            if (count != lastCount)
            {
                lastCount = count;
                lastChange = Stopwatch.GetTimestamp();
            }
        }
    }

    /// <summary>Takes the "after" snapshot once the run's last event was handled at <paramref name="endTimestamp"/>.</summary>
    public Measurement End(long endTimestamp)
    {
        var gc = GcCounts.Capture();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        return new Measurement(Stopwatch.GetElapsedTime(StartTimestamp, endTimestamp), allocated - _allocatedBefore, gc - _gcBefore);
    }
}

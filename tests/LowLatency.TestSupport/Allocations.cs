namespace LowLatency.TestSupport;

/// <summary>
/// Allocation checks in the style of ZeroLog's tests: warm up, then assert the calling thread's allocated-bytes counter
/// did not move. <see cref="GC.GetAllocatedBytesForCurrentThread"/> is exact and per thread, so the check is immune to
/// other tests running in parallel.
/// </summary>
public static class Allocations
{
    /// <summary>
    /// Runs <paramref name="action"/> <paramref name="warmups"/> times (JIT, statics), then measures up to three more runs
    /// and returns the fewest bytes one of them allocated (0 as soon as one run allocates nothing).
    /// </summary>
    /// <remarks>
    /// Why the minimum: the tiered JIT may promote a method during a measured run and allocate a few hundred bytes on
    /// the calling thread for it (seen in CI when other tests compiled in parallel and delayed tiering). That happens
    /// once; an allocation per operation happens in every run, so the minimum still catches it.
    /// </remarks>
    public static long Measure(Action action, int warmups = 3)
    {
        ArgumentNullException.ThrowIfNull(action);
        for (var i = 0; i < warmups; i++)
        {
            action();
        }

        var fewest = long.MaxValue;
        for (var run = 0; run < 3 && fewest > 0; run++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            action();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return fewest;
    }

    /// <summary>Asserts that <paramref name="action"/> allocates nothing on the calling thread after warm-up.</summary>
    public static void AssertNone(Action action, string what)
    {
        var bytes = Measure(action);
        Xunit.Assert.True(bytes == 0, $"{what} allocated {bytes} bytes.");
    }
}

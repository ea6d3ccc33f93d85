namespace LowLatency.TestSupport;

/// <summary>
/// Allocation checks in the style of ZeroLog's tests: warm up, then assert the calling thread's allocated-bytes counter
/// did not move. <see cref="GC.GetAllocatedBytesForCurrentThread"/> is exact and per thread, so the check is immune to
/// other tests running in parallel.
/// </summary>
public static class Allocations
{
    /// <summary>Runs <paramref name="action"/> once to warm up (JIT, statics), then again, and returns the bytes the second run allocated.</summary>
    public static long Measure(Action action, int warmups = 3)
    {
        ArgumentNullException.ThrowIfNull(action);
        for (var i = 0; i < warmups; i++)
        {
            action();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>Asserts that <paramref name="action"/> allocates nothing on the calling thread after warm-up.</summary>
    public static void AssertNone(Action action, string what)
    {
        var bytes = Measure(action);
        Xunit.Assert.True(bytes == 0, $"{what} allocated {bytes} bytes.");
    }
}

using System.Diagnostics;

namespace LowLatency.TestSupport;

/// <summary>Waiting for a condition with a deadline instead of sleeping for a guessed time.</summary>
public static class Poll
{
    /// <summary>The default deadline: generous, because CI machines are shared and slow.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Returns as soon as <paramref name="condition"/> is true; fails the test with <paramref name="what"/> at the deadline.</summary>
    public static void Until(Func<bool> condition, string what, TimeSpan? timeout = null) => Until(condition, what, timeout, describe: null);

    /// <summary>As above; at the deadline the failure message adds <paramref name="describe"/>'s account of the state.</summary>
    public static void Until(Func<bool> condition, string what, TimeSpan? timeout, Func<string>? describe)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = Stopwatch.GetTimestamp() + (long)((timeout ?? DefaultTimeout).TotalSeconds * Stopwatch.Frequency);
        var spinWait = default(SpinWait);
        while (!condition())
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                Xunit.Assert.Fail($"Timed out after {(timeout ?? DefaultTimeout).TotalSeconds:0.#} s waiting for: {what}{(describe is null ? string.Empty : "\n" + describe())}");
            }

            spinWait.SpinOnce();
        }
    }

    /// <summary>Asserts that <paramref name="condition"/> stays false for <paramref name="duration"/> (for "must not happen" checks).</summary>
    public static void Never(Func<bool> condition, string what, TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < end)
        {
            Xunit.Assert.False(condition(), $"Happened, but must not: {what}");
            Thread.Sleep(1);
        }
    }
}

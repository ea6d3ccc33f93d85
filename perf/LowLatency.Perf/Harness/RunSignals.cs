using System.Diagnostics;

namespace LowLatency.Perf.Harness;

/// <summary>
/// Holds producer threads at their start line until the main thread has taken its "before" snapshot, so thread start-up
/// and pinning stay out of the measured window and several producers start together.
/// </summary>
internal sealed class StartGate
{
    /// <remarks>Written once by the main thread, read by the waiting producers: volatile, so the store is seen promptly
    /// and every write the main thread made before opening is visible to a producer that sees it open.</remarks>
    private volatile bool _open;

    /// <summary>Lets every waiting producer go.</summary>
    public void Open() => _open = true;

    /// <summary>Waits for <see cref="Open"/>, spinning and yielding but never sleeping a whole millisecond, so a producer
    /// starts within microseconds of the gate opening (the start timestamp is taken when it opens).</summary>
    public void Wait()
    {
        var spinWait = default(SpinWait);
        while (!_open)
        {
            spinWait.SpinOnce(sleep1Threshold: -1);
        }
    }
}

/// <summary>
/// Set by the last consumer when it handles the last event of a run, with the time it did so: the end of the measured
/// window. The main thread polls it (sleeping between polls) rather than blocking on an event, because waiting on a
/// <see cref="ManualResetEventSlim"/> allocates its lock lazily, inside the window.
/// </summary>
internal sealed class CompletionSignal
{
    private long _endTimestamp;

    /// <remarks>Set with a release store after <see cref="_endTimestamp"/>, read with an acquire load, so a reader that
    /// sees 1 also sees the timestamp.</remarks>
    private int _completed;

    /// <summary>Whether <see cref="Complete"/> has been called.</summary>
    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    /// <summary>The <see cref="Stopwatch"/> timestamp passed to <see cref="Complete"/>.</summary>
    public long EndTimestamp => IsCompleted ? _endTimestamp : throw new InvalidOperationException("The run has not completed.");

    /// <summary>Marks the run complete at <paramref name="timestamp"/>. Called once, by the last consumer.</summary>
    public void Complete(long timestamp)
    {
        _endTimestamp = timestamp;
        Volatile.Write(ref _completed, 1);
    }

    /// <summary>Waits until completed or until the <see cref="Stopwatch"/> timestamp <paramref name="deadline"/>; returns whether completed.</summary>
    public bool Wait(long deadline)
    {
        while (!IsCompleted)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                return false;
            }

            // 1 ms polls: cheap for the hot threads (a wake-up per millisecond) and precise enough, because the end time
            // is the consumer's own timestamp, not the moment we notice.
            Thread.Sleep(1);
        }

        return true;
    }
}

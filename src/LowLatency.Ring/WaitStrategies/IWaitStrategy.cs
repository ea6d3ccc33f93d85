namespace LowLatency.Ring;

/// <summary>
/// How a consumer waits for a sequence that is not yet available. Strategies trade latency against CPU use:
/// <list type="table">
/// <item><term><see cref="BusySpinWaitStrategy"/></term><description>lowest latency; burns a core per consumer. Only when
/// every busy thread has a core of its own.</description></item>
/// <item><term><see cref="YieldingWaitStrategy"/></term><description>spins, then yields the core; near busy-spin latency
/// and tolerant of more threads than cores.</description></item>
/// <item><term><see cref="SleepingWaitStrategy"/></term><description>spins, yields, then sleeps; little CPU when idle,
/// latency up to about a millisecond after idle periods.</description></item>
/// <item><term><see cref="BlockingWaitStrategy"/></term><description>a monitor; no CPU when idle, a wake-up costs a few
/// microseconds, and producers pay a fence per publish.</description></item>
/// <item><term><see cref="TimeoutBlockingWaitStrategy"/></term><description>blocking, and returns
/// <see cref="SequenceBarrier.TimedOut"/> after a timeout so consumers can act (e.g. flush) when nothing arrives.</description></item>
/// </list>
/// </summary>
public interface IWaitStrategy
{
    /// <summary>
    /// Waits until <paramref name="dependents"/> reaches <paramref name="sequence"/> and returns its value, or returns
    /// <see cref="SequenceBarrier.Alerted"/> once <paramref name="barrier"/> is alerted, or
    /// <see cref="SequenceBarrier.TimedOut"/> (timeout strategies only).
    /// </summary>
    long WaitFor(long sequence, DependentSequenceGroup dependents, SequenceBarrier barrier);

    /// <summary>Wakes consumers blocked in <see cref="WaitFor"/>. Called by producers after a publish when <see cref="IsBlockingStrategy"/>.</summary>
    void SignalAllWhenBlocking();

    /// <summary>
    /// Whether consumers may block and need <see cref="SignalAllWhenBlocking"/>; sequencers skip the call entirely
    /// when false, so spinning strategies cost producers nothing.
    /// </summary>
    bool IsBlockingStrategy { get; }
}

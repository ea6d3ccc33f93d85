namespace LowLatency.Ring;

/// <summary>
/// Blocks waiting consumers on a monitor until a producer publishes. No CPU is used while idle. Producers pay one full
/// fence per publish, and take the lock only when a consumer is actually blocked.
/// </summary>
public sealed class BlockingWaitStrategy : IWaitStrategy
{
    private readonly MonitorGate _gate = new();

    /// <inheritdoc />
    public bool IsBlockingStrategy => true;

    /// <inheritdoc />
    public long WaitFor(long sequence, DependentSequenceGroup dependents, SequenceBarrier barrier) =>
        _gate.WaitFor(sequence, dependents, barrier, timeoutMilliseconds: Timeout.Infinite);

    /// <inheritdoc />
    public void SignalAllWhenBlocking() => _gate.SignalAll();
}

/// <summary>
/// As <see cref="BlockingWaitStrategy"/>, but returns <see cref="SequenceBarrier.TimedOut"/> when nothing became
/// available within <see cref="Timeout"/>; event processors then call their handler's <c>OnTimeout</c>, which is how a
/// batching consumer flushes on a quiet stream.
/// </summary>
public sealed class TimeoutBlockingWaitStrategy : IWaitStrategy
{
    private readonly MonitorGate _gate = new();
    private readonly int _timeoutMilliseconds;

    /// <summary>Creates the strategy with a timeout of at least one millisecond.</summary>
    public TimeoutBlockingWaitStrategy(TimeSpan timeout)
    {
        if (timeout < TimeSpan.FromMilliseconds(1) || timeout.TotalMilliseconds > int.MaxValue)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(timeout), timeout, "The timeout must be between 1 ms and int.MaxValue ms.");
        }

        Timeout = timeout;
        _timeoutMilliseconds = (int)timeout.TotalMilliseconds;
    }

    /// <summary>How long a consumer waits before <see cref="SequenceBarrier.TimedOut"/> is returned.</summary>
    public TimeSpan Timeout { get; }

    /// <inheritdoc />
    public bool IsBlockingStrategy => true;

    /// <inheritdoc />
    public long WaitFor(long sequence, DependentSequenceGroup dependents, SequenceBarrier barrier) =>
        _gate.WaitFor(sequence, dependents, barrier, _timeoutMilliseconds);

    /// <inheritdoc />
    public void SignalAllWhenBlocking() => _gate.SignalAll();
}

/// <summary>The monitor-based wait shared by the two blocking strategies.</summary>
/// <remarks>
/// The lost-wake-up race is closed Dekker-style. A waiter increments <see cref="_waiters"/> (an Interlocked operation, a
/// full fence) and then re-reads the cursor; a producer stores the cursor, executes a full fence and then reads
/// <see cref="_waiters"/>. With both fences, at least one side sees the other's store: either the waiter sees the new
/// cursor and does not sleep, or the producer sees a waiter and pulses. The pulse is issued under the lock, which a
/// waiter holds from its re-check until <see cref="Monitor.Wait(object)"/> atomically releases it, so a pulse cannot
/// fall between the check and the wait.
/// </remarks>
internal sealed class MonitorGate
{
    private readonly object _lock = new();
    private int _waiters;

    public long WaitFor(long sequence, DependentSequenceGroup dependents, SequenceBarrier barrier, int timeoutMilliseconds)
    {
        var deadline = timeoutMilliseconds < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMilliseconds;
        var cursor = dependents.Cursor;
        if (cursor.Value < sequence)
        {
            lock (_lock)
            {
                Interlocked.Increment(ref _waiters);
                try
                {
                    while (cursor.Value < sequence)
                    {
                        if (barrier.IsAlerted)
                        {
                            return SequenceBarrier.Alerted;
                        }

                        if (timeoutMilliseconds < 0)
                        {
                            Monitor.Wait(_lock);
                        }
                        else
                        {
                            var remaining = deadline - Environment.TickCount64;
                            if (remaining <= 0 || (!Monitor.Wait(_lock, (int)remaining) && cursor.Value < sequence))
                            {
                                return SequenceBarrier.TimedOut;
                            }
                        }
                    }
                }
                finally
                {
                    Interlocked.Decrement(ref _waiters);
                }
            }
        }

        // The producers have reached the sequence; consumers we follow are not signalled, so spin (yielding) on them.
        var spinWait = default(SpinWait);
        long available;
        while ((available = dependents.Value) < sequence)
        {
            if (barrier.IsAlerted)
            {
                return SequenceBarrier.Alerted;
            }

            if (Environment.TickCount64 > deadline)
            {
                return SequenceBarrier.TimedOut;
            }

            spinWait.SpinOnce(sleep1Threshold: -1);
        }

        return available;
    }

    public void SignalAll()
    {
        // Store-load fence: the caller's cursor store (or alert flag) must be visible before we read _waiters.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _waiters) != 0)
        {
            lock (_lock)
            {
                Monitor.PulseAll(_lock);
            }
        }
    }
}

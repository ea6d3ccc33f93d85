namespace LowLatency.Ring;

/// <summary>
/// Backs off in stages: spins, yields, then sleeps (<see cref="Thread.Sleep(int)"/> with 0, then
/// <see cref="SleepMilliseconds"/>). Idle consumers use almost no CPU; the first event after an idle period waits up to
/// about a sleep quantum. Producers pay nothing (no signalling).
/// </summary>
public sealed class SleepingWaitStrategy : IWaitStrategy
{
    /// <summary>Checks made by spinning. Default 100.</summary>
    public int SpinTries { get; init; } = 100;

    /// <summary>Checks made with <see cref="Thread.Yield"/> after spinning. Default 100.</summary>
    public int YieldTries { get; init; } = 100;

    /// <summary>Checks made with <c>Thread.Sleep(0)</c> after yielding. Default 100.</summary>
    public int SleepZeroTries { get; init; } = 100;

    /// <summary>The sleep between checks once all tries are used up, in milliseconds. Default 1.</summary>
    public int SleepMilliseconds { get; init; } = 1;

    /// <inheritdoc />
    public bool IsBlockingStrategy => false;

    /// <inheritdoc />
    public long WaitFor(long sequence, DependentSequenceGroup dependents, SequenceBarrier barrier)
    {
        var tries = 0;
        long available;
        while ((available = dependents.Value) < sequence)
        {
            if (barrier.IsAlerted)
            {
                return SequenceBarrier.Alerted;
            }

            if (tries < SpinTries)
            {
                // Plain re-check.
            }
            else if (tries < SpinTries + YieldTries)
            {
                Thread.Yield();
            }
            else if (tries < SpinTries + YieldTries + SleepZeroTries)
            {
                Thread.Sleep(0);
            }
            else
            {
                Thread.Sleep(SleepMilliseconds);
                continue; // do not count further: stay in the sleeping stage
            }

            tries++;
        }

        return available;
    }

    /// <inheritdoc />
    public void SignalAllWhenBlocking()
    {
    }
}

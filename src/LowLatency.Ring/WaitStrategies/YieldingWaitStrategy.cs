namespace LowLatency.Ring;

/// <summary>
/// Spins for <see cref="SpinTries"/> checks, then calls <see cref="Thread.Yield"/> between checks so another ready thread
/// can use the core. A good default when there are more busy threads than cores (as on a 2-core machine).
/// </summary>
public sealed class YieldingWaitStrategy : IWaitStrategy
{
    /// <summary>Checks made by spinning before the strategy starts yielding. Default 100.</summary>
    public int SpinTries { get; init; } = 100;

    /// <inheritdoc />
    public bool IsBlockingStrategy => false;

    /// <inheritdoc />
    public long WaitFor(long sequence, DependentSequenceGroup dependents, SequenceBarrier barrier)
    {
        var counter = SpinTries;
        long available;
        while ((available = dependents.Value) < sequence)
        {
            if (barrier.IsAlerted)
            {
                return SequenceBarrier.Alerted;
            }

            if (counter > 0)
            {
                counter--;
            }
            else
            {
                Thread.Yield();
            }
        }

        return available;
    }

    /// <inheritdoc />
    public void SignalAllWhenBlocking()
    {
    }
}

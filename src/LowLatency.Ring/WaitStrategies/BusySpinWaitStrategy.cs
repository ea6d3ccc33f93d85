namespace LowLatency.Ring;

/// <summary>
/// Re-reads the dependent sequences in a tight loop. The lowest wake-up latency, at the price of a full core per waiting
/// consumer: use it only with pinned threads and at least as many cores as busy threads.
/// </summary>
public sealed class BusySpinWaitStrategy : IWaitStrategy
{
    /// <inheritdoc />
    public bool IsBlockingStrategy => false;

    /// <inheritdoc />
    public long WaitFor(long sequence, DependentSequenceGroup dependents, SequenceBarrier barrier)
    {
        long available;
        while ((available = dependents.Value) < sequence)
        {
            if (barrier.IsAlerted)
            {
                return SequenceBarrier.Alerted;
            }

            // One pause instruction: frees the core's pipeline (and a hyper-thread sibling) while spinning and avoids
            // the memory-order mis-speculation flush when the awaited store lands. One-way p50 stays ~0.25 µs with it
            // (docs/PERFORMANCE.md).
            Thread.SpinWait(1);
        }

        return available;
    }

    /// <inheritdoc />
    public void SignalAllWhenBlocking()
    {
    }
}

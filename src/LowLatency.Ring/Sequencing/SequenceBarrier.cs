using System.Runtime.CompilerServices;

namespace LowLatency.Ring;

/// <summary>
/// The gate a consumer passes to learn how far it may read: it waits (through the ring's wait strategy) until the
/// consumers it follows, or the producers, have reached a sequence, and can be alerted to stop waiting.
/// </summary>
/// <remarks>
/// <see cref="WaitFor"/> returns a sequence, or one of two sentinels far below any real sequence:
/// <see cref="Alerted"/> when <see cref="Alert"/> was called and <see cref="TimedOut"/> when a timeout wait strategy
/// gave up. Returning sentinels rather than throwing keeps exceptions off the control flow of a running consumer.
/// </remarks>
public sealed class SequenceBarrier
{
    /// <summary>Returned by <see cref="WaitFor"/> after <see cref="Alert"/>.</summary>
    public const long Alerted = long.MinValue;

    /// <summary>Returned by <see cref="WaitFor"/> when the wait strategy's timeout expired.</summary>
    public const long TimedOut = long.MinValue + 1;

    private readonly Sequencer _sequencer;
    private readonly MultiProducerSequencer? _multiProducer;
    private readonly IWaitStrategy _waitStrategy;
    private readonly DependentSequenceGroup _dependents;

    /// <remarks>Written by the thread that halts a consumer, read by the consumer while it waits: volatile.</remarks>
    private volatile bool _alerted;

    internal SequenceBarrier(Sequencer sequencer, DependentSequenceGroup dependents)
    {
        _sequencer = sequencer;
        _multiProducer = sequencer as MultiProducerSequencer;
        _waitStrategy = sequencer.WaitStrategy;
        _dependents = dependents;
    }

    /// <summary>The sequences this barrier waits for.</summary>
    public DependentSequenceGroup Dependents => _dependents;

    /// <summary>The ring's cursor.</summary>
    public Sequence Cursor => _dependents.Cursor;

    /// <summary>Whether <see cref="Alert"/> has been called since the last <see cref="ClearAlert"/>.</summary>
    public bool IsAlerted => _alerted;

    /// <summary>
    /// Waits until <paramref name="sequence"/> is available and returns the highest available sequence (which may be
    /// larger: consumers process everything up to it as one batch), or <see cref="Alerted"/> or <see cref="TimedOut"/>.
    /// With several producers, a slot that is claimed but not yet published is waited for here as well.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long WaitFor(long sequence)
    {
        var available = _dependents.Value;
        if (available < sequence)
        {
            available = _waitStrategy.WaitFor(sequence, _dependents, this);
            if (available < sequence)
            {
                return available;
            }
        }

        if (_multiProducer is null)
        {
            return available;
        }

        var published = _multiProducer.GetHighestPublishedSequence(sequence, available);
        return published >= sequence ? published : WaitForPublication(sequence);
    }

    /// <summary>
    /// Multi-producer slow path: the slot is claimed (the cursor has passed it) but its producer has not published it.
    /// Returning at once would make the consumer re-poll in a hot loop that, with more threads than cores, keeps the
    /// very producer it waits for off the CPU (4 producers x 2 M events on 2 cores took 62 s instead of 0.9 s); so back
    /// off (spin, then yield) until it is published.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private long WaitForPublication(long sequence)
    {
        var spinWait = default(SpinWait);
        while (true)
        {
            if (_alerted)
            {
                return Alerted;
            }

            var published = _multiProducer!.GetHighestPublishedSequence(sequence, _dependents.Value);
            if (published >= sequence)
            {
                return published;
            }

            spinWait.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>Makes waiting consumers return <see cref="Alerted"/>, waking blocked ones.</summary>
    public void Alert()
    {
        _alerted = true;
        _waitStrategy.SignalAllWhenBlocking();
    }

    /// <summary>Clears the alert so the barrier can be waited on again.</summary>
    public void ClearAlert() => _alerted = false;

    internal Sequencer Sequencer => _sequencer;
}

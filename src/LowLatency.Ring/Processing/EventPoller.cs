namespace LowLatency.Ring;

/// <summary>The outcome of one <see cref="EventPoller{T}.Poll{THandler}"/>.</summary>
public enum PollState
{
    /// <summary>At least one event was handled.</summary>
    Processing,

    /// <summary>Events are published but a consumer this poller follows has not finished with them yet.</summary>
    Gating,

    /// <summary>Nothing new is published.</summary>
    Idle,
}

/// <summary>
/// A consumer for code that owns its loop (an agent's <c>DoWork</c>, a socket loop): each <see cref="Poll{THandler}"/>
/// handles what is available now and returns, never waiting. Its <see cref="Sequence"/> must be added to the ring's
/// gating sequences (or to a later consumer's dependencies) like any consumer's.
/// </summary>
public sealed class EventPoller<T>
    where T : struct
{
    private readonly ValueRingBuffer<T> _ringBuffer;
    private readonly Sequencer _sequencer;
    private readonly Sequence _sequence = new();
    private readonly DependentSequenceGroup _dependents;

    /// <summary>Creates a poller of <paramref name="ringBuffer"/> that follows <paramref name="dependencies"/> (or the producers).</summary>
    public EventPoller(ValueRingBuffer<T> ringBuffer, params Sequence[] dependencies)
    {
        ArgumentNullException.ThrowIfNull(ringBuffer);
        _ringBuffer = ringBuffer;
        _sequencer = ringBuffer.Sequencer;
        _dependents = new DependentSequenceGroup(_sequencer.Cursor, dependencies);
    }

    /// <summary>The last sequence handled.</summary>
    public Sequence Sequence => _sequence;

    /// <summary>
    /// Hands every available event to <paramref name="handler"/> until it returns false. If the handler throws, the events
    /// before the failing one count as handled and the exception propagates to the caller.
    /// </summary>
    public PollState Poll<THandler>(ref THandler handler)
        where THandler : struct, IEventPollHandler<T>
    {
        var currentSequence = _sequence.Value;
        var nextSequence = currentSequence + 1;
        var availableSequence = _sequencer.GetHighestPublishedSequence(nextSequence, _dependents.Value);

        if (nextSequence <= availableSequence)
        {
            var processedSequence = currentSequence;
            try
            {
                bool processNext;
                do
                {
                    processNext = handler.OnEvent(ref _ringBuffer[nextSequence], nextSequence, nextSequence == availableSequence);
                    processedSequence = nextSequence;
                    nextSequence++;
                }
                while (processNext && nextSequence <= availableSequence);
            }
            finally
            {
                _sequence.SetValue(processedSequence);
            }

            return PollState.Processing;
        }

        return _sequencer.Cursor.Value >= nextSequence ? PollState.Gating : PollState.Idle;
    }
}

using System.Runtime.CompilerServices;

namespace LowLatency.Ring;

/// <summary>Whether one thread or several publish into a ring buffer.</summary>
public enum ProducerType
{
    /// <summary>Exactly one publishing thread: claims are plain stores, the fastest mode.</summary>
    Single,

    /// <summary>Any number of publishing threads: claims use <see cref="Interlocked"/> and publication is tracked per slot.</summary>
    Multi,
}

/// <summary>
/// Coordinates the claiming and publishing of slots of a ring buffer of <see cref="BufferSize"/> entries, and keeps a
/// producer from overwriting a slot that a gating consumer has not yet processed.
/// </summary>
/// <remarks>
/// The two implementations are sealed; <see cref="ValueRingBuffer{T}"/> holds a typed reference to whichever it uses, so
/// the calls on its hot path are direct (and inlinable) rather than virtual.
/// </remarks>
public abstract class Sequencer
{
    private protected readonly int _bufferSize;
    private protected readonly IWaitStrategy _waitStrategy;
    private protected readonly bool _isBlockingWaitStrategy;
    private protected readonly Sequence _cursor = new();

    /// <summary>
    /// The sequences of the end consumers. Replaced as a whole (copy on write) under <see cref="_gatingLock"/>; read with
    /// <c>Volatile.Read</c> so a producer always sees a complete array.
    /// </summary>
    private protected Sequence[] _gatingSequences = [];
    private readonly Lock _gatingLock = new();

    private protected Sequencer(int bufferSize, IWaitStrategy waitStrategy)
    {
        if (bufferSize < 1 || !int.IsPow2(bufferSize))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(bufferSize), bufferSize, "The buffer size must be a positive power of two.");
        }

        ArgumentNullException.ThrowIfNull(waitStrategy);
        _bufferSize = bufferSize;
        _waitStrategy = waitStrategy;
        _isBlockingWaitStrategy = waitStrategy.IsBlockingStrategy;
    }

    /// <summary>The number of slots.</summary>
    public int BufferSize => _bufferSize;

    /// <summary>The cursor: the highest published sequence (single producer) or the highest claimed one (multi producer).</summary>
    public Sequence Cursor => _cursor;

    /// <summary>The wait strategy that consumers of this sequencer use.</summary>
    public IWaitStrategy WaitStrategy => _waitStrategy;

    /// <summary>Claims the next slot, waiting while the ring is full. Returns its sequence.</summary>
    public abstract long Next();

    /// <summary>Claims the next <paramref name="n"/> slots, waiting while there is no room; returns the highest.</summary>
    public abstract long Next(int n);

    /// <summary>Claims the next slot if there is room now; otherwise returns false and claims nothing.</summary>
    public abstract bool TryNext(out long sequence);

    /// <summary>Claims the next <paramref name="n"/> slots if there is room now; <paramref name="sequence"/> is the highest.</summary>
    public abstract bool TryNext(int n, out long sequence);

    /// <summary>Makes the slot at <paramref name="sequence"/> visible to consumers.</summary>
    public abstract void Publish(long sequence);

    /// <summary>Makes the slots from <paramref name="lo"/> to <paramref name="hi"/> (inclusive) visible to consumers.</summary>
    public abstract void Publish(long lo, long hi);

    /// <summary>Whether the slot at <paramref name="sequence"/> has been published.</summary>
    public abstract bool IsAvailable(long sequence);

    /// <summary>
    /// The highest sequence from <paramref name="lowerBound"/> up to <paramref name="availableSequence"/> such that every
    /// slot in between is published; <c>lowerBound - 1</c> if the first is not.
    /// </summary>
    public abstract long GetHighestPublishedSequence(long lowerBound, long availableSequence);

    /// <summary>Whether <paramref name="requiredCapacity"/> slots could be claimed now without waiting.</summary>
    public abstract bool HasAvailableCapacity(int requiredCapacity);

    /// <summary>The number of slots that could be claimed now without waiting.</summary>
    public long RemainingCapacity()
    {
        var consumed = Sequence.GetMinimum(Volatile.Read(ref _gatingSequences), _cursor.Value);
        var produced = _cursor.Value;

        // With several producers the cursor counts claims, and a producer waiting for room has already claimed: the
        // difference can exceed the buffer size, but the capacity is never less than zero.
        return Math.Max(0, _bufferSize - (produced - consumed));
    }

    /// <summary>The smallest of the gating sequences and the cursor.</summary>
    public long GetMinimumGatingSequence() => Sequence.GetMinimum(Volatile.Read(ref _gatingSequences), _cursor.Value);

    /// <summary>
    /// Adds sequences that producers must not overtake (the end consumers). Each is first set to the current cursor, so a
    /// consumer added to a running ring starts from what is published now rather than gating on slots long overwritten.
    /// </summary>
    public void AddGatingSequences(params Sequence[] sequences)
    {
        lock (_gatingLock)
        {
            var cursor = _cursor.Value;
            foreach (var sequence in sequences)
            {
                if (sequence.Value < cursor && cursor != Sequence.InitialValue)
                {
                    sequence.SetValue(cursor);
                }
            }

            Sequence[] current = _gatingSequences;
            Volatile.Write(ref _gatingSequences, [.. current, .. sequences]);
        }
    }

    /// <summary>Removes a gating sequence; returns whether it was present.</summary>
    public bool RemoveGatingSequence(Sequence sequence)
    {
        lock (_gatingLock)
        {
            var current = _gatingSequences;
            var index = Array.IndexOf(current, sequence);
            if (index < 0)
            {
                return false;
            }

            Volatile.Write(ref _gatingSequences, [.. current.AsSpan(0, index), .. current.AsSpan(index + 1)]);
            return true;
        }
    }

    /// <summary>The gating sequences currently registered (a snapshot).</summary>
    public IReadOnlyList<Sequence> GatingSequences => Volatile.Read(ref _gatingSequences);

    /// <summary>Creates a barrier for consumers that follow <paramref name="dependencies"/> (or the cursor if none).</summary>
    public SequenceBarrier NewBarrier(params Sequence[] dependencies) => new(this, new DependentSequenceGroup(_cursor, dependencies));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected void SignalConsumers()
    {
        if (_isBlockingWaitStrategy)
        {
            _waitStrategy.SignalAllWhenBlocking();
        }
    }

    /// <summary>Creates a sequencer of the given <paramref name="producerType"/>.</summary>
    public static Sequencer Create(ProducerType producerType, int bufferSize, IWaitStrategy waitStrategy) => producerType switch
    {
        ProducerType.Single => new SingleProducerSequencer(bufferSize, waitStrategy),
        ProducerType.Multi => new MultiProducerSequencer(bufferSize, waitStrategy),
        _ => throw new ArgumentOutOfRangeException(nameof(producerType), producerType, "Unknown producer type."),
    };
}

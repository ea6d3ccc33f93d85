using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LowLatency.Ring;

/// <summary>
/// Sequencer for any number of publishing threads. A claim is one <see cref="Interlocked.Add(ref long, long)"/> on the
/// cursor, so the cursor is the highest <em>claimed</em> sequence; which slots are <em>published</em> is tracked in an
/// availability buffer holding, per slot, the lap number (<c>sequence &gt;&gt; log2(bufferSize)</c>) of its last publish.
/// </summary>
public sealed class MultiProducerSequencer : Sequencer
{
    /// <summary>The minimum gating sequence seen by any producer at its last check; shared by producers, so padded.</summary>
    private readonly Sequence _gatingSequenceCache = new();

    /// <summary>
    /// Lap number per slot, plus <see cref="AvailablePadding"/> unused ints at both ends so the first and last slots do
    /// not share a cache line with the array header or a neighbouring object.
    /// </summary>
    private readonly int[] _availableBuffer;
    private readonly int _indexMask;
    private readonly int _indexShift;

    private const int AvailablePadding = Padding.CacheLine / sizeof(int);

    /// <summary>Creates a sequencer for a ring of <paramref name="bufferSize"/> slots (a power of two).</summary>
    public MultiProducerSequencer(int bufferSize, IWaitStrategy waitStrategy)
        : base(bufferSize, waitStrategy)
    {
        _availableBuffer = new int[bufferSize + 2 * AvailablePadding];
        _availableBuffer.AsSpan().Fill(-1);
        _indexMask = bufferSize - 1;
        _indexShift = BitOperations.Log2((uint)bufferSize);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override long Next() => NextInternal(1);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override long Next(int n)
    {
        if ((uint)(n - 1) >= (uint)_bufferSize)
        {
            ThrowHelper.ThrowBatchSize(n, _bufferSize);
        }

        return NextInternal(n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long NextInternal(int n)
    {
        // Claim first, then make sure the claimed slots are free. Claiming with one atomic add (rather than a
        // compare-and-swap loop that checks capacity first) means contending producers never retry.
        var next = _cursor.AddAndGet(n);
        var current = next - n;
        var wrapPoint = next - _bufferSize;
        var cachedGatingSequence = _gatingSequenceCache.Value;

        if (wrapPoint > cachedGatingSequence || cachedGatingSequence > current)
        {
            WaitForCapacity(current, wrapPoint);
        }

        return next;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WaitForCapacity(long current, long wrapPoint)
    {
        var spinWait = default(SpinWait);
        long gatingSequence;
        while (wrapPoint > (gatingSequence = Sequence.GetMinimum(Volatile.Read(ref _gatingSequences), current)))
        {
            spinWait.SpinOnce(sleep1Threshold: -1); // as in SingleProducerSequencer: spin, then yield, never sleep
        }

        _gatingSequenceCache.SetValue(gatingSequence);
    }

    /// <inheritdoc />
    public override bool TryNext(out long sequence) => TryNext(1, out sequence);

    /// <inheritdoc />
    public override bool TryNext(int n, out long sequence)
    {
        if ((uint)(n - 1) >= (uint)_bufferSize)
        {
            ThrowHelper.ThrowBatchSize(n, _bufferSize);
        }

        // Here the capacity must be checked before claiming, so this is the classic compare-and-swap loop.
        long current;
        long next;
        do
        {
            current = _cursor.Value;
            next = current + n;
            if (!HasAvailableCapacity(n, current))
            {
                sequence = default;
                return false;
            }
        }
        while (!_cursor.CompareAndSet(current, next));

        sequence = next;
        return true;
    }

    /// <inheritdoc />
    public override bool HasAvailableCapacity(int requiredCapacity) => HasAvailableCapacity(requiredCapacity, _cursor.Value);

    private bool HasAvailableCapacity(int requiredCapacity, long cursorValue)
    {
        var wrapPoint = cursorValue + requiredCapacity - _bufferSize;
        var cachedGatingSequence = _gatingSequenceCache.Value;

        if (wrapPoint > cachedGatingSequence || cachedGatingSequence > cursorValue)
        {
            var minSequence = Sequence.GetMinimum(Volatile.Read(ref _gatingSequences), cursorValue);
            _gatingSequenceCache.SetValue(minSequence);
            if (wrapPoint > minSequence)
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override void Publish(long sequence)
    {
        SetAvailable(sequence);
        SignalConsumers();
    }

    /// <inheritdoc />
    public override void Publish(long lo, long hi)
    {
        for (var l = lo; l <= hi; l++)
        {
            SetAvailable(l);
        }

        SignalConsumers();
    }

    /// <remarks>
    /// A release store: the writes the producer made to the slot are visible to a consumer that sees the new lap number.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetAvailable(long sequence) =>
        Volatile.Write(ref AvailableFlag(sequence), (int)(sequence >> _indexShift));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref int AvailableFlag(long sequence) =>
        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_availableBuffer), AvailablePadding + (int)(sequence & _indexMask));

    /// <inheritdoc />
    /// <remarks>An acquire load of the slot's lap number, pairing with the release store in <see cref="Publish(long)"/>.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override bool IsAvailable(long sequence) =>
        Volatile.Read(ref AvailableFlag(sequence)) == (int)(sequence >> _indexShift);

    /// <inheritdoc />
    public override long GetHighestPublishedSequence(long lowerBound, long availableSequence)
    {
        for (var sequence = lowerBound; sequence <= availableSequence; sequence++)
        {
            if (!IsAvailable(sequence))
            {
                return sequence - 1;
            }
        }

        return availableSequence;
    }
}

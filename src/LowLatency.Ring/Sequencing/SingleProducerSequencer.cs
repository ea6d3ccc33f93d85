using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LowLatency.Ring;

/// <summary>
/// Sequencer for exactly one publishing thread. Claiming is a plain add to a producer-private counter; the gating
/// sequences are read only when the cached minimum says the ring might be full.
/// </summary>
/// <remarks>
/// Calling it from more than one thread at a time corrupts the ring: use <see cref="MultiProducerSequencer"/> for that.
/// </remarks>
public sealed class SingleProducerSequencer : Sequencer
{
    /// <summary>Producer-private state, padded so that no other thread's writes share its cache line.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 2 * Padding.Field + 2 * sizeof(long))]
    private struct ProducerFields
    {
        /// <summary>The highest sequence claimed so far.</summary>
        [FieldOffset(Padding.Field)]
        public long NextValue;

        /// <summary>The smallest gating sequence seen at the last check; the ring is known not to be full below it.</summary>
        [FieldOffset(Padding.Field + sizeof(long))]
        public long CachedGatingValue;
    }

    private ProducerFields _fields;

    /// <summary>Creates a sequencer for a ring of <paramref name="bufferSize"/> slots (a power of two).</summary>
    public SingleProducerSequencer(int bufferSize, IWaitStrategy waitStrategy)
        : base(bufferSize, waitStrategy)
    {
        _fields.NextValue = Sequence.InitialValue;
        _fields.CachedGatingValue = Sequence.InitialValue;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override long Next()
    {
        var nextValue = _fields.NextValue;
        var nextSequence = nextValue + 1;
        var wrapPoint = nextSequence - _bufferSize;
        var cachedGatingSequence = _fields.CachedGatingValue;

        if (wrapPoint > cachedGatingSequence || cachedGatingSequence > nextValue)
        {
            WaitForCapacity(nextValue, wrapPoint);
        }

        _fields.NextValue = nextSequence;
        return nextSequence;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override long Next(int n)
    {
        if ((uint)(n - 1) >= (uint)_bufferSize)
        {
            ThrowHelper.ThrowBatchSize(n, _bufferSize);
        }

        var nextValue = _fields.NextValue;
        var nextSequence = nextValue + n;
        var wrapPoint = nextSequence - _bufferSize;
        var cachedGatingSequence = _fields.CachedGatingValue;

        if (wrapPoint > cachedGatingSequence || cachedGatingSequence > nextValue)
        {
            WaitForCapacity(nextValue, wrapPoint);
        }

        _fields.NextValue = nextSequence;
        return nextSequence;
    }

    /// <summary>The slow path of <see cref="Next()"/>: the ring may be full, so look at the consumers and wait.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WaitForCapacity(long nextValue, long wrapPoint)
    {
        // Full fence (store-load): drain our latest publish from this core's store buffer before we read the consumers'
        // positions, so we never spin on consumers that are themselves waiting for that store. Unlike the Java
        // Disruptor we do not re-store the cursor here: a caller that claimed twice before publishing would otherwise
        // expose an unwritten slot.
        Interlocked.MemoryBarrier();

        var spinWait = default(SpinWait);
        long minSequence;
        while (wrapPoint > (minSequence = Sequence.GetMinimum(Volatile.Read(ref _gatingSequences), nextValue)))
        {
            // Spin, then yield (never Thread.Sleep(1), which costs at least a millisecond on Linux: a consumer drains a
            // whole 64 Ki ring in a fraction of that, and the perf harness measured batch publishing fall from ~450 to
            // 81 M events/s with it).
            spinWait.SpinOnce(sleep1Threshold: -1);
        }

        _fields.CachedGatingValue = minSequence;
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

        if (!HasAvailableCapacity(n, doStore: true))
        {
            sequence = default;
            return false;
        }

        sequence = _fields.NextValue += n;
        return true;
    }

    /// <inheritdoc />
    public override bool HasAvailableCapacity(int requiredCapacity) => HasAvailableCapacity(requiredCapacity, doStore: false);

    private bool HasAvailableCapacity(int requiredCapacity, bool doStore)
    {
        var nextValue = _fields.NextValue;
        var wrapPoint = nextValue + requiredCapacity - _bufferSize;
        var cachedGatingSequence = _fields.CachedGatingValue;

        if (wrapPoint > cachedGatingSequence || cachedGatingSequence > nextValue)
        {
            if (doStore)
            {
                Interlocked.MemoryBarrier(); // store-load fence, as in WaitForCapacity
            }

            var minSequence = Sequence.GetMinimum(Volatile.Read(ref _gatingSequences), nextValue);
            _fields.CachedGatingValue = minSequence;
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
        _cursor.SetValue(sequence);
        SignalConsumers();
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override void Publish(long lo, long hi) => Publish(hi);

    /// <inheritdoc />
    public override bool IsAvailable(long sequence)
    {
        var currentSequence = _cursor.Value;
        return sequence <= currentSequence && sequence > currentSequence - _bufferSize;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override long GetHighestPublishedSequence(long lowerBound, long availableSequence) => availableSequence;
}

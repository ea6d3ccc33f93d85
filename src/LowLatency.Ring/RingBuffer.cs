using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LowLatency.Ring;

/// <summary>
/// The non-generic part of a ring buffer: its size, its sequencer and the claim/publish API. See
/// <see cref="ValueRingBuffer{T}"/> for the entries.
/// </summary>
/// <remarks>
/// Every field is written once, in the constructor, and then read by producers and consumers on every event. The explicit
/// layout surrounds them with <see cref="Padding.Field"/> bytes so that no neighbouring object's hot field can share
/// their cache line and invalidate it (false sharing), as in Disruptor-net's RingBuffer.
/// The sequencer is held twice, typed: exactly one of <see cref="_singleProducer"/> and <see cref="_multiProducer"/> is
/// set, so each call below is a null test and a direct, inlinable call to a sealed class instead of a virtual call.
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = (2 * Padding.Field) + 48)]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1823:Avoid unused private fields", Justification = "Padding.")]
public abstract class RingBuffer
{
    [FieldOffset(Padding.Field)]
    private protected readonly object _entries;

    [FieldOffset(Padding.Field + 8)]
    private protected readonly Sequencer _sequencer;

    [FieldOffset(Padding.Field + 16)]
    private protected readonly SingleProducerSequencer? _singleProducer;

    [FieldOffset(Padding.Field + 24)]
    private protected readonly MultiProducerSequencer? _multiProducer;

    [FieldOffset(Padding.Field + 32)]
    private protected readonly long _indexMask;

    [FieldOffset(Padding.Field + 40)]
    private protected readonly int _bufferSize;

    /// <summary>
    /// Trailing padding. <see cref="StructLayoutAttribute.Size"/> is not honoured for classes (the layout test caught
    /// it), so the end of the padding is held by a field.
    /// </summary>
    [FieldOffset(Padding.Field + 48 + Padding.Field - sizeof(long))]
    private readonly long _trailingPadding;

    private protected RingBuffer(Sequencer sequencer, object entries)
    {
        ArgumentNullException.ThrowIfNull(sequencer);
        _sequencer = sequencer;
        _singleProducer = sequencer as SingleProducerSequencer;
        _multiProducer = sequencer as MultiProducerSequencer;
        if (_singleProducer is null && _multiProducer is null)
        {
            ThrowHelper.ThrowInvalidOperation("Unknown sequencer type.");
        }

        _entries = entries;
        _bufferSize = sequencer.BufferSize;
        _indexMask = _bufferSize - 1;
    }

    /// <summary>The number of slots (a power of two).</summary>
    public int BufferSize => _bufferSize;

    /// <summary>The sequencer (single or multi producer).</summary>
    public Sequencer Sequencer => _sequencer;

    /// <summary>The cursor: highest published (single producer) or claimed (multi producer) sequence.</summary>
    public long Cursor => _sequencer.Cursor.Value;

    /// <summary>Claims the next slot, waiting while the ring is full; write the entry, then <see cref="Publish(long)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Next() => _singleProducer is { } sp ? sp.Next() : _multiProducer!.Next();

    /// <summary>
    /// Claims <paramref name="n"/> slots at once and returns the highest sequence; the lowest is <c>hi - (n - 1)</c>.
    /// Write them, then <see cref="Publish(long, long)"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Next(int n) => _singleProducer is { } sp ? sp.Next(n) : _multiProducer!.Next(n);

    /// <summary>Claims the next slot if the ring has room now; returns false (claiming nothing) if it is full.</summary>
    public bool TryNext(out long sequence) => _sequencer.TryNext(out sequence);

    /// <summary>Claims <paramref name="n"/> slots if the ring has room for all of them now; otherwise claims nothing.</summary>
    public bool TryNext(int n, out long sequence) => _sequencer.TryNext(n, out sequence);

    /// <summary>Publishes the slot at <paramref name="sequence"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Publish(long sequence)
    {
        if (_singleProducer is { } sp)
        {
            sp.Publish(sequence);
        }
        else
        {
            _multiProducer!.Publish(sequence);
        }
    }

    /// <summary>Publishes the slots from <paramref name="lo"/> to <paramref name="hi"/> inclusive.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Publish(long lo, long hi)
    {
        if (_singleProducer is { } sp)
        {
            sp.Publish(hi);
        }
        else
        {
            _multiProducer!.Publish(lo, hi);
        }
    }

    /// <summary>The number of slots that can be claimed now without waiting.</summary>
    public long RemainingCapacity() => _sequencer.RemainingCapacity();

    /// <summary>Whether <paramref name="requiredCapacity"/> slots can be claimed now without waiting.</summary>
    public bool HasAvailableCapacity(int requiredCapacity) => _sequencer.HasAvailableCapacity(requiredCapacity);

    /// <summary>Whether the slot at <paramref name="sequence"/> is published.</summary>
    public bool IsPublished(long sequence) => _sequencer.IsAvailable(sequence);

    /// <summary>Adds consumer sequences that producers must never overtake. See <see cref="Sequencer.AddGatingSequences"/>.</summary>
    public void AddGatingSequences(params Sequence[] gatingSequences) => _sequencer.AddGatingSequences(gatingSequences);

    /// <summary>Removes a gating sequence.</summary>
    public bool RemoveGatingSequence(Sequence sequence) => _sequencer.RemoveGatingSequence(sequence);

    /// <summary>The smallest of the gating sequences and the cursor.</summary>
    public long GetMinimumGatingSequence() => _sequencer.GetMinimumGatingSequence();

    /// <summary>A barrier for a consumer that follows <paramref name="dependencies"/>, or the producers if none are given.</summary>
    public SequenceBarrier NewBarrier(params Sequence[] dependencies) => _sequencer.NewBarrier(dependencies);
}

/// <summary>
/// A ring of preallocated <typeparamref name="T"/> structs in the design of the LMAX Disruptor: producers claim a slot,
/// write the struct in place through a <c>ref</c>, and publish; consumers read it in place. Nothing is copied or
/// allocated per event.
/// </summary>
/// <typeparam name="T">The event type. Reference fields inside it (e.g. preallocated arrays) are set up once by the factory.</typeparam>
/// <example>
/// <code>
/// var sequence = ring.Next();
/// ref var evt = ref ring[sequence];
/// evt.Price = price;
/// ring.Publish(sequence);
/// </code>
/// </example>
public sealed class ValueRingBuffer<T> : RingBuffer
    where T : struct
{
    /// <summary>
    /// Unused entries before the first and after the last slot: at least <see cref="Padding.RingEntries"/> bytes, so no
    /// slot shares a cache line with the array header or whatever object the GC places next to the array.
    /// </summary>
    internal static readonly int s_entryPadding = (Padding.RingEntries + Unsafe.SizeOf<T>() - 1) / Unsafe.SizeOf<T>();

    /// <summary>Creates a ring buffer over <paramref name="sequencer"/>, initialising each slot with <paramref name="factory"/> if given.</summary>
    public ValueRingBuffer(Sequencer sequencer, Func<T>? factory = null)
        : base(sequencer, CreateEntries(sequencer, factory))
    {
    }

    private static T[] CreateEntries(Sequencer sequencer, Func<T>? factory)
    {
        ArgumentNullException.ThrowIfNull(sequencer);
        var entries = new T[sequencer.BufferSize + (2 * s_entryPadding)];
        if (factory is not null)
        {
            for (var i = 0; i < entries.Length; i++)
            {
                entries[i] = factory();
            }
        }

        return entries;
    }

    /// <summary>Creates a ring buffer for one publishing thread.</summary>
    public static ValueRingBuffer<T> CreateSingleProducer(int bufferSize, IWaitStrategy? waitStrategy = null, Func<T>? factory = null) =>
        new(new SingleProducerSequencer(bufferSize, waitStrategy ?? new BlockingWaitStrategy()), factory);

    /// <summary>Creates a ring buffer for any number of publishing threads.</summary>
    public static ValueRingBuffer<T> CreateMultiProducer(int bufferSize, IWaitStrategy? waitStrategy = null, Func<T>? factory = null) =>
        new(new MultiProducerSequencer(bufferSize, waitStrategy ?? new BlockingWaitStrategy()), factory);

    /// <summary>Creates a ring buffer of the given <paramref name="producerType"/>.</summary>
    public static ValueRingBuffer<T> Create(ProducerType producerType, int bufferSize, IWaitStrategy? waitStrategy = null, Func<T>? factory = null) =>
        new(Sequencer.Create(producerType, bufferSize, waitStrategy ?? new BlockingWaitStrategy()), factory);

    /// <summary>The entry for <paramref name="sequence"/>, by reference. No bounds check: the mask keeps it in range.</summary>
    public ref T this[long sequence]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref Unsafe.Add(
            ref MemoryMarshal.GetArrayDataReference(Unsafe.As<T[]>(_entries)),
            (nint)(sequence & _indexMask) + s_entryPadding);
    }

    /// <summary>
    /// Claims one slot and returns a scope that publishes it when disposed:
    /// <c>using (var scope = ring.PublishEvent()) { scope.Event().Price = p; }</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public UnpublishedEventScope PublishEvent() => new(this, Next());

    /// <summary>Claims <paramref name="count"/> slots and returns a scope that publishes them all when disposed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public UnpublishedEventBatchScope PublishEvents(int count)
    {
        var hi = Next(count);
        return new(this, hi - (count - 1), hi);
    }

    /// <summary>A claimed, not yet published slot; <see cref="Dispose"/> publishes it.</summary>
    public readonly ref struct UnpublishedEventScope
    {
        private readonly ValueRingBuffer<T> _ring;

        internal UnpublishedEventScope(ValueRingBuffer<T> ring, long sequence)
        {
            _ring = ring;
            Sequence = sequence;
        }

        /// <summary>The claimed sequence.</summary>
        public long Sequence { get; }

        /// <summary>The claimed entry, to be written in place.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ref T Event() => ref _ring[Sequence];

        /// <summary>Publishes the slot.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Dispose() => _ring.Publish(Sequence);
    }

    /// <summary>A claimed, not yet published range of slots; <see cref="Dispose"/> publishes them.</summary>
    public readonly ref struct UnpublishedEventBatchScope
    {
        private readonly ValueRingBuffer<T> _ring;

        internal UnpublishedEventBatchScope(ValueRingBuffer<T> ring, long lo, long hi)
        {
            _ring = ring;
            StartSequence = lo;
            EndSequence = hi;
        }

        /// <summary>The first claimed sequence.</summary>
        public long StartSequence { get; }

        /// <summary>The last claimed sequence (inclusive).</summary>
        public long EndSequence { get; }

        /// <summary>The number of claimed slots.</summary>
        public int Length => (int)(EndSequence - StartSequence + 1);

        /// <summary>The <paramref name="index"/>-th claimed entry (0-based).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ref T Event(int index) => ref _ring[StartSequence + index];

        /// <summary>Publishes the whole range.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Dispose() => _ring.Publish(StartSequence, EndSequence);
    }
}

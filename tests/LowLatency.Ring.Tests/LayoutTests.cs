using System.Runtime.CompilerServices;

namespace LowLatency.Ring.Tests;

/// <summary>
/// False-sharing protection is a layout property, so it is tested as one: every hot field must have at least
/// <see cref="Padding.Field"/> (56) bytes of its own object on each side, so no 64-byte line can hold it and another
/// object's data.
/// </summary>
public sealed class LayoutTests
{
    private const int ObjectHeaderAndMethodTable = 16;

    /// <summary>A view of any object whose single field sits where the object's data starts.</summary>
    private sealed class RawObject
    {
        public byte Data;
    }

    private static ref byte DataStart(object o) => ref Unsafe.As<RawObject>(o).Data;

    private static long AllocatedSize(Func<object> create)
    {
        create(); // JIT and type loading first
        var before = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(create());
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void Sequence_Value_HasFiftySixBytesOfPaddingOnEachSide()
    {
        var sequence = new Sequence();
        var offset = (long)Unsafe.ByteOffset(ref DataStart(sequence), ref Unsafe.As<long, byte>(ref sequence.ValueRef));
        var objectSize = AllocatedSize(() => RuntimeHelpers.GetUninitializedObject(typeof(Sequence)));
        var dataSize = objectSize - ObjectHeaderAndMethodTable;

        Assert.True(offset >= 56, $"value at offset {offset}");
        Assert.True(dataSize - offset - sizeof(long) >= 56, $"{dataSize - offset - sizeof(long)} bytes after the value");
    }

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_fields")]
    private static extern ref byte ProducerFields(SingleProducerSequencer sequencer);

    [Fact]
    public void SingleProducerSequencer_ProducerFields_ArePadded()
    {
        // The struct holding NextValue and CachedGatingValue is the last field; its two hot longs sit 56 bytes into it
        // and 56 bytes before its end.
        var type = typeof(SingleProducerSequencer).GetNestedType("ProducerFields", System.Reflection.BindingFlags.NonPublic)!;
        var size = (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(type).Invoke(null, null)!;
        var nextOffset = (int)System.Runtime.InteropServices.Marshal.OffsetOf(type, "NextValue");
        var cachedOffset = (int)System.Runtime.InteropServices.Marshal.OffsetOf(type, "CachedGatingValue");

        Assert.True(nextOffset >= 56, $"NextValue at {nextOffset}");
        Assert.True(size - cachedOffset - sizeof(long) >= 56, $"{size - cachedOffset - 8} bytes after CachedGatingValue");
    }

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_entries")]
    private static extern ref object Entries(RingBuffer ring);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_bufferSize")]
    private static extern ref int BufferSizeField(RingBuffer ring);

    [Fact]
    public void RingBuffer_ReadMostlyFields_ArePadded()
    {
        var ring = ValueRingBuffer<long>.CreateSingleProducer(8);
        var first = (long)Unsafe.ByteOffset(ref DataStart(ring), ref Unsafe.As<object, byte>(ref Entries(ring)));
        var last = (long)Unsafe.ByteOffset(ref DataStart(ring), ref Unsafe.As<int, byte>(ref BufferSizeField(ring)));

        // GetUninitializedObject allocates the ring object alone (not its entries or sequencer).
        var objectSize = AllocatedSize(() => RuntimeHelpers.GetUninitializedObject(typeof(ValueRingBuffer<long>)));
        var dataSize = objectSize - ObjectHeaderAndMethodTable;

        Assert.True(first >= 56, $"first field at {first}");
        Assert.True(dataSize - last - sizeof(int) >= 56, $"{dataSize - last - sizeof(int)} bytes after the last field");
    }

    [Fact]
    public void ValueRingBuffer_Entries_HaveTwoCacheLinesOfPaddingAtEachEnd()
    {
        Assert.True(ValueRingBuffer<long>.s_entryPadding * sizeof(long) >= 128);
        Assert.True(ValueRingBuffer<TestEvent>.s_entryPadding * Unsafe.SizeOf<TestEvent>() >= 128);

        var ring = ValueRingBuffer<long>.CreateSingleProducer(16);
        var entries = (long[])Entries(ring);
        Assert.Equal(16 + (2 * ValueRingBuffer<long>.s_entryPadding), entries.Length);

        // Slot 0 is the first entry after the padding and slot 15 the last before it.
        ring[0] = 11;
        ring[15] = 22;
        Assert.Equal(11, entries[ValueRingBuffer<long>.s_entryPadding]);
        Assert.Equal(22, entries[ValueRingBuffer<long>.s_entryPadding + 15]);
        Assert.Equal(11, ring[16]); // wraps
    }
}

using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LowLatency.Parquet.Writing;

/// <summary>
/// A growable byte buffer on arrays rented from <see cref="ArrayPool{T}.Shared"/>: the writer's pages and column chunks
/// grow to a row group's size (megabytes per column), and renting them means the next row group and the next file reuse
/// the same arrays instead of allocating them on the large-object heap again. Nothing is rented until the first write;
/// <see cref="Release"/> hands the array back (the writer calls it when the file is completed or abandoned).
/// </summary>
/// <remarks>
/// The fixed-width stores write little-endian values, Parquet's byte order, straight into the array: on a
/// little-endian host (every one .NET supports today) the byte swap is removed by the JIT.
/// </remarks>
internal sealed class PooledBufferWriter : IBufferWriter<byte>
{
    private readonly int _initialCapacity;
    private byte[] _buffer = [];
    private int _length;

    public PooledBufferWriter(int initialCapacity) => _initialCapacity = Math.Max(initialCapacity, 16);

    public int WrittenCount => _length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    /// <summary>Forgets what was written, keeping the array.</summary>
    public void ResetWrittenCount() => _length = 0;

    public void Advance(int count)
    {
        if ((uint)count > (uint)(_buffer.Length - _length))
        {
            ThrowHelper.InvalidOperation($"Cannot advance {count} bytes past the {_buffer.Length - _length} requested.");
        }

        _length += count;
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(Math.Max(sizeHint, 1));
        return _buffer.AsSpan(_length);
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(Math.Max(sizeHint, 1));
        return _buffer.AsMemory(_length);
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInt32(int value) => Store(BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInt64(long value) => Store(BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteFloat(float value) => WriteInt32(BitConverter.SingleToInt32Bits(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteDouble(double value) => WriteInt64(BitConverter.DoubleToInt64Bits(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteByte(byte value) => Store(value);

    /// <summary>Returns the array to the pool; the buffer is empty afterwards and rents again if written to.</summary>
    public void Release()
    {
        var buffer = _buffer;
        _buffer = [];
        _length = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Store<T>(T value)
        where T : unmanaged
    {
        var size = Unsafe.SizeOf<T>();
        if (_buffer.Length - _length < size)
        {
            Grow(size);
        }

        Unsafe.WriteUnaligned(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_buffer), _length), value);
        _length += size;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Ensure(int size)
    {
        if (_buffer.Length - _length < size)
        {
            Grow(size);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int size)
    {
        var needed = checked(_length + size);
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Max(_initialCapacity, checked(_buffer.Length * 2))));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = bigger;
    }
}

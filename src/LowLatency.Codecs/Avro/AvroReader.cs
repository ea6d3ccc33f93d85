using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace LowLatency.Codecs.Avro;

/// <summary>
/// Reads Avro binary-encoded primitives from one contiguous span: zig-zag varints with overflow checks, little-endian
/// floats and doubles, and bytes/strings/fixed returned as slices of the input (never copied, never allocated).
/// </summary>
/// <remarks>
/// Every method returns an <see cref="AvroStatus"/> and leaves the position unchanged on failure. Every declared length
/// is checked against the bytes that remain before it is used, so a huge or negative length costs nothing. Strings are
/// returned as UTF-8 bytes as written; the reader does not validate UTF-8 (the consumer parses the bytes it needs).
/// </remarks>
public ref struct AvroReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    /// <summary>Creates a reader at the start of <paramref name="data"/>.</summary>
    public AvroReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    /// <summary>The offset of the next byte to read.</summary>
    public readonly int Position => _position;

    /// <summary>The bytes not read yet.</summary>
    public readonly int Remaining => _data.Length - _position;

    /// <summary>Whether every byte has been read.</summary>
    public readonly bool IsAtEnd => _position >= _data.Length;

    /// <summary>The whole input (offsets such as <see cref="Position"/> are relative to it).</summary>
    public readonly ReadOnlySpan<byte> Data => _data;

    /// <summary>Reads a zig-zag varint <c>long</c> (at most 10 bytes, the 10th holding only the top bit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public AvroStatus ReadLong(out long value)
    {
        var pos = _position;
        if ((uint)pos < (uint)_data.Length)
        {
            uint b = _data[pos];
            if (b < 0x80)
            {
                _position = pos + 1;
                value = (long)(b >> 1) ^ -(long)(b & 1);
                return AvroStatus.Ok;
            }
        }

        return ReadLongSlow(out value);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private AvroStatus ReadLongSlow(out long value)
    {
        value = 0;
        ulong raw = 0;
        var pos = _position;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if ((uint)pos >= (uint)_data.Length)
            {
                return AvroStatus.Truncated;
            }

            ulong b = _data[pos++];
            if (shift == 63 && b > 1)
            {
                return AvroStatus.InvalidVarint; // a 10th byte may only carry bit 63
            }

            raw |= (b & 0x7F) << shift;
            if (b < 0x80)
            {
                _position = pos;
                value = (long)(raw >> 1) ^ -(long)(raw & 1);
                return AvroStatus.Ok;
            }
        }

        return AvroStatus.InvalidVarint;
    }

    /// <summary>Reads a zig-zag varint <c>int</c> (at most 5 bytes, the 5th holding only the top 4 bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public AvroStatus ReadInt(out int value)
    {
        var pos = _position;
        if ((uint)pos < (uint)_data.Length)
        {
            uint b = _data[pos];
            if (b < 0x80)
            {
                _position = pos + 1;
                value = (int)(b >> 1) ^ -(int)(b & 1);
                return AvroStatus.Ok;
            }
        }

        return ReadIntSlow(out value);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private AvroStatus ReadIntSlow(out int value)
    {
        value = 0;
        uint raw = 0;
        var pos = _position;
        for (var shift = 0; shift < 35; shift += 7)
        {
            if ((uint)pos >= (uint)_data.Length)
            {
                return AvroStatus.Truncated;
            }

            uint b = _data[pos++];
            if (shift == 28 && b > 0x0F)
            {
                return AvroStatus.InvalidVarint; // continuation on the 5th byte, or bits beyond 32
            }

            raw |= (b & 0x7F) << shift;
            if (b < 0x80)
            {
                _position = pos;
                value = (int)(raw >> 1) ^ -(int)(raw & 1);
                return AvroStatus.Ok;
            }
        }

        return AvroStatus.InvalidVarint;
    }

    /// <summary>Reads a boolean: one byte, 0 or 1 (anything else is <see cref="AvroStatus.InvalidBoolean"/>).</summary>
    public AvroStatus ReadBoolean(out bool value)
    {
        value = false;
        if ((uint)_position >= (uint)_data.Length)
        {
            return AvroStatus.Truncated;
        }

        var b = _data[_position];
        if (b > 1)
        {
            return AvroStatus.InvalidBoolean;
        }

        _position++;
        value = b == 1;
        return AvroStatus.Ok;
    }

    /// <summary>Reads a float: 4 bytes, IEEE 754, little-endian.</summary>
    public AvroStatus ReadFloat(out float value)
    {
        if (Remaining < sizeof(float))
        {
            value = 0;
            return AvroStatus.Truncated;
        }

        value = BinaryPrimitives.ReadSingleLittleEndian(_data[_position..]);
        _position += sizeof(float);
        return AvroStatus.Ok;
    }

    /// <summary>Reads a double: 8 bytes, IEEE 754, little-endian.</summary>
    public AvroStatus ReadDouble(out double value)
    {
        if (Remaining < sizeof(double))
        {
            value = 0;
            return AvroStatus.Truncated;
        }

        value = BinaryPrimitives.ReadDoubleLittleEndian(_data[_position..]);
        _position += sizeof(double);
        return AvroStatus.Ok;
    }

    /// <summary>Reads a length-prefixed byte sequence as a slice of the input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public AvroStatus ReadBytes(out ReadOnlySpan<byte> value)
    {
        var start = _position;
        var status = ReadLong(out var length);
        if (status == AvroStatus.Ok)
        {
            if ((ulong)length <= (ulong)Remaining)
            {
                value = _data.Slice(_position, (int)length);
                _position += (int)length;
                return AvroStatus.Ok;
            }

            status = length < 0 ? AvroStatus.NegativeLength : AvroStatus.LengthTooLarge;
        }

        _position = start;
        value = default;
        return status;
    }

    /// <summary>Reads a string: its UTF-8 bytes as a slice of the input (same encoding as bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public AvroStatus ReadString(out ReadOnlySpan<byte> utf8) => ReadBytes(out utf8);

    /// <summary>Reads a fixed of <paramref name="size"/> bytes as a slice of the input.</summary>
    public AvroStatus ReadFixed(int size, out ReadOnlySpan<byte> value)
    {
        if ((uint)size > (uint)Remaining)
        {
            value = default;
            return AvroStatus.Truncated;
        }

        value = _data.Slice(_position, size);
        _position += size;
        return AvroStatus.Ok;
    }

    /// <summary>
    /// Reads an array or map block header: the item count, and for a negative count (a block written with its size) the
    /// absolute count and the block's byte size; <paramref name="byteSize"/> is -1 when the writer did not give one.
    /// A count of 0 ends the array or map.
    /// </summary>
    public AvroStatus ReadBlockHeader(out long count, out long byteSize)
    {
        var start = _position;
        byteSize = -1;
        var status = ReadLong(out count);
        if (status != AvroStatus.Ok || count >= 0)
        {
            return status;
        }

        if (count == long.MinValue)
        {
            _position = start;
            return AvroStatus.InvalidVarint;
        }

        count = -count;
        status = ReadLong(out byteSize);
        if (status == AvroStatus.Ok && (ulong)byteSize > (ulong)Remaining)
        {
            status = byteSize < 0 ? AvroStatus.NegativeLength : AvroStatus.LengthTooLarge;
        }

        if (status != AvroStatus.Ok)
        {
            _position = start;
            count = 0;
            byteSize = -1;
        }

        return status;
    }

    /// <summary>Moves back to <paramref name="position"/> (a position this reader returned earlier).</summary>
    internal void Rewind(int position) => _position = position;

    /// <summary>Skips <paramref name="count"/> bytes.</summary>
    public AvroStatus Skip(int count)
    {
        if ((uint)count > (uint)Remaining)
        {
            return AvroStatus.Truncated;
        }

        _position += count;
        return AvroStatus.Ok;
    }
}

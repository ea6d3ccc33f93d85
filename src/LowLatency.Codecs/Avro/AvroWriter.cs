using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using LowLatency.Market;

namespace LowLatency.Codecs.Avro;

/// <summary>
/// Writes Avro binary encoding into a caller's span: the fast path for producing records field by field (the caller
/// writes the fields in the schema's order, as generated or hand-written code for a known schema does; for arbitrary
/// values of any schema use <see cref="AvroGenericDatum"/>).
/// </summary>
/// <remarks>
/// Overflow is sticky rather than thrown: once a value does not fit, nothing more is written and
/// <see cref="Overflowed"/> stays true, so a caller writes a whole record and checks once (then retries with a larger
/// buffer). Nothing allocates.
/// </remarks>
public ref struct AvroWriter
{
    /// <summary>The most bytes a long varint takes.</summary>
    public const int MaxLongBytes = 10;

    /// <summary>The most bytes an int varint takes.</summary>
    public const int MaxIntBytes = 5;

    private readonly Span<byte> _buffer;
    private int _position;
    private bool _overflowed;

    /// <summary>Creates a writer at the start of <paramref name="buffer"/>.</summary>
    public AvroWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
        _overflowed = false;
    }

    /// <summary>Bytes written so far.</summary>
    public readonly int Position => _position;

    /// <summary>A value did not fit: the output is incomplete and must not be used.</summary>
    public readonly bool Overflowed => _overflowed;

    /// <summary>The bytes written so far.</summary>
    public readonly ReadOnlySpan<byte> Written => _buffer[.._position];

    /// <summary>The number of bytes the zig-zag varint of <paramref name="value"/> takes (1 to 10).</summary>
    public static int SizeOfLong(long value)
    {
        var raw = (ulong)((value << 1) ^ (value >> 63));
        var size = 1;
        while (raw >= 0x80)
        {
            raw >>= 7;
            size++;
        }

        return size;
    }

    /// <summary>Encodes <paramref name="value"/> as a zig-zag varint at the start of <paramref name="destination"/>; returns the bytes written or 0 if it does not fit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteVarLong(Span<byte> destination, long value)
    {
        var raw = (ulong)((value << 1) ^ (value >> 63));
        var i = 0;
        while (raw >= 0x80)
        {
            if ((uint)i >= (uint)destination.Length)
            {
                return 0;
            }

            destination[i++] = (byte)(raw | 0x80);
            raw >>= 7;
        }

        if ((uint)i >= (uint)destination.Length)
        {
            return 0;
        }

        destination[i++] = (byte)raw;
        return i;
    }

    /// <summary>Writes nothing (null is zero bytes); present so generated code can be uniform.</summary>
    public readonly void WriteNull()
    {
    }

    /// <summary>Writes a boolean byte.</summary>
    public void WriteBoolean(bool value)
    {
        if (Reserve(1, out var span))
        {
            span[0] = value ? (byte)1 : (byte)0;
            _position++;
        }
    }

    /// <summary>Writes an int (zig-zag varint).</summary>
    public void WriteInt(int value) => WriteLong(value);

    /// <summary>Writes a long (zig-zag varint).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteLong(long value)
    {
        if (_overflowed)
        {
            return;
        }

        var written = WriteVarLong(_buffer[_position..], value);
        if (written == 0)
        {
            _overflowed = true;
            return;
        }

        _position += written;
    }

    /// <summary>Writes a float (4 bytes little-endian).</summary>
    public void WriteFloat(float value)
    {
        if (Reserve(sizeof(float), out var span))
        {
            BinaryPrimitives.WriteSingleLittleEndian(span, value);
            _position += sizeof(float);
        }
    }

    /// <summary>Writes a double (8 bytes little-endian).</summary>
    public void WriteDouble(double value)
    {
        if (Reserve(sizeof(double), out var span))
        {
            BinaryPrimitives.WriteDoubleLittleEndian(span, value);
            _position += sizeof(double);
        }
    }

    /// <summary>Writes length-prefixed bytes.</summary>
    public void WriteBytes(scoped ReadOnlySpan<byte> value)
    {
        WriteLong(value.Length);
        WriteFixed(value);
    }

    /// <summary>Writes a string from its UTF-8 bytes.</summary>
    public void WriteString(scoped ReadOnlySpan<byte> utf8) => WriteBytes(utf8);

    /// <summary>Writes a string from UTF-16 text, transcoding straight into the buffer.</summary>
    public void WriteString(scoped ReadOnlySpan<char> text)
    {
        if (_overflowed)
        {
            return;
        }

        var length = Encoding.UTF8.GetByteCount(text);
        WriteLong(length);
        if (Reserve(length, out var span))
        {
            _position += Encoding.UTF8.GetBytes(text, span);
        }
    }

    /// <summary>Writes raw bytes with no length (a fixed, or a pre-encoded value).</summary>
    public void WriteFixed(scoped ReadOnlySpan<byte> value)
    {
        if (Reserve(value.Length, out var span))
        {
            value.CopyTo(span);
            _position += value.Length;
        }
    }

    /// <summary>Writes an enum's symbol index.</summary>
    public void WriteEnum(int index) => WriteLong(index);

    /// <summary>Writes a union's branch index (the branch's value follows).</summary>
    public void WriteUnionIndex(int branch) => WriteLong(branch);

    /// <summary>Starts a block of <paramref name="count"/> array items or map entries (write 0 with <see cref="WriteBlockEnd"/> after the last block).</summary>
    public void WriteBlockCount(long count) => WriteLong(count);

    /// <summary>Ends an array or map.</summary>
    public void WriteBlockEnd() => WriteLong(0);

    /// <summary>Writes an 8-decimal fixed-point mantissa as a decimal string (<c>68512.01</c>), the text a price field carries.</summary>
    public void WriteDecimalString(long mantissa)
    {
        Span<byte> text = stackalloc byte[FixedPoint.MaxFormattedLength + 1];
        FixedPoint.TryFormat(mantissa, text, out var length);
        WriteBytes(text[..length]);
    }

    /// <summary>Writes a long as a decimal integer string (<c>1723161255343</c>).</summary>
    public void WriteIntegerString(long value)
    {
        Span<byte> text = stackalloc byte[20];
        value.TryFormat(text, out var length, default, System.Globalization.CultureInfo.InvariantCulture);
        WriteBytes(text[..length]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Reserve(int size, out Span<byte> span)
    {
        if (_overflowed || size > _buffer.Length - _position)
        {
            _overflowed = true;
            span = default;
            return false;
        }

        span = _buffer[_position..];
        return true;
    }
}

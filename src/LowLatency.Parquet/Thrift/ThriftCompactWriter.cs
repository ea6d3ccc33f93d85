using System.Buffers;
using System.Buffers.Binary;
using LowLatency.Parquet.Encodings;
using System.Text;

namespace LowLatency.Parquet.Thrift;

/// <summary>The element and field types of the Thrift compact protocol (the low nibble of a field header).</summary>
internal enum CompactType : byte
{
    Stop = 0,
    BooleanTrue = 1,
    BooleanFalse = 2,
    Byte = 3,
    I16 = 4,
    I32 = 5,
    I64 = 6,
    Double = 7,
    Binary = 8,
    List = 9,
    Set = 10,
    Map = 11,
    Struct = 12,
}

/// <summary>
/// Writes the Thrift compact protocol (THRIFT-110) into a reusable buffer: field headers carry the delta from the
/// previous field id in the high nibble when it is 1..15 and the zigzag varint id otherwise; integers are zigzag
/// varints; binary is a varint length and the bytes; a struct ends with a stop byte. Only what Parquet's metadata uses.
/// </summary>
/// <remarks>
/// The last field id is per struct, so nested structs push it on a small stack. Depth is bounded by the metadata
/// shapes we write (at most 6 levels), the stack has 16 slots.
/// </remarks>
internal sealed class ThriftCompactWriter
{
    private readonly IBufferWriter<byte> _output;
    private readonly short[] _lastFieldIds = new short[16];
    private int _depth;
    private short _lastFieldId;

    public ThriftCompactWriter(IBufferWriter<byte> output) => _output = output;

    /// <summary>Starts a struct (the top-level one, a list element, or the value after <see cref="FieldStructBegin"/>).</summary>
    public void StructBegin()
    {
        _lastFieldIds[_depth++] = _lastFieldId;
        _lastFieldId = 0;
    }

    /// <summary>Ends a struct with the stop byte.</summary>
    public void StructEnd()
    {
        WriteByte((byte)CompactType.Stop);
        _lastFieldId = _lastFieldIds[--_depth];
    }

    public void FieldStructBegin(short id)
    {
        FieldHeader(id, CompactType.Struct);
        StructBegin();
    }

    /// <summary>A struct field's header only: the value's own writer calls <see cref="StructBegin"/>.</summary>
    public void FieldStructBeginRaw(short id) => FieldHeader(id, CompactType.Struct);

    public void FieldI16(short id, short value)
    {
        FieldHeader(id, CompactType.I16);
        WriteVarint(ZigZag((int)value));
    }

    public void FieldI32(short id, int value)
    {
        FieldHeader(id, CompactType.I32);
        WriteVarint(ZigZag(value));
    }

    public void FieldI64(short id, long value)
    {
        FieldHeader(id, CompactType.I64);
        WriteVarint(ZigZag(value));
    }

    public void FieldByte(short id, sbyte value)
    {
        FieldHeader(id, CompactType.Byte);
        WriteByte((byte)value);
    }

    public void FieldBool(short id, bool value) => FieldHeader(id, value ? CompactType.BooleanTrue : CompactType.BooleanFalse);

    public void FieldDouble(short id, double value)
    {
        FieldHeader(id, CompactType.Double);
        var span = _output.GetSpan(8);
        BinaryPrimitives.WriteDoubleLittleEndian(span, value);
        _output.Advance(8);
    }

    public void FieldBinary(short id, ReadOnlySpan<byte> value)
    {
        FieldHeader(id, CompactType.Binary);
        Binary(value);
    }

    public void FieldString(short id, string value)
    {
        FieldHeader(id, CompactType.Binary);
        String(value);
    }

    // Optional fields: written when set, left out when null (an absent optional field is how Thrift says "unset").

    public void OptionalI16(short id, short? value)
    {
        if (value is { } v)
        {
            FieldI16(id, v);
        }
    }

    public void OptionalI32(short id, int? value)
    {
        if (value is { } v)
        {
            FieldI32(id, v);
        }
    }

    public void OptionalI64(short id, long? value)
    {
        if (value is { } v)
        {
            FieldI64(id, v);
        }
    }

    public void OptionalBool(short id, bool? value)
    {
        if (value is { } v)
        {
            FieldBool(id, v);
        }
    }

    public void OptionalBinary(short id, byte[]? value)
    {
        if (value is not null)
        {
            FieldBinary(id, value);
        }
    }

    public void OptionalString(short id, string? value)
    {
        if (value is not null)
        {
            FieldString(id, value);
        }
    }

    /// <summary>A list field's header; then write <paramref name="count"/> elements of <paramref name="elementType"/>.</summary>
    public void FieldListBegin(short id, CompactType elementType, int count)
    {
        FieldHeader(id, CompactType.List);
        ListBegin(elementType, count);
    }

    public void ListBegin(CompactType elementType, int count)
    {
        if (count < 15)
        {
            WriteByte((byte)((count << 4) | (int)elementType));
        }
        else
        {
            WriteByte((byte)(0xF0 | (int)elementType));
            WriteVarint((uint)count);
        }
    }

    /// <summary>An i32 list element (or enum).</summary>
    public void I32(int value) => WriteVarint(ZigZag(value));

    public void I64(long value) => WriteVarint(ZigZag(value));

    public void Binary(ReadOnlySpan<byte> value)
    {
        WriteVarint((uint)value.Length);
        var span = _output.GetSpan(value.Length);
        value.CopyTo(span);
        _output.Advance(value.Length);
    }

    public void String(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteVarint((uint)length);
        var span = _output.GetSpan(length);
        Encoding.UTF8.GetBytes(value, span);
        _output.Advance(length);
    }

    private void FieldHeader(short id, CompactType type)
    {
        var delta = id - _lastFieldId;
        if (delta is > 0 and <= 15)
        {
            WriteByte((byte)((delta << 4) | (int)type));
        }
        else
        {
            WriteByte((byte)type);
            WriteVarint(ZigZag((int)id));
        }

        _lastFieldId = id;
    }

    private void WriteByte(byte value)
    {
        _output.GetSpan(1)[0] = value;
        _output.Advance(1);
    }

    private void WriteVarint(ulong value) => Uleb128.Write(value, _output);

    private static uint ZigZag(int value) => (uint)((value << 1) ^ (value >> 31));

    private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));
}

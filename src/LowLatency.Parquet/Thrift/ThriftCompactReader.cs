using System.Buffers.Binary;
using System.Text;

namespace LowLatency.Parquet.Thrift;

/// <summary>
/// Reads the Thrift compact protocol from one contiguous span (a footer or a page header). Every length and count is
/// checked against the bytes that remain before it is used, so a damaged input fails with a
/// <see cref="ParquetFormatException"/> naming the file offset, and never allocates what it merely declares. Fields a
/// caller does not model are passed over with <see cref="Skip"/>, which is how readers tolerate newer writers.
/// </summary>
/// <remarks>
/// Structs nest at most <see cref="MaxDepth"/> deep (Parquet's own metadata needs 6), so garbage cannot recurse without
/// bound. This decoder throws rather than returning a status: footers and page headers are parsed once per file or
/// page, off any hot path, and every failure ends the read.
/// </remarks>
internal ref struct ThriftCompactReader
{
    /// <summary>How deep structs and containers may nest.</summary>
    public const int MaxDepth = 32;

    private readonly ReadOnlySpan<byte> _data;
    private readonly long _baseOffset;
    private readonly string _what;
    private int _position;
    private int _depth;
    private short _lastFieldId;

    /// <param name="data">The bytes.</param>
    /// <param name="baseOffset">Their offset in the file, for messages.</param>
    /// <param name="what">What they are ("footer", "page header"), for messages.</param>
    public ThriftCompactReader(ReadOnlySpan<byte> data, long baseOffset, string what)
    {
        _data = data;
        _baseOffset = baseOffset;
        _what = what;
    }

    /// <summary>How many bytes have been read.</summary>
    public readonly int Position => _position;

    /// <summary>Enters a struct; pair with <see cref="StructEnd"/> after <see cref="ReadFieldHeader"/> returned false.</summary>
    public short StructBegin()
    {
        if (++_depth > MaxDepth)
        {
            Fail("structs nest too deep");
        }

        var saved = _lastFieldId;
        _lastFieldId = 0;
        return saved;
    }

    public void StructEnd(short saved)
    {
        _depth--;
        _lastFieldId = saved;
    }

    /// <summary>The next field's header; false at the struct's stop byte.</summary>
    public bool ReadFieldHeader(out short id, out CompactType type)
    {
        var header = ReadByte();
        type = (CompactType)(header & 0x0F);
        if (type == CompactType.Stop)
        {
            id = 0;
            return false;
        }

        if (type > CompactType.Struct)
        {
            Fail($"unknown field type {(int)type}");
        }

        var delta = header >> 4;
        id = delta != 0 ? (short)(_lastFieldId + delta) : ReadI16();
        _lastFieldId = id;
        return true;
    }

    /// <summary>A boolean field's value, which the compact protocol keeps in the field header's type.</summary>
    public bool ReadBoolField(CompactType type) => type == CompactType.BooleanTrue;

    /// <summary>A boolean list element (one byte).</summary>
    public bool ReadBoolElement() => ReadByte() == 1;

    public sbyte ReadSByte() => (sbyte)ReadByte();

    public short ReadI16()
    {
        var value = ReadI64();
        if (value is < short.MinValue or > short.MaxValue)
        {
            Fail("i16 out of range");
        }

        return (short)value;
    }

    public int ReadI32()
    {
        var value = ReadI64();
        if (value is < int.MinValue or > int.MaxValue)
        {
            Fail("i32 out of range");
        }

        return (int)value;
    }

    public long ReadI64()
    {
        var raw = ReadVarint();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    public double ReadDouble()
    {
        Need(8);
        var value = BinaryPrimitives.ReadDoubleLittleEndian(_data.Slice(_position, 8));
        _position += 8;
        return value;
    }

    /// <summary>Binary as a slice of the input; valid while the input is.</summary>
    public ReadOnlySpan<byte> ReadBinary()
    {
        var length = ReadLength();
        var value = _data.Slice(_position, length);
        _position += length;
        return value;
    }

    public string ReadString()
    {
        var bytes = ReadBinary();
        try
        {
            return Encoding.UTF8.GetString(bytes);
        }
        catch (ArgumentException)
        {
            return Fail<string>("string is not valid UTF-8");
        }
    }

    /// <summary>A list or set header; the count is checked against the bytes left (every element takes at least one).</summary>
    public int ReadListHeader(out CompactType elementType)
    {
        var header = ReadByte();
        elementType = (CompactType)(header & 0x0F);
        var count = header >> 4;
        if (count == 15)
        {
            count = ReadLength();
        }

        if (elementType is CompactType.Stop or > CompactType.Struct)
        {
            Fail($"unknown list element type {(int)elementType}");
        }

        if (count > _data.Length - _position)
        {
            Fail($"list of {count} elements in {_data.Length - _position} bytes");
        }

        return count;
    }

    /// <summary>Passes over a value of <paramref name="type"/> whatever it holds (fields we do not model).</summary>
    public void Skip(CompactType type)
    {
        switch (type)
        {
            case CompactType.BooleanTrue:
            case CompactType.BooleanFalse:
                // A bool field's value is in its header; a bool list element is one byte (handled by SkipElement).
                break;
            case CompactType.Byte:
                ReadByte();
                break;
            case CompactType.I16:
            case CompactType.I32:
            case CompactType.I64:
                ReadVarint();
                break;
            case CompactType.Double:
                Need(8);
                _position += 8;
                break;
            case CompactType.Binary:
                ReadBinary();
                break;
            case CompactType.List:
            case CompactType.Set:
                SkipList();
                break;
            case CompactType.Map:
                SkipMap();
                break;
            case CompactType.Struct:
                SkipStruct();
                break;
            default:
                Fail($"cannot skip type {(int)type}");
                break;
        }
    }

    /// <summary>Passes over a whole struct.</summary>
    public void SkipStruct()
    {
        var saved = StructBegin();
        while (ReadFieldHeader(out _, out var type))
        {
            Skip(type);
        }

        StructEnd(saved);
    }

    private void SkipList()
    {
        var count = ReadListHeader(out var elementType);
        Enter();
        for (var i = 0; i < count; i++)
        {
            SkipElement(elementType);
        }

        _depth--;
    }

    private void SkipMap()
    {
        var count = ReadLength();
        if (count == 0)
        {
            return;
        }

        var types = ReadByte();
        var keyType = (CompactType)(types >> 4);
        var valueType = (CompactType)(types & 0x0F);
        if (count > _data.Length - _position)
        {
            Fail($"map of {count} entries in {_data.Length - _position} bytes");
        }

        Enter();
        for (var i = 0; i < count; i++)
        {
            SkipElement(keyType);
            SkipElement(valueType);
        }

        _depth--;
    }

    private void SkipElement(CompactType type)
    {
        if (type is CompactType.BooleanTrue or CompactType.BooleanFalse)
        {
            ReadByte();
        }
        else
        {
            Skip(type);
        }
    }

    private void Enter()
    {
        if (++_depth > MaxDepth)
        {
            Fail("containers nest too deep");
        }
    }

    private int ReadLength()
    {
        var length = ReadVarint();
        if (length > (ulong)(_data.Length - _position))
        {
            Fail($"declared length {length} exceeds the {_data.Length - _position} bytes left");
        }

        return (int)length;
    }

    private ulong ReadVarint()
    {
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = ReadByte();
            if (shift == 63 && b > 1)
            {
                Fail("varint overflows 64 bits");
            }

            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        return Fail<ulong>("varint longer than 10 bytes");
    }

    private byte ReadByte()
    {
        Need(1);
        return _data[_position++];
    }

    private readonly void Need(int count)
    {
        if (_data.Length - _position < count)
        {
            Fail($"needs {count} more bytes, {_data.Length - _position} left");
        }
    }

    private readonly void Fail(string message) => ThrowHelper.Format($"Invalid Thrift in the {_what} at file offset {_baseOffset + _position}: {message}.");

    private readonly T Fail<T>(string message) => ThrowHelper.Format<T>($"Invalid Thrift in the {_what} at file offset {_baseOffset + _position}: {message}.");
}

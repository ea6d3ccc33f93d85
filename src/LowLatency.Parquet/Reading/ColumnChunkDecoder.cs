using System.Buffers.Binary;
using System.Runtime.InteropServices;
using LowLatency.Parquet.Compression;
using LowLatency.Parquet.Encodings;
using LowLatency.Parquet.Format;
using LowLatency.Parquet.Thrift;

namespace LowLatency.Parquet.Reading;

/// <summary>
/// Decodes the pages of one column chunk (its bytes already in memory) into a value per row: page headers, the
/// dictionary page, definition levels, then PLAIN values or dictionary indices, scattered to the rows that are not
/// null. Counts are checked against the row group's rows and, where the encoding allows, against the page's bytes.
/// </summary>
internal sealed class ColumnChunkDecoder
{
    private readonly ParquetLeafColumn _column;
    private readonly CompressionCodec _codec;
    private readonly int _rows;
    private readonly string _where;
    private readonly long _fileOffset;
    private readonly PageCodec _pageCodec = new();
    private Array? _dictionary;
    private int _dictionaryCount;
    private Array _values;
    private bool[]? _nulls;
    private int _filled;

    public ColumnChunkDecoder(ParquetLeafColumn column, CompressionCodec codec, int rows, string where, long fileOffset)
    {
        _column = column;
        _codec = codec;
        _rows = rows;
        _where = where;
        _fileOffset = fileOffset;
        _values = Allocate(Math.Min(rows, 1024));
    }

    public ParquetColumnData Decode(ReadOnlySpan<byte> chunk)
    {
        var position = 0;
        while (_filled < _rows)
        {
            if (position >= chunk.Length)
            {
                Fail(position, $"the chunk ends after {_filled} of {_rows} values");
            }

            var reader = new ThriftCompactReader(chunk[position..], _fileOffset + position, $"page header of {_where}");
            var header = PageHeader.Read(ref reader);
            position += reader.Position;
            if (header.CompressedPageSize < 0 || header.CompressedPageSize > chunk.Length - position)
            {
                Fail(position, $"a page of {header.CompressedPageSize} bytes, {chunk.Length - position} left in the chunk");
            }

            var body = chunk.Slice(position, header.CompressedPageSize);
            var pageOffset = position;
            position += header.CompressedPageSize;
            switch (header.Type)
            {
                case PageType.DictionaryPage:
                    ReadDictionaryPage(header, body, pageOffset);
                    break;
                case PageType.DataPage:
                    ReadDataPageV1(header, body, pageOffset);
                    break;
                case PageType.DataPageV2:
                    ReadDataPageV2(header, body, pageOffset);
                    break;
                default:
                    // Index pages and page types of newer specs carry no values of ours.
                    break;
            }
        }

        if (_values.Length != _rows)
        {
            var exact = Allocate(_rows);
            Array.Copy(_values, exact, _rows);
            _values = exact;
        }

        if (_nulls is not null && _nulls.Length != _rows)
        {
            Array.Resize(ref _nulls, _rows);
        }

        return new ParquetColumnData(_column, _values, _nulls, _rows);
    }

    private void ReadDictionaryPage(PageHeader header, ReadOnlySpan<byte> body, int offset)
    {
        var dictionaryHeader = header.DictionaryPageHeader ?? Fail<DictionaryPageHeader>(offset, "a dictionary page without its header");
        if (_dictionary is not null)
        {
            Fail(offset, "a second dictionary page");
        }

        if (dictionaryHeader.Encoding is not (Format.Encoding.Plain or Format.Encoding.PlainDictionary))
        {
            ThrowHelper.Unsupported($"Dictionary page of {_where} uses encoding {dictionaryHeader.Encoding}.");
        }

        var data = _pageCodec.Decompress(_codec, body, header.UncompressedPageSize, Where(offset));
        var count = dictionaryHeader.NumValues;
        if (count < 0)
        {
            Fail(offset, $"a dictionary of {count} values");
        }

        _dictionary = DecodePlain(data, count, offset);
        _dictionaryCount = count;
    }

    private void ReadDataPageV1(PageHeader header, ReadOnlySpan<byte> body, int offset)
    {
        var dataHeader = header.DataPageHeader ?? Fail<DataPageHeader>(offset, "a data page without its header");
        var count = CheckCount(dataHeader.NumValues, offset);
        var data = _pageCodec.Decompress(_codec, body, header.UncompressedPageSize, Where(offset));
        ReadOnlySpan<byte> rest = data;
        int[]? levels = null;
        if (_column.MaxDefinitionLevel > 0)
        {
            levels = new int[count];
            var bitWidth = RleBitPackedHybrid.BitWidth(_column.MaxDefinitionLevel);
            switch (dataHeader.DefinitionLevelEncoding)
            {
                case Format.Encoding.Rle:
                {
                    if (rest.Length < 4)
                    {
                        Fail(offset, "definition levels without their length");
                    }

                    var length = BinaryPrimitives.ReadInt32LittleEndian(rest);
                    if (length < 0 || length > rest.Length - 4)
                    {
                        Fail(offset, $"definition levels of {length} bytes, {rest.Length - 4} in the page");
                    }

                    new RleBitPackedDecoder(rest.Slice(4, length), bitWidth, $"definition levels of {Where(offset)}").Decode(levels);
                    rest = rest[(4 + length)..];
                    break;
                }

                case Format.Encoding.BitPacked:
                {
                    var length = LegacyBitPacked.ByteCount(count, bitWidth);
                    LegacyBitPacked.Decode(rest, bitWidth, levels);
                    rest = rest[length..];
                    break;
                }

                default:
                    ThrowHelper.Unsupported($"Definition levels of {Where(offset)} use encoding {dataHeader.DefinitionLevelEncoding}.");
                    break;
            }
        }

        ReadValues(dataHeader.Encoding, rest, levels, count, offset);
    }

    private void ReadDataPageV2(PageHeader header, ReadOnlySpan<byte> body, int offset)
    {
        var dataHeader = header.DataPageHeaderV2 ?? Fail<DataPageHeaderV2>(offset, "a data page v2 without its header");
        var count = CheckCount(dataHeader.NumValues, offset);
        var repetitionLength = dataHeader.RepetitionLevelsByteLength;
        var definitionLength = dataHeader.DefinitionLevelsByteLength;
        if (repetitionLength < 0 || definitionLength < 0 || (long)repetitionLength + definitionLength > body.Length ||
            (long)repetitionLength + definitionLength > header.UncompressedPageSize)
        {
            Fail(offset, $"levels of {repetitionLength} + {definitionLength} bytes in a page of {body.Length}");
        }

        int[]? levels = null;
        if (_column.MaxDefinitionLevel > 0)
        {
            levels = new int[count];
            new RleBitPackedDecoder(body.Slice(repetitionLength, definitionLength), RleBitPackedHybrid.BitWidth(_column.MaxDefinitionLevel), $"definition levels of {Where(offset)}")
                .Decode(levels);
        }

        var levelBytes = repetitionLength + definitionLength;
        var valuesSize = header.UncompressedPageSize - levelBytes;
        var compressed = body[levelBytes..];
        var data = dataHeader.IsCompressed
            ? _pageCodec.Decompress(_codec, compressed, valuesSize, Where(offset))
            : _pageCodec.Decompress(CompressionCodec.Uncompressed, compressed, valuesSize, Where(offset));
        ReadValues(dataHeader.Encoding, data, levels, count, offset);
    }

    private int CheckCount(int count, int offset)
    {
        if (count < 0 || count > _rows - _filled)
        {
            Fail(offset, $"a page of {count} values, {_rows - _filled} of the row group's {_rows} left");
        }

        return count;
    }

    private void ReadValues(Format.Encoding encoding, ReadOnlySpan<byte> data, int[]? levels, int count, int offset)
    {
        var present = count;
        if (levels is not null)
        {
            present = 0;
            foreach (var level in levels)
            {
                if (level > _column.MaxDefinitionLevel)
                {
                    Fail(offset, $"definition level {level} above the column's maximum {_column.MaxDefinitionLevel}");
                }

                if (level == _column.MaxDefinitionLevel)
                {
                    present++;
                }
            }
        }

        Array pageValues;
        switch (encoding)
        {
            case Format.Encoding.Plain:
                pageValues = DecodePlain(data, present, offset);
                break;
            case Format.Encoding.PlainDictionary:
            case Format.Encoding.RleDictionary:
            {
                if (_dictionary is null)
                {
                    Fail(offset, "dictionary indices before any dictionary page");
                }

                var indices = new int[present];
                if (present > 0)
                {
                    if (data.Length < 1)
                    {
                        Fail(offset, "dictionary indices without their bit width");
                    }

                    new RleBitPackedDecoder(data[1..], data[0], $"dictionary indices of {Where(offset)}").Decode(indices);
                }

                pageValues = Allocate(present);
                foreach (var index in indices)
                {
                    if ((uint)index >= (uint)_dictionaryCount)
                    {
                        Fail(offset, $"dictionary index {index} beyond the dictionary's {_dictionaryCount} values");
                    }
                }

                Gather(_dictionary!, indices, pageValues);
                break;
            }

            default:
                ThrowHelper.Unsupported($"Values of {Where(offset)} use encoding {encoding}.");
                return;
        }

        Scatter(pageValues, levels, count);
    }

    /// <summary>Places the page's present values at their rows; rows whose level is below the maximum are null.</summary>
    private void Scatter(Array pageValues, int[]? levels, int count)
    {
        EnsureCapacity(_filled + count);
        if (levels is null)
        {
            Array.Copy(pageValues, 0, _values, _filled, count);
            _filled += count;
            return;
        }

        _nulls ??= new bool[_values.Length];
        var source = 0;
        for (var i = 0; i < count; i++)
        {
            if (levels[i] == _column.MaxDefinitionLevel)
            {
                Array.Copy(pageValues, source++, _values, _filled + i, 1);
            }
            else
            {
                _nulls[_filled + i] = true;
            }
        }

        _filled += count;
    }

    private void EnsureCapacity(int needed)
    {
        if (needed <= _values.Length)
        {
            return;
        }

        var size = (int)Math.Min(_rows, Math.Max(needed, (long)_values.Length * 2));
        var grown = Allocate(size);
        Array.Copy(_values, grown, _filled);
        _values = grown;
        if (_nulls is not null)
        {
            Array.Resize(ref _nulls, size);
        }
    }

    private static void Gather(Array dictionary, int[] indices, Array target)
    {
        switch (dictionary)
        {
            case int[] d: Gather(d, indices, (int[])target); break;
            case long[] d: Gather(d, indices, (long[])target); break;
            case float[] d: Gather(d, indices, (float[])target); break;
            case double[] d: Gather(d, indices, (double[])target); break;
            case bool[] d: Gather(d, indices, (bool[])target); break;
            case byte[][] d: Gather(d, indices, (byte[][])target); break;
        }

        static void Gather<T>(T[] dictionary, int[] indices, T[] target)
        {
            for (var i = 0; i < indices.Length; i++)
            {
                target[i] = dictionary[indices[i]];
            }
        }
    }

    /// <summary>PLAIN values: fixed-width little-endian, bit-packed booleans, or length-prefixed byte arrays.</summary>
    private Array DecodePlain(ReadOnlySpan<byte> data, int count, int offset)
    {
        switch (_column.PhysicalType)
        {
            case PhysicalType.Boolean:
            {
                if (count > (long)data.Length * 8)
                {
                    Fail(offset, $"{count} booleans in {data.Length} bytes");
                }

                var values = new bool[count];
                for (var i = 0; i < count; i++)
                {
                    values[i] = (data[i >> 3] & (1 << (i & 7))) != 0;
                }

                return values;
            }

            case PhysicalType.Int32: return Fixed<int>(data, count, offset);
            case PhysicalType.Int64: return Fixed<long>(data, count, offset);
            case PhysicalType.Float: return Fixed<float>(data, count, offset);
            case PhysicalType.Double: return Fixed<double>(data, count, offset);
            case PhysicalType.Int96: return FixedBytes(data, count, 12, offset);
            case PhysicalType.FixedLenByteArray: return FixedBytes(data, count, _column.Element.TypeLength!.Value, offset);
            default:
            {
                // Every value takes at least its 4-byte length: a count beyond that cannot be honest.
                if (count > data.Length / 4)
                {
                    Fail(offset, $"{count} byte arrays in {data.Length} bytes");
                }

                var values = new byte[count][];
                var position = 0;
                for (var i = 0; i < count; i++)
                {
                    if (data.Length - position < 4)
                    {
                        Fail(offset, $"byte array {i} has no length");
                    }

                    var length = BinaryPrimitives.ReadInt32LittleEndian(data[position..]);
                    position += 4;
                    if (length < 0 || length > data.Length - position)
                    {
                        Fail(offset, $"byte array {i} of {length} bytes, {data.Length - position} left");
                    }

                    values[i] = data.Slice(position, length).ToArray();
                    position += length;
                }

                return values;
            }
        }
    }

    private T[] Fixed<T>(ReadOnlySpan<byte> data, int count, int offset)
        where T : unmanaged
    {
        var size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        if (count > data.Length / size)
        {
            Fail(offset, $"{count} values of {size} bytes in {data.Length} bytes");
        }

        // Parquet is little-endian, as is every platform .NET runs this on (checked at start-up below).
        return MemoryMarshal.Cast<byte, T>(data[..(count * size)]).ToArray();
    }

    private byte[][] FixedBytes(ReadOnlySpan<byte> data, int count, int width, int offset)
    {
        if (count > data.Length / width)
        {
            Fail(offset, $"{count} values of {width} bytes in {data.Length} bytes");
        }

        var values = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            values[i] = data.Slice(i * width, width).ToArray();
        }

        return values;
    }

    private Array Allocate(int length) => _column.PhysicalType switch
    {
        PhysicalType.Boolean => new bool[length],
        PhysicalType.Int32 => new int[length],
        PhysicalType.Int64 => new long[length],
        PhysicalType.Float => new float[length],
        PhysicalType.Double => new double[length],
        _ => new byte[length][],
    };

    private string Where(int offset) => $"{_where}, page at file offset {_fileOffset + offset}";

    private void Fail(int offset, string message) => ThrowHelper.Format($"Invalid page in {Where(offset)}: {message}.");

    private T Fail<T>(int offset, string message) => ThrowHelper.Format<T>($"Invalid page in {Where(offset)}: {message}.");

    static ColumnChunkDecoder()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("The Parquet reader assumes a little-endian platform.");
        }
    }
}

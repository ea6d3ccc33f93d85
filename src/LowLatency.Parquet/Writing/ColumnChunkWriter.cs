using System.Buffers;
using System.Buffers.Binary;
using LowLatency.Parquet.Compression;
using LowLatency.Parquet.Encodings;
using LowLatency.Parquet.Format;
using LowLatency.Parquet.Thrift;

namespace LowLatency.Parquet.Writing;

/// <summary>
/// Buffers one column of the current row group: the values of the open data page (PLAIN bytes, or dictionary indices),
/// its definition levels, the finished pages (header and compressed body) and the chunk statistics. Every buffer is
/// kept across pages and row groups, so steady-state writing allocates only what a codec allocates per page.
/// </summary>
internal sealed class ColumnChunkWriter
{
    private readonly ParquetColumn _column;
    private readonly ParquetWriterOptions _options;
    private readonly PageCodec _codec;

    // The open page.
    private readonly ArrayBufferWriter<byte> _values = new(1 << 16);
    private int[] _levels = new int[1024];
    private int[] _indices = new int[1024];
    private int _pageCount;
    private int _pageNonNull;
    private byte _boolByte;
    private int _boolBits;

    // The chunk: finished pages and what the footer says of them.
    private readonly ArrayBufferWriter<byte> _pages = new(1 << 16);
    private readonly ArrayBufferWriter<byte> _body = new(1 << 16);
    private readonly ArrayBufferWriter<byte> _levelBytes = new(1 << 12);
    private readonly ArrayBufferWriter<byte> _header = new(64);
    private readonly ThriftCompactWriter _headerWriter;

    // 10^precision for a decimal column (unscaled values must stay below it in magnitude), 0 otherwise.
    private readonly long _decimalLimit;
    private readonly ByteArrayDictionary? _dictionary;
    private bool _dictionaryActive;
    private bool _usedPlain;
    private long _chunkValues;
    private long _chunkNulls;
    private long _uncompressedBytes;

    // Statistics: integers and booleans as long, floats as double, byte arrays as bytes (unsigned order).
    private bool _hasMinMax;
    private long _minLong;
    private long _maxLong;
    private double _minDouble;
    private double _maxDouble;
    private byte[] _minBytes = new byte[64];
    private byte[] _maxBytes = new byte[64];
    private int _minLength;
    private int _maxLength;

    public ColumnChunkWriter(ParquetColumn column, ParquetWriterOptions options, PageCodec codec)
    {
        _column = column;
        _options = options;
        _codec = codec;
        _headerWriter = new ThriftCompactWriter(_header);
        if (column.Type == ParquetColumnType.Decimal)
        {
            _decimalLimit = 1;
            for (var i = 0; i < column.Precision; i++)
            {
                _decimalLimit *= 10;
            }
        }
        if (column.IsDictionary)
        {
            _dictionary = new ByteArrayDictionary();
            _dictionaryActive = true;
        }
    }

    public ParquetColumn Column => _column;

    /// <summary>Values (nulls included) written to this row group so far.</summary>
    public long ValueCount => _chunkValues + _pageCount;

    /// <summary>
    /// Bytes this chunk holds so far, for the row group size limit: finished pages, the open page's PLAIN bytes, one
    /// byte per present value (an upper bound for dictionary indices, a small overcount for PLAIN), the dictionary.
    /// </summary>
    public long BufferedBytes => _pages.WrittenCount + _values.WrittenCount + _pageNonNull + (_dictionary?.ByteCount ?? 0);

    public void WriteNull()
    {
        if (!_column.IsOptional)
        {
            ThrowHelper.InvalidOperation($"Column '{_column.Name}' is required: it cannot hold null.");
        }

        AddLevel(0);
        _chunkNulls++;
        EndValue();
    }

    public void WriteInt32(int value)
    {
        AddLevel(1);
        BinaryPrimitives.WriteInt32LittleEndian(_values.GetSpan(4), value);
        _values.Advance(4);
        UpdateStatistics(value);
        EndValue();
    }

    public void WriteInt64(long value)
    {
        if (_decimalLimit != 0 && (value >= _decimalLimit || value <= -_decimalLimit))
        {
            ThrowHelper.Argument(nameof(value), $"Column '{_column.Name}' is DECIMAL({_column.Precision},{_column.Scale}): unscaled {value} has more than {_column.Precision} digits.");
        }

        AddLevel(1);
        BinaryPrimitives.WriteInt64LittleEndian(_values.GetSpan(8), value);
        _values.Advance(8);
        UpdateStatistics(value);
        EndValue();
    }

    public void WriteBoolean(bool value)
    {
        AddLevel(1);
        if (value)
        {
            _boolByte |= (byte)(1 << _boolBits);
        }

        if (++_boolBits == 8)
        {
            _values.GetSpan(1)[0] = _boolByte;
            _values.Advance(1);
            _boolByte = 0;
            _boolBits = 0;
        }

        UpdateStatistics(value ? 1 : 0);
        EndValue();
    }

    public void WriteFloat(float value)
    {
        AddLevel(1);
        BinaryPrimitives.WriteSingleLittleEndian(_values.GetSpan(4), value);
        _values.Advance(4);
        UpdateStatistics((double)value);
        EndValue();
    }

    public void WriteDouble(double value)
    {
        AddLevel(1);
        BinaryPrimitives.WriteDoubleLittleEndian(_values.GetSpan(8), value);
        _values.Advance(8);
        UpdateStatistics(value);
        EndValue();
    }

    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        AddLevel(1);
        if (_dictionaryActive)
        {
            var before = _dictionary!.Count;
            var index = _dictionary.GetOrAdd(value);
            if (_pageNonNull > _indices.Length)
            {
                Array.Resize(ref _indices, _indices.Length * 2);
            }

            _indices[_pageNonNull - 1] = index;
            if (_dictionary.Count != before)
            {
                // Only a new dictionary entry can move min or max: repeated symbols cost no comparison.
                UpdateStatistics(value);
                if (_dictionary.ByteCount > _options.MaxDictionaryBytes)
                {
                    // Too many distinct values for a dictionary to pay: this page ends with the indices so far and
                    // the rest of the row group is PLAIN (readers handle mixed chunks; the encodings list says so).
                    FlushPage();
                    _dictionaryActive = false;
                    return;
                }
            }
        }
        else
        {
            BinaryPrimitives.WriteInt32LittleEndian(_values.GetSpan(4), value.Length);
            _values.Advance(4);
            _values.Write(value);
            UpdateStatistics(value);
        }

        EndValue();
    }

    /// <summary>
    /// Ends the row group for this column: writes the dictionary page (if any) and the data pages to
    /// <paramref name="output"/> at <paramref name="offset"/>, and returns the footer's description of the chunk.
    /// </summary>
    public ColumnChunk Finish(Stream output, long offset)
    {
        FlushPage();
        var position = offset;
        long? dictionaryOffset = null;
        long compressedBytes = _pages.WrittenCount;
        var encodings = new List<Encoding>(3);
        if (_dictionary is not null && _dictionary.Count > 0)
        {
            _body.ResetWrittenCount();
            for (var i = 0; i < _dictionary.Count; i++)
            {
                var entry = _dictionary[i];
                BinaryPrimitives.WriteInt32LittleEndian(_body.GetSpan(4), entry.Length);
                _body.Advance(4);
                _body.Write(entry);
            }

            var compressed = _codec.Compress(_options.Codec, _body.WrittenSpan);
            _header.ResetWrittenCount();
            PageHeader.Write(_headerWriter, PageType.DictionaryPage, _body.WrittenCount, compressed.Length, _dictionary.Count, Encoding.Plain);
            output.Write(_header.WrittenSpan);
            output.Write(compressed);
            dictionaryOffset = position;
            position += _header.WrittenCount + compressed.Length;
            compressedBytes += _header.WrittenCount + compressed.Length;
            _uncompressedBytes += _header.WrittenCount + _body.WrittenCount;
            encodings.Add(Encoding.Plain);
            encodings.Add(Encoding.RleDictionary);
        }

        if (_usedPlain && !encodings.Contains(Encoding.Plain))
        {
            encodings.Add(Encoding.Plain);
        }

        if (_column.IsOptional)
        {
            encodings.Add(Encoding.Rle);
        }

        output.Write(_pages.WrittenSpan);
        var chunk = new ColumnChunk
        {
            FileOffset = dictionaryOffset ?? position,
            MetaData = new ColumnMetaData
            {
                Type = _column.PhysicalType,
                Encodings = encodings,
                PathInSchema = [_column.Name],
                Codec = _options.Codec,
                NumValues = _chunkValues,
                TotalUncompressedSize = _uncompressedBytes,
                TotalCompressedSize = compressedBytes,
                DataPageOffset = position,
                DictionaryPageOffset = dictionaryOffset,
                Statistics = BuildStatistics(),
            },
        };

        Reset();
        return chunk;
    }

    private void AddLevel(int level)
    {
        if (_column.IsOptional)
        {
            if (_pageCount == _levels.Length)
            {
                Array.Resize(ref _levels, _levels.Length * 2);
            }

            _levels[_pageCount] = level;
        }

        _pageCount++;
        _pageNonNull += level;
    }

    private void EndValue()
    {
        if (_values.WrittenCount + _pageNonNull >= _options.PageBytes)
        {
            FlushPage();
        }
    }

    private void FlushPage()
    {
        if (_pageCount == 0)
        {
            return;
        }

        _body.ResetWrittenCount();
        if (_column.IsOptional)
        {
            // Data page v1: definition levels (bit width 1, the hybrid) behind a 4-byte little-endian length.
            _levelBytes.ResetWrittenCount();
            RleBitPackedHybrid.Encode(_levels.AsSpan(0, _pageCount), 1, _levelBytes);
            BinaryPrimitives.WriteInt32LittleEndian(_body.GetSpan(4), _levelBytes.WrittenCount);
            _body.Advance(4);
            _body.Write(_levelBytes.WrittenSpan);
        }

        Encoding encoding;
        if (_dictionaryActive && _dictionary!.Count > 0)
        {
            // RLE_DICTIONARY: one byte of bit width, then the indices in the hybrid without a length prefix.
            var bitWidth = RleBitPackedHybrid.BitWidth(Math.Max(0, _dictionary!.Count - 1));
            _body.GetSpan(1)[0] = (byte)bitWidth;
            _body.Advance(1);
            RleBitPackedHybrid.Encode(_indices.AsSpan(0, _pageNonNull), bitWidth, _body);
            encoding = Encoding.RleDictionary;
        }
        else
        {
            if (_boolBits > 0)
            {
                _values.GetSpan(1)[0] = _boolByte;
                _values.Advance(1);
                _boolByte = 0;
                _boolBits = 0;
            }

            _body.Write(_values.WrittenSpan);
            encoding = Encoding.Plain;
            _usedPlain = true;
        }

        var compressed = _codec.Compress(_options.Codec, _body.WrittenSpan);
        _header.ResetWrittenCount();
        PageHeader.Write(_headerWriter, PageType.DataPage, _body.WrittenCount, compressed.Length, _pageCount, encoding);
        _pages.Write(_header.WrittenSpan);
        _pages.Write(compressed);
        _uncompressedBytes += _header.WrittenCount + _body.WrittenCount;
        _chunkValues += _pageCount;
        _pageCount = 0;
        _pageNonNull = 0;
        _values.ResetWrittenCount();
    }

    private void UpdateStatistics(long value) => Track(value, ref _minLong, ref _maxLong);

    private void UpdateStatistics(double value)
    {
        // NaN has no place in an order; the spec says to leave it out of min and max.
        if (!double.IsNaN(value))
        {
            Track(value, ref _minDouble, ref _maxDouble);
        }
    }

    private void Track<T>(T value, ref T min, ref T max)
        where T : struct, System.Numerics.IComparisonOperators<T, T, bool>
    {
        if (!_hasMinMax)
        {
            min = max = value;
            _hasMinMax = true;
        }
        else if (value < min)
        {
            min = value;
        }
        else if (value > max)
        {
            max = value;
        }
    }

    private void UpdateStatistics(ReadOnlySpan<byte> value)
    {
        if (!_hasMinMax || value.SequenceCompareTo(_minBytes.AsSpan(0, _minLength)) < 0)
        {
            Store(ref _minBytes, ref _minLength, value);
        }

        if (!_hasMinMax || value.SequenceCompareTo(_maxBytes.AsSpan(0, _maxLength)) > 0)
        {
            Store(ref _maxBytes, ref _maxLength, value);
        }

        _hasMinMax = true;

        static void Store(ref byte[] target, ref int length, ReadOnlySpan<byte> value)
        {
            if (target.Length < value.Length)
            {
                target = new byte[Math.Max(value.Length, target.Length * 2)];
            }

            value.CopyTo(target);
            length = value.Length;
        }
    }

    private Statistics BuildStatistics()
    {
        if (!_hasMinMax)
        {
            return new Statistics { NullCount = _chunkNulls };
        }

        byte[] min, max;
        switch (_column.PhysicalType)
        {
            case PhysicalType.Boolean:
                min = [(byte)_minLong];
                max = [(byte)_maxLong];
                break;
            case PhysicalType.Int32:
                min = new byte[4];
                max = new byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(min, (int)_minLong);
                BinaryPrimitives.WriteInt32LittleEndian(max, (int)_maxLong);
                break;
            case PhysicalType.Int64:
                min = new byte[8];
                max = new byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(min, _minLong);
                BinaryPrimitives.WriteInt64LittleEndian(max, _maxLong);
                break;
            case PhysicalType.Float:
                // The spec asks for -0.0 as a zero minimum and +0.0 as a zero maximum, so either zero passes a filter.
                min = new byte[4];
                max = new byte[4];
                BinaryPrimitives.WriteSingleLittleEndian(min, _minDouble == 0 ? -0.0f : (float)_minDouble);
                BinaryPrimitives.WriteSingleLittleEndian(max, _maxDouble == 0 ? 0.0f : (float)_maxDouble);
                break;
            case PhysicalType.Double:
                min = new byte[8];
                max = new byte[8];
                BinaryPrimitives.WriteDoubleLittleEndian(min, _minDouble == 0 ? -0.0 : _minDouble);
                BinaryPrimitives.WriteDoubleLittleEndian(max, _maxDouble == 0 ? 0.0 : _maxDouble);
                break;
            default:
                // Byte arrays: only min_value/max_value (unsigned order, declared by the footer's column orders); the
                // deprecated min/max were defined with signed bytes and would mislead old readers.
                return new Statistics
                {
                    NullCount = _chunkNulls,
                    MinValue = _minBytes.AsSpan(0, _minLength).ToArray(),
                    MaxValue = _maxBytes.AsSpan(0, _maxLength).ToArray(),
                };
        }

        // Numeric types: the deprecated fields too, whose signed order is these types' order, for older readers.
        return new Statistics { NullCount = _chunkNulls, MinValue = min, MaxValue = max, Min = min, Max = max };
    }

    private void Reset()
    {
        _pages.ResetWrittenCount();
        _chunkValues = 0;
        _chunkNulls = 0;
        _uncompressedBytes = 0;
        _hasMinMax = false;
        _usedPlain = false;
        if (_dictionary is not null)
        {
            _dictionary.Clear();
            _dictionaryActive = true;
        }
    }
}

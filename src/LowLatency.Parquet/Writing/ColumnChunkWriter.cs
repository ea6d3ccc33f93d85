using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using LowLatency.Parquet.Compression;
using LowLatency.Parquet.Encodings;
using LowLatency.Parquet.Format;
using LowLatency.Parquet.Thrift;

namespace LowLatency.Parquet.Writing;

/// <summary>
/// Buffers one column of the current row group: the values of the open data page (PLAIN bytes, or dictionary indices),
/// its definition levels, the finished pages (header and compressed body) and the chunk statistics. Every buffer is
/// kept across pages and row groups, and the big ones are rented from <see cref="ArrayPool{T}.Shared"/> and handed
/// back by <see cref="Release"/>, so steady-state writing allocates nothing and the next file reuses them.
/// </summary>
internal sealed class ColumnChunkWriter
{
    private readonly ParquetColumn _column;
    private readonly ParquetWriterOptions _options;
    private readonly PageCodec _codec;

    // Copies of what the per-value path asks for every time.
    private readonly bool _isOptional;
    private readonly int _pageBytes;

    // The open page.
    private readonly PooledBufferWriter _values = new(1 << 16);
    private int[] _levels = [];
    private int[] _indices = [];
    private int _pageCount;
    private int _pageNonNull;
    private byte _boolByte;
    private int _boolBits;

    // The chunk: finished pages and what the footer says of them.
    private readonly PooledBufferWriter _pages = new(1 << 16);
    private readonly PooledBufferWriter _body = new(1 << 16);
    private readonly PooledBufferWriter _levelBytes = new(1 << 12);
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

    // Statistics: integers and booleans as long, floats as double, byte arrays as bytes (unsigned order). The numeric
    // ones start empty (min above max) and are updated without asking whether a value came before; _hasMinMax is only
    // for byte arrays.
    private bool _hasMinMax;
    private long _minLong = long.MaxValue;
    private long _maxLong = long.MinValue;
    private double _minDouble = double.PositiveInfinity;
    private double _maxDouble = double.NegativeInfinity;
    private byte[] _minBytes = new byte[64];
    private byte[] _maxBytes = new byte[64];
    private int _minLength;
    private int _maxLength;

    public ColumnChunkWriter(ParquetColumn column, ParquetWriterOptions options, PageCodec codec)
    {
        _column = column;
        _options = options;
        _codec = codec;
        _isOptional = column.IsOptional;
        _pageBytes = options.PageBytes;
        PhysicalType = column.PhysicalType;
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

    /// <summary>The column's physical type (a field: the file writer checks it on every value).</summary>
    public PhysicalType PhysicalType { get; }

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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInt32(int value)
    {
        AddLevel(1);
        _values.WriteInt32(value);
        UpdateStatistics(value);
        EndValue();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInt64(long value)
    {
        if (_decimalLimit != 0 && (value >= _decimalLimit || value <= -_decimalLimit))
        {
            ThrowDecimalOverflow(value);
        }

        AddLevel(1);
        _values.WriteInt64(value);
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
            _values.WriteByte(_boolByte);
            _boolByte = 0;
            _boolBits = 0;
        }

        UpdateStatistics(value ? 1 : 0);
        EndValue();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteFloat(float value)
    {
        AddLevel(1);
        _values.WriteFloat(value);
        UpdateStatistics((double)value);
        EndValue();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteDouble(double value)
    {
        AddLevel(1);
        _values.WriteDouble(value);
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
                Grow(ref _indices);
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
            _values.WriteInt32(value.Length);
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
                _body.WriteInt32(entry.Length);
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

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowDecimalOverflow(long value) =>
        ThrowHelper.Argument(nameof(value), $"Column '{_column.Name}' is DECIMAL({_column.Precision},{_column.Scale}): unscaled {value} has more than {_column.Precision} digits.");

    /// <summary>Returns the rented buffers to the pool (the file is done); the writer must not be used afterwards.</summary>
    public void Release()
    {
        _values.Release();
        _pages.Release();
        _body.Release();
        _levelBytes.Release();
        Return(ref _levels);
        Return(ref _indices);

        static void Return(ref int[] array)
        {
            if (array.Length > 0)
            {
                ArrayPool<int>.Shared.Return(array);
                array = [];
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Grow(ref int[] array)
    {
        var bigger = ArrayPool<int>.Shared.Rent(Math.Max(1024, array.Length * 2));
        array.CopyTo(bigger, 0);
        if (array.Length > 0)
        {
            ArrayPool<int>.Shared.Return(array);
        }

        array = bigger;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AddLevel(int level)
    {
        if (_isOptional)
        {
            if (_pageCount == _levels.Length)
            {
                Grow(ref _levels);
            }

            _levels[_pageCount] = level;
        }

        _pageCount++;
        _pageNonNull += level;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EndValue()
    {
        if (_values.WrittenCount + _pageNonNull >= _pageBytes)
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
        if (_isOptional)
        {
            // Data page v1: definition levels (bit width 1, the hybrid) behind a 4-byte little-endian length.
            _levelBytes.ResetWrittenCount();
            RleBitPackedHybrid.Encode(_levels.AsSpan(0, _pageCount), 1, _levelBytes);
            _body.WriteInt32(_levelBytes.WrittenCount);
            _body.Write(_levelBytes.WrittenSpan);
        }

        Encoding encoding;
        ReadOnlySpan<byte> body;
        if (_dictionaryActive && _dictionary!.Count > 0)
        {
            // RLE_DICTIONARY: one byte of bit width, then the indices in the hybrid without a length prefix.
            var bitWidth = RleBitPackedHybrid.BitWidth(Math.Max(0, _dictionary!.Count - 1));
            _body.WriteByte((byte)bitWidth);
            RleBitPackedHybrid.Encode(_indices.AsSpan(0, _pageNonNull), bitWidth, _body);
            encoding = Encoding.RleDictionary;
            body = _body.WrittenSpan;
        }
        else
        {
            if (_boolBits > 0)
            {
                _values.WriteByte(_boolByte);
                _boolByte = 0;
                _boolBits = 0;
            }

            // A required column's PLAIN page is its values as they are: compress them in place rather than copy them.
            if (_isOptional)
            {
                _body.Write(_values.WrittenSpan);
                body = _body.WrittenSpan;
            }
            else
            {
                body = _values.WrittenSpan;
            }

            encoding = Encoding.Plain;
            _usedPlain = true;
        }

        var compressed = _codec.Compress(_options.Codec, body);
        _header.ResetWrittenCount();
        PageHeader.Write(_headerWriter, PageType.DataPage, body.Length, compressed.Length, _pageCount, encoding);
        _pages.Write(_header.WrittenSpan);
        _pages.Write(compressed);
        _uncompressedBytes += _header.WrittenCount + body.Length;
        _chunkValues += _pageCount;
        _pageCount = 0;
        _pageNonNull = 0;
        _values.ResetWrittenCount();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void UpdateStatistics(long value)
    {
        _minLong = Math.Min(_minLong, value);
        _maxLong = Math.Max(_maxLong, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void UpdateStatistics(double value)
    {
        // NaN has no place in an order; the spec says to leave it out of min and max. Both comparisons are false for
        // NaN, so it moves neither (Math.Min/Max would propagate it).
        if (value < _minDouble)
        {
            _minDouble = value;
        }

        if (value > _maxDouble)
        {
            _maxDouble = value;
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
        var hasMinMax = PhysicalType switch
        {
            PhysicalType.ByteArray => _hasMinMax,
            PhysicalType.Float or PhysicalType.Double => _minDouble <= _maxDouble,
            _ => _minLong <= _maxLong,
        };
        if (!hasMinMax)
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
        _minLong = long.MaxValue;
        _maxLong = long.MinValue;
        _minDouble = double.PositiveInfinity;
        _maxDouble = double.NegativeInfinity;
        _usedPlain = false;
        if (_dictionary is not null)
        {
            _dictionary.Clear();
            _dictionaryActive = true;
        }
    }
}

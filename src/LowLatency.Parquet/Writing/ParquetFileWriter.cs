using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

using LowLatency.Parquet.Compression;
using LowLatency.Parquet.Format;
using LowLatency.Parquet.Thrift;

namespace LowLatency.Parquet.Writing;

/// <summary>
/// Writes one Parquet file row by row into a columnar layout, for sinks: declare the schema once, then per row call one
/// <c>Write*</c> (or <see cref="WriteNull"/>) for each column by its index, then <see cref="EndRow"/>; finally
/// <see cref="Complete"/>. Values go straight into per-column page buffers (PLAIN or dictionary indices), so a row
/// allocates nothing; pages are compressed as they fill, and a row group is written out when it reaches
/// <see cref="ParquetWriterOptions.RowGroupRows"/> rows or <see cref="ParquetWriterOptions.RowGroupBytes"/> bytes.
/// </summary>
/// <remarks>
/// The file is written under a temporary name beside the final one ("PAR1", row groups, footer, footer length, "PAR1"),
/// flushed to disk, and only then renamed to the final name (an atomic replace on one file system). A reader therefore
/// never sees half a file at the final name; a writer disposed without <see cref="Complete"/>, or one that failed,
/// deletes its temporary file and leaves the final name untouched. Not thread-safe: one writer, one thread.
/// </remarks>
public sealed class ParquetFileWriter : IDisposable
{
    private static readonly byte[] s_magic = "PAR1"u8.ToArray();

    private static readonly string s_createdBy =
        $"LowLatency.Parquet version {typeof(ParquetFileWriter).Assembly.GetName().Version?.ToString(3) ?? "1.0.0"}";

    private readonly ParquetSchema _schema;
    private readonly ParquetWriterOptions _options;
    private readonly ColumnChunkWriter[] _columns;
    private readonly PageCodec _codec;
    private readonly List<RowGroup> _rowGroups = [];
    private readonly FileStream _stream;
    private byte[] _utf8 = new byte[256];
    private long _position;
    private long _rowsInGroup;

    // Values written in the open row (successful Write* calls): EndRow's check without visiting every column.
    private int _rowValues;
    private long _rows;
    private State _state;

    private ParquetFileWriter(string path, ParquetSchema schema, ParquetWriterOptions options)
    {
        _schema = schema;
        _options = options;
        Path = System.IO.Path.GetFullPath(path);
        TempPath = $"{Path}.{Guid.NewGuid():N}.tmp";
        var codec = _codec = new PageCodec(options.GzipLevel);
        _columns = new ColumnChunkWriter[schema.Columns.Count];
        for (var i = 0; i < _columns.Length; i++)
        {
            _columns[i] = new ColumnChunkWriter(schema.Columns[i], options, codec);
        }

        // No FileStream buffer: everything but the magic and the footer goes out as whole column chunks, which a
        // buffer would only copy (and a 64 KiB buffer per file is an allocation worth saving).
        _stream = new FileStream(TempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        try
        {
            Write(s_magic);
        }
        catch
        {
            Abandon();
            throw;
        }
    }

    private enum State
    {
        Open,
        Completed,
        Failed,
        Disposed,
    }

    /// <summary>The final name: nothing is there (from this writer) until <see cref="Complete"/> returns.</summary>
    public string Path { get; }

    /// <summary>The temporary name the file is written under.</summary>
    public string TempPath { get; }

    public ParquetSchema Schema => _schema;

    /// <summary>Rows ended with <see cref="EndRow"/> so far.</summary>
    public long RowCount => _rows;

    /// <summary>Starts a file that will appear at <paramref name="path"/> when completed.</summary>
    public static ParquetFileWriter Create(string path, ParquetSchema schema, ParquetWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(schema);
        options ??= new ParquetWriterOptions();
        options.Validate();
        return new ParquetFileWriter(path, schema, options);
    }

    public void WriteInt32(int column, int value)
    {
        Column(column, PhysicalType.Int32).WriteInt32(value);
        _rowValues++;
    }

    /// <summary>An INT64 column: Int64, TimestampMillis/Micros (units since the epoch), Decimal (the unscaled value).</summary>
    public void WriteInt64(int column, long value)
    {
        Column(column, PhysicalType.Int64).WriteInt64(value);
        _rowValues++;
    }

    public void WriteBoolean(int column, bool value)
    {
        Column(column, PhysicalType.Boolean).WriteBoolean(value);
        _rowValues++;
    }

    public void WriteFloat(int column, float value)
    {
        Column(column, PhysicalType.Float).WriteFloat(value);
        _rowValues++;
    }

    public void WriteDouble(int column, double value)
    {
        Column(column, PhysicalType.Double).WriteDouble(value);
        _rowValues++;
    }

    /// <summary>A string or binary column; for a string column the bytes must be UTF-8.</summary>
    public void WriteBytes(int column, ReadOnlySpan<byte> value)
    {
        Column(column, PhysicalType.ByteArray).WriteBytes(value);
        _rowValues++;
    }

    /// <summary>A string column, encoded to UTF-8 in a reused buffer.</summary>
    public void WriteString(int column, ReadOnlySpan<char> value)
    {
        var target = Column(column, PhysicalType.ByteArray);
        var max = System.Text.Encoding.UTF8.GetMaxByteCount(value.Length);
        if (max > _utf8.Length)
        {
            _utf8 = new byte[Math.Max(max, _utf8.Length * 2)];
        }

        var length = System.Text.Encoding.UTF8.GetBytes(value, _utf8);
        target.WriteBytes(_utf8.AsSpan(0, length));
        _rowValues++;
    }

    /// <summary>A timestamp column, converted to the column's unit.</summary>
    public void WriteTimestamp(int column, DateTimeOffset value)
    {
        var target = Column(column, PhysicalType.Int64);
        var ticks = value.UtcTicks - DateTime.UnixEpoch.Ticks;
        switch (target.Column.Type)
        {
            case ParquetColumnType.TimestampMillis:
                target.WriteInt64(ticks / TimeSpan.TicksPerMillisecond);
                break;
            case ParquetColumnType.TimestampMicros:
                target.WriteInt64(ticks / TimeSpan.TicksPerMicrosecond);
                break;
            default:
                ThrowHelper.Argument(nameof(column), $"Column '{target.Column.Name}' is {target.Column.Type}, not a timestamp.");
                break;
        }

        _rowValues++;
    }

    /// <summary>A null in an optional column.</summary>
    public void WriteNull(int column)
    {
        CheckedColumn(column, null).WriteNull();
        _rowValues++;
    }

    /// <summary>Ends the row: every column must have had exactly one value.</summary>
    public void EndRow()
    {
        // Each column takes at most one value per row (Column checks), so as many values as columns means one each.
        if (_rowValues != _columns.Length || _state != State.Open)
        {
            CheckRow();
        }

        _rowValues = 0;
        _rowsInGroup++;
        _rows++;

        // The byte limit is an estimate anyway ("about", see the option): it is checked every 8 rows, not summed
        // over every column on every row.
        if (_rowsInGroup >= _options.RowGroupRows || ((_rowsInGroup & 7) == 0 && BufferedBytes() >= _options.RowGroupBytes))
        {
            Guarded(FlushRowGroup);
        }
    }

    /// <summary>
    /// Writes the last row group and the footer, flushes to disk, and renames the file to <see cref="Path"/>
    /// (replacing a file there). After this the writer is done.
    /// </summary>
    public void Complete()
    {
        EnsureOpen();
        foreach (var column in _columns)
        {
            if (column.ValueCount != _rowsInGroup)
            {
                ThrowHelper.InvalidOperation($"Row {_rows} was started (column '{column.Column.Name}') but not ended with EndRow.");
            }
        }

        Guarded(() =>
        {
            if (_rowsInGroup > 0)
            {
                FlushRowGroup();
            }

            WriteFooter();
            _stream.Flush(flushToDisk: _options.FlushToDisk);
            _stream.Dispose();
            File.Move(TempPath, Path, overwrite: true);
        });
        _state = State.Completed;
        ReleaseBuffers();
    }

    /// <summary>Without <see cref="Complete"/>: deletes the temporary file; nothing appears at <see cref="Path"/>.</summary>
    public void Dispose()
    {
        if (_state is State.Open or State.Failed)
        {
            Abandon();
        }

        _state = State.Disposed;
    }

    /// <summary>The column a value of <paramref name="type"/> goes to: every check in one branch on the fast path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ColumnChunkWriter Column(int index, PhysicalType type)
    {
        var columns = _columns;
        if ((uint)index < (uint)columns.Length)
        {
            var column = columns[index];
            if (column.PhysicalType == type && column.ValueCount == _rowsInGroup && _state == State.Open)
            {
                return column;
            }
        }

        return CheckedColumn(index, type);
    }

    /// <summary>The column for a null (any type), and the path that says which check of <see cref="Column"/> failed.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ColumnChunkWriter CheckedColumn(int index, PhysicalType? type)
    {
        EnsureOpen();
        if ((uint)index >= (uint)_columns.Length)
        {
            ThrowHelper.Argument(nameof(index), $"No column {index}: the schema has {_columns.Length}.");
        }

        var column = _columns[index];
        if (type is { } expected && column.PhysicalType != expected)
        {
            ThrowHelper.Argument(nameof(index), $"Column '{column.Column.Name}' is {column.Column.Type}, not written as {expected}.");
        }

        if (column.ValueCount != _rowsInGroup)
        {
            ThrowHelper.InvalidOperation($"Row {_rows}: column '{column.Column.Name}' already has a value; call EndRow first.");
        }

        return column;
    }

    /// <summary>The row's checks, column by column, when the value count says something is wrong.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CheckRow()
    {
        EnsureOpen();
        foreach (var column in _columns)
        {
            if (column.ValueCount != _rowsInGroup + 1)
            {
                ThrowHelper.InvalidOperation($"Row {_rows}: column '{column.Column.Name}' has no value (write one, or null).");
            }
        }
    }

    private long BufferedBytes()
    {
        long buffered = 0;
        foreach (var column in _columns)
        {
            buffered += column.BufferedBytes;
        }

        return buffered;
    }

    private void FlushRowGroup()
    {
        var start = _position;
        var chunks = new List<ColumnChunk>(_columns.Length);
        long uncompressed = 0;
        foreach (var column in _columns)
        {
            var chunk = column.Finish(_stream, _position);
            var meta = chunk.MetaData!;
            _position += meta.TotalCompressedSize;
            uncompressed += meta.TotalUncompressedSize;
            chunks.Add(chunk);
        }

        _rowGroups.Add(new RowGroup
        {
            Columns = chunks,
            TotalByteSize = uncompressed,
            NumRows = _rowsInGroup,
            FileOffset = start,
            TotalCompressedSize = _position - start,
            Ordinal = _rowGroups.Count <= short.MaxValue ? (short)_rowGroups.Count : null,
        });
        _rowsInGroup = 0;
    }

    private void WriteFooter()
    {
        var metadata = new FileMetaData
        {
            // Version 2: the data pages use RLE_DICTIONARY, an encoding of the format's second version (the pages
            // themselves are v1 data pages, which every reader understands).
            Version = 2,
            Schema = _schema.ToSchemaElements(),
            NumRows = _rows,
            RowGroups = _rowGroups,
            KeyValueMetadata = _options.Metadata,
            CreatedBy = s_createdBy,
            TypeDefinedColumnOrders = _columns.Length,
        };
        var buffer = new ArrayBufferWriter<byte>(4096);
        metadata.Write(new ThriftCompactWriter(buffer));
        Write(buffer.WrittenSpan);
        Span<byte> trailer = stackalloc byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(trailer, buffer.WrittenCount);
        s_magic.CopyTo(trailer[4..]);
        Write(trailer);
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        _stream.Write(bytes);
        _position += bytes.Length;
    }

    private void Guarded(Action action)
    {
        try
        {
            action();
        }
        catch
        {
            // A half-written row group or footer cannot be resumed: the file is abandoned, and Dispose deletes it.
            _state = State.Failed;
            throw;
        }
    }

    private void EnsureOpen()
    {
        if (_state != State.Open)
        {
            ThrowHelper.InvalidOperation($"The writer for {Path} is {_state.ToString().ToLowerInvariant()}.");
        }
    }

    private void ReleaseBuffers()
    {
        foreach (var column in _columns)
        {
            column.Release();
        }

        _codec.Release();
    }

    private void Abandon()
    {
        ReleaseBuffers();
        _stream.Dispose();
        try
        {
            File.Delete(TempPath);
        }
        catch (IOException)
        {
            // Best effort: a leftover *.tmp never carries the final name.
        }
    }
}

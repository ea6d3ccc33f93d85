using System.Buffers.Binary;
using LowLatency.Parquet.Format;

namespace LowLatency.Parquet.Reading;

/// <summary>
/// Reads Parquet files with flat or nested-struct schemas (no repeated fields): the footer on open, then one column
/// chunk at a time with <see cref="ReadColumn(int, int)"/>. Pages: data page v1 and v2, dictionary pages; encodings
/// PLAIN, PLAIN_DICTIONARY and RLE_DICTIONARY for values, RLE and BIT_PACKED for levels; codecs UNCOMPRESSED, SNAPPY
/// and GZIP. Anything damaged raises <see cref="ParquetFormatException"/> saying what and where; every offset, length
/// and count is checked against the file before it is used, so nothing is allocated merely because a file declares it.
/// Not thread-safe (one stream position); open one reader per thread.
/// </summary>
public sealed class ParquetFileReader : IDisposable
{
    private const int MagicLength = 4;
    private const int TrailerLength = 8;
    private const int MaxSchemaDepth = 64;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly ParquetReaderOptions _options;
    private readonly long _dataEnd;

    private ParquetFileReader(Stream stream, bool leaveOpen, ParquetReaderOptions options)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        _options = options;
        try
        {
            (Metadata, _dataEnd) = ReadFooter();
            Columns = BuildColumns(Metadata.Schema);
            ValidateRowGroups();
        }
        catch
        {
            if (!leaveOpen)
            {
                stream.Dispose();
            }

            throw;
        }
    }

    /// <summary>The footer as written.</summary>
    public FileMetaData Metadata { get; }

    /// <summary>The leaf columns, in file order.</summary>
    public IReadOnlyList<ParquetLeafColumn> Columns { get; }

    public long RowCount => Metadata.NumRows;

    public int RowGroupCount => Metadata.RowGroups.Count;

    public static ParquetFileReader Open(string path, ParquetReaderOptions? options = null) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), false, options ?? new ParquetReaderOptions());

    /// <summary>Reads from a seekable stream (e.g. a MemoryStream over a file's bytes).</summary>
    public static ParquetFileReader Open(Stream stream, bool leaveOpen = false, ParquetReaderOptions? options = null)
    {
        if (!stream.CanSeek || !stream.CanRead)
        {
            throw new ArgumentException("The stream must be readable and seekable.", nameof(stream));
        }

        return new ParquetFileReader(stream, leaveOpen, options ?? new ParquetReaderOptions());
    }

    /// <summary>The leaf column called <paramref name="name"/> (dotted path for nested fields).</summary>
    public ParquetLeafColumn Column(string name) =>
        Columns.FirstOrDefault(c => c.Name == name) ?? throw new ArgumentException($"No column '{name}'.", nameof(name));

    public ParquetColumnData ReadColumn(int rowGroup, string name) => ReadColumn(rowGroup, Column(name).Index);

    /// <summary>Decodes column <paramref name="column"/> of row group <paramref name="rowGroup"/>.</summary>
    public ParquetColumnData ReadColumn(int rowGroup, int column)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rowGroup);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rowGroup, RowGroupCount);
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(column, Columns.Count);
        var group = Metadata.RowGroups[rowGroup];
        var leaf = Columns[column];
        var chunk = group.Columns[column];
        var where = $"row group {rowGroup}, column '{leaf.Name}'";
        if (chunk.FilePath is not null)
        {
            ThrowHelper.Unsupported($"{where} lives in another file ({chunk.FilePath}).");
        }

        var meta = chunk.MetaData ?? ThrowHelper.Format<ColumnMetaData>($"Invalid metadata: {where} has no column metadata.");
        if (meta.Type != leaf.PhysicalType)
        {
            ThrowHelper.Format($"Invalid metadata: {where} is {meta.Type} in the chunk but {leaf.PhysicalType} in the schema.");
        }

        if (meta.NumValues != group.NumRows)
        {
            ThrowHelper.Format($"Invalid metadata: {where} has {meta.NumValues} values for {group.NumRows} rows.");
        }

        var start = meta.DataPageOffset;
        if (meta.DictionaryPageOffset is > 0 and var dictionary && dictionary < start)
        {
            start = dictionary;
        }

        if (start < MagicLength || meta.TotalCompressedSize < 0 || meta.TotalCompressedSize > _dataEnd - start)
        {
            ThrowHelper.Format($"Invalid metadata: {where} spans {meta.TotalCompressedSize} bytes at file offset {start}, outside the data ({MagicLength}..{_dataEnd}).");
        }

        var bytes = new byte[meta.TotalCompressedSize];
        ReadAt(start, bytes);
        var decoder = new ColumnChunkDecoder(leaf, meta.Codec, (int)group.NumRows, where, start);
        return decoder.Decode(bytes);
    }

    public void Dispose()
    {
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }

    private (FileMetaData Metadata, long DataEnd) ReadFooter()
    {
        var length = _stream.Length;
        if (length < MagicLength + TrailerLength)
        {
            ThrowHelper.Format($"Not a Parquet file: {length} bytes, fewer than the 12 of an empty file's magic and footer length.");
        }

        Span<byte> head = stackalloc byte[MagicLength];
        ReadAt(0, head);
        Span<byte> trailer = stackalloc byte[TrailerLength];
        ReadAt(length - TrailerLength, trailer);
        if (head.SequenceEqual("PARE"u8) || trailer[4..].SequenceEqual("PARE"u8))
        {
            ThrowHelper.Unsupported("The file uses Parquet modular encryption (magic PARE).");
        }

        if (!head.SequenceEqual("PAR1"u8))
        {
            ThrowHelper.Format("Not a Parquet file: the first 4 bytes are not the magic PAR1.");
        }

        if (!trailer[4..].SequenceEqual("PAR1"u8))
        {
            ThrowHelper.Format($"Not a complete Parquet file: the last 4 bytes (offset {length - 4}) are not the magic PAR1 (truncated?).");
        }

        var footerLength = BinaryPrimitives.ReadInt32LittleEndian(trailer);
        var footerStart = length - TrailerLength - footerLength;
        if (footerLength <= 0 || footerStart < MagicLength || footerLength > _options.MaxFooterBytes)
        {
            ThrowHelper.Format($"Invalid footer: length {footerLength} (at file offset {length - TrailerLength}) does not fit a file of {length} bytes.");
        }

        var footer = new byte[footerLength];
        ReadAt(footerStart, footer);
        return (FileMetaData.Parse(footer, footerStart), footerStart);
    }

    private static List<ParquetLeafColumn> BuildColumns(IReadOnlyList<SchemaElement> schema)
    {
        if (schema.Count == 0)
        {
            ThrowHelper.Format("Invalid schema: no elements.");
        }

        var root = schema[0];
        var leaves = new List<ParquetLeafColumn>();
        var next = 1;
        AddChildren(root.NumChildren ?? 0, [], 0, 0);
        if (next != schema.Count)
        {
            ThrowHelper.Format($"Invalid schema: {schema.Count - next} elements after the tree the root describes.");
        }

        return leaves;

        void AddChildren(int count, List<string> path, int definitionLevel, int depth)
        {
            if (count < 0 || count > schema.Count - next)
            {
                ThrowHelper.Format($"Invalid schema: a group declares {count} children, {schema.Count - next} elements remain.");
            }

            if (depth > MaxSchemaDepth)
            {
                ThrowHelper.Format("Invalid schema: nested too deep.");
            }

            for (var i = 0; i < count; i++)
            {
                var element = schema[next++];
                var repetition = element.RepetitionType ?? FieldRepetitionType.Required;
                if (repetition == FieldRepetitionType.Repeated)
                {
                    ThrowHelper.Unsupported($"Field '{element.Name}' is repeated (lists, maps): this reader reads flat and struct columns.");
                }

                var level = definitionLevel + (repetition == FieldRepetitionType.Optional ? 1 : 0);
                var childPath = new List<string>(path) { element.Name };
                if (element.NumChildren is > 0 and var children)
                {
                    AddChildren(children, childPath, level, depth + 1);
                }
                else if (element.Type is { } type)
                {
                    if (!Enum.IsDefined(type))
                    {
                        ThrowHelper.Format($"Invalid schema: field '{element.Name}' has unknown physical type {(int)type}.");
                    }

                    if (type == PhysicalType.FixedLenByteArray && element.TypeLength is not > 0)
                    {
                        ThrowHelper.Format($"Invalid schema: fixed-length field '{element.Name}' has type_length {element.TypeLength}.");
                    }

                    leaves.Add(new ParquetLeafColumn(leaves.Count, childPath, element, level));
                }
            }
        }
    }

    private void ValidateRowGroups()
    {
        foreach (var group in Metadata.RowGroups)
        {
            if (group.Columns.Count != Columns.Count)
            {
                ThrowHelper.Format($"Invalid metadata: a row group has {group.Columns.Count} column chunks for {Columns.Count} columns.");
            }

            if (group.NumRows < 0 || group.NumRows > _options.MaxRowsPerRowGroup)
            {
                ThrowHelper.Format($"Invalid metadata: a row group declares {group.NumRows} rows (limit {_options.MaxRowsPerRowGroup}).");
            }
        }
    }

    private void ReadAt(long offset, Span<byte> buffer)
    {
        _stream.Position = offset;
        _stream.ReadExactly(buffer);
    }
}

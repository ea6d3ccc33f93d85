using LowLatency.Parquet.Thrift;

namespace LowLatency.Parquet.Format;

// The structs of parquet.thrift that a flat-schema writer and reader need, each with its Thrift compact writer and
// reader. Field ids are the spec's. Readers skip every field they do not model (encoding stats, bloom filters, page
// indexes, encryption, size statistics, ...) so files from other writers parse; a required field that is absent or a
// field whose wire type is not the spec's is a ParquetFormatException.

/// <summary>The LogicalType union: one member set, named by <see cref="Kind"/>; the parameters belong to that member.</summary>
public sealed class LogicalType
{
    public required LogicalTypeKind Kind { get; init; }

    /// <summary>TIMESTAMP and TIME: whether values are instants in UTC (true) or local date-times.</summary>
    public bool IsAdjustedToUtc { get; init; }

    /// <summary>TIMESTAMP and TIME: the unit.</summary>
    public TimeUnit Unit { get; init; }

    /// <summary>DECIMAL: digits after the point.</summary>
    public int Scale { get; init; }

    /// <summary>DECIMAL: total digits.</summary>
    public int Precision { get; init; }

    /// <summary>INTEGER: 8, 16, 32 or 64.</summary>
    public sbyte BitWidth { get; init; }

    /// <summary>INTEGER: signedness.</summary>
    public bool IsSigned { get; init; }

    internal void Write(ThriftCompactWriter w)
    {
        w.StructBegin();
        w.FieldStructBegin((short)Kind);
        switch (Kind)
        {
            case LogicalTypeKind.Decimal:
                w.FieldI32(1, Scale);
                w.FieldI32(2, Precision);
                break;
            case LogicalTypeKind.Timestamp:
            case LogicalTypeKind.Time:
                w.FieldBool(1, IsAdjustedToUtc);
                w.FieldStructBegin(2);
                w.FieldStructBegin((short)Unit);
                w.StructEnd();
                w.StructEnd();
                break;
            case LogicalTypeKind.Integer:
                w.FieldByte(1, BitWidth);
                w.FieldBool(2, IsSigned);
                break;
        }

        w.StructEnd();
        w.StructEnd();
    }

    /// <summary>The union, or null when its member is one this reader does not know (a newer spec's).</summary>
    internal static LogicalType? Read(ref ThriftCompactReader r)
    {
        LogicalType? result = null;
        var saved = r.StructBegin();
        while (r.ReadFieldHeader(out var id, out var type))
        {
            if (type != CompactType.Struct || !Enum.IsDefined((LogicalTypeKind)id))
            {
                r.Skip(type);
                continue;
            }

            var kind = (LogicalTypeKind)id;
            bool utc = false, signed = false;
            int scale = 0, precision = 0;
            sbyte bitWidth = 0;
            var unit = default(TimeUnit);
            var inner = r.StructBegin();
            while (r.ReadFieldHeader(out var fid, out var ftype))
            {
                switch (kind, fid)
                {
                    case (LogicalTypeKind.Decimal, 1):
                        scale = Fields.I32(ref r, ftype, "DecimalType.scale");
                        break;
                    case (LogicalTypeKind.Decimal, 2):
                        precision = Fields.I32(ref r, ftype, "DecimalType.precision");
                        break;
                    case (LogicalTypeKind.Timestamp or LogicalTypeKind.Time, 1):
                        utc = Fields.Bool(ref r, ftype, "isAdjustedToUTC");
                        break;
                    case (LogicalTypeKind.Timestamp or LogicalTypeKind.Time, 2):
                        unit = ReadTimeUnit(ref r, ftype);
                        break;
                    case (LogicalTypeKind.Integer, 1):
                        Fields.Expect(ftype, CompactType.Byte, "IntType.bitWidth");
                        bitWidth = r.ReadSByte();
                        break;
                    case (LogicalTypeKind.Integer, 2):
                        signed = Fields.Bool(ref r, ftype, "IntType.isSigned");
                        break;
                    default:
                        r.Skip(ftype);
                        break;
                }
            }

            r.StructEnd(inner);
            result = new LogicalType
            {
                Kind = kind, IsAdjustedToUtc = utc, Unit = unit, Scale = scale, Precision = precision, BitWidth = bitWidth,
                IsSigned = signed,
            };
        }

        r.StructEnd(saved);
        return result;
    }

    private static TimeUnit ReadTimeUnit(ref ThriftCompactReader r, CompactType type)
    {
        Fields.Expect(type, CompactType.Struct, "TimeUnit");
        var unit = default(TimeUnit);
        var saved = r.StructBegin();
        while (r.ReadFieldHeader(out var id, out var ftype))
        {
            if (ftype == CompactType.Struct && id is >= 1 and <= 3)
            {
                unit = (TimeUnit)id;
            }

            r.Skip(ftype);
        }

        r.StructEnd(saved);
        return unit;
    }
}

/// <summary>One node of the schema, flattened depth first; the first is the root group.</summary>
public sealed class SchemaElement
{
    public PhysicalType? Type { get; init; }

    public int? TypeLength { get; init; }

    public FieldRepetitionType? RepetitionType { get; init; }

    public required string Name { get; init; }

    /// <summary>Set on groups (including the root): how many of the following elements are its children.</summary>
    public int? NumChildren { get; init; }

    public ConvertedType? ConvertedType { get; init; }

    public int? Scale { get; init; }

    public int? Precision { get; init; }

    public int? FieldId { get; init; }

    public LogicalType? LogicalType { get; init; }

    internal void Write(ThriftCompactWriter w)
    {
        w.StructBegin();
        w.OptionalI32(1, (int?)Type);
        w.OptionalI32(2, TypeLength);
        w.OptionalI32(3, (int?)RepetitionType);
        w.FieldString(4, Name);
        w.OptionalI32(5, NumChildren);
        w.OptionalI32(6, (int?)ConvertedType);
        w.OptionalI32(7, Scale);
        w.OptionalI32(8, Precision);
        w.OptionalI32(9, FieldId);

        if (LogicalType is { } logical)
        {
            w.FieldStructBeginRaw(10);
            logical.Write(w);
        }

        w.StructEnd();
    }

    internal static SchemaElement Read(ref ThriftCompactReader r)
    {
        PhysicalType? type = null;
        FieldRepetitionType? repetition = null;
        ConvertedType? converted = null;
        int? typeLength = null, children = null, scale = null, precision = null, fieldId = null;
        string? name = null;
        LogicalType? logical = null;
        var saved = r.StructBegin();
        while (r.ReadFieldHeader(out var id, out var ftype))
        {
            switch (id)
            {
                case 1: type = (PhysicalType)Fields.I32(ref r, ftype, "SchemaElement.type"); break;
                case 2: typeLength = Fields.I32(ref r, ftype, "SchemaElement.type_length"); break;
                case 3: repetition = (FieldRepetitionType)Fields.I32(ref r, ftype, "SchemaElement.repetition_type"); break;
                case 4: name = Fields.String(ref r, ftype, "SchemaElement.name"); break;
                case 5: children = Fields.I32(ref r, ftype, "SchemaElement.num_children"); break;
                case 6: converted = (ConvertedType)Fields.I32(ref r, ftype, "SchemaElement.converted_type"); break;
                case 7: scale = Fields.I32(ref r, ftype, "SchemaElement.scale"); break;
                case 8: precision = Fields.I32(ref r, ftype, "SchemaElement.precision"); break;
                case 9: fieldId = Fields.I32(ref r, ftype, "SchemaElement.field_id"); break;
                case 10:
                    Fields.Expect(ftype, CompactType.Struct, "SchemaElement.logicalType");
                    logical = LogicalType.Read(ref r);
                    break;
                default: r.Skip(ftype); break;
            }
        }

        r.StructEnd(saved);
        return new SchemaElement
        {
            Type = type, TypeLength = typeLength, RepetitionType = repetition, Name = Fields.Required(name, "SchemaElement.name"),
            NumChildren = children, ConvertedType = converted, Scale = scale, Precision = precision, FieldId = fieldId,
            LogicalType = logical,
        };
    }
}

/// <summary>Column chunk (or page) statistics; values are PLAIN-encoded without a length prefix.</summary>
public sealed class Statistics
{
    /// <summary>Deprecated max, in signed byte order; written for types where that order is the type's order.</summary>
    public byte[]? Max { get; init; }

    /// <summary>Deprecated min.</summary>
    public byte[]? Min { get; init; }

    public long? NullCount { get; init; }

    public long? DistinctCount { get; init; }

    public byte[]? MaxValue { get; init; }

    public byte[]? MinValue { get; init; }

    public bool? IsMaxValueExact { get; init; }

    public bool? IsMinValueExact { get; init; }

    internal void Write(ThriftCompactWriter w)
    {
        w.StructBegin();
        w.OptionalBinary(1, Max);
        w.OptionalBinary(2, Min);
        w.OptionalI64(3, NullCount);
        w.OptionalI64(4, DistinctCount);
        w.OptionalBinary(5, MaxValue);
        w.OptionalBinary(6, MinValue);
        w.OptionalBool(7, IsMaxValueExact);
        w.OptionalBool(8, IsMinValueExact);
        w.StructEnd();
    }

    internal static Statistics Read(ref ThriftCompactReader r)
    {
        byte[]? max = null, min = null, maxValue = null, minValue = null;
        long? nulls = null, distinct = null;
        bool? maxExact = null, minExact = null;
        var saved = r.StructBegin();
        while (r.ReadFieldHeader(out var id, out var ftype))
        {
            switch (id)
            {
                case 1: max = Fields.Binary(ref r, ftype, "Statistics.max"); break;
                case 2: min = Fields.Binary(ref r, ftype, "Statistics.min"); break;
                case 3: nulls = Fields.I64(ref r, ftype, "Statistics.null_count"); break;
                case 4: distinct = Fields.I64(ref r, ftype, "Statistics.distinct_count"); break;
                case 5: maxValue = Fields.Binary(ref r, ftype, "Statistics.max_value"); break;
                case 6: minValue = Fields.Binary(ref r, ftype, "Statistics.min_value"); break;
                case 7: maxExact = Fields.Bool(ref r, ftype, "Statistics.is_max_value_exact"); break;
                case 8: minExact = Fields.Bool(ref r, ftype, "Statistics.is_min_value_exact"); break;
                default: r.Skip(ftype); break;
            }
        }

        r.StructEnd(saved);
        return new Statistics
        {
            Max = max, Min = min, NullCount = nulls, DistinctCount = distinct, MaxValue = maxValue, MinValue = minValue,
            IsMaxValueExact = maxExact, IsMinValueExact = minExact,
        };
    }
}

public sealed class KeyValue
{
    public required string Key { get; init; }

    public string? Value { get; init; }

    internal void Write(ThriftCompactWriter w)
    {
        w.StructBegin();
        w.FieldString(1, Key);
        w.OptionalString(2, Value);
        w.StructEnd();
    }

    internal static KeyValue Read(ref ThriftCompactReader r)
    {
        string? key = null, value = null;
        var saved = r.StructBegin();
        while (r.ReadFieldHeader(out var id, out var ftype))
        {
            switch (id)
            {
                case 1: key = Fields.String(ref r, ftype, "KeyValue.key"); break;
                case 2: value = Fields.String(ref r, ftype, "KeyValue.value"); break;
                default: r.Skip(ftype); break;
            }
        }

        r.StructEnd(saved);
        return new KeyValue { Key = Fields.Required(key, "KeyValue.key"), Value = value };
    }

    internal static List<KeyValue> ReadList(ref ThriftCompactReader r, CompactType type)
    {
        var count = Fields.ListOf(ref r, type, CompactType.Struct, "key_value_metadata");
        var list = new List<KeyValue>(count);
        for (var i = 0; i < count; i++)
        {
            list.Add(Read(ref r));
        }

        return list;
    }

    internal static void WriteList(ThriftCompactWriter w, short id, IReadOnlyList<KeyValue> list)
    {
        w.FieldListBegin(id, CompactType.Struct, list.Count);
        foreach (var kv in list)
        {
            kv.Write(w);
        }
    }
}

public sealed class ColumnMetaData
{
    public required PhysicalType Type { get; init; }

    public required IReadOnlyList<Encoding> Encodings { get; init; }

    public required IReadOnlyList<string> PathInSchema { get; init; }

    public required CompressionCodec Codec { get; init; }

    /// <summary>Values including nulls.</summary>
    public required long NumValues { get; init; }

    /// <summary>All pages of the chunk uncompressed, headers included.</summary>
    public required long TotalUncompressedSize { get; init; }

    /// <summary>All pages of the chunk as stored, headers included.</summary>
    public required long TotalCompressedSize { get; init; }

    public IReadOnlyList<KeyValue>? KeyValueMetadata { get; init; }

    public required long DataPageOffset { get; init; }

    public long? IndexPageOffset { get; init; }

    public long? DictionaryPageOffset { get; init; }

    public Statistics? Statistics { get; init; }

    internal void Write(ThriftCompactWriter w)
    {
        w.StructBegin();
        w.FieldI32(1, (int)Type);
        w.FieldListBegin(2, CompactType.I32, Encodings.Count);
        foreach (var encoding in Encodings)
        {
            w.I32((int)encoding);
        }

        w.FieldListBegin(3, CompactType.Binary, PathInSchema.Count);
        foreach (var part in PathInSchema)
        {
            w.String(part);
        }

        w.FieldI32(4, (int)Codec);
        w.FieldI64(5, NumValues);
        w.FieldI64(6, TotalUncompressedSize);
        w.FieldI64(7, TotalCompressedSize);
        if (KeyValueMetadata is { } kv)
        {
            KeyValue.WriteList(w, 8, kv);
        }

        w.FieldI64(9, DataPageOffset);
        w.OptionalI64(10, IndexPageOffset);
        w.OptionalI64(11, DictionaryPageOffset);

        if (Statistics is { } statistics)
        {
            w.FieldStructBeginRaw(12);
            statistics.Write(w);
        }

        w.StructEnd();
    }

    internal static ColumnMetaData Read(ref ThriftCompactReader r)
    {
        PhysicalType? type = null;
        CompressionCodec? codec = null;
        List<Encoding>? encodings = null;
        List<string>? path = null;
        long? numValues = null, uncompressed = null, compressed = null, dataOffset = null, indexOffset = null, dictionaryOffset = null;
        List<KeyValue>? kv = null;
        Statistics? statistics = null;
        var saved = r.StructBegin();
        while (r.ReadFieldHeader(out var id, out var ftype))
        {
            switch (id)
            {
                case 1: type = (PhysicalType)Fields.I32(ref r, ftype, "ColumnMetaData.type"); break;
                case 2:
                {
                    var count = Fields.ListOf(ref r, ftype, CompactType.I32, "ColumnMetaData.encodings");
                    encodings = new List<Encoding>(count);
                    for (var i = 0; i < count; i++)
                    {
                        encodings.Add((Encoding)r.ReadI32());
                    }

                    break;
                }

                case 3:
                {
                    var count = Fields.ListOf(ref r, ftype, CompactType.Binary, "ColumnMetaData.path_in_schema");
                    path = new List<string>(count);
                    for (var i = 0; i < count; i++)
                    {
                        path.Add(r.ReadString());
                    }

                    break;
                }

                case 4: codec = (CompressionCodec)Fields.I32(ref r, ftype, "ColumnMetaData.codec"); break;
                case 5: numValues = Fields.I64(ref r, ftype, "ColumnMetaData.num_values"); break;
                case 6: uncompressed = Fields.I64(ref r, ftype, "ColumnMetaData.total_uncompressed_size"); break;
                case 7: compressed = Fields.I64(ref r, ftype, "ColumnMetaData.total_compressed_size"); break;
                case 8: kv = KeyValue.ReadList(ref r, ftype); break;
                case 9: dataOffset = Fields.I64(ref r, ftype, "ColumnMetaData.data_page_offset"); break;
                case 10: indexOffset = Fields.I64(ref r, ftype, "ColumnMetaData.index_page_offset"); break;
                case 11: dictionaryOffset = Fields.I64(ref r, ftype, "ColumnMetaData.dictionary_page_offset"); break;
                case 12:
                    Fields.Expect(ftype, CompactType.Struct, "ColumnMetaData.statistics");
                    statistics = Statistics.Read(ref r);
                    break;
                default: r.Skip(ftype); break;
            }
        }

        r.StructEnd(saved);
        return new ColumnMetaData
        {
            Type = Fields.Required(type, "ColumnMetaData.type"),
            Encodings = Fields.Required(encodings, "ColumnMetaData.encodings"),
            PathInSchema = Fields.Required(path, "ColumnMetaData.path_in_schema"),
            Codec = Fields.Required(codec, "ColumnMetaData.codec"),
            NumValues = Fields.Required(numValues, "ColumnMetaData.num_values"),
            TotalUncompressedSize = Fields.Required(uncompressed, "ColumnMetaData.total_uncompressed_size"),
            TotalCompressedSize = Fields.Required(compressed, "ColumnMetaData.total_compressed_size"),
            KeyValueMetadata = kv,
            DataPageOffset = Fields.Required(dataOffset, "ColumnMetaData.data_page_offset"),
            IndexPageOffset = indexOffset,
            DictionaryPageOffset = dictionaryOffset,
            Statistics = statistics,
        };
    }
}

public sealed class ColumnChunk
{
    /// <summary>Set when the chunk lives in another file; this reader only reads chunks in the same file.</summary>
    public string? FilePath { get; init; }

    public long FileOffset { get; init; }

    public ColumnMetaData? MetaData { get; init; }

    internal void Write(ThriftCompactWriter w)
    {
        w.StructBegin();
        w.OptionalString(1, FilePath);
        w.FieldI64(2, FileOffset);
        if (MetaData is { } meta)
        {
            w.FieldStructBeginRaw(3);
            meta.Write(w);
        }

        w.StructEnd();
    }

    internal static ColumnChunk Read(ref ThriftCompactReader r)
    {
        string? filePath = null;
        long? fileOffset = null;
        ColumnMetaData? meta = null;
        var saved = r.StructBegin();
        while (r.ReadFieldHeader(out var id, out var ftype))
        {
            switch (id)
            {
                case 1: filePath = Fields.String(ref r, ftype, "ColumnChunk.file_path"); break;
                case 2: fileOffset = Fields.I64(ref r, ftype, "ColumnChunk.file_offset"); break;
                case 3:
                    Fields.Expect(ftype, CompactType.Struct, "ColumnChunk.meta_data");
                    meta = ColumnMetaData.Read(ref r);
                    break;
                default: r.Skip(ftype); break;
            }
        }

        r.StructEnd(saved);
        return new ColumnChunk { FilePath = filePath, FileOffset = Fields.Required(fileOffset, "ColumnChunk.file_offset"), MetaData = meta };
    }
}

public sealed class RowGroup
{
    public required IReadOnlyList<ColumnChunk> Columns { get; init; }

    /// <summary>Uncompressed bytes of all column data.</summary>
    public required long TotalByteSize { get; init; }

    public required long NumRows { get; init; }

    public long? FileOffset { get; init; }

    public long? TotalCompressedSize { get; init; }

    public short? Ordinal { get; init; }

    internal void Write(ThriftCompactWriter w)
    {
        w.StructBegin();
        w.FieldListBegin(1, CompactType.Struct, Columns.Count);
        foreach (var column in Columns)
        {
            column.Write(w);
        }

        w.FieldI64(2, TotalByteSize);
        w.FieldI64(3, NumRows);
        w.OptionalI64(5, FileOffset);
        w.OptionalI64(6, TotalCompressedSize);
        w.OptionalI16(7, Ordinal);
        w.StructEnd();
    }

    internal static RowGroup Read(ref ThriftCompactReader r)
    {
        List<ColumnChunk>? columns = null;
        long? totalBytes = null, rows = null, offset = null, compressed = null;
        short? ordinal = null;
        var saved = r.StructBegin();
        while (r.ReadFieldHeader(out var id, out var ftype))
        {
            switch (id)
            {
                case 1:
                {
                    var count = Fields.ListOf(ref r, ftype, CompactType.Struct, "RowGroup.columns");
                    columns = new List<ColumnChunk>(count);
                    for (var i = 0; i < count; i++)
                    {
                        columns.Add(ColumnChunk.Read(ref r));
                    }

                    break;
                }

                case 2: totalBytes = Fields.I64(ref r, ftype, "RowGroup.total_byte_size"); break;
                case 3: rows = Fields.I64(ref r, ftype, "RowGroup.num_rows"); break;
                case 5: offset = Fields.I64(ref r, ftype, "RowGroup.file_offset"); break;
                case 6: compressed = Fields.I64(ref r, ftype, "RowGroup.total_compressed_size"); break;
                case 7:
                    Fields.Expect(ftype, CompactType.I16, "RowGroup.ordinal");
                    ordinal = r.ReadI16();
                    break;
                default: r.Skip(ftype); break;
            }
        }

        r.StructEnd(saved);
        return new RowGroup
        {
            Columns = Fields.Required(columns, "RowGroup.columns"),
            TotalByteSize = Fields.Required(totalBytes, "RowGroup.total_byte_size"),
            NumRows = Fields.Required(rows, "RowGroup.num_rows"),
            FileOffset = offset, TotalCompressedSize = compressed, Ordinal = ordinal,
        };
    }
}

/// <summary>The footer.</summary>
public sealed class FileMetaData
{
    public required int Version { get; init; }

    public required IReadOnlyList<SchemaElement> Schema { get; init; }

    public required long NumRows { get; init; }

    public required IReadOnlyList<RowGroup> RowGroups { get; init; }

    public IReadOnlyList<KeyValue>? KeyValueMetadata { get; init; }

    public string? CreatedBy { get; init; }

    /// <summary>
    /// How many TYPE_ORDER column orders to write (one per leaf column), or how many were read; other orders are
    /// skipped. Writing them tells readers that <see cref="Statistics.MinValue"/>/<see cref="Statistics.MaxValue"/>
    /// follow each type's natural order (unsigned bytes for strings).
    /// </summary>
    public int TypeDefinedColumnOrders { get; init; }

    internal void Write(ThriftCompactWriter w)
    {
        w.StructBegin();
        w.FieldI32(1, Version);
        w.FieldListBegin(2, CompactType.Struct, Schema.Count);
        foreach (var element in Schema)
        {
            element.Write(w);
        }

        w.FieldI64(3, NumRows);
        w.FieldListBegin(4, CompactType.Struct, RowGroups.Count);
        foreach (var rowGroup in RowGroups)
        {
            rowGroup.Write(w);
        }

        if (KeyValueMetadata is { } kv)
        {
            KeyValue.WriteList(w, 5, kv);
        }

        w.OptionalString(6, CreatedBy);

        if (TypeDefinedColumnOrders > 0)
        {
            w.FieldListBegin(7, CompactType.Struct, TypeDefinedColumnOrders);
            for (var i = 0; i < TypeDefinedColumnOrders; i++)
            {
                // ColumnOrder union { 1: TypeDefinedOrder TYPE_ORDER } with an empty struct.
                w.StructBegin();
                w.FieldStructBegin(1);
                w.StructEnd();
                w.StructEnd();
            }
        }

        w.StructEnd();
    }

    internal static FileMetaData Read(ref ThriftCompactReader r)
    {
        int? version = null;
        long? rows = null;
        List<SchemaElement>? schema = null;
        List<RowGroup>? rowGroups = null;
        List<KeyValue>? kv = null;
        string? createdBy = null;
        var orders = 0;
        var saved = r.StructBegin();
        while (r.ReadFieldHeader(out var id, out var ftype))
        {
            switch (id)
            {
                case 1: version = Fields.I32(ref r, ftype, "FileMetaData.version"); break;
                case 2:
                {
                    var count = Fields.ListOf(ref r, ftype, CompactType.Struct, "FileMetaData.schema");
                    schema = new List<SchemaElement>(count);
                    for (var i = 0; i < count; i++)
                    {
                        schema.Add(SchemaElement.Read(ref r));
                    }

                    break;
                }

                case 3: rows = Fields.I64(ref r, ftype, "FileMetaData.num_rows"); break;
                case 4:
                {
                    var count = Fields.ListOf(ref r, ftype, CompactType.Struct, "FileMetaData.row_groups");
                    rowGroups = new List<RowGroup>(count);
                    for (var i = 0; i < count; i++)
                    {
                        rowGroups.Add(RowGroup.Read(ref r));
                    }

                    break;
                }

                case 5: kv = KeyValue.ReadList(ref r, ftype); break;
                case 6: createdBy = Fields.String(ref r, ftype, "FileMetaData.created_by"); break;
                case 7:
                {
                    var count = Fields.ListOf(ref r, ftype, CompactType.Struct, "FileMetaData.column_orders");
                    for (var i = 0; i < count; i++)
                    {
                        r.SkipStruct();
                    }

                    orders = count;
                    break;
                }

                default: r.Skip(ftype); break;
            }
        }

        r.StructEnd(saved);
        return new FileMetaData
        {
            Version = Fields.Required(version, "FileMetaData.version"),
            Schema = Fields.Required(schema, "FileMetaData.schema"),
            NumRows = Fields.Required(rows, "FileMetaData.num_rows"),
            RowGroups = Fields.Required(rowGroups, "FileMetaData.row_groups"),
            KeyValueMetadata = kv, CreatedBy = createdBy, TypeDefinedColumnOrders = orders,
        };
    }

    /// <summary>Parses a footer (the bytes between the data and the trailing length).</summary>
    public static FileMetaData Parse(ReadOnlySpan<byte> footer, long fileOffset = 0)
    {
        var reader = new ThriftCompactReader(footer, fileOffset, "footer");
        return Read(ref reader);
    }
}

public sealed class DataPageHeader
{
    public required int NumValues { get; init; }

    public required Encoding Encoding { get; init; }

    public required Encoding DefinitionLevelEncoding { get; init; }

    public required Encoding RepetitionLevelEncoding { get; init; }

    internal void Write(ThriftCompactWriter w)
    {
        w.StructBegin();
        w.FieldI32(1, NumValues);
        w.FieldI32(2, (int)Encoding);
        w.FieldI32(3, (int)DefinitionLevelEncoding);
        w.FieldI32(4, (int)RepetitionLevelEncoding);
        w.StructEnd();
    }

    internal static DataPageHeader Read(ref ThriftCompactReader r)
    {
        int? values = null;
        Encoding? encoding = null, definition = null, repetition = null;
        var saved = r.StructBegin();
        while (r.ReadFieldHeader(out var id, out var ftype))
        {
            switch (id)
            {
                case 1: values = Fields.I32(ref r, ftype, "DataPageHeader.num_values"); break;
                case 2: encoding = (Encoding)Fields.I32(ref r, ftype, "DataPageHeader.encoding"); break;
                case 3: definition = (Encoding)Fields.I32(ref r, ftype, "DataPageHeader.definition_level_encoding"); break;
                case 4: repetition = (Encoding)Fields.I32(ref r, ftype, "DataPageHeader.repetition_level_encoding"); break;
                default: r.Skip(ftype); break;
            }
        }

        r.StructEnd(saved);
        return new DataPageHeader
        {
            NumValues = Fields.Required(values, "DataPageHeader.num_values"),
            Encoding = Fields.Required(encoding, "DataPageHeader.encoding"),
            DefinitionLevelEncoding = Fields.Required(definition, "DataPageHeader.definition_level_encoding"),
            RepetitionLevelEncoding = Fields.Required(repetition, "DataPageHeader.repetition_level_encoding"),
        };
    }
}

public sealed class DataPageHeaderV2
{
    public required int NumValues { get; init; }

    public required int NumNulls { get; init; }

    public required int NumRows { get; init; }

    public required Encoding Encoding { get; init; }

    public required int DefinitionLevelsByteLength { get; init; }

    public required int RepetitionLevelsByteLength { get; init; }

    /// <summary>Whether the values section is compressed (default true); levels never are.</summary>
    public bool IsCompressed { get; init; } = true;

    internal void Write(ThriftCompactWriter w)
    {
        w.StructBegin();
        w.FieldI32(1, NumValues);
        w.FieldI32(2, NumNulls);
        w.FieldI32(3, NumRows);
        w.FieldI32(4, (int)Encoding);
        w.FieldI32(5, DefinitionLevelsByteLength);
        w.FieldI32(6, RepetitionLevelsByteLength);
        w.FieldBool(7, IsCompressed);
        w.StructEnd();
    }

    internal static DataPageHeaderV2 Read(ref ThriftCompactReader r)
    {
        int? values = null, nulls = null, rows = null, defLength = null, repLength = null;
        Encoding? encoding = null;
        var compressed = true;
        var saved = r.StructBegin();
        while (r.ReadFieldHeader(out var id, out var ftype))
        {
            switch (id)
            {
                case 1: values = Fields.I32(ref r, ftype, "DataPageHeaderV2.num_values"); break;
                case 2: nulls = Fields.I32(ref r, ftype, "DataPageHeaderV2.num_nulls"); break;
                case 3: rows = Fields.I32(ref r, ftype, "DataPageHeaderV2.num_rows"); break;
                case 4: encoding = (Encoding)Fields.I32(ref r, ftype, "DataPageHeaderV2.encoding"); break;
                case 5: defLength = Fields.I32(ref r, ftype, "DataPageHeaderV2.definition_levels_byte_length"); break;
                case 6: repLength = Fields.I32(ref r, ftype, "DataPageHeaderV2.repetition_levels_byte_length"); break;
                case 7: compressed = Fields.Bool(ref r, ftype, "DataPageHeaderV2.is_compressed"); break;
                default: r.Skip(ftype); break;
            }
        }

        r.StructEnd(saved);
        return new DataPageHeaderV2
        {
            NumValues = Fields.Required(values, "DataPageHeaderV2.num_values"),
            NumNulls = Fields.Required(nulls, "DataPageHeaderV2.num_nulls"),
            NumRows = Fields.Required(rows, "DataPageHeaderV2.num_rows"),
            Encoding = Fields.Required(encoding, "DataPageHeaderV2.encoding"),
            DefinitionLevelsByteLength = Fields.Required(defLength, "DataPageHeaderV2.definition_levels_byte_length"),
            RepetitionLevelsByteLength = Fields.Required(repLength, "DataPageHeaderV2.repetition_levels_byte_length"),
            IsCompressed = compressed,
        };
    }
}

public sealed class DictionaryPageHeader
{
    public required int NumValues { get; init; }

    public required Encoding Encoding { get; init; }

    public bool? IsSorted { get; init; }

    internal void Write(ThriftCompactWriter w)
    {
        w.StructBegin();
        w.FieldI32(1, NumValues);
        w.FieldI32(2, (int)Encoding);
        w.OptionalBool(3, IsSorted);
        w.StructEnd();
    }

    internal static DictionaryPageHeader Read(ref ThriftCompactReader r)
    {
        int? values = null;
        Encoding? encoding = null;
        bool? sorted = null;
        var saved = r.StructBegin();
        while (r.ReadFieldHeader(out var id, out var ftype))
        {
            switch (id)
            {
                case 1: values = Fields.I32(ref r, ftype, "DictionaryPageHeader.num_values"); break;
                case 2: encoding = (Encoding)Fields.I32(ref r, ftype, "DictionaryPageHeader.encoding"); break;
                case 3: sorted = Fields.Bool(ref r, ftype, "DictionaryPageHeader.is_sorted"); break;
                default: r.Skip(ftype); break;
            }
        }

        r.StructEnd(saved);
        return new DictionaryPageHeader
        {
            NumValues = Fields.Required(values, "DictionaryPageHeader.num_values"),
            Encoding = Fields.Required(encoding, "DictionaryPageHeader.encoding"),
            IsSorted = sorted,
        };
    }
}

public sealed class PageHeader
{
    public required PageType Type { get; init; }

    public required int UncompressedPageSize { get; init; }

    public required int CompressedPageSize { get; init; }

    public int? Crc { get; init; }

    public DataPageHeader? DataPageHeader { get; init; }

    public DictionaryPageHeader? DictionaryPageHeader { get; init; }

    public DataPageHeaderV2? DataPageHeaderV2 { get; init; }

    /// <summary>Writes the header as modelled (tests and tools; the writer's per-page path is the static overload).</summary>
    internal void Write(ThriftCompactWriter w)
    {
        w.StructBegin();
        w.FieldI32(1, (int)Type);
        w.FieldI32(2, UncompressedPageSize);
        w.FieldI32(3, CompressedPageSize);
        w.OptionalI32(4, Crc);

        if (DataPageHeader is { } data)
        {
            w.FieldStructBeginRaw(5);
            data.Write(w);
        }

        if (DictionaryPageHeader is { } dictionary)
        {
            w.FieldStructBeginRaw(7);
            dictionary.Write(w);
        }

        if (DataPageHeaderV2 is { } dataV2)
        {
            w.FieldStructBeginRaw(8);
            dataV2.Write(w);
        }

        w.StructEnd();
    }

    /// <summary>
    /// Writes a data page v1 or dictionary page header without building objects (the writer's per-page path).
    /// </summary>
    internal static void Write(
        ThriftCompactWriter w, PageType type, int uncompressedSize, int compressedSize, int numValues, Encoding encoding,
        Encoding definitionLevelEncoding = Encoding.Rle)
    {
        w.StructBegin();
        w.FieldI32(1, (int)type);
        w.FieldI32(2, uncompressedSize);
        w.FieldI32(3, compressedSize);
        w.FieldStructBegin(type == PageType.DictionaryPage ? (short)7 : (short)5);
        w.FieldI32(1, numValues);
        w.FieldI32(2, (int)encoding);
        if (type != PageType.DictionaryPage)
        {
            w.FieldI32(3, (int)definitionLevelEncoding);
            w.FieldI32(4, (int)Encoding.Rle);
        }

        w.StructEnd();
        w.StructEnd();
    }

    internal static PageHeader Read(ref ThriftCompactReader r)
    {
        PageType? type = null;
        int? uncompressed = null, compressed = null, crc = null;
        DataPageHeader? data = null;
        DictionaryPageHeader? dictionary = null;
        DataPageHeaderV2? dataV2 = null;
        var saved = r.StructBegin();
        while (r.ReadFieldHeader(out var id, out var ftype))
        {
            switch (id)
            {
                case 1: type = (PageType)Fields.I32(ref r, ftype, "PageHeader.type"); break;
                case 2: uncompressed = Fields.I32(ref r, ftype, "PageHeader.uncompressed_page_size"); break;
                case 3: compressed = Fields.I32(ref r, ftype, "PageHeader.compressed_page_size"); break;
                case 4: crc = Fields.I32(ref r, ftype, "PageHeader.crc"); break;
                case 5:
                    Fields.Expect(ftype, CompactType.Struct, "PageHeader.data_page_header");
                    data = DataPageHeader.Read(ref r);
                    break;
                case 7:
                    Fields.Expect(ftype, CompactType.Struct, "PageHeader.dictionary_page_header");
                    dictionary = DictionaryPageHeader.Read(ref r);
                    break;
                case 8:
                    Fields.Expect(ftype, CompactType.Struct, "PageHeader.data_page_header_v2");
                    dataV2 = DataPageHeaderV2.Read(ref r);
                    break;
                default: r.Skip(ftype); break;
            }
        }

        r.StructEnd(saved);
        return new PageHeader
        {
            Type = Fields.Required(type, "PageHeader.type"),
            UncompressedPageSize = Fields.Required(uncompressed, "PageHeader.uncompressed_page_size"),
            CompressedPageSize = Fields.Required(compressed, "PageHeader.compressed_page_size"),
            Crc = crc, DataPageHeader = data, DictionaryPageHeader = dictionary, DataPageHeaderV2 = dataV2,
        };
    }
}

/// <summary>Typed field reads that check the wire type, and required-field checks.</summary>
internal static class Fields
{
    public static void Expect(CompactType actual, CompactType expected, string field)
    {
        if (actual != expected)
        {
            ThrowHelper.Format($"Invalid metadata: {field} has wire type {actual}, expected {expected}.");
        }
    }

    public static int I32(ref ThriftCompactReader r, CompactType type, string field)
    {
        Expect(type, CompactType.I32, field);
        return r.ReadI32();
    }

    public static long I64(ref ThriftCompactReader r, CompactType type, string field)
    {
        Expect(type, CompactType.I64, field);
        return r.ReadI64();
    }

    public static bool Bool(ref ThriftCompactReader r, CompactType type, string field)
    {
        if (type is not (CompactType.BooleanTrue or CompactType.BooleanFalse))
        {
            Expect(type, CompactType.BooleanTrue, field);
        }

        return r.ReadBoolField(type);
    }

    public static string String(ref ThriftCompactReader r, CompactType type, string field)
    {
        Expect(type, CompactType.Binary, field);
        return r.ReadString();
    }

    public static byte[] Binary(ref ThriftCompactReader r, CompactType type, string field)
    {
        Expect(type, CompactType.Binary, field);
        return r.ReadBinary().ToArray();
    }

    /// <summary>A list field's header, checking the element type; returns the (bounded) count.</summary>
    public static int ListOf(ref ThriftCompactReader r, CompactType type, CompactType element, string field)
    {
        Expect(type, CompactType.List, field);
        var count = r.ReadListHeader(out var actual);
        if (count > 0)
        {
            Expect(actual, element, field + " element");
        }

        return count;
    }

    public static T Required<T>(T? value, string field)
        where T : class =>
        value ?? ThrowHelper.Format<T>($"Invalid metadata: required field {field} is missing.");

    public static T Required<T>(T? value, string field)
        where T : struct =>
        value ?? ThrowHelper.Format<T>($"Invalid metadata: required field {field} is missing.");
}

namespace LowLatency.Parquet.Format;

// The enums of parquet.thrift (apache/parquet-format), with the spec's numbers. Values a newer writer may add are
// carried through as numbers; the reader checks the ones it acts on.

/// <summary>Physical types: how values are stored.</summary>
public enum PhysicalType
{
    Boolean = 0,
    Int32 = 1,
    Int64 = 2,
    /// <summary>Deprecated 12-byte timestamps (Impala, old Hive); read as raw bytes.</summary>
    Int96 = 3,
    Float = 4,
    Double = 5,
    ByteArray = 6,
    FixedLenByteArray = 7,
}

/// <summary>The deprecated annotations, still written beside <see cref="LogicalType"/> for older readers.</summary>
public enum ConvertedType
{
    Utf8 = 0,
    Map = 1,
    MapKeyValue = 2,
    List = 3,
    Enum = 4,
    Decimal = 5,
    Date = 6,
    TimeMillis = 7,
    TimeMicros = 8,
    TimestampMillis = 9,
    TimestampMicros = 10,
    Uint8 = 11,
    Uint16 = 12,
    Uint32 = 13,
    Uint64 = 14,
    Int8 = 15,
    Int16 = 16,
    Int32 = 17,
    Int64 = 18,
    Json = 19,
    Bson = 20,
    Interval = 21,
}

public enum FieldRepetitionType
{
    Required = 0,
    Optional = 1,
    Repeated = 2,
}

public enum Encoding
{
    Plain = 0,
    PlainDictionary = 2,
    Rle = 3,
    BitPacked = 4,
    DeltaBinaryPacked = 5,
    DeltaLengthByteArray = 6,
    DeltaByteArray = 7,
    RleDictionary = 8,
    ByteStreamSplit = 9,
}

public enum CompressionCodec
{
    Uncompressed = 0,
    Snappy = 1,
    Gzip = 2,
    Lzo = 3,
    Brotli = 4,
    Lz4 = 5,
    Zstd = 6,
    Lz4Raw = 7,
}

public enum PageType
{
    DataPage = 0,
    IndexPage = 1,
    DictionaryPage = 2,
    DataPageV2 = 3,
}

/// <summary>The unit of a TIMESTAMP (or TIME) logical type.</summary>
public enum TimeUnit
{
    Millis = 1,
    Micros = 2,
    Nanos = 3,
}

/// <summary>Which member of the LogicalType union is set (its field id).</summary>
public enum LogicalTypeKind
{
    String = 1,
    Map = 2,
    List = 3,
    Enum = 4,
    Decimal = 5,
    Date = 6,
    Time = 7,
    Timestamp = 8,
    Integer = 10,
    Unknown = 11,
    Json = 12,
    Bson = 13,
    Uuid = 14,
    Float16 = 15,
}

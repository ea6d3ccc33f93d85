namespace LowLatency.Codecs.Avro;

/// <summary>
/// The outcome of an Avro read. Decoders return it instead of throwing (house style: status-returning readers); only
/// outer APIs (schema parsing, container files opened by path, the generic encoder) turn a failure into an
/// <see cref="AvroException"/>.
/// </summary>
public enum AvroStatus : byte
{
    /// <summary>The value was read.</summary>
    Ok,

    /// <summary>The data ends inside a value (a varint, a length-prefixed value, a fixed, a block).</summary>
    Truncated,

    /// <summary>An int varint longer than 5 bytes or a long varint longer than 10 bytes, or one whose value does not fit.</summary>
    InvalidVarint,

    /// <summary>A bytes/string length or a block byte-size is negative.</summary>
    NegativeLength,

    /// <summary>
    /// A declared length or item count is larger than the bytes that remain (or than a configured limit): rejected
    /// before anything is read or allocated.
    /// </summary>
    LengthTooLarge,

    /// <summary>A union branch index outside the union.</summary>
    InvalidUnionIndex,

    /// <summary>An enum index outside the enum's symbols.</summary>
    InvalidEnumIndex,

    /// <summary>A boolean byte other than 0 or 1.</summary>
    InvalidBoolean,

    /// <summary>Values nested deeper than <see cref="AvroPlan.MaxDepth"/> (recursive schemas).</summary>
    TooDeep,

    /// <summary>Bytes remain after the value where the whole input should have been one value.</summary>
    TrailingBytes,

    /// <summary>The data does not match what the reader expects (a union branch the reader cannot use, a missing field).</summary>
    SchemaMismatch,

    /// <summary>A framing header is wrong: Confluent magic byte, single-object marker, container magic or sync marker.</summary>
    BadHeader,

    /// <summary>The container file names a compression codec this reader does not implement (for example zstandard).</summary>
    UnsupportedCodec,

    /// <summary>A schema is not valid Avro (bad JSON, unknown type, bad or duplicate name, undefined reference, ...).</summary>
    InvalidSchema,

    /// <summary>A compressed block is corrupt: bad compressed stream or a checksum that does not match.</summary>
    CorruptBlock,
}

/// <summary>An Avro failure raised by the outer APIs; <see cref="Status"/> says which kind.</summary>
public sealed class AvroException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AvroException(AvroStatus status, string message)
        : base(message)
    {
        Status = status;
    }

    /// <summary>Creates the exception with an inner cause.</summary>
    public AvroException(AvroStatus status, string message, Exception inner)
        : base(message, inner)
    {
        Status = status;
    }

    /// <summary>The kind of failure (<see cref="AvroStatus.InvalidSchema"/> for invalid schemas).</summary>
    public AvroStatus Status { get; }
}

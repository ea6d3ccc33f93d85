using System.Buffers.Binary;

namespace LowLatency.Cassandra;

/// <summary>The message kinds of the CQL native protocol (v3 and v4 share them; 0x04 was v1's CREDENTIALS).</summary>
public enum CqlOpcode : byte
{
    Error = 0x00,
    Startup = 0x01,
    Ready = 0x02,
    Authenticate = 0x03,
    Options = 0x05,
    Supported = 0x06,
    Query = 0x07,
    Result = 0x08,
    Prepare = 0x09,
    Execute = 0x0A,
    Register = 0x0B,
    Event = 0x0C,
    Batch = 0x0D,
    AuthChallenge = 0x0E,
    AuthResponse = 0x0F,
    AuthSuccess = 0x10,
}

/// <summary>Frame header flags.</summary>
[Flags]
public enum CqlFrameFlags : byte
{
    None = 0,
    Compression = 0x01,
    /// <summary>A response body starts with the 16-byte tracing id.</summary>
    Tracing = 0x02,
    /// <summary>v4: a [bytes map] custom payload follows the tracing id.</summary>
    CustomPayload = 0x04,
    /// <summary>v4: a [string list] of warnings follows the tracing id and the custom payload.</summary>
    Warning = 0x08,
}

/// <summary>The consistency levels ([consistency], a [short]).</summary>
public enum CqlConsistency : short
{
    Any = 0x0000,
    One = 0x0001,
    Two = 0x0002,
    Three = 0x0003,
    Quorum = 0x0004,
    All = 0x0005,
    LocalQuorum = 0x0006,
    EachQuorum = 0x0007,
    Serial = 0x0008,
    LocalSerial = 0x0009,
    LocalOne = 0x000A,
}

/// <summary>The kinds of RESULT bodies.</summary>
public enum CqlResultKind
{
    Void = 0x0001,
    Rows = 0x0002,
    SetKeyspace = 0x0003,
    Prepared = 0x0004,
    SchemaChange = 0x0005,
}

/// <summary>Column types ([option] ids). The client decodes the native types the engine stores; others are raw bytes.</summary>
public enum CqlType : short
{
    Custom = 0x0000,
    Ascii = 0x0001,
    Bigint = 0x0002,
    Blob = 0x0003,
    Boolean = 0x0004,
    Counter = 0x0005,
    Decimal = 0x0006,
    Double = 0x0007,
    Float = 0x0008,
    Int = 0x0009,
    Timestamp = 0x000B,
    Uuid = 0x000C,
    Varchar = 0x000D,
    Varint = 0x000E,
    Timeuuid = 0x000F,
    Inet = 0x0010,
    Date = 0x0011,
    Time = 0x0012,
    Smallint = 0x0013,
    Tinyint = 0x0014,
    List = 0x0020,
    Map = 0x0021,
    Set = 0x0022,
    Udt = 0x0030,
    Tuple = 0x0031,
}

/// <summary>What <see cref="CqlFrameHeader.TryRead"/> found.</summary>
public enum CqlFrameStatus
{
    /// <summary>A complete header: the body is <see cref="CqlFrameHeader.Length"/> bytes.</summary>
    Ok,

    /// <summary>Fewer than 9 bytes: receive more.</summary>
    NeedMoreData,

    /// <summary>Not a response of the expected protocol version (a request frame, or another version).</summary>
    BadVersion,

    /// <summary>A negative length, or more than the configured maximum frame size: never allocated.</summary>
    BadLength,

    /// <summary>An opcode the protocol does not define.</summary>
    UnknownOpcode,
}

/// <summary>
/// The 9-byte frame header of protocol v3 and v4: version (high bit set on responses), flags, stream id ([short],
/// signed: the server's own EVENT frames use -1), opcode, body length ([int]). Big-endian.
/// </summary>
public readonly record struct CqlFrameHeader(byte Version, CqlFrameFlags Flags, short Stream, CqlOpcode Opcode, int Length)
{
    /// <summary>The size of a v3/v4 header.</summary>
    public const int Size = 9;

    /// <summary>The response bit of the version byte.</summary>
    public const byte ResponseBit = 0x80;

    /// <summary>The protocol version without the direction bit.</summary>
    public int ProtocolVersion => Version & 0x7F;

    /// <summary>Whether this is a response (server to client).</summary>
    public bool IsResponse => (Version & ResponseBit) != 0;

    /// <summary>Writes the header (the request direction is the caller's choice of <see cref="Version"/>).</summary>
    public void Write(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException("A frame header needs 9 bytes.", nameof(destination));
        }

        destination[0] = Version;
        destination[1] = (byte)Flags;
        BinaryPrimitives.WriteInt16BigEndian(destination[2..], Stream);
        destination[4] = (byte)Opcode;
        BinaryPrimitives.WriteInt32BigEndian(destination[5..], Length);
    }

    /// <summary>
    /// Reads a response header of protocol <paramref name="protocolVersion"/> (0: any version 3 or 4, as while
    /// negotiating) and checks it before any body is touched: its length must be 0 to <paramref name="maxBodyLength"/>.
    /// A status, never an exception (the connection decides what a bad frame costs).
    /// </summary>
    public static CqlFrameStatus TryRead(ReadOnlySpan<byte> source, int protocolVersion, int maxBodyLength, out CqlFrameHeader header)
    {
        header = default;
        if (source.Length < Size)
        {
            return CqlFrameStatus.NeedMoreData;
        }

        header = new CqlFrameHeader(
            source[0], (CqlFrameFlags)source[1], BinaryPrimitives.ReadInt16BigEndian(source[2..]), (CqlOpcode)source[4],
            BinaryPrimitives.ReadInt32BigEndian(source[5..]));
        var version = header.ProtocolVersion;
        if (!header.IsResponse || (protocolVersion == 0 ? version is < 1 or > 4 : version != protocolVersion))
        {
            return CqlFrameStatus.BadVersion;
        }

        if (header.Length < 0 || header.Length > maxBodyLength)
        {
            return CqlFrameStatus.BadLength;
        }

        return IsResponseOpcode(header.Opcode) ? CqlFrameStatus.Ok : CqlFrameStatus.UnknownOpcode;
    }

    /// <summary>Whether a server may send this opcode.</summary>
    public static bool IsResponseOpcode(CqlOpcode opcode) => opcode is CqlOpcode.Error or CqlOpcode.Ready or CqlOpcode.Authenticate
        or CqlOpcode.Supported or CqlOpcode.Result or CqlOpcode.Event or CqlOpcode.AuthChallenge or CqlOpcode.AuthSuccess;
}

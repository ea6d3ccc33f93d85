using LowLatency.Market;

namespace LowLatency.Codecs.Binance;

/// <summary>The outcome of decoding one frame.</summary>
public enum DecodeStatus : byte
{
    /// <summary>The event is complete.</summary>
    Ok,

    /// <summary>
    /// A depth message had more levels than the event holds: this event is one chunk; decode again with the same
    /// message, the same <see cref="DepthCursor"/> and the next event to get the next chunk.
    /// </summary>
    MoreChunks,

    /// <summary>Not well-formed JSON (syntax, truncation, nesting deeper than <see cref="BinanceDecoder.MaxDepth"/>).</summary>
    Malformed,

    /// <summary>Well-formed, but not a message this decoder knows.</summary>
    Unsupported,

    /// <summary>A required field is absent.</summary>
    MissingField,

    /// <summary>A field holds the wrong JSON type or text that is not a number of the expected form.</summary>
    WrongType,

    /// <summary>A number does not fit (ids beyond 64 bits, times beyond the ns range, decimals beyond ~9.2e10).</summary>
    Overflow,

    /// <summary>A decimal has non-zero digits beyond the 8th decimal place.</summary>
    PrecisionLoss,

    /// <summary>The symbol table refused the symbol (full, empty, longer than 64 bytes, or JSON-escaped).</summary>
    SymbolRejected,
}

/// <summary>A <see cref="DecodeStatus"/> and why: <see cref="Reason"/> is a static string (never allocated per message).</summary>
public readonly struct DecodeResult
{
    internal static readonly DecodeResult Success = new(DecodeStatus.Ok, "ok");

    internal DecodeResult(DecodeStatus status, string reason)
    {
        Status = status;
        Reason = reason;
    }

    /// <summary>The outcome.</summary>
    public DecodeStatus Status { get; }

    /// <summary>A human-readable, static reason such as <c>trade: field 'p' missing</c>; <c>ok</c> on success.</summary>
    public string Reason { get; }

    /// <summary>The event is usable (<see cref="DecodeStatus.Ok"/> or <see cref="DecodeStatus.MoreChunks"/>).</summary>
    public bool IsSuccess => Status <= DecodeStatus.MoreChunks;

    /// <inheritdoc />
    public override string ToString() => $"{Status}: {Reason}";
}

/// <summary>The unit of Binance's integer timestamps on the connection (Binance's <c>timeUnit</c> stream option).</summary>
public enum TimeUnit : byte
{
    /// <summary>Milliseconds (Binance's default).</summary>
    Millisecond,

    /// <summary>Microseconds (<c>timeUnit=MICROSECOND</c>).</summary>
    Microsecond,
}

/// <summary>
/// Where a chunked depth message continues: a small struct the caller keeps (on its stack or beside the source) between
/// the <see cref="BinanceDecoder.Decode(ReadOnlySpan{byte}, ref MarketEvent, ref DepthCursor)"/> calls of one message.
/// Start each new message with an inactive (default) cursor; the decoder resets it when the message is done or fails.
/// </summary>
public struct DepthCursor
{
    internal int Position;      // offset of the next level (or of the closing ']') in the current side's array
    internal int AsksStart;     // offset just after the '[' of the asks array, or -1 when there is none
    internal int JsonLength;    // the message's length: a cheap check that a continuation gets the same message
    internal int ChunkIndex;
    internal int SymbolId;
    internal byte Phase;        // 0 idle, 1 bids, 2 asks
    internal MarketEventKind Kind;
    internal long EventTimeNs;
    internal long FirstUpdateId;
    internal long FinalUpdateId;
    internal long PreviousFinalUpdateId;
    internal long LastUpdateId;

    /// <summary>A message is part-way through: the next decode call continues it.</summary>
    public readonly bool IsActive => Phase != 0;

    /// <summary>The index of the chunk the next call will produce.</summary>
    public readonly int NextChunkIndex => ChunkIndex;
}

using System.Buffers.Text;
using System.Runtime.CompilerServices;

namespace LowLatency.Redis;

/// <summary>The RESP type of a reply, named by its leading byte (RESP2 and RESP3).</summary>
public enum RespType : byte
{
    SimpleString = (byte)'+',
    Error = (byte)'-',
    Integer = (byte)':',
    BulkString = (byte)'$',
    Array = (byte)'*',
    Null = (byte)'_',
    Boolean = (byte)'#',
    Double = (byte)',',
    BigNumber = (byte)'(',
    BulkError = (byte)'!',
    VerbatimString = (byte)'=',
    Map = (byte)'%',
    Set = (byte)'~',
    Attribute = (byte)'|',
    Push = (byte)'>',
}

/// <summary>What a read produced: a whole reply, not yet a whole reply, or bytes that are not RESP.</summary>
public enum RespStatus
{
    Ok,

    /// <summary>The buffer ends inside the reply; read more bytes and try again from the same position.</summary>
    NeedMoreData,

    /// <summary>The bytes are not RESP (or exceed a limit); the connection is out of step and must be dropped.</summary>
    Malformed,
}

/// <summary>
/// One complete reply inside a buffer, as a view: no copy, no allocation. Scalars expose their payload bytes;
/// aggregates (array, map, set, push) expose their element count and an <see cref="Elements"/> reader.
/// </summary>
/// <remarks>A reply preceded by a RESP3 attribute (<c>|</c>) is the reply itself; the attribute is in <see cref="Raw"/>
/// only. The view is valid until the buffer it points into is reused (the next read on the connection).</remarks>
public readonly ref struct RespReply
{
    private readonly ReadOnlySpan<byte> _raw;
    private readonly int _payloadStart;
    private readonly int _payloadLength;

    internal RespReply(ReadOnlySpan<byte> raw, RespType type, long value, int payloadStart, int payloadLength)
    {
        _raw = raw;
        Type = type;
        Value = value;
        _payloadStart = payloadStart;
        _payloadLength = payloadLength;
    }

    public RespType Type { get; }

    /// <summary>The integer of <c>:</c>, 1 or 0 for <c>#</c>, the element count of an aggregate (pairs for a map), the
    /// length of a bulk, verbatim or bulk error, -1 for a RESP2 null bulk string or null array, 0 otherwise.</summary>
    public long Value { get; }

    /// <summary>The whole reply including nested elements and a leading attribute: what a proxy would forward.</summary>
    public ReadOnlySpan<byte> Raw => _raw;

    /// <summary>The text of a simple string, error, double, big number; the bytes of a bulk string or bulk error; the
    /// text of a verbatim string after its <c>fmt:</c> prefix. Empty for other types.</summary>
    public ReadOnlySpan<byte> Payload => _raw.Slice(_payloadStart, _payloadLength);

    /// <summary>RESP3 <c>_</c>, or RESP2 <c>$-1</c> / <c>*-1</c>.</summary>
    public bool IsNull => Type == RespType.Null || (Value < 0 && Type is RespType.BulkString or RespType.Array);

    public bool IsError => Type is RespType.Error or RespType.BulkError;

    /// <summary>The <c>+OK</c> reply of SET, SELECT, AUTH and most writes.</summary>
    public bool IsOk => Type == RespType.SimpleString && Payload.SequenceEqual("OK"u8);

    public bool IsAggregate => Type is RespType.Array or RespType.Map or RespType.Set or RespType.Push;

    /// <summary>Elements of an aggregate, in order (a map yields key, value, key, value, ...).</summary>
    public RespReader Elements() =>
        IsAggregate && Value > 0 ? new RespReader(_raw[_payloadStart..]) : default;

    /// <summary>The reply as an integer: a <c>:</c> reply, or a bulk or simple string holding one (HGET of a counter).</summary>
    public bool TryGetInt64(out long value)
    {
        if (Type == RespType.Integer)
        {
            value = Value;
            return true;
        }

        return Utf8Parser.TryParse(Payload, out value, out var consumed) && consumed == _payloadLength && _payloadLength > 0;
    }

    /// <summary>The reply as a double: <c>,</c> (including inf, -inf, nan), an integer, or a string holding a number.</summary>
    public bool TryGetDouble(out double value)
    {
        if (Type == RespType.Integer)
        {
            value = Value;
            return true;
        }

        var payload = Payload;
        if (Type == RespType.Double && payload.Length <= 4)
        {
            if (payload.SequenceEqual("inf"u8) || payload.SequenceEqual("+inf"u8))
            {
                value = double.PositiveInfinity;
                return true;
            }

            if (payload.SequenceEqual("-inf"u8))
            {
                value = double.NegativeInfinity;
                return true;
            }

            if (payload.SequenceEqual("nan"u8))
            {
                value = double.NaN;
                return true;
            }
        }

        return Utf8Parser.TryParse(payload, out value, out var consumed) && consumed == payload.Length && payload.Length > 0;
    }
}

/// <summary>
/// Reads complete RESP2/RESP3 replies from a span, without allocating. <see cref="TryRead"/> either returns a whole
/// reply (nested elements included) and moves past it, or reports <see cref="RespStatus.NeedMoreData"/> and leaves the
/// position where it was, wherever the buffer ends: inside a length, between <c>\r</c> and <c>\n</c>, inside a payload
/// or between nested elements. Every declared length and count is checked against the bytes present before use.
/// </summary>
public ref struct RespReader
{
    /// <summary>The largest bulk string Redis accepts (proto-max-bulk-len default, 512 MiB); larger is malformed.</summary>
    public const long MaxBulkLength = 512L * 1024 * 1024;

    /// <summary>The largest element count accepted for one aggregate; larger is malformed rather than a long wait.</summary>
    public const long MaxElements = 1L << 30;

    private readonly ReadOnlySpan<byte> _buffer;
    private int _position;

    public RespReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    /// <summary>Bytes consumed by the replies read so far.</summary>
    public readonly int Consumed => _position;

    /// <summary>Bytes not yet consumed.</summary>
    public readonly int Remaining => _buffer.Length - _position;

    /// <summary>Reads the next complete reply, or reports why it cannot (the position then does not move).</summary>
    public RespStatus TryRead(out RespReply reply)
    {
        // Fast path for scalars (+OK, :1, bulk strings: what write pipelines get back): one token is the whole reply.
        var rest = _buffer[_position..];
        var status = ReadToken(rest, 0, out var first);
        if (status == RespStatus.Ok && first.Type is not (RespType.Array or RespType.Map or RespType.Set or RespType.Push or RespType.Attribute))
        {
            reply = new RespReply(rest[..first.End], first.Type, first.Value, first.PayloadStart, first.PayloadLength);
            _position += first.End;
            return RespStatus.Ok;
        }

        if (status != RespStatus.Ok)
        {
            reply = default;
            return status;
        }

        status = TryMeasure(rest, out var length);
        if (status != RespStatus.Ok)
        {
            reply = default;
            return status;
        }

        var raw = _buffer.Slice(_position, length);
        _position += length;

        // Skip leading attributes: the reply the caller asked for follows them.
        var offset = 0;
        while (true)
        {
            ReadToken(raw, offset, out var token);
            if (token.Type != RespType.Attribute)
            {
                reply = new RespReply(raw, token.Type, token.Value, token.PayloadStart, token.PayloadLength);
                return RespStatus.Ok;
            }

            offset = token.End;
            for (var i = 0L; i < 2 * token.Value; i++)
            {
                TryMeasure(raw[offset..], out var element);
                offset += element;
            }
        }
    }

    /// <summary>
    /// The length in bytes of the complete reply at the start of <paramref name="buffer"/>, nested elements and leading
    /// attributes included. Iterative (a count of elements still expected), so deep nesting cannot overflow the stack.
    /// </summary>
    public static RespStatus TryMeasure(ReadOnlySpan<byte> buffer, out int length)
    {
        length = 0;
        long pending = 1;
        var position = 0;
        while (pending > 0)
        {
            var status = ReadToken(buffer, position, out var token);
            if (status != RespStatus.Ok)
            {
                return status;
            }

            position = token.End;
            switch (token.Type)
            {
                case RespType.Attribute:
                    // An attribute's pairs come first; the reply it annotates still fills this slot.
                    pending += 2 * token.Value;
                    break;
                case RespType.Map:
                    pending += (2 * token.Value) - 1;
                    break;
                case RespType.Array or RespType.Set or RespType.Push:
                    pending += Math.Max(token.Value, 0) - 1;
                    break;
                default:
                    pending--;
                    break;
            }
        }

        length = position;
        return RespStatus.Ok;
    }

    /// <summary>One header line, plus the payload of a bulk type. Aggregates end after their header.</summary>
    internal struct Token
    {
        public RespType Type;
        public long Value;
        public int PayloadStart;
        public int PayloadLength;
        public int End;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static RespStatus ReadToken(ReadOnlySpan<byte> buffer, int start, out Token token)
    {
        token = default;
        if (start >= buffer.Length)
        {
            return RespStatus.NeedMoreData;
        }

        var line = buffer[(start + 1)..];
        var cr = line.IndexOfAny((byte)'\r', (byte)'\n');
        if (cr < 0)
        {
            return RespStatus.NeedMoreData;
        }

        if (line[cr] != (byte)'\r')
        {
            return RespStatus.Malformed;
        }

        if (cr + 1 >= line.Length)
        {
            return RespStatus.NeedMoreData;
        }

        if (line[cr + 1] != (byte)'\n')
        {
            return RespStatus.Malformed;
        }

        var text = line[..cr];
        var lineEnd = start + 1 + cr + 2;
        token.Type = (RespType)buffer[start];
        token.PayloadStart = start + 1;
        token.PayloadLength = cr;
        token.End = lineEnd;
        switch (token.Type)
        {
            case RespType.SimpleString or RespType.Error or RespType.Double or RespType.BigNumber:
                return text.Length > 0 || token.Type is RespType.SimpleString or RespType.Error ? RespStatus.Ok : RespStatus.Malformed;
            case RespType.Null:
                token.PayloadLength = 0;
                return text.Length == 0 ? RespStatus.Ok : RespStatus.Malformed;
            case RespType.Boolean:
                token.PayloadLength = 0;
                if (text.Length != 1 || (text[0] != (byte)'t' && text[0] != (byte)'f'))
                {
                    return RespStatus.Malformed;
                }

                token.Value = text[0] == (byte)'t' ? 1 : 0;
                return RespStatus.Ok;
            case RespType.Integer:
                token.PayloadLength = 0;
                return TryParseInteger(text, out token.Value) ? RespStatus.Ok : RespStatus.Malformed;
            case RespType.Array or RespType.Set or RespType.Map or RespType.Attribute or RespType.Push:
                // No payload: the elements follow the header, which RespReply.Elements finds at PayloadStart.
                token.PayloadStart = lineEnd;
                token.PayloadLength = 0;
                if (!TryParseInteger(text, out token.Value) || token.Value > MaxElements || token.Value < -1 ||
                    (token.Value == -1 && token.Type != RespType.Array))
                {
                    return RespStatus.Malformed;
                }

                return RespStatus.Ok;
            case RespType.BulkString or RespType.BulkError or RespType.VerbatimString:
                return ReadBulk(buffer, text, lineEnd, ref token);
            default:
                return RespStatus.Malformed;
        }
    }

    private static RespStatus ReadBulk(ReadOnlySpan<byte> buffer, ReadOnlySpan<byte> text, int lineEnd, ref Token token)
    {
        if (!TryParseInteger(text, out var length) || length < -1 || length > MaxBulkLength ||
            (length == -1 && token.Type != RespType.BulkString))
        {
            return RespStatus.Malformed;
        }

        token.Value = length;
        token.PayloadStart = lineEnd;
        token.PayloadLength = 0;
        if (length == -1)
        {
            return RespStatus.Ok;
        }

        // Compared as longs: lineEnd + length + 2 cannot overflow a long, and the buffer is below int.MaxValue.
        if (buffer.Length - (long)lineEnd < length + 2)
        {
            return RespStatus.NeedMoreData;
        }

        var end = lineEnd + (int)length;
        if (buffer[end] != (byte)'\r' || buffer[end + 1] != (byte)'\n')
        {
            return RespStatus.Malformed;
        }

        token.PayloadLength = (int)length;
        token.End = end + 2;
        if (token.Type == RespType.VerbatimString)
        {
            // "txt:" or "mkd:" then the text; the payload is the text.
            if (length < 4 || buffer[lineEnd + 3] != (byte)':')
            {
                return RespStatus.Malformed;
            }

            token.PayloadStart += 4;
            token.PayloadLength -= 4;
        }

        return RespStatus.Ok;
    }

    /// <summary>An optionally signed decimal integer filling the whole span; overflow is malformed.</summary>
    private static bool TryParseInteger(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        if (text.IsEmpty)
        {
            return false;
        }

        var negative = text[0] == (byte)'-';
        var i = negative || text[0] == (byte)'+' ? 1 : 0;
        if (i == text.Length)
        {
            return false;
        }

        ulong magnitude = 0;
        for (; i < text.Length; i++)
        {
            var digit = (uint)(text[i] - '0');
            if (digit > 9 || magnitude > (ulong.MaxValue - digit) / 10)
            {
                return false;
            }

            magnitude = (magnitude * 10) + digit;
        }

        if (negative ? magnitude > (ulong)long.MaxValue + 1 : magnitude > long.MaxValue)
        {
            return false;
        }

        value = negative ? (long)(0 - magnitude) : (long)magnitude;
        return true;
    }
}

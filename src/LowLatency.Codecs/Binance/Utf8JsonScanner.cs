using System.Runtime.CompilerServices;

namespace LowLatency.Codecs.Binance;

/// <summary>
/// The keys a Binance payload can carry, as dense slots of a <see cref="FieldBag"/>: the 52 single letters
/// (<c>A</c>–<c>Z</c> then <c>a</c>–<c>z</c>) and the few longer names Binance uses.
/// </summary>
internal static class FieldSlot
{
    public const int LastUpdateId = 52;
    public const int Bids = 53;
    public const int Asks = 54;
    public const int Stream = 55;
    public const int Data = 56;
    public const int Result = 57;
    public const int Id = 58;
    public const int Code = 59;
    public const int Msg = 60;
    public const int Error = 61;
    public const int Pu = 62;
    public const int Status = 63;
    public const int Count = 64; // presence is one bit per slot in a ulong: no more than 64

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Letter(char c) => c <= 'Z' ? c - 'A' : c - 'a' + 26;

    /// <summary>The slot of a key, or -1 for a key the decoder does not read (its value is skipped).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Of(ReadOnlySpan<byte> name)
    {
        if (name.Length == 1)
        {
            var c = name[0];
            if ((uint)(c - 'A') <= 'Z' - 'A')
            {
                return c - 'A';
            }

            if ((uint)(c - 'a') <= 'z' - 'a')
            {
                return c - 'a' + 26;
            }

            return -1;
        }

        return OfLong(name);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int OfLong(ReadOnlySpan<byte> name) => name.Length switch
    {
        2 when name.SequenceEqual("pu"u8) => Pu,
        2 when name.SequenceEqual("id"u8) => Id,
        3 when name.SequenceEqual("msg"u8) => Msg,
        4 when name.SequenceEqual("bids"u8) => Bids,
        4 when name.SequenceEqual("asks"u8) => Asks,
        4 when name.SequenceEqual("data"u8) => Data,
        4 when name.SequenceEqual("code"u8) => Code,
        5 when name.SequenceEqual("error"u8) => Error,
        6 when name.SequenceEqual("stream"u8) => Stream,
        6 when name.SequenceEqual("result"u8) => Result,
        6 when name.SequenceEqual("status"u8) => Status,
        12 when name.SequenceEqual("lastUpdateId"u8) => LastUpdateId,
        _ => -1,
    };

    /// <summary>The key's text, for reasons (start-up only).</summary>
    public static string Name(int slot) => slot switch
    {
        < 26 => ((char)('A' + slot)).ToString(),
        < 52 => ((char)('a' + slot - 26)).ToString(),
        LastUpdateId => "lastUpdateId",
        Bids => "bids",
        Asks => "asks",
        Stream => "stream",
        Data => "data",
        Result => "result",
        Id => "id",
        Code => "code",
        Msg => "msg",
        Error => "error",
        Pu => "pu",
        Status => "status",
        _ => "?",
    };
}

/// <summary>Fixed inline storage for one int per <see cref="FieldSlot"/>.</summary>
[InlineArray(FieldSlot.Count)]
internal struct SlotOffsets
{
    private int _element0;
}

/// <summary>
/// The values of one JSON object, by key: where each recognised key's raw value starts and ends in the message. Filled
/// in one pass whatever the field order; the decoder then parses just the values it needs.
/// </summary>
/// <remarks>Only slots whose bit is set in <see cref="Present"/> are ever read, so the bag needs no zeroing.</remarks>
internal struct FieldBag
{
    public ulong Present;
    public SlotOffsets Start;
    public SlotOffsets End;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Has(int slot) => (Present & (1UL << slot)) != 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set(int slot, int start, int end)
    {
        Start[slot] = start;
        End[slot] = end;
        Present |= 1UL << slot;
    }
}

/// <summary>
/// A minimal UTF-8 JSON scanner over one contiguous message: validates the grammar of everything it passes over
/// (so unknown fields of any shape are skipped safely), bounded to <see cref="MaxDepth"/> levels of nesting, never
/// allocates and never throws. On failure <see cref="Error"/> says why (a static string).
/// </summary>
internal ref struct Utf8JsonScanner
{
    /// <summary>The deepest nesting accepted; deeper input (e.g. a 100,000-deep <c>[</c> bomb) is Malformed at once.</summary>
    public const int MaxDepth = 64;

    public const int End = -1;

    private readonly ReadOnlySpan<byte> _json;

    public int Position;

    public string? Error;

    public Utf8JsonScanner(ReadOnlySpan<byte> json, int position = 0)
    {
        _json = json;
        Position = position;
        Error = null;
    }

    /// <summary>Skips whitespace and returns the next byte without consuming it, or <see cref="End"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Peek()
    {
        var json = _json;
        var i = Position;
        while ((uint)i < (uint)json.Length)
        {
            var c = json[i];
            if (c > (byte)' ' || (c != (byte)' ' && c != (byte)'\n' && c != (byte)'\r' && c != (byte)'\t'))
            {
                Position = i;
                return c;
            }

            i++;
        }

        Position = i;
        return End;
    }

    /// <summary>
    /// Reads the object at the current position into <paramref name="bag"/>. When <paramref name="data"/> is given
    /// (the combined-stream wrapper), an object value of key <c>data</c> is read into it directly instead of being
    /// skipped, so the payload is scanned once.
    /// </summary>
    public bool ReadObject(ref FieldBag bag, ref FieldBag data, bool captureData, int depth)
    {
        bag.Present = 0;
        if (Peek() != '{')
        {
            return Fail("json: expected an object");
        }

        if (depth >= MaxDepth)
        {
            return Fail("json: nesting too deep");
        }

        Position++;
        var c = Peek();
        if (c == '}')
        {
            Position++;
            return true;
        }

        var json = _json;
        while (true)
        {
            int slot;
            var p = Position;
            if (c == '"' && (uint)(p + 2) < (uint)json.Length && json[p + 2] == (byte)'"' && json[p + 1] != (byte)'\\')
            {
                // Fast path: a one-byte key, as almost all of Binance's are.
                slot = FieldSlot.Of(json.Slice(p + 1, 1));
                Position = p + 3;
            }
            else if (c == '"' && ScanString(out var nameStart, out var nameEnd))
            {
                slot = FieldSlot.Of(json[nameStart..nameEnd]);
            }
            else
            {
                return Fail("json: expected a property name");
            }

            if (Peek() != ':')
            {
                return Fail("json: expected ':'");
            }

            Position++;
            var first = Peek();
            var valueStart = Position;
            if (first == '"')
            {
                if (!ScanString(out _, out _))
                {
                    return Fail("json: bad string");
                }
            }
            else if (slot == FieldSlot.Data && captureData && first == '{')
            {
                if (!ReadObject(ref data, ref data, captureData: false, depth + 1))
                {
                    return false;
                }
            }
            else if (!SkipValue(depth + 1))
            {
                return false;
            }

            if (slot >= 0)
            {
                bag.Set(slot, valueStart, Position);
            }

            c = Peek();
            if (c == ',')
            {
                Position++;
                c = Peek();
                continue;
            }

            if (c == '}')
            {
                Position++;
                return true;
            }

            return Fail("json: expected ',' or '}'");
        }
    }

    /// <summary>Skips one value of any type, validating it.</summary>
    public bool SkipValue(int depth)
    {
        var c = Peek();
        switch (c)
        {
            case '"':
                return ScanString(out _, out _) || Fail("json: bad string");
            case '{':
            case '[':
                return SkipContainer(c, depth);
            case 't':
                return Literal("true"u8);
            case 'f':
                return Literal("false"u8);
            case 'n':
                return Literal("null"u8);
            default:
                return ScanNumber() || Fail("json: bad value");
        }
    }

    private bool SkipContainer(int open, int depth)
    {
        if (depth >= MaxDepth)
        {
            return Fail("json: nesting too deep");
        }

        var close = open == '{' ? '}' : ']';
        Position++;
        var c = Peek();
        if (c == close)
        {
            Position++;
            return true;
        }

        while (true)
        {
            if (open == '{')
            {
                if (c != '"' || !ScanString(out _, out _))
                {
                    return Fail("json: expected a property name");
                }

                if (Peek() != ':')
                {
                    return Fail("json: expected ':'");
                }

                Position++;
            }

            if (!SkipValue(depth + 1))
            {
                return false;
            }

            c = Peek();
            if (c == ',')
            {
                Position++;
                c = Peek();
                continue;
            }

            if (c == close)
            {
                Position++;
                return true;
            }

            return Fail("json: expected ',' or a closing bracket");
        }
    }

    /// <summary>At a '"': scans to the closing quote; the content is [start, end).</summary>
    public bool ScanString(out int start, out int end)
    {
        var json = _json;
        start = Position + 1;
        var i = start;
        while (true)
        {
            if ((uint)i >= (uint)json.Length)
            {
                end = i;
                return false;
            }

            // Binance's strings are short (keys of one letter, decimals of ~15 bytes): a scalar look at the first
            // bytes beats the vectorised search's set-up; longer strings fall through to it.
            var limit = Math.Min(json.Length, i + 24);
            while (i < limit && json[i] != (byte)'"' && json[i] != (byte)'\\')
            {
                i++;
            }

            if (i == limit)
            {
                var k = json[i..].IndexOfAny((byte)'"', (byte)'\\');
                if (k < 0)
                {
                    end = json.Length;
                    return false;
                }

                i += k;
            }

            if (json[i] == '"')
            {
                end = i;
                Position = i + 1;
                return true;
            }

            // A backslash: one of \" \\ \/ \b \f \n \r \t, or \u and four hex digits.
            if (i + 1 >= json.Length)
            {
                end = i;
                return false;
            }

            var e = json[i + 1];
            if (e == 'u')
            {
                if (i + 5 >= json.Length || !IsHex(json[i + 2]) || !IsHex(json[i + 3]) || !IsHex(json[i + 4]) || !IsHex(json[i + 5]))
                {
                    end = i;
                    return false;
                }

                i += 6;
            }
            else if (e is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t')
            {
                i += 2;
            }
            else
            {
                end = i;
                return false;
            }
        }
    }

    private static bool IsHex(byte c) => (uint)(c - '0') <= 9 || (uint)((c | 0x20) - 'a') <= 'f' - 'a';

    /// <summary>JSON number grammar: <c>-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?</c>.</summary>
    private bool ScanNumber()
    {
        var json = _json;
        var i = Position;
        if (i < json.Length && json[i] == '-')
        {
            i++;
        }

        if (i >= json.Length || !IsDigit(json[i]))
        {
            return false;
        }

        if (json[i] == '0')
        {
            i++;
        }
        else
        {
            while (i < json.Length && IsDigit(json[i]))
            {
                i++;
            }
        }

        if (i < json.Length && json[i] == '.')
        {
            i++;
            if (i >= json.Length || !IsDigit(json[i]))
            {
                return false;
            }

            while (i < json.Length && IsDigit(json[i]))
            {
                i++;
            }
        }

        if (i < json.Length && (json[i] | 0x20) == 'e')
        {
            i++;
            if (i < json.Length && (json[i] == '+' || json[i] == '-'))
            {
                i++;
            }

            if (i >= json.Length || !IsDigit(json[i]))
            {
                return false;
            }

            while (i < json.Length && IsDigit(json[i]))
            {
                i++;
            }
        }

        Position = i;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsDigit(byte c) => (uint)(c - '0') <= 9;

    private bool Literal(ReadOnlySpan<byte> literal)
    {
        if (_json[Position..].StartsWith(literal))
        {
            Position += literal.Length;
            return true;
        }

        return Fail("json: bad literal");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Fail(string reason)
    {
        Error ??= reason;
        return false;
    }
}

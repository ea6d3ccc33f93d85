using System.Buffers.Text;
using System.Runtime.CompilerServices;
using LowLatency.Codecs.Binance;

namespace LowLatency.Connectors.Binance;

/// <summary>
/// Reading a frame's stream name and sequence fields without allocating: a literal fast path for Binance's exact
/// shapes, and the codec's <see cref="Utf8JsonScanner"/> for everything else.
/// </summary>
/// <remarks>
/// The fast path matches the wrapper and the payload's leading keys literally, in Binance's order
/// (<c>{"stream":"btcusdt@trade","data":{"e":"trade","E":…,"s":"BTCUSDT","t":…</c>), reads the sequence and stops: it
/// does not validate the rest of the frame, only that it ends in <c>}}</c>. That is safe because the arbiter needs
/// only these fields and the decoder validates every frame it is handed; the price is that a frame corrupted after its
/// ids (impossible over TLS, whose records are authenticated) would win over its twin's good copy and be rejected by
/// the decoder. Any other shape (field order, whitespace, escapes, control replies, malformed input) goes to the
/// general path, which scans and validates the whole frame with the decoder's own scanner and gives the same facts;
/// a test checks that on every recorded frame.
/// </remarks>
internal sealed partial class StreamArbiter
{
    /// <summary>Reads what arbitration needs from <paramref name="frame"/>. Any thread; allocates nothing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Inspect(ReadOnlySpan<byte> frame, out FrameFacts facts)
    {
        if (!TryInspectFast(frame, out facts))
        {
            InspectGeneral(frame, out facts);
        }
    }

    /// <summary>The general path alone (tests compare it with the fast path).</summary>
    internal void InspectGeneral(ReadOnlySpan<byte> frame, out FrameFacts facts)
    {
        facts = default;
        facts.StreamId = -1;
        facts.RequestId = -1;
        Unsafe.SkipInit(out FieldBag root);
        Unsafe.SkipInit(out FieldBag data);
        data.Present = 0;
        var scanner = new Utf8JsonScanner(frame);
        if (!scanner.ReadObject(ref root, ref data, captureData: true, depth: 0) || scanner.Peek() != Utf8JsonScanner.End)
        {
            SetMalformed(ref facts, MalformedReason.InvalidJson);
            return;
        }

        if (root.Has(FieldSlot.Data))
        {
            if (!root.Has(FieldSlot.Stream) || !TryString(frame, in root, FieldSlot.Stream, out var name))
            {
                SetMalformed(ref facts, MalformedReason.MissingStream);
                return;
            }

            facts.StreamId = LookUp(name);
            var dataStart = root.Start[FieldSlot.Data];
            if (frame[dataStart] == (byte)'{')
            {
                ReadPayload(frame, in data, ref facts);
            }
            else if (frame[dataStart] == (byte)'[')
            {
                // !ticker@arr and friends: every element carries the same event time; the first one orders the frame.
                var element = new Utf8JsonScanner(frame, dataStart + 1);
                Unsafe.SkipInit(out FieldBag first);
                if (element.Peek() == '{' && element.ReadObject(ref first, ref first, captureData: false, depth: 2))
                {
                    ReadPayload(frame, in first, ref facts);
                    if (facts.Type == FrameType.Data)
                    {
                        facts.Kind = BinanceStreamKind.Ticker;
                    }
                }
                else
                {
                    SetMalformed(ref facts, MalformedReason.MissingSequence);
                }
            }
            else
            {
                SetMalformed(ref facts, MalformedReason.MissingSequence);
            }

            return;
        }

        if (root.Has(Slot('e')))
        {
            if (TryString(frame, in root, Slot('e'), out var type) && type.SequenceEqual("serverShutdown"u8))
            {
                facts.Type = FrameType.ServerShutdown;
                facts.First = facts.Last = ReadOptionalInt64(frame, in root, Slot('E'));
                return;
            }

            SetMalformed(ref facts, MalformedReason.NotCombined);
            return;
        }

        if (root.Has(FieldSlot.Error) || root.Has(FieldSlot.Code))
        {
            facts.Type = FrameType.ErrorReply;
            facts.RequestId = ReadOptionalInt64(frame, in root, FieldSlot.Id);
            return;
        }

        if (root.Has(FieldSlot.Result))
        {
            facts.Type = FrameType.SubscriptionReply;
            facts.RequestId = ReadOptionalInt64(frame, in root, FieldSlot.Id);
            return;
        }

        SetMalformed(ref facts, MalformedReason.Unrecognised);
    }

    /// <summary>The sequence fields of one payload object (the <c>data</c> of a wrapper, or an array's first element).</summary>
    private static void ReadPayload(ReadOnlySpan<byte> frame, in FieldBag bag, ref FrameFacts facts)
    {
        facts.Type = FrameType.Data;
        if (bag.Has(Slot('e')))
        {
            if (!TryString(frame, in bag, Slot('e'), out var type))
            {
                SetMalformed(ref facts, MalformedReason.MissingSequence);
                return;
            }

            switch (type.Length)
            {
                case 5 when type.SequenceEqual("trade"u8):
                    ReadSequence(frame, in bag, Slot('t'), BinanceStreamKind.Trade, ref facts);
                    return;
                case 8 when type.SequenceEqual("aggTrade"u8):
                    ReadSequence(frame, in bag, Slot('a'), BinanceStreamKind.AggTrade, ref facts);
                    return;
                case 11 when type.SequenceEqual("depthUpdate"u8):
                    ReadSequence(frame, in bag, Slot('U'), BinanceStreamKind.DepthUpdate, ref facts);
                    if (facts.Type == FrameType.Data && (!TryInt64(frame, in bag, Slot('u'), out facts.Last) || facts.Last < facts.First))
                    {
                        SetMalformed(ref facts, MalformedReason.MissingSequence);
                    }

                    return;
                case 5 when type.SequenceEqual("kline"u8):
                    ReadSequence(frame, in bag, Slot('E'), BinanceStreamKind.Kline, ref facts);
                    if (facts.Type == FrameType.Data && !TryKlineOpenTime(frame, in bag, out facts.Minor))
                    {
                        SetMalformed(ref facts, MalformedReason.MissingSequence);
                    }

                    return;
                case 10 when type.SequenceEqual("bookTicker"u8):
                    // Futures' bookTicker names its type (spot's does not): still ordered by u, which several updates
                    // of one event time E do not share.
                    ReadSequence(frame, in bag, Slot('u'), BinanceStreamKind.BookTicker, ref facts);
                    return;
                case 14 when type.SequenceEqual("serverShutdown"u8):
                    facts.Type = FrameType.ServerShutdown;
                    facts.First = facts.Last = ReadOptionalInt64(frame, in bag, Slot('E'));
                    return;
                default:
                    ReadSequence(frame, in bag, Slot('E'), type.EndsWith("Ticker"u8) ? BinanceStreamKind.Ticker : BinanceStreamKind.Other, ref facts);
                    return;
            }
        }

        if (bag.Has(FieldSlot.LastUpdateId))
        {
            ReadSequence(frame, in bag, FieldSlot.LastUpdateId, BinanceStreamKind.PartialDepth, ref facts);
        }
        else if (bag.Has(Slot('u')))
        {
            ReadSequence(frame, in bag, Slot('u'), BinanceStreamKind.BookTicker, ref facts);
        }
        else
        {
            ReadSequence(frame, in bag, Slot('E'), BinanceStreamKind.Other, ref facts);
        }
    }

    private static void ReadSequence(ReadOnlySpan<byte> frame, in FieldBag bag, int slot, BinanceStreamKind kind, ref FrameFacts facts)
    {
        facts.Kind = kind;
        facts.Minor = 0;
        if (TryInt64(frame, in bag, slot, out facts.First))
        {
            facts.Last = facts.First;
        }
        else
        {
            SetMalformed(ref facts, MalformedReason.MissingSequence);
        }
    }

    private static bool TryKlineOpenTime(ReadOnlySpan<byte> frame, in FieldBag bag, out long openTime)
    {
        openTime = 0;
        if (!bag.Has(Slot('k')))
        {
            return false;
        }

        Unsafe.SkipInit(out FieldBag k);
        var scanner = new Utf8JsonScanner(frame, bag.Start[Slot('k')]);
        return scanner.ReadObject(ref k, ref k, captureData: false, depth: 2) && TryInt64(frame, in k, Slot('t'), out openTime);
    }

    private static void SetMalformed(ref FrameFacts facts, MalformedReason reason)
    {
        facts.Type = FrameType.Malformed;
        facts.Reason = reason;
    }

    /// <summary>An integer value (JSON number without fraction or exponent, already validated by the scanner).</summary>
    private static bool TryInt64(ReadOnlySpan<byte> frame, in FieldBag bag, int slot, out long value)
    {
        value = 0;
        if (!bag.Has(slot))
        {
            return false;
        }

        var text = frame[bag.Start[slot]..bag.End[slot]];
        return Utf8Parser.TryParse(text, out value, out var consumed) && consumed == text.Length;
    }

    private static long ReadOptionalInt64(ReadOnlySpan<byte> frame, in FieldBag bag, int slot) =>
        TryInt64(frame, in bag, slot, out var value) ? value : -1;

    private static bool TryString(ReadOnlySpan<byte> frame, in FieldBag bag, int slot, out ReadOnlySpan<byte> content)
    {
        var start = bag.Start[slot];
        if (frame[start] != (byte)'"')
        {
            content = default;
            return false;
        }

        content = frame[(start + 1)..(bag.End[slot] - 1)];
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int LookUp(ReadOnlySpan<byte> name) => _streams.TryGetId(name, out var id) ? id : -1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Slot(char letter) => FieldSlot.Letter(letter);

    // ---- Fast path -------------------------------------------------------------------------------------------------

    /// <summary>Reads a frame of Binance's exact shape, or returns false (and the general path decides).</summary>
    internal bool TryInspectFast(ReadOnlySpan<byte> frame, out FrameFacts facts)
    {
        Unsafe.SkipInit(out facts);
        if (!frame.StartsWith("{\"stream\":\""u8) || !frame.EndsWith("}}"u8))
        {
            return false;
        }

        // The name ends at the first quote, unless a backslash comes first (an escape: the general path's). Control
        // characters are let through: the general path's scanner accepts them in a string too, and looks up the same bytes.
        var i = FastJson.IndexOfPlainStringEnd(frame, 11);
        if (i < 0)
        {
            return false;
        }

        var name = frame[11..i];
        i++;
        if (!frame[i..].StartsWith(",\"data\":"u8))
        {
            return false;
        }

        i += 8;
        var body = frame[i..];
        BinanceStreamKind kind;
        long first, last, minor = 0;
        if (body.StartsWith("{\"e\":\"trade\",\"E\":"u8))
        {
            i += 17;
            if (!SkipDigits(frame, ref i) || !SkipSymbol(frame, ref i) || !Expect(frame, ref i, ",\"t\":"u8) || !TryDigits(frame, ref i, out first))
            {
                return false;
            }

            kind = BinanceStreamKind.Trade;
            last = first;
        }
        else if (body.StartsWith("{\"u\":"u8))
        {
            // Spot bookTicker: {"u":…,"s":"…","b":"…" (a depthUpdate's "b" is an array, and it names its type first).
            i += 5;
            if (!TryDigits(frame, ref i, out first) || !SkipSymbol(frame, ref i) || !Expect(frame, ref i, ",\"b\":\""u8))
            {
                return false;
            }

            kind = BinanceStreamKind.BookTicker;
            last = first;
        }
        else if (body.StartsWith("{\"e\":\"depthUpdate\",\"E\":"u8))
        {
            i += 23;
            if (!SkipDigits(frame, ref i) || !SkipSymbol(frame, ref i) || !Expect(frame, ref i, ",\"U\":"u8) || !TryDigits(frame, ref i, out first) ||
                !Expect(frame, ref i, ",\"u\":"u8) || !TryDigits(frame, ref i, out last) || last < first)
            {
                return false;
            }

            kind = BinanceStreamKind.DepthUpdate;
        }
        else if (body.StartsWith("{\"e\":\"aggTrade\",\"E\":"u8))
        {
            i += 20;
            if (!SkipDigits(frame, ref i) || !SkipSymbol(frame, ref i) || !Expect(frame, ref i, ",\"a\":"u8) || !TryDigits(frame, ref i, out first))
            {
                return false;
            }

            kind = BinanceStreamKind.AggTrade;
            last = first;
        }
        else if (body.StartsWith("{\"e\":\"kline\",\"E\":"u8))
        {
            i += 17;
            if (!TryDigits(frame, ref i, out first) || !SkipSymbol(frame, ref i) || !Expect(frame, ref i, ",\"k\":{\"t\":"u8) || !TryDigits(frame, ref i, out minor))
            {
                return false;
            }

            kind = BinanceStreamKind.Kline;
            last = first;
        }
        else if (body.StartsWith("{\"lastUpdateId\":"u8))
        {
            i += 16;
            if (!TryDigits(frame, ref i, out first) || !Expect(frame, ref i, ",\"bids\":["u8))
            {
                return false;
            }

            kind = BinanceStreamKind.PartialDepth;
            last = first;
        }
        else if (body.StartsWith("{\"e\":\""u8))
        {
            // Other events with E right after e (tickers, avgPrice). The kinds above never get here in another shape:
            // they go to the general path, which knows where their ids are.
            i += 6;
            var typeStart = i;
            if (!SkipPlainString(frame, ref i))
            {
                return false;
            }

            var type = frame[typeStart..(i - 1)];
            if (type.SequenceEqual("trade"u8) || type.SequenceEqual("aggTrade"u8) || type.SequenceEqual("depthUpdate"u8) ||
                type.SequenceEqual("kline"u8) || type.SequenceEqual("serverShutdown"u8) || type.SequenceEqual("bookTicker"u8) ||
                !Expect(frame, ref i, ",\"E\":"u8) || !TryDigits(frame, ref i, out first) || frame[i] != (byte)',')
            {
                return false;
            }

            kind = type.EndsWith("Ticker"u8) ? BinanceStreamKind.Ticker : BinanceStreamKind.Other;
            last = first;
        }
        else
        {
            return false;
        }

        facts.Type = FrameType.Data;
        facts.Reason = default;
        facts.Kind = kind;
        facts.StreamId = LookUp(name);
        facts.First = first;
        facts.Last = last;
        facts.Minor = minor;
        facts.RequestId = -1;
        return true;
    }

    /// <summary>At a string's first content byte: skips to after its closing quote; false at an escape or the end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SkipPlainString(ReadOnlySpan<byte> frame, ref int i)
    {
        var j = i;
        while ((uint)j < (uint)frame.Length)
        {
            var c = frame[j];
            if (c == (byte)'"')
            {
                i = j + 1;
                return true;
            }

            if (c == (byte)'\\' || c < 0x20)
            {
                return false;
            }

            j++;
        }

        return false;
    }

    /// <summary>Skips <c>,"s":"SYMBOL"</c> (no backslash in the symbol, as in the stream name).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SkipSymbol(ReadOnlySpan<byte> frame, ref int i)
    {
        if (!Expect(frame, ref i, ",\"s\":\""u8))
        {
            return false;
        }

        var end = FastJson.IndexOfPlainStringEnd(frame, i);
        if (end < 0)
        {
            return false;
        }

        i = end + 1;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Expect(ReadOnlySpan<byte> frame, ref int i, ReadOnlySpan<byte> literal)
    {
        if ((uint)i > (uint)frame.Length || !frame[i..].StartsWith(literal))
        {
            return false;
        }

        i += literal.Length;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SkipDigits(ReadOnlySpan<byte> frame, ref int i) => TryDigits(frame, ref i, out _);

    /// <summary>1 to 18 digits, no sign, no leading zero (a lone 0 is fine), followed by something that is not a digit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryDigits(ReadOnlySpan<byte> frame, ref int i, out long value)
    {
        var count = FastJson.ScanDigits(frame, i, out value);
        if (count <= 0 || (count > 1 && frame[i] == (byte)'0'))
        {
            return false;
        }

        i += count;
        return true;
    }
}

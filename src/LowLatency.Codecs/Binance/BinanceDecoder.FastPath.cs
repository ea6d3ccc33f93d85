using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using LowLatency.Market;

namespace LowLatency.Codecs.Binance;

/// <summary>
/// The fast path for the three hottest streams in exactly the shape Binance sends them: trade, spot bookTicker and spot
/// depthUpdate, raw or in the combined-stream wrapper, keys in Binance's order, no whitespace, decimals with 8 places.
/// </summary>
/// <remarks>
/// The frame is matched against the literal key prefixes and its values are parsed in place, in one forward pass. It
/// is an optimisation only, never a second grammar: it accepts a strict subset of what the general path
/// (<see cref="Utf8JsonScanner"/> + <see cref="FieldBag"/>) accepts, and on any deviation (another field order, an
/// extra or missing field, whitespace, an escape, a negative or leading-zero number, a decimal not of the form
/// <c>[0-9]{1,10}\.[0-9]{8}</c>, a time that would overflow, anything after the closing brace, more depth levels than
/// the event holds) it returns false having written nothing (neither the event nor the symbol table; only a depth
/// frame's levels may have been written, which is harmless as explained at the depth path), and the general path decodes the frame as if the
/// fast path did not exist. The event it writes is field for field the one the general path writes; a test checks
/// that over every frame of the recordings.
/// </remarks>
public sealed partial class BinanceDecoder
{
    /// <summary>
    /// Whether <see cref="Decode(ReadOnlySpan{byte}, ref MarketEvent)"/> tries the fast path first (default true).
    /// Tests switch it off to compare the fast path with the general path, which stays the reference.
    /// </summary>
    internal bool UseFastPath { get; init; } = true;

    private const int SymbolHintCount = 256; // a power of two; Binance lists ~3,000 symbols, a connection carries a few

    /// <summary>
    /// A direct-mapped cache in front of <see cref="SymbolTable.GetOrAdd(ReadOnlySpan{byte})"/>: by a cheap hash of the
    /// symbol's bytes, the id + 1 (0 = empty) of the symbol last seen there. The table's hash and probe cost more than
    /// the rest of a trade's decoding.
    /// </summary>
    /// <remarks>
    /// A hint, never trusted: every hit is checked against the table's own bytes for the id, so a stale or racing entry
    /// only costs a lookup. Entries are single ints written with <c>Volatile.Write</c> (release)
    /// after the id came from the table and read with <c>Volatile.Read</c> (acquire), so a thread that
    /// reads an id written by another sees that id's bytes in the table (which never change once published); threads
    /// sharing the decoder at worst overwrite each other's hints. Allocated once, with the decoder.
    /// </remarks>
    private readonly int[] _symbolHints = new int[SymbolHintCount];

    private const int MaxFastDecimalIntegerDigits = 10; // 9_999_999_999.99999999 < 92_233_720_368: no overflow

    /// <summary>Decodes a trade or spot bookTicker frame of Binance's exact shape, or returns false having written nothing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryDecodeFast(ReadOnlySpan<byte> json, ref MarketEvent evt)
    {
        var i = 0;
        var closing = 1;
        if (json.StartsWith("{\"stream\":\""u8))
        {
            // The stream name is not needed (the payload's own fields decide the type), only skipped: 1 to 64 bytes,
            // any but an escape, as the general path's string scan accepts.
            i = 11;
            if (!SkipPlainString(json, ref i) || !json[i..].StartsWith(",\"data\":"u8))
            {
                return false;
            }

            i += 8;
            closing = 2;
        }

        var body = json[i..];
        if (body.StartsWith("{\"e\":\"trade\",\"E\":"u8))
        {
            return TryDecodeFastTrade(json, i + 17, closing, ref evt);
        }

        if (body.StartsWith("{\"u\":"u8))
        {
            return TryDecodeFastBookTicker(json, i + 5, closing, ref evt);
        }

        if (body.StartsWith("{\"e\":\"depthUpdate\",\"E\":"u8))
        {
            return TryDecodeFastDepthUpdate(json, i + 23, closing, ref evt);
        }

        return false;
    }

    // {"e":"trade","E":1723161255214,"s":"BTCUSDT","t":3735869211,"p":"61837.64000000","q":"0.00100000","T":1723161255213,"m":false,"M":true}
    private bool TryDecodeFastTrade(ReadOnlySpan<byte> json, int i, int closing, ref MarketEvent evt)
    {
        if (!TryFastTime(json, ref i, out var eventTimeNs) ||
            !json[i..].StartsWith(",\"s\":\""u8))
        {
            return false;
        }

        i += 6;
        var symbolStart = i;
        if (!SkipPlainString(json, ref i))
        {
            return false;
        }

        var symbolEnd = i - 1;
        if (!json[i..].StartsWith(",\"t\":"u8))
        {
            return false;
        }

        i += 5;
        if (!TryFastInteger(json, ref i, out var tradeId) ||
            !json[i..].StartsWith(",\"p\":\""u8))
        {
            return false;
        }

        i += 6;
        if (!TryFastDecimal(json, ref i, out var price) ||
            !json[i..].StartsWith(",\"q\":\""u8))
        {
            return false;
        }

        i += 6;
        if (!TryFastDecimal(json, ref i, out var quantity) ||
            !json[i..].StartsWith(",\"T\":"u8))
        {
            return false;
        }

        i += 5;
        if (!TryFastTime(json, ref i, out var tradeTimeNs) ||
            !json[i..].StartsWith(",\"m\":"u8))
        {
            return false;
        }

        i += 5;
        if (!TryFastBool(json, ref i, out var isBuyerMaker) ||
            !json[i..].StartsWith(",\"M\":"u8))
        {
            return false;
        }

        i += 5;
        if (!TryFastBool(json, ref i, out _) || !IsFastEnd(json, i, closing))
        {
            return false;
        }

        // Validated to the last byte: only now touch the symbol table and the event.
        var symbolId = GetSymbolId(json[symbolStart..symbolEnd]);
        if (symbolId < 0)
        {
            return false;
        }

        ref var trade = ref evt.Payload.Trade;
        evt.EventTimeNs = eventTimeNs;
        evt.SymbolId = symbolId;
        trade.TradeId = tradeId;
        trade.FirstTradeId = tradeId;
        trade.LastTradeId = tradeId;
        trade.Price = new Price(price);
        trade.Quantity = new Quantity(quantity);
        trade.TradeTimeNs = tradeTimeNs;
        trade.BuyerOrderId = -1;
        trade.SellerOrderId = -1;
        trade.IsBuyerMaker = isBuyerMaker;
        evt.Kind = MarketEventKind.Trade;
        return true;
    }

    // {"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}
    private bool TryDecodeFastBookTicker(ReadOnlySpan<byte> json, int i, int closing, ref MarketEvent evt)
    {
        if (!TryFastInteger(json, ref i, out var updateId) ||
            !json[i..].StartsWith(",\"s\":\""u8))
        {
            return false;
        }

        i += 6;
        var symbolStart = i;
        if (!SkipPlainString(json, ref i))
        {
            return false;
        }

        var symbolEnd = i - 1;
        if (!json[i..].StartsWith(",\"b\":\""u8))
        {
            return false;
        }

        i += 6;
        if (!TryFastDecimal(json, ref i, out var bid) ||
            !json[i..].StartsWith(",\"B\":\""u8))
        {
            return false;
        }

        i += 6;
        if (!TryFastDecimal(json, ref i, out var bidQuantity) ||
            !json[i..].StartsWith(",\"a\":\""u8))
        {
            return false;
        }

        i += 6;
        if (!TryFastDecimal(json, ref i, out var ask) ||
            !json[i..].StartsWith(",\"A\":\""u8))
        {
            return false;
        }

        i += 6;
        if (!TryFastDecimal(json, ref i, out var askQuantity) || !IsFastEnd(json, i, closing))
        {
            return false;
        }

        var symbolId = GetSymbolId(json[symbolStart..symbolEnd]);
        if (symbolId < 0)
        {
            return false;
        }

        ref var book = ref evt.Payload.BookTicker;
        evt.EventTimeNs = 0; // spot bookTicker carries no event time
        evt.SymbolId = symbolId;
        book.UpdateId = updateId;
        book.BidPrice = new Price(bid);
        book.BidQuantity = new Quantity(bidQuantity);
        book.AskPrice = new Price(ask);
        book.AskQuantity = new Quantity(askQuantity);
        evt.Kind = MarketEventKind.BookTicker;
        return true;
    }

    // {"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":50093239189,"u":50093239202,"b":[["61737.63000000","0.00000000"]],"a":[]}
    // Levels go straight into evt.Levels as they are parsed: on a false return they may have been written, which is
    // harmless because levels beyond BidCount + AskCount of a decoded event are undefined (the general path, too, may
    // leave a partial set behind when a later level fails). Everything else is written only once the whole frame has
    // been validated. A message with more levels than the event holds is left to the general path, which chunks it.
    // The header's numbers and symbol are read a byte at a time (the ...ByByte helpers), not with the word- and
    // vector-at-a-time scans of the trade and bookTicker paths: with those, depth frames measured slower in alternating
    // runs (median ~500 against ~350-380 ns per frame of DepthUpdate_BinanceDecoder), for a reason not found (the whole
    // path is inlined either way, 5 KB of code); with the byte loops here they are no slower than before.
    private bool TryDecodeFastDepthUpdate(ReadOnlySpan<byte> json, int i, int closing, ref MarketEvent evt)
    {
        if (!TryFastTime(json, ref i, out var eventTimeNs, byByte: true) ||
            !json[i..].StartsWith(",\"s\":\""u8))
        {
            return false;
        }

        i += 6;
        var symbolStart = i;
        if (!SkipPlainStringByByte(json, ref i))
        {
            return false;
        }

        var symbolEnd = i - 1;
        if (!json[i..].StartsWith(",\"U\":"u8))
        {
            return false;
        }

        i += 5;
        if (!TryFastIntegerByByte(json, ref i, out var firstUpdateId) ||
            !json[i..].StartsWith(",\"u\":"u8))
        {
            return false;
        }

        i += 5;
        if (!TryFastIntegerByByte(json, ref i, out var finalUpdateId) ||
            !json[i..].StartsWith(",\"b\":["u8))
        {
            return false;
        }

        i += 6;
        var levels = evt.Levels;
        var count = 0;
        if (levels is null || !TryFastLevels(json, ref i, levels, ref count) ||
            !json[i..].StartsWith(",\"a\":["u8))
        {
            return false;
        }

        var bids = count;
        i += 6;
        if (!TryFastLevels(json, ref i, levels, ref count) || !IsFastEnd(json, i, closing))
        {
            return false;
        }

        var symbolId = GetSymbolId(json[symbolStart..symbolEnd]);
        if (symbolId < 0)
        {
            return false;
        }

        ref var depth = ref evt.Payload.Depth;
        evt.EventTimeNs = eventTimeNs;
        evt.SymbolId = symbolId;
        depth.FirstUpdateId = firstUpdateId;
        depth.FinalUpdateId = finalUpdateId;
        depth.PreviousFinalUpdateId = -1;
        depth.LastUpdateId = 0;
        depth.BidCount = bids;
        depth.AskCount = count - bids;
        depth.ChunkIndex = 0;
        depth.IsLastChunk = true;
        evt.Kind = MarketEventKind.DepthUpdate;
        return true;
    }

    /// <summary>
    /// After an array's opening bracket: <c>["price","quantity"]</c> levels separated by commas, then the closing
    /// bracket (consumed), appended to <paramref name="levels"/> from <paramref name="count"/>; false if one is not of
    /// the fast shape or the levels do not fit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryFastLevels(ReadOnlySpan<byte> json, ref int i, PriceLevel[] levels, ref int count)
    {
        if ((uint)i < (uint)json.Length && json[i] == (byte)']')
        {
            i++;
            return true;
        }

        while (true)
        {
            if ((uint)count >= (uint)levels.Length || !json[i..].StartsWith("[\""u8))
            {
                return false;
            }

            i += 2;
            if (!TryFastDecimal(json, ref i, out var price) || !json[i..].StartsWith(",\""u8))
            {
                return false;
            }

            i += 2;
            if (!TryFastDecimal(json, ref i, out var quantity) || (uint)(i + 1) >= (uint)json.Length || json[i] != (byte)']')
            {
                return false;
            }

            levels[count++] = new PriceLevel(new Price(price), new Quantity(quantity));
            var next = json[i + 1];
            i += 2;
            if (next == (byte)']')
            {
                return true;
            }

            if (next != (byte)',')
            {
                return false;
            }
        }
    }

    /// <summary>The symbol's id through <see cref="_symbolHints"/>; the table's answer (negative when it refuses) on a miss.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int GetSymbolId(ReadOnlySpan<byte> name)
    {
        // name is 1 to 64 bytes (SkipPlainString). Hash: length and the first and last four bytes.
        uint key = name.Length >= 4
            ? BinaryPrimitives.ReadUInt32LittleEndian(name) ^ BitOperations.RotateLeft(BinaryPrimitives.ReadUInt32LittleEndian(name[^4..]), 13)
            : name[0] | ((uint)name[^1] << 8);
        var slot = (int)(((key ^ (uint)name.Length) * 0x9E3779B1u) >> 24) & (SymbolHintCount - 1);
        ref var hint = ref _symbolHints[slot];
        var id = Volatile.Read(ref hint) - 1;
        if (id >= 0 && _symbols.GetUtf8(id).SequenceEqual(name))
        {
            return id;
        }

        id = _symbols.GetOrAdd(name);
        if (id >= 0)
        {
            Volatile.Write(ref hint, id + 1);
        }

        return id;
    }

    /// <summary>The closing brace (two with the wrapper) and the end of the message: no trailing bytes, not even whitespace.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsFastEnd(ReadOnlySpan<byte> json, int i, int closing) =>
        json.Length - i == closing && json[i] == (byte)'}' && json[^1] == (byte)'}';

    /// <summary>
    /// After an opening quote: moves past the closing quote of a string of 1 to <see cref="SymbolTable.MaxSymbolBytes"/>
    /// bytes without backslashes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SkipPlainString(ReadOnlySpan<byte> json, ref int i)
    {
        var end = FastJson.IndexOfPlainStringEnd(json, i);
        if (end <= i || end - i > SymbolTable.MaxSymbolBytes)
        {
            return false;
        }

        i = end + 1;
        return true;
    }

    /// <summary><c>[1-9][0-9]{0,17}</c>: a positive JSON integer that cannot overflow; zero, signs and longer numbers are left to the general path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryFastInteger(ReadOnlySpan<byte> json, ref int i, out long value)
    {
        // A word at a time (FastJson.ScanDigits): ids and times are 10 to 13 digits, whose byte loop is a 13-step
        // multiply-add chain; the decimals' integer parts, one to five digits, stay digit by digit (TryFastDecimal).
        var count = FastJson.ScanDigits(json, i, out value);
        if (count <= 0 || json[i] == (byte)'0')
        {
            return false; // also more than 18 digits, or the message ended inside the number
        }

        i += count;
        return true;
    }

    /// <summary><see cref="SkipPlainString"/> a byte at a time (the depth path's, see TryDecodeFastDepthUpdate).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SkipPlainStringByByte(ReadOnlySpan<byte> json, ref int i)
    {
        var start = i;
        var limit = Math.Min(json.Length, start + SymbolTable.MaxSymbolBytes + 1);
        for (var p = start; p < limit; p++)
        {
            var c = json[p];
            if (c == (byte)'"')
            {
                i = p + 1;
                return p > start;
            }

            if (c == (byte)'\\')
            {
                return false;
            }
        }

        return false;
    }

    /// <summary><see cref="TryFastInteger"/> a byte at a time (the depth path's, see TryDecodeFastDepthUpdate).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryFastIntegerByByte(ReadOnlySpan<byte> json, ref int i, out long value)
    {
        value = 0;
        var p = i;
        if ((uint)p >= (uint)json.Length || (uint)(json[p] - '1') > 8)
        {
            return false;
        }

        ulong v = 0;
        var limit = Math.Min(json.Length, p + FastJson.MaxDigits + 1);
        for (; p < limit; p++)
        {
            var d = (uint)(json[p] - '0');
            if (d > 9)
            {
                value = (long)v;
                i = p;
                return true;
            }

            v = (v * 10) + d;
        }

        return false; // more than 18 digits, or the message ended inside the number
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryFastTime(ReadOnlySpan<byte> json, ref int i, out long ns, bool byByte = false)
    {
        ns = 0;
        if (!(byByte ? TryFastIntegerByByte(json, ref i, out var value) : TryFastInteger(json, ref i, out value)) || value > _maxTime)
        {
            return false;
        }

        ns = value * _nsPerTimeUnit;
        return true;
    }

    /// <summary>
    /// <c>[0-9]{1,10}\.[0-9]{8}"</c> (Binance's decimals, the closing quote consumed) into an 8-decimal mantissa, the
    /// value <see cref="FixedPoint.TryParse"/> gives for the same text; anything else is left to the general path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryFastDecimal(ReadOnlySpan<byte> json, ref int i, out long mantissa)
    {
        mantissa = 0;
        var p = i;
        ulong integer = 0;

        // Digit by digit, unlike the ids and times (FastJson.ScanDigits): one to five digits, whose loop exit the
        // branch predictor learns within a frame's levels, so the point's position is known before the digits are
        // parsed; the word-at-a-time scan makes it wait for them and measured no faster on depth frames.
        var limit = Math.Min(json.Length, p + MaxFastDecimalIntegerDigits);
        for (; p < limit; p++)
        {
            var d = (uint)(json[p] - '0');
            if (d > 9)
            {
                break;
            }

            integer = (integer * 10) + d;
        }

        // p + 10 <= Length: the point, 8 decimals and the closing quote.
        if (p == i || json.Length - p < 10 || json[p] != (byte)'.' || json[p + 9] != (byte)'"')
        {
            return false;
        }

        var chunk = BinaryPrimitives.ReadUInt64LittleEndian(json.Slice(p + 1, 8));
        if (!IsEightDigits(chunk))
        {
            return false;
        }

        mantissa = (long)((integer * (ulong)FixedPoint.Scale) + ParseEightDigits(chunk));
        i = p + 10;
        return true;
    }

    /// <summary>All eight bytes are ASCII digits (SWAR, as simdjson and fast_float do).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsEightDigits(ulong chunk) =>
        ((chunk & 0xF0F0F0F0F0F0F0F0) | (((chunk + 0x0606060606060606) & 0xF0F0F0F0F0F0F0F0) >> 4)) == 0x3333333333333333;

    /// <summary>Eight ASCII digits, the first in the lowest byte, to their value (SWAR: three multiplies instead of eight).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ParseEightDigits(ulong chunk)
    {
        chunk -= 0x3030303030303030;
        chunk = (chunk * 10) + (chunk >> 8);
        chunk = ((chunk & 0x000000FF000000FF) * (100 + (1000000UL << 32))) + (((chunk >> 16) & 0x000000FF000000FF) * (1 + (10000UL << 32)));
        return chunk >> 32;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryFastBool(ReadOnlySpan<byte> json, ref int i, out bool value)
    {
        var rest = json[i..];
        if (rest.StartsWith("true"u8))
        {
            value = true;
            i += 4;
            return true;
        }

        value = false;
        if (rest.StartsWith("false"u8))
        {
            i += 5;
            return true;
        }

        return false;
    }
}

using System.Runtime.CompilerServices;
using LowLatency.Market;

namespace LowLatency.Codecs.Binance;

/// <summary>
/// Decodes Binance Spot WebSocket frames and REST depth snapshots straight into a <see cref="MarketEvent"/> slot:
/// combined-stream wrappers (<c>{"stream":…,"data":…}</c>) and raw payloads of trade, aggTrade, kline, 24hrTicker
/// (and rolling-window tickers), 24hrMiniTicker, bookTicker, depthUpdate, partial depth and REST snapshots, plus control
/// frames (subscription results, both error shapes, serverShutdown).
/// </summary>
/// <remarks>
/// Trade and spot bookTicker frames in Binance's exact shape take a fast path first (BinanceDecoder.FastPath.cs) that
/// matches the literal keys and parses in place; any other frame, or any deviation, goes to the general path:
/// one pass over the message records where each known key's value lies (<see cref="FieldBag"/>), validating and
/// skipping everything else, so field order, whitespace and unknown fields (of any shape) do not matter; then only the
/// needed values are parsed: integers directly, prices and quantities with <see cref="FixedPoint.TryParse"/>.
/// Nothing is allocated per message and nothing throws: every failure is a <see cref="DecodeResult"/> with a static
/// reason, and the event's <see cref="MarketEvent.Kind"/> becomes <see cref="MarketEventKind.Invalid"/>.
/// <para>
/// The decoder never touches <see cref="MarketEvent.ReceiveTimeNs"/> or <see cref="MarketEvent.SourcePosition"/>:
/// the source sets them on every slot, chunks included. Instances may be shared by threads: their only mutable state
/// is the fast path's symbol-id hints, each checked against the symbol table before use (see
/// <c>BinanceDecoder.FastPath.cs</c>); the symbol table they intern into is thread-safe.
/// </para>
/// </remarks>
public sealed partial class BinanceDecoder
{
    /// <summary>The deepest JSON nesting accepted.</summary>
    public const int MaxDepth = Utf8JsonScanner.MaxDepth;

    private const int SymbolStreamBuffer = SymbolTable.MaxSymbolBytes;

    private readonly SymbolTable _symbols;
    private readonly long _nsPerTimeUnit;
    private readonly long _maxTime; // the largest timestamp whose ns value fits in a long (no division per field)

    /// <summary>Creates a decoder interning symbols into <paramref name="symbols"/>.</summary>
    /// <param name="symbols">Where symbols become dense ids.</param>
    /// <param name="timeUnit">The unit of the connection's timestamps (default milliseconds, Binance's default).</param>
    public BinanceDecoder(SymbolTable symbols, TimeUnit timeUnit = TimeUnit.Millisecond)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        _symbols = symbols;
        TimeUnit = timeUnit;
        _nsPerTimeUnit = timeUnit == TimeUnit.Microsecond ? 1_000 : 1_000_000;
        _maxTime = long.MaxValue / _nsPerTimeUnit;
    }

    /// <summary>The unit of incoming timestamps.</summary>
    public TimeUnit TimeUnit { get; }

    /// <summary>
    /// Decodes one message. A depth message with more levels than <paramref name="evt"/> holds returns
    /// <see cref="DecodeStatus.MoreChunks"/> and its remaining levels are dropped: sources that may see such messages
    /// use the overload with a <see cref="DepthCursor"/>.
    /// </summary>
    public DecodeResult Decode(ReadOnlySpan<byte> json, ref MarketEvent evt)
    {
        var cursor = default(DepthCursor);
        return Decode(json, ref evt, ref cursor);
    }

    /// <summary>
    /// Decodes one message, or the next chunk of a depth message when <paramref name="cursor"/> is active. On
    /// <see cref="DecodeStatus.MoreChunks"/> the caller publishes <paramref name="evt"/>, claims the next event and
    /// calls again with the same <paramref name="json"/> and <paramref name="cursor"/> until <see cref="DecodeStatus.Ok"/>.
    /// </summary>
    /// <remarks>
    /// The whole message's syntax is validated before the first chunk; a level that is not two decimal strings is found
    /// only when its chunk is decoded, so a failure may follow chunks already returned (their
    /// <see cref="DepthData.IsLastChunk"/> is false, so a book never applies them).
    /// </remarks>
    public DecodeResult Decode(ReadOnlySpan<byte> json, ref MarketEvent evt, ref DepthCursor cursor)
    {
        if (!cursor.IsActive && UseFastPath && TryDecodeFast(json, ref evt))
        {
            return DecodeResult.Success; // before DecodeMessage: the fast path never pays for its field bags' frame
        }

        var result = cursor.IsActive ? ContinueDepth(json, ref evt, ref cursor) : DecodeMessage(json, ref evt, ref cursor);
        if (result.Status > DecodeStatus.MoreChunks)
        {
            evt.Kind = MarketEventKind.Invalid;
            cursor = default;
        }

        return result;
    }

    private DecodeResult DecodeMessage(ReadOnlySpan<byte> json, ref MarketEvent evt, ref DepthCursor cursor)
    {
        Unsafe.SkipInit(out FieldBag root);
        Unsafe.SkipInit(out FieldBag data);
        data.Present = 0;
        var scanner = new Utf8JsonScanner(json);
        if (!scanner.ReadObject(ref root, ref data, captureData: true, depth: 0))
        {
            return new DecodeResult(DecodeStatus.Malformed, scanner.Error ?? "json: malformed");
        }

        if (scanner.Peek() != Utf8JsonScanner.End)
        {
            return new DecodeResult(DecodeStatus.Malformed, "json: characters after the message");
        }

        ReadOnlySpan<byte> stream = default;
        scoped ref FieldBag bag = ref root;
        if (root.Has(FieldSlot.Data))
        {
            if (json[root.Start[FieldSlot.Data]] != (byte)'{')
            {
                return new DecodeResult(DecodeStatus.WrongType, "stream: field 'data' is not an object");
            }

            if (root.Has(FieldSlot.Stream) && !TryString(json, in root, FieldSlot.Stream, out stream))
            {
                return new DecodeResult(DecodeStatus.WrongType, "stream: field 'stream' is not a string");
            }

            bag = ref data;
        }

        if (bag.Has(Slot('e')))
        {
            if (!TryString(json, in bag, Slot('e'), out var type))
            {
                return new DecodeResult(DecodeStatus.WrongType, "message: field 'e' is not a string");
            }

            return type.Length switch
            {
                5 when type.SequenceEqual("trade"u8) => DecodeTrade(json, in bag, ref evt, aggregate: false),
                8 when type.SequenceEqual("aggTrade"u8) => DecodeTrade(json, in bag, ref evt, aggregate: true),
                11 when type.SequenceEqual("depthUpdate"u8) =>
                    DecodeDepth(json, in bag, ref evt, ref cursor, MarketEventKind.DepthUpdate, stream),
                10 when type.SequenceEqual("bookTicker"u8) => DecodeBookTicker(json, in bag, ref evt),
                5 when type.SequenceEqual("kline"u8) => DecodeKline(json, in bag, ref evt),
                10 when type.SequenceEqual("24hrTicker"u8) => DecodeTicker(json, in bag, ref evt, mini: false),
                14 when type.SequenceEqual("24hrMiniTicker"u8) => DecodeTicker(json, in bag, ref evt, mini: true),
                14 when type.SequenceEqual("serverShutdown"u8) => DecodeShutdown(json, in bag, ref evt),
                (8 or 9) when type.EndsWith("Ticker"u8) => DecodeTicker(json, in bag, ref evt, mini: false), // 1hTicker, 4hTicker, 1dTicker
                _ => new DecodeResult(DecodeStatus.Unsupported, "message: unknown event type 'e'"),
            };
        }

        if (bag.Has(FieldSlot.LastUpdateId))
        {
            return DecodeDepth(json, in bag, ref evt, ref cursor, MarketEventKind.DepthSnapshot, stream);
        }

        if (root.Has(FieldSlot.Code) || root.Has(FieldSlot.Error))
        {
            return DecodeError(json, in root, ref evt);
        }

        if (root.Has(FieldSlot.Status))
        {
            // {"id":…,"status":200,"result":{…}}: a WebSocket API response (request/response), not a stream frame.
            return new DecodeResult(DecodeStatus.Unsupported, "message: WebSocket API responses are not decoded");
        }

        if (root.Has(FieldSlot.Result))
        {
            return DecodeSubscriptionResult(json, in root, ref evt);
        }

        if ((bag.Has(Slot('u')) && bag.Has(Slot('b')) && bag.Has(Slot('a'))) || stream.EndsWith("@bookTicker"u8))
        {
            return DecodeBookTicker(json, in bag, ref evt);
        }

        return new DecodeResult(DecodeStatus.Unsupported, "message: not a known Binance message");
    }

    private DecodeResult DecodeTrade(ReadOnlySpan<byte> json, in FieldBag bag, ref MarketEvent evt, bool aggregate)
    {
        var kind = aggregate ? MarketEventKind.AggTrade : MarketEventKind.Trade;
        ref var trade = ref evt.Payload.Trade;
        DecodeResult r;
        if (Fails(ReadTime(json, in bag, Slot('E'), out evt.EventTimeNs), kind, Slot('E'), out r) ||
            Fails(ReadSymbol(json, in bag, out evt.SymbolId), kind, Slot('s'), out r) ||
            Fails(ReadDecimal(json, in bag, Slot('p'), out var price), kind, Slot('p'), out r) ||
            Fails(ReadDecimal(json, in bag, Slot('q'), out var quantity), kind, Slot('q'), out r) ||
            Fails(ReadTime(json, in bag, Slot('T'), out trade.TradeTimeNs), kind, Slot('T'), out r) ||
            Fails(ReadBool(json, in bag, Slot('m'), out trade.IsBuyerMaker), kind, Slot('m'), out r))
        {
            return r;
        }

        if (aggregate)
        {
            if (Fails(ReadInt64(json, in bag, Slot('a'), out trade.TradeId), kind, Slot('a'), out r) ||
                Fails(ReadInt64(json, in bag, Slot('f'), out trade.FirstTradeId), kind, Slot('f'), out r) ||
                Fails(ReadInt64(json, in bag, Slot('l'), out trade.LastTradeId), kind, Slot('l'), out r))
            {
                return r;
            }

            trade.BuyerOrderId = -1;
            trade.SellerOrderId = -1;
        }
        else
        {
            if (Fails(ReadInt64(json, in bag, Slot('t'), out trade.TradeId), kind, Slot('t'), out r) ||
                Fails(ReadOptionalInt64(json, in bag, Slot('b'), -1, out trade.BuyerOrderId), kind, Slot('b'), out r) ||
                Fails(ReadOptionalInt64(json, in bag, Slot('a'), -1, out trade.SellerOrderId), kind, Slot('a'), out r))
            {
                return r;
            }

            trade.FirstTradeId = trade.TradeId;
            trade.LastTradeId = trade.TradeId;
        }

        trade.Price = new Price(price);
        trade.Quantity = new Quantity(quantity);
        evt.Kind = kind;
        return DecodeResult.Success;
    }

    private DecodeResult DecodeBookTicker(ReadOnlySpan<byte> json, in FieldBag bag, ref MarketEvent evt)
    {
        const MarketEventKind kind = MarketEventKind.BookTicker;
        ref var book = ref evt.Payload.BookTicker;
        DecodeResult r;
        if (Fails(ReadInt64(json, in bag, Slot('u'), out book.UpdateId), kind, Slot('u'), out r) ||
            Fails(ReadSymbol(json, in bag, out evt.SymbolId), kind, Slot('s'), out r) ||
            Fails(ReadDecimal(json, in bag, Slot('b'), out var bid), kind, Slot('b'), out r) ||
            Fails(ReadDecimal(json, in bag, Slot('B'), out var bidQuantity), kind, Slot('B'), out r) ||
            Fails(ReadDecimal(json, in bag, Slot('a'), out var ask), kind, Slot('a'), out r) ||
            Fails(ReadDecimal(json, in bag, Slot('A'), out var askQuantity), kind, Slot('A'), out r))
        {
            return r;
        }

        // Spot bookTicker carries no event time; futures' has E.
        if (bag.Has(Slot('E')))
        {
            if (Fails(ReadTime(json, in bag, Slot('E'), out evt.EventTimeNs), kind, Slot('E'), out r))
            {
                return r;
            }
        }
        else
        {
            evt.EventTimeNs = 0;
        }

        book.BidPrice = new Price(bid);
        book.BidQuantity = new Quantity(bidQuantity);
        book.AskPrice = new Price(ask);
        book.AskQuantity = new Quantity(askQuantity);
        evt.Kind = kind;
        return DecodeResult.Success;
    }

    private DecodeResult DecodeKline(ReadOnlySpan<byte> json, in FieldBag bag, ref MarketEvent evt)
    {
        const MarketEventKind kind = MarketEventKind.Kline;
        DecodeResult r;
        if (Fails(ReadTime(json, in bag, Slot('E'), out evt.EventTimeNs), kind, Slot('E'), out r) ||
            Fails(ReadSymbol(json, in bag, out evt.SymbolId), kind, Slot('s'), out r))
        {
            return r;
        }

        if (!bag.Has(Slot('k')))
        {
            return Reasons.Field(DecodeStatus.MissingField, kind, Slot('k'));
        }

        Unsafe.SkipInit(out FieldBag k);
        var scanner = new Utf8JsonScanner(json, bag.Start[Slot('k')]);
        if (!scanner.ReadObject(ref k, ref k, captureData: false, depth: 1))
        {
            return Reasons.Field(DecodeStatus.WrongType, kind, Slot('k'));
        }

        ref var kline = ref evt.Payload.Kline;
        if (Fails(ReadTime(json, in k, Slot('t'), out kline.OpenTimeNs), kind, Slot('t'), out r) ||
            Fails(ReadTime(json, in k, Slot('T'), out kline.CloseTimeNs), kind, Slot('T'), out r) ||
            Fails(ReadInterval(json, in k, out kline.Interval), kind, Slot('i'), out r) ||
            Fails(ReadDecimal(json, in k, Slot('o'), out var open), kind, Slot('o'), out r) ||
            Fails(ReadDecimal(json, in k, Slot('h'), out var high), kind, Slot('h'), out r) ||
            Fails(ReadDecimal(json, in k, Slot('l'), out var low), kind, Slot('l'), out r) ||
            Fails(ReadDecimal(json, in k, Slot('c'), out var close), kind, Slot('c'), out r) ||
            Fails(ReadDecimal(json, in k, Slot('v'), out var volume), kind, Slot('v'), out r) ||
            Fails(ReadBool(json, in k, Slot('x'), out kline.IsClosed), kind, Slot('x'), out r) ||
            Fails(ReadOptionalInt64(json, in k, Slot('f'), -1, out kline.FirstTradeId), kind, Slot('f'), out r) ||
            Fails(ReadOptionalInt64(json, in k, Slot('L'), -1, out kline.LastTradeId), kind, Slot('L'), out r) ||
            Fails(ReadOptionalInt64(json, in k, Slot('n'), 0, out kline.TradeCount), kind, Slot('n'), out r) ||
            Fails(ReadOptionalDecimal(json, in k, Slot('q'), out var quoteVolume), kind, Slot('q'), out r) ||
            Fails(ReadOptionalDecimal(json, in k, Slot('V'), out var takerBase), kind, Slot('V'), out r) ||
            Fails(ReadOptionalDecimal(json, in k, Slot('Q'), out var takerQuote), kind, Slot('Q'), out r))
        {
            return r;
        }

        kline.RecordId = Guid.Empty; // the slot may hold an asset record's id from an earlier event
        kline.Open = new Price(open);
        kline.High = new Price(high);
        kline.Low = new Price(low);
        kline.Close = new Price(close);
        kline.Volume = new Quantity(volume);
        kline.QuoteVolume = new Quantity(quoteVolume);
        kline.TakerBuyBaseVolume = new Quantity(takerBase);
        kline.TakerBuyQuoteVolume = new Quantity(takerQuote);
        evt.Kind = kind;
        return DecodeResult.Success;
    }

    private DecodeResult DecodeTicker(ReadOnlySpan<byte> json, in FieldBag bag, ref MarketEvent evt, bool mini)
    {
        var kind = mini ? MarketEventKind.MiniTicker : MarketEventKind.Ticker;
        ref var ticker = ref evt.Payload.Ticker;
        ticker = default;
        DecodeResult r;
        if (Fails(ReadTime(json, in bag, Slot('E'), out evt.EventTimeNs), kind, Slot('E'), out r) ||
            Fails(ReadSymbol(json, in bag, out evt.SymbolId), kind, Slot('s'), out r) ||
            Fails(ReadDecimal(json, in bag, Slot('c'), out var last), kind, Slot('c'), out r) ||
            Fails(ReadDecimal(json, in bag, Slot('o'), out var open), kind, Slot('o'), out r) ||
            Fails(ReadDecimal(json, in bag, Slot('h'), out var high), kind, Slot('h'), out r) ||
            Fails(ReadDecimal(json, in bag, Slot('l'), out var low), kind, Slot('l'), out r) ||
            Fails(ReadDecimal(json, in bag, Slot('v'), out var volume), kind, Slot('v'), out r) ||
            Fails(ReadDecimal(json, in bag, Slot('q'), out var quoteVolume), kind, Slot('q'), out r))
        {
            return r;
        }

        ticker.LastPrice = new Price(last);
        ticker.Open = new Price(open);
        ticker.High = new Price(high);
        ticker.Low = new Price(low);
        ticker.Volume = new Quantity(volume);
        ticker.QuoteVolume = new Quantity(quoteVolume);
        ticker.FirstTradeId = -1;
        ticker.LastTradeId = -1;
        if (!mini)
        {
            // Rolling-window tickers (1hTicker, …) lack the last quantity and the best bid/ask: those are optional.
            if (Fails(ReadDecimal(json, in bag, Slot('p'), out var change), kind, Slot('p'), out r) ||
                Fails(ReadDecimal(json, in bag, Slot('P'), out ticker.PriceChangePercent), kind, Slot('P'), out r) ||
                Fails(ReadDecimal(json, in bag, Slot('w'), out var weighted), kind, Slot('w'), out r) ||
                Fails(ReadTime(json, in bag, Slot('O'), out ticker.OpenTimeNs), kind, Slot('O'), out r) ||
                Fails(ReadTime(json, in bag, Slot('C'), out ticker.CloseTimeNs), kind, Slot('C'), out r) ||
                Fails(ReadInt64(json, in bag, Slot('F'), out ticker.FirstTradeId), kind, Slot('F'), out r) ||
                Fails(ReadInt64(json, in bag, Slot('L'), out ticker.LastTradeId), kind, Slot('L'), out r) ||
                Fails(ReadInt64(json, in bag, Slot('n'), out ticker.TradeCount), kind, Slot('n'), out r) ||
                Fails(ReadOptionalDecimal(json, in bag, Slot('Q'), out var lastQuantity), kind, Slot('Q'), out r) ||
                Fails(ReadOptionalDecimal(json, in bag, Slot('b'), out var bid), kind, Slot('b'), out r) ||
                Fails(ReadOptionalDecimal(json, in bag, Slot('B'), out var bidQuantity), kind, Slot('B'), out r) ||
                Fails(ReadOptionalDecimal(json, in bag, Slot('a'), out var ask), kind, Slot('a'), out r) ||
                Fails(ReadOptionalDecimal(json, in bag, Slot('A'), out var askQuantity), kind, Slot('A'), out r))
            {
                return r;
            }

            ticker.PriceChange = new Price(change);
            ticker.WeightedAveragePrice = new Price(weighted);
            ticker.LastQuantity = new Quantity(lastQuantity);
            ticker.BidPrice = new Price(bid);
            ticker.BidQuantity = new Quantity(bidQuantity);
            ticker.AskPrice = new Price(ask);
            ticker.AskQuantity = new Quantity(askQuantity);
        }

        evt.Kind = kind;
        return DecodeResult.Success;
    }

    private DecodeResult DecodeDepth(
        ReadOnlySpan<byte> json, in FieldBag bag, ref MarketEvent evt, ref DepthCursor cursor, MarketEventKind kind, ReadOnlySpan<byte> stream)
    {
        DecodeResult r;
        cursor.Kind = kind;
        int bidsSlot, asksSlot;
        if (kind == MarketEventKind.DepthUpdate)
        {
            if (Fails(ReadTime(json, in bag, Slot('E'), out cursor.EventTimeNs), kind, Slot('E'), out r) ||
                Fails(ReadSymbol(json, in bag, out cursor.SymbolId), kind, Slot('s'), out r) ||
                Fails(ReadInt64(json, in bag, Slot('U'), out cursor.FirstUpdateId), kind, Slot('U'), out r) ||
                Fails(ReadInt64(json, in bag, Slot('u'), out cursor.FinalUpdateId), kind, Slot('u'), out r) ||
                Fails(ReadOptionalInt64(json, in bag, FieldSlot.Pu, -1, out cursor.PreviousFinalUpdateId), kind, FieldSlot.Pu, out r))
            {
                return r;
            }

            cursor.LastUpdateId = 0;
            bidsSlot = Slot('b');
            asksSlot = Slot('a');
        }
        else
        {
            if (Fails(ReadInt64(json, in bag, FieldSlot.LastUpdateId, out cursor.LastUpdateId), kind, FieldSlot.LastUpdateId, out r) ||
                Fails(ReadOptionalTime(json, in bag, Slot('E'), out cursor.EventTimeNs), kind, Slot('E'), out r))
            {
                return r;
            }

            // A REST snapshot names no symbol (the caller knows it); a partial-depth stream names it in lower case.
            cursor.SymbolId = -1;
            if (bag.Has(Slot('s')))
            {
                if (Fails(ReadSymbol(json, in bag, out cursor.SymbolId), kind, Slot('s'), out r))
                {
                    return r;
                }
            }
            else if (!stream.IsEmpty && (r = SymbolFromStream(stream, out cursor.SymbolId)).Status != DecodeStatus.Ok)
            {
                return r;
            }

            cursor.FirstUpdateId = 0;
            cursor.FinalUpdateId = 0;
            cursor.PreviousFinalUpdateId = -1;
            bidsSlot = FieldSlot.Bids;
            asksSlot = FieldSlot.Asks;
        }

        if (!bag.Has(bidsSlot))
        {
            return Reasons.Field(DecodeStatus.MissingField, kind, bidsSlot);
        }

        if (!bag.Has(asksSlot))
        {
            return Reasons.Field(DecodeStatus.MissingField, kind, asksSlot);
        }

        if (json[bag.Start[bidsSlot]] != (byte)'[')
        {
            return Reasons.Field(DecodeStatus.WrongType, kind, bidsSlot);
        }

        if (json[bag.Start[asksSlot]] != (byte)'[')
        {
            return Reasons.Field(DecodeStatus.WrongType, kind, asksSlot);
        }

        cursor.Position = bag.Start[bidsSlot] + 1;
        cursor.AsksStart = bag.Start[asksSlot] + 1;
        cursor.JsonLength = json.Length;
        cursor.ChunkIndex = 0;
        cursor.Phase = 1;
        return FillLevels(json, ref evt, ref cursor);
    }

    private static DecodeResult ContinueDepth(ReadOnlySpan<byte> json, ref MarketEvent evt, ref DepthCursor cursor)
    {
        if (json.Length != cursor.JsonLength)
        {
            return new DecodeResult(DecodeStatus.Malformed, "depth: a continuation was given a different message");
        }

        return FillLevels(json, ref evt, ref cursor);
    }

    /// <summary>Copies levels into the event until the message ends (Ok) or the event is full (MoreChunks).</summary>
    /// <remarks>The arrays' syntax was validated by the first pass, so commas and brackets can be trusted here.</remarks>
    private static DecodeResult FillLevels(ReadOnlySpan<byte> json, ref MarketEvent evt, ref DepthCursor cursor)
    {
        var kind = cursor.Kind;
        var levels = evt.Levels;
        if (levels is null || levels.Length == 0)
        {
            return new DecodeResult(DecodeStatus.Overflow, "depth: the event has no level capacity (create it with MarketEvent.Create)");
        }

        var scanner = new Utf8JsonScanner(json, cursor.Position);
        var count = 0;
        var bids = 0;
        while (cursor.Phase != 0)
        {
            var c = scanner.Peek();
            if (c == ']')
            {
                if (cursor.Phase == 1)
                {
                    cursor.Phase = 2;
                    scanner.Position = cursor.AsksStart;
                }
                else
                {
                    cursor.Phase = 0;
                }

                continue;
            }

            if (c == ',')
            {
                scanner.Position++;
                continue;
            }

            if (count == levels.Length)
            {
                break;
            }

            if (c != '[')
            {
                return Reasons.Level(kind);
            }

            scanner.Position++;
            if (scanner.Peek() != '"' || !scanner.ScanString(out var priceStart, out var priceEnd) || scanner.Peek() != ',')
            {
                return Reasons.Level(kind);
            }

            scanner.Position++;
            if (scanner.Peek() != '"' || !scanner.ScanString(out var quantityStart, out var quantityEnd) || scanner.Peek() != ']')
            {
                return Reasons.Level(kind);
            }

            scanner.Position++;
            var status = ToStatus(FixedPoint.TryParse(json[priceStart..priceEnd], out var price));
            if (status == DecodeStatus.Ok)
            {
                status = ToStatus(FixedPoint.TryParse(json[quantityStart..quantityEnd], out var quantity));
                levels[count] = new PriceLevel(new Price(price), new Quantity(quantity));
            }

            if (status != DecodeStatus.Ok)
            {
                return Reasons.LevelValue(status, kind);
            }

            count++;
            if (cursor.Phase == 1)
            {
                bids++;
            }
        }

        evt.Kind = kind;
        evt.SymbolId = cursor.SymbolId;
        evt.EventTimeNs = cursor.EventTimeNs;
        ref var depth = ref evt.Payload.Depth;
        depth.FirstUpdateId = cursor.FirstUpdateId;
        depth.FinalUpdateId = cursor.FinalUpdateId;
        depth.PreviousFinalUpdateId = cursor.PreviousFinalUpdateId;
        depth.LastUpdateId = cursor.LastUpdateId;
        depth.BidCount = bids;
        depth.AskCount = count - bids;
        depth.ChunkIndex = cursor.ChunkIndex;
        depth.IsLastChunk = cursor.Phase == 0;
        if (cursor.Phase == 0)
        {
            cursor = default;
            return DecodeResult.Success;
        }

        cursor.Position = scanner.Position;
        cursor.ChunkIndex++;
        return Reasons.MoreChunks;
    }

    private DecodeResult DecodeShutdown(ReadOnlySpan<byte> json, in FieldBag bag, ref MarketEvent evt)
    {
        if (Fails(ReadOptionalTime(json, in bag, Slot('E'), out evt.EventTimeNs), MarketEventKind.Control, Slot('E'), out var r))
        {
            return r;
        }

        SetControl(ref evt, ControlKind.ServerShutdown, -1, 0);
        return DecodeResult.Success;
    }

    private static DecodeResult DecodeSubscriptionResult(ReadOnlySpan<byte> json, in FieldBag root, ref MarketEvent evt)
    {
        if (Fails(ReadRequestId(json, in root, out var id), MarketEventKind.Control, FieldSlot.Id, out var r))
        {
            return r;
        }

        evt.EventTimeNs = 0;
        SetControl(ref evt, ControlKind.SubscriptionResult, id, 0);
        return DecodeResult.Success;
    }

    private static DecodeResult DecodeError(ReadOnlySpan<byte> json, in FieldBag root, ref MarketEvent evt)
    {
        const MarketEventKind kind = MarketEventKind.Control;
        Unsafe.SkipInit(out FieldBag error);
        error.Present = 0;
        if (root.Has(FieldSlot.Error))
        {
            var scanner = new Utf8JsonScanner(json, root.Start[FieldSlot.Error]);
            if (!scanner.ReadObject(ref error, ref error, captureData: false, depth: 1))
            {
                return Reasons.Field(DecodeStatus.WrongType, kind, FieldSlot.Error);
            }
        }

        var source = root.Has(FieldSlot.Error) ? error : root;
        if (Fails(ReadInt64(json, in source, FieldSlot.Code, out var code), kind, FieldSlot.Code, out var r) ||
            Fails(ReadRequestId(json, in root, out var id), kind, FieldSlot.Id, out r))
        {
            return r;
        }

        if (code is > int.MaxValue or < int.MinValue)
        {
            return Reasons.Field(DecodeStatus.Overflow, kind, FieldSlot.Code);
        }

        evt.EventTimeNs = 0;
        SetControl(ref evt, ControlKind.Error, id, (int)code);
        return DecodeResult.Success;
    }

    private static void SetControl(ref MarketEvent evt, ControlKind controlKind, long requestId, int errorCode)
    {
        ref var control = ref evt.Payload.Control;
        control.ControlKind = controlKind;
        control.RequestId = requestId;
        control.ErrorCode = errorCode;
        evt.SymbolId = -1;
        evt.Kind = MarketEventKind.Control;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private DecodeResult SymbolFromStream(ReadOnlySpan<byte> stream, out int symbolId)
    {
        // "btcusdt@depth20@100ms" → BTCUSDT, the spelling the payloads' "s" uses, so both intern to the same id.
        var at = stream.IndexOf((byte)'@');
        var name = at < 0 ? stream : stream[..at];
        symbolId = -1;
        if (name.IsEmpty || name.Length > SymbolStreamBuffer)
        {
            return Reasons.SymbolRejected;
        }

        Span<byte> upper = stackalloc byte[SymbolStreamBuffer];
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            upper[i] = (uint)(c - 'a') <= 'z' - 'a' ? (byte)(c - 32) : c;
        }

        symbolId = _symbols.GetOrAdd(upper[..name.Length]);
        return symbolId < 0 ? Reasons.SymbolRejected : DecodeResult.Success;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Slot(char letter) => FieldSlot.Letter(letter);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Fails(DecodeStatus status, MarketEventKind kind, int slot, out DecodeResult result)
    {
        if (status == DecodeStatus.Ok)
        {
            result = default;
            return false;
        }

        result = Reasons.Field(status, kind, slot);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryString(ReadOnlySpan<byte> json, scoped in FieldBag bag, int slot, out ReadOnlySpan<byte> content)
    {
        var start = bag.Start[slot];
        var end = bag.End[slot];
        if (json[start] != (byte)'"')
        {
            content = default;
            return false;
        }

        content = json[(start + 1)..(end - 1)];
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private DecodeStatus ReadSymbol(ReadOnlySpan<byte> json, in FieldBag bag, out int symbolId)
    {
        symbolId = -1;
        var slot = Slot('s');
        if (!bag.Has(slot))
        {
            return DecodeStatus.MissingField;
        }

        if (!TryString(json, in bag, slot, out var name))
        {
            return DecodeStatus.WrongType;
        }

        if (name.Contains((byte)'\\'))
        {
            return DecodeStatus.SymbolRejected; // escaped symbols are not unescaped: Binance sends raw UTF-8
        }

        symbolId = _symbols.GetOrAdd(name);
        return symbolId < 0 ? DecodeStatus.SymbolRejected : DecodeStatus.Ok;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeStatus ReadInt64(ReadOnlySpan<byte> json, in FieldBag bag, int slot, out long value)
    {
        if (!bag.Has(slot))
        {
            value = 0;
            return DecodeStatus.MissingField;
        }

        return ParseInt64(json[bag.Start[slot]..bag.End[slot]], out value);
    }

    private static DecodeStatus ReadOptionalInt64(ReadOnlySpan<byte> json, in FieldBag bag, int slot, long absent, out long value)
    {
        if (!bag.Has(slot))
        {
            value = absent;
            return DecodeStatus.Ok;
        }

        return ParseInt64(json[bag.Start[slot]..bag.End[slot]], out value);
    }

    /// <summary>The request id: a number, or -1 when absent, null or a string.</summary>
    private static DecodeStatus ReadRequestId(ReadOnlySpan<byte> json, in FieldBag bag, out long id)
    {
        id = -1;
        if (!bag.Has(FieldSlot.Id))
        {
            return DecodeStatus.Ok;
        }

        var first = json[bag.Start[FieldSlot.Id]];
        return first == '-' || (uint)(first - '0') <= 9 ? ReadInt64(json, in bag, FieldSlot.Id, out id) : DecodeStatus.Ok;
    }

    /// <summary>An integer <c>-?[0-9]+</c> (a JSON number without fraction or exponent).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeStatus ParseInt64(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        var i = 0;
        var negative = text.Length > 0 && text[0] == '-';
        if (negative)
        {
            i = 1;
        }

        if (i >= text.Length)
        {
            return DecodeStatus.WrongType;
        }

        ulong magnitude = 0;
        for (; i < text.Length; i++)
        {
            var d = (uint)(text[i] - '0');
            if (d > 9)
            {
                return DecodeStatus.WrongType;
            }

            if (magnitude > (ulong)(long.MaxValue - d) / 10)
            {
                return DecodeStatus.Overflow;
            }

            magnitude = (magnitude * 10) + d;
        }

        value = negative ? -(long)magnitude : (long)magnitude;
        return DecodeStatus.Ok;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private DecodeStatus ReadTime(ReadOnlySpan<byte> json, in FieldBag bag, int slot, out long ns)
    {
        var status = ReadInt64(json, in bag, slot, out var value);
        ns = 0;
        if (status != DecodeStatus.Ok)
        {
            return status;
        }

        if (value > _maxTime || value < -_maxTime)
        {
            return DecodeStatus.Overflow;
        }

        ns = value * _nsPerTimeUnit;
        return DecodeStatus.Ok;
    }

    private DecodeStatus ReadOptionalTime(ReadOnlySpan<byte> json, in FieldBag bag, int slot, out long ns)
    {
        ns = 0;
        return bag.Has(slot) ? ReadTime(json, in bag, slot, out ns) : DecodeStatus.Ok;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeStatus ReadDecimal(ReadOnlySpan<byte> json, in FieldBag bag, int slot, out long mantissa)
    {
        mantissa = 0;
        if (!bag.Has(slot))
        {
            return DecodeStatus.MissingField;
        }

        return TryString(json, in bag, slot, out var text) ? ToStatus(FixedPoint.TryParse(text, out mantissa)) : DecodeStatus.WrongType;
    }

    private static DecodeStatus ReadOptionalDecimal(ReadOnlySpan<byte> json, in FieldBag bag, int slot, out long mantissa)
    {
        mantissa = 0;
        return bag.Has(slot) ? ReadDecimal(json, in bag, slot, out mantissa) : DecodeStatus.Ok;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeStatus ToStatus(FixedPointStatus status) => status switch
    {
        FixedPointStatus.Ok => DecodeStatus.Ok,
        FixedPointStatus.Overflow => DecodeStatus.Overflow,
        FixedPointStatus.PrecisionLoss => DecodeStatus.PrecisionLoss,
        _ => DecodeStatus.WrongType,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeStatus ReadBool(ReadOnlySpan<byte> json, in FieldBag bag, int slot, out bool value)
    {
        value = false;
        if (!bag.Has(slot))
        {
            return DecodeStatus.MissingField;
        }

        var first = json[bag.Start[slot]];
        value = first == 't';
        return first is (byte)'t' or (byte)'f' ? DecodeStatus.Ok : DecodeStatus.WrongType;
    }

    private static DecodeStatus ReadInterval(ReadOnlySpan<byte> json, in FieldBag bag, out KlineInterval interval)
    {
        interval = KlineInterval.None;
        var slot = Slot('i');
        if (!bag.Has(slot))
        {
            return DecodeStatus.MissingField;
        }

        if (!TryString(json, in bag, slot, out var text))
        {
            return DecodeStatus.WrongType;
        }

        interval = ParseInterval(text);
        return interval == KlineInterval.None ? DecodeStatus.WrongType : DecodeStatus.Ok;
    }

    /// <summary>A Binance interval text (<c>1s</c>, <c>1m</c> … <c>1M</c>); <see cref="KlineInterval.None"/> for any other text.</summary>
    internal static KlineInterval ParseInterval(ReadOnlySpan<byte> text) => text switch
    {
        [(byte)'1', (byte)'s'] => KlineInterval.Second1,
        [(byte)'1', (byte)'m'] => KlineInterval.Minute1,
        [(byte)'3', (byte)'m'] => KlineInterval.Minute3,
        [(byte)'5', (byte)'m'] => KlineInterval.Minute5,
        [(byte)'1', (byte)'5', (byte)'m'] => KlineInterval.Minute15,
        [(byte)'3', (byte)'0', (byte)'m'] => KlineInterval.Minute30,
        [(byte)'1', (byte)'h'] => KlineInterval.Hour1,
        [(byte)'2', (byte)'h'] => KlineInterval.Hour2,
        [(byte)'4', (byte)'h'] => KlineInterval.Hour4,
        [(byte)'6', (byte)'h'] => KlineInterval.Hour6,
        [(byte)'8', (byte)'h'] => KlineInterval.Hour8,
        [(byte)'1', (byte)'2', (byte)'h'] => KlineInterval.Hour12,
        [(byte)'1', (byte)'d'] => KlineInterval.Day1,
        [(byte)'3', (byte)'d'] => KlineInterval.Day3,
        [(byte)'1', (byte)'w'] => KlineInterval.Week1,
        [(byte)'1', (byte)'M'] => KlineInterval.Month1,
        _ => KlineInterval.None,
    };

    /// <summary>Every reason string, built once at start-up so that failures allocate nothing.</summary>
    private static class Reasons
    {
        private const int FirstFieldStatus = (int)DecodeStatus.MissingField;
        private const int KindCount = (int)MarketEventKind.Invalid + 1;

        private static readonly string[][] s_field = BuildFieldReasons();
        private static readonly string[][] s_levelValue = BuildLevelReasons();

        public static readonly DecodeResult MoreChunks = new(DecodeStatus.MoreChunks, "depth: more levels follow in the next chunk");
        public static readonly DecodeResult SymbolRejected = new(DecodeStatus.SymbolRejected, "symbol rejected by the symbol table");
        private static readonly DecodeResult s_levelUpdate = new(DecodeStatus.WrongType, "depthUpdate: a level is not [\"price\",\"quantity\"]");
        private static readonly DecodeResult s_levelSnapshot = new(DecodeStatus.WrongType, "depthSnapshot: a level is not [\"price\",\"quantity\"]");

        public static DecodeResult Field(DecodeStatus status, MarketEventKind kind, int slot) =>
            new(status, s_field[(int)status - FirstFieldStatus][((int)kind * FieldSlot.Count) + slot]);

        public static DecodeResult Level(MarketEventKind kind) => kind == MarketEventKind.DepthUpdate ? s_levelUpdate : s_levelSnapshot;

        public static DecodeResult LevelValue(DecodeStatus status, MarketEventKind kind) =>
            new(status, s_levelValue[(int)status - FirstFieldStatus][(int)kind]);

        private static string KindName(int kind) => (MarketEventKind)kind switch
        {
            MarketEventKind.Trade => "trade",
            MarketEventKind.AggTrade => "aggTrade",
            MarketEventKind.Kline => "kline",
            MarketEventKind.Ticker => "24hrTicker",
            MarketEventKind.MiniTicker => "24hrMiniTicker",
            MarketEventKind.BookTicker => "bookTicker",
            MarketEventKind.DepthUpdate => "depthUpdate",
            MarketEventKind.DepthSnapshot => "depthSnapshot",
            MarketEventKind.Control => "control",
            _ => "message",
        };

        private static string Describe(DecodeStatus status) => status switch
        {
            DecodeStatus.MissingField => "missing",
            DecodeStatus.WrongType => "has the wrong type or form",
            DecodeStatus.Overflow => "overflows",
            DecodeStatus.PrecisionLoss => "has more than 8 decimals",
            _ => "was rejected by the symbol table",
        };

        private static string[][] BuildFieldReasons()
        {
            var table = new string[(int)DecodeStatus.SymbolRejected - FirstFieldStatus + 1][];
            for (var s = 0; s < table.Length; s++)
            {
                table[s] = new string[KindCount * FieldSlot.Count];
                for (var k = 0; k < KindCount; k++)
                {
                    for (var f = 0; f < FieldSlot.Count; f++)
                    {
                        table[s][(k * FieldSlot.Count) + f] =
                            $"{KindName(k)}: field '{FieldSlot.Name(f)}' {Describe((DecodeStatus)(s + FirstFieldStatus))}";
                    }
                }
            }

            return table;
        }

        private static string[][] BuildLevelReasons()
        {
            var table = new string[(int)DecodeStatus.SymbolRejected - FirstFieldStatus + 1][];
            for (var s = 0; s < table.Length; s++)
            {
                table[s] = new string[KindCount];
                for (var k = 0; k < KindCount; k++)
                {
                    table[s][k] = $"{KindName(k)}: a level's price or quantity {Describe((DecodeStatus)(s + FirstFieldStatus))}";
                }
            }

            return table;
        }
    }
}

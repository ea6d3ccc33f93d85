using System.Text;
using LowLatency.Codecs.Binance;
using LowLatency.Market;
using LowLatency.TestSupport;

namespace LowLatency.Codecs.Tests;

public sealed class BinanceDecoderTests
{
    private const string Trade =
        """{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}""";

    private const string BookTicker =
        """{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}""";

    private const string DepthUpdate =
        """{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":50093239203,"u":50093239207,"b":[["55653.87000000","0.00000000"]],"a":[["61838.04000000","0.32332000"],["61844.30000000","0.40163000"],["61862.50000000","0.05019000"]]}}""";

    private readonly SymbolTable _symbols = new(64);

    private DecodeResult Decode(string json, out MarketEvent evt, TimeUnit unit = TimeUnit.Millisecond, int capacity = 200)
    {
        evt = MarketEvent.Create(capacity);
        return new BinanceDecoder(_symbols, unit).Decode(Encoding.UTF8.GetBytes(json), ref evt);
    }

    private static void AssertOk(DecodeResult result) => Assert.True(result.Status == DecodeStatus.Ok, result.ToString());

    [Fact]
    public void Decode_CombinedTrade_FillsEveryField()
    {
        AssertOk(Decode(Trade, out var evt));
        Assert.Equal(MarketEventKind.Trade, evt.Kind);
        Assert.Equal("BTCUSDT", _symbols.GetName(evt.SymbolId));
        Assert.Equal(1723161255343L * 1_000_000, evt.EventTimeNs);
        ref var t = ref evt.Payload.Trade;
        Assert.Equal(3735683259, t.TradeId);
        Assert.Equal(3735683259, t.FirstTradeId);
        Assert.Equal(Price.Parse("61837.63"), t.Price);
        Assert.Equal(Quantity.Parse("0.02"), t.Quantity);
        Assert.Equal(1723161255342L * 1_000_000, t.TradeTimeNs);
        Assert.True(t.IsBuyerMaker);
        Assert.Equal(-1, t.BuyerOrderId);
        Assert.Equal(-1, t.SellerOrderId);
    }

    [Fact]
    public void Decode_RawTradeReorderedWithWhitespaceAndUnknownFields_Ok()
    {
        const string json = """
            { "X": {"deep": [1, 2.5e-3, {"a": [true, false, null, "x\"y\\u00e9"]}], "more": {}},
              "m" : false , "T":1, "q":"1", "p" : "2.5", "t": 7, "s":"ETHUSDT", "E": 2, "e" : "trade", "zz": [] }
            """;
        AssertOk(Decode(json, out var evt));
        Assert.Equal(MarketEventKind.Trade, evt.Kind);
        Assert.Equal(7, evt.Payload.Trade.TradeId);
        Assert.Equal(Price.Parse("2.5"), evt.Payload.Trade.Price);
        Assert.False(evt.Payload.Trade.IsBuyerMaker);
        Assert.Equal(2_000_000, evt.EventTimeNs);
    }

    [Fact]
    public void Decode_OldTradeWithBuyerAndSellerIds_KeepsThem()
    {
        const string json = """{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","b":88,"a":50,"T":1672515782136,"m":true,"M":true}""";
        AssertOk(Decode(json, out var evt));
        Assert.Equal(88, evt.Payload.Trade.BuyerOrderId);
        Assert.Equal(50, evt.Payload.Trade.SellerOrderId);
    }

    [Fact]
    public void Decode_MicrosecondTimeUnit_ScalesBy1000()
    {
        const string json = """{"e":"trade","E":1723161255343123,"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1723161255342999,"m":true}""";
        AssertOk(Decode(json, out var evt, TimeUnit.Microsecond));
        Assert.Equal(1723161255343123L * 1_000, evt.EventTimeNs);
        Assert.Equal(1723161255342999L * 1_000, evt.Payload.Trade.TradeTimeNs);

        // The same digits read as milliseconds do not fit in ns since the epoch.
        var overflow = Decode(json, out evt);
        Assert.Equal(DecodeStatus.Overflow, overflow.Status);
        Assert.Equal(MarketEventKind.Invalid, evt.Kind);
    }

    [Fact]
    public void Decode_NonAsciiSymbol_InternsUtf8()
    {
        const string json = """{"e":"trade","E":1,"s":"币安人生USDT","t":1,"p":"0.1","q":"1","T":1,"m":false}""";
        AssertOk(Decode(json, out var evt));
        Assert.Equal("币安人生USDT", _symbols.GetName(evt.SymbolId));
    }

    [Fact]
    public void Decode_AggTrade_FillsIds()
    {
        const string json = """{"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1672515782136,"m":true,"M":true}""";
        AssertOk(Decode(json, out var evt));
        Assert.Equal(MarketEventKind.AggTrade, evt.Kind);
        Assert.Equal(12345, evt.Payload.Trade.TradeId);
        Assert.Equal(100, evt.Payload.Trade.FirstTradeId);
        Assert.Equal(105, evt.Payload.Trade.LastTradeId);
        Assert.Equal(-1, evt.Payload.Trade.SellerOrderId);
    }

    [Fact]
    public void Decode_Kline_FillsCandle()
    {
        const string json = """
            {"e":"kline","E":1672515782136,"s":"BNBBTC","k":{"t":123400000,"T":123460000,"s":"BNBBTC","i":"1m","f":100,"L":200,
             "o":"0.0010","c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":false,"q":"1.0000","V":"500","Q":"0.500","B":"123456"}}
            """;
        AssertOk(Decode(json, out var evt));
        Assert.Equal(MarketEventKind.Kline, evt.Kind);
        ref var k = ref evt.Payload.Kline;
        Assert.Equal(KlineInterval.Minute1, k.Interval);
        Assert.Equal(123400000L * 1_000_000, k.OpenTimeNs);
        Assert.Equal(123460000L * 1_000_000, k.CloseTimeNs);
        Assert.Equal(100, k.FirstTradeId);
        Assert.Equal(200, k.LastTradeId);
        Assert.Equal(Price.Parse("0.001"), k.Open);
        Assert.Equal(Price.Parse("0.0025"), k.High);
        Assert.Equal(Price.Parse("0.0015"), k.Low);
        Assert.Equal(Price.Parse("0.002"), k.Close);
        Assert.Equal(Quantity.Parse("1000"), k.Volume);
        Assert.Equal(Quantity.Parse("1"), k.QuoteVolume);
        Assert.Equal(Quantity.Parse("500"), k.TakerBuyBaseVolume);
        Assert.Equal(Quantity.Parse("0.5"), k.TakerBuyQuoteVolume);
        Assert.Equal(100, k.TradeCount);
        Assert.False(k.IsClosed);
        Assert.Equal(Guid.Empty, k.RecordId); // Binance klines carry no record id
    }

    [Theory]
    [InlineData("1s", KlineInterval.Second1)]
    [InlineData("15m", KlineInterval.Minute15)]
    [InlineData("12h", KlineInterval.Hour12)]
    [InlineData("1w", KlineInterval.Week1)]
    [InlineData("1M", KlineInterval.Month1)]
    public void Decode_KlineInterval_Maps(string text, KlineInterval expected)
    {
        var json = $$$"""{"e":"kline","E":1,"s":"X","k":{"t":1,"T":2,"i":"{{{text}}}","o":"1","c":"1","h":"1","l":"1","v":"1","x":true}}""";
        AssertOk(Decode(json, out var evt));
        Assert.Equal(expected, evt.Payload.Kline.Interval);
        Assert.True(evt.Payload.Kline.IsClosed);
    }

    [Fact]
    public void Decode_KlineWithoutInterval_MissingFieldWithReason()
    {
        const string json = """{ "stream": "btcusdt@kline_8h", "data": {"e": "kline","E": 1672515782136, "s": "BTCUSDT", "k": { "t": 123400000 } } }""";
        var result = Decode(json, out var evt);
        Assert.Equal(DecodeStatus.MissingField, result.Status);
        Assert.Equal("kline: field 'T' missing", result.Reason);
        Assert.Equal(MarketEventKind.Invalid, evt.Kind);
    }

    [Fact]
    public void Decode_24hrTicker_FillsStatistics()
    {
        const string json = """
            {"e":"24hrTicker","E":1672515782136,"s":"BNBBTC","p":"-0.0015","P":"-250.00","w":"0.0018","x":"0.0009","c":"0.0025","Q":"10",
             "b":"0.0024","B":"10","a":"0.0026","A":"100","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,"C":86400000,"F":0,"L":18150,"n":18151}
            """;
        AssertOk(Decode(json, out var evt));
        Assert.Equal(MarketEventKind.Ticker, evt.Kind);
        ref var t = ref evt.Payload.Ticker;
        Assert.Equal(Price.Parse("-0.0015"), t.PriceChange);
        Assert.Equal(-250 * FixedPoint.Scale, t.PriceChangePercent);
        Assert.Equal(Price.Parse("0.0018"), t.WeightedAveragePrice);
        Assert.Equal(Price.Parse("0.0025"), t.LastPrice);
        Assert.Equal(Quantity.Parse("10"), t.LastQuantity);
        Assert.Equal(Price.Parse("0.0024"), t.BidPrice);
        Assert.Equal(Quantity.Parse("100"), t.AskQuantity);
        Assert.Equal(86400000L * 1_000_000, t.CloseTimeNs);
        Assert.Equal(18150, t.LastTradeId);
        Assert.Equal(18151, t.TradeCount);
    }

    [Fact]
    public void Decode_MiniTicker_FillsPrices()
    {
        const string json = """{"e":"24hrMiniTicker","E":1672515782136,"s":"BNBBTC","c":"0.0025","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18"}""";
        AssertOk(Decode(json, out var evt));
        Assert.Equal(MarketEventKind.MiniTicker, evt.Kind);
        Assert.Equal(Price.Parse("0.0025"), evt.Payload.Ticker.LastPrice);
        Assert.Equal(Quantity.Parse("18"), evt.Payload.Ticker.QuoteVolume);
    }

    [Fact]
    public void Decode_SpotBookTicker_RecognisedWithoutEventType()
    {
        AssertOk(Decode(BookTicker, out var evt));
        Assert.Equal(MarketEventKind.BookTicker, evt.Kind);
        Assert.Equal(0, evt.EventTimeNs);
        ref var b = ref evt.Payload.BookTicker;
        Assert.Equal(50093239212, b.UpdateId);
        Assert.Equal(Price.Parse("61837.63"), b.BidPrice);
        Assert.Equal(Quantity.Parse("3.78826"), b.BidQuantity);
        Assert.Equal(Price.Parse("61837.64"), b.AskPrice);
        Assert.Equal(Quantity.Parse("1.54698"), b.AskQuantity);
    }

    [Fact]
    public void Decode_BookTickerStreamMissingAsk_MissingFieldNamed()
    {
        var result = Decode("""{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"1","B":"1","A":"1"}}""", out _);
        Assert.Equal(DecodeStatus.MissingField, result.Status);
        Assert.Equal("bookTicker: field 'a' missing", result.Reason);
    }

    [Fact]
    public void Decode_DepthUpdate_BidsThenAsks()
    {
        AssertOk(Decode(DepthUpdate, out var evt));
        Assert.Equal(MarketEventKind.DepthUpdate, evt.Kind);
        ref var d = ref evt.Payload.Depth;
        Assert.Equal(50093239203, d.FirstUpdateId);
        Assert.Equal(50093239207, d.FinalUpdateId);
        Assert.Equal(-1, d.PreviousFinalUpdateId);
        Assert.Equal(1, d.BidCount);
        Assert.Equal(3, d.AskCount);
        Assert.Equal(0, d.ChunkIndex);
        Assert.True(d.IsLastChunk);
        Assert.Equal(Price.Parse("55653.87"), evt.Bids[0].Price);
        Assert.Equal(Quantity.Zero, evt.Bids[0].Quantity);
        Assert.Equal(Price.Parse("61862.5"), evt.Asks[2].Price);
        Assert.Equal(Quantity.Parse("0.05019"), evt.Asks[2].Quantity);
    }

    [Fact]
    public void Decode_FuturesDepthWithPu_KeepsPreviousFinalId()
    {
        const string json = """{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":10,"u":12,"pu":9,"b":[],"a":[]}""";
        AssertOk(Decode(json, out var evt));
        Assert.Equal(9, evt.Payload.Depth.PreviousFinalUpdateId);
        Assert.Equal(0, evt.Payload.Depth.BidCount + evt.Payload.Depth.AskCount);
    }

    [Fact]
    public void Decode_PartialDepthStream_SnapshotWithSymbolFromStream()
    {
        const string json = """{ "stream": "btcusdt@depth5@100ms", "data": { "lastUpdateId": 160, "bids": [ [ "0.0024", "10" ] ], "asks": [ [ "0.0026", "100" ] ] } }""";
        AssertOk(Decode(json, out var evt));
        Assert.Equal(MarketEventKind.DepthSnapshot, evt.Kind);
        Assert.Equal(160, evt.Payload.Depth.LastUpdateId);
        Assert.Equal("BTCUSDT", _symbols.GetName(evt.SymbolId));
        Assert.Equal(Price.Parse("0.0024"), evt.Bids[0].Price);
        Assert.Equal(Quantity.Parse("100"), evt.Asks[0].Quantity);
    }

    [Fact]
    public void Decode_RestSnapshot_NoSymbol()
    {
        AssertOk(Decode("""{"lastUpdateId":5,"bids":[["1.0","2.0"]],"asks":[]}""", out var evt));
        Assert.Equal(MarketEventKind.DepthSnapshot, evt.Kind);
        Assert.Equal(-1, evt.SymbolId);
        Assert.Equal(1, evt.Payload.Depth.BidCount);
        Assert.Equal(0, evt.Payload.Depth.AskCount);
    }

    [Fact]
    public void Decode_DepthLargerThanCapacity_EmitsChunksWithSameIds()
    {
        // 5 bids and 4 asks into events of 4 levels: chunks of 4 bids | 1 bid + 3 asks | 1 ask.
        const string json = """
            {"e":"depthUpdate","E":1,"s":"BTCUSDT","U":100,"u":108,
             "a":[["11","1"],["12","2"],["13","3"],["14","4"]],
             "b":[["10","1"],["9","2"],["8","3"],["7","4"],["6","5"]]}
            """;
        var bytes = Encoding.UTF8.GetBytes(json);
        var decoder = new BinanceDecoder(_symbols);
        var cursor = default(DepthCursor);
        var events = new[] { MarketEvent.Create(4), MarketEvent.Create(4), MarketEvent.Create(4) };

        Assert.Equal(DecodeStatus.MoreChunks, decoder.Decode(bytes, ref events[0], ref cursor).Status);
        Assert.True(cursor.IsActive);
        Assert.Equal(DecodeStatus.MoreChunks, decoder.Decode(bytes, ref events[1], ref cursor).Status);
        AssertOk(decoder.Decode(bytes, ref events[2], ref cursor));
        Assert.False(cursor.IsActive);

        int[] bids = [4, 1, 0];
        int[] asks = [0, 3, 1];
        var allPrices = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ref var d = ref events[i].Payload.Depth;
            Assert.Equal(MarketEventKind.DepthUpdate, events[i].Kind);
            Assert.Equal(100, d.FirstUpdateId);
            Assert.Equal(108, d.FinalUpdateId);
            Assert.Equal(1_000_000, events[i].EventTimeNs);
            Assert.Equal(i, d.ChunkIndex);
            Assert.Equal(i == 2, d.IsLastChunk);
            Assert.Equal(bids[i], d.BidCount);
            Assert.Equal(asks[i], d.AskCount);
            foreach (var level in events[i].Bids)
            {
                allPrices.Add("b" + level.Price);
            }

            foreach (var level in events[i].Asks)
            {
                allPrices.Add("a" + level.Price);
            }
        }

        Assert.Equal(["b10", "b9", "b8", "b7", "b6", "a11", "a12", "a13", "a14"], allPrices);
    }

    [Fact]
    public void Decode_DepthExactlyCapacity_SingleChunk()
    {
        var result = Decode("""{"lastUpdateId":5,"bids":[["1","1"],["2","2"]],"asks":[["3","3"]]}""", out var evt, capacity: 3);
        AssertOk(result);
        Assert.True(evt.Payload.Depth.IsLastChunk);
        Assert.Equal(3, evt.Payload.Depth.BidCount + evt.Payload.Depth.AskCount);
    }

    [Fact]
    public void Decode_ContinuationWithOtherMessage_Malformed()
    {
        var decoder = new BinanceDecoder(_symbols);
        var cursor = default(DepthCursor);
        var evt = MarketEvent.Create(1);
        var json = """{"lastUpdateId":5,"bids":[["1","1"],["2","2"]],"asks":[]}"""u8;
        Assert.Equal(DecodeStatus.MoreChunks, decoder.Decode(json, ref evt, ref cursor).Status);
        Assert.Equal(DecodeStatus.Malformed, decoder.Decode("""{"lastUpdateId":5}"""u8, ref evt, ref cursor).Status);
        Assert.False(cursor.IsActive);
    }

    [Theory]
    [InlineData("""{"result":null,"id":1}""", ControlKind.SubscriptionResult, 1, 0)]
    [InlineData("""{"result":["btcusdt@trade"],"id":3}""", ControlKind.SubscriptionResult, 3, 0)]
    [InlineData("""{"id":"abc","result":null}""", ControlKind.SubscriptionResult, -1, 0)]
    [InlineData("""{"code":2,"msg":"Invalid request: property name must be a string","id":1}""", ControlKind.Error, 1, 2)]
    [InlineData("""{"code": 0, "msg": "Unknown property","id": null}""", ControlKind.Error, -1, 0)]
    [InlineData("""{"error":{"code":2,"msg":"Invalid request: unknown variant"},"id":7}""", ControlKind.Error, 7, 2)]
    [InlineData("""{"id":7,"error":{"msg":"x","code":-1121}}""", ControlKind.Error, 7, -1121)]
    [InlineData("""{"e":"serverShutdown","E":1723161255343}""", ControlKind.ServerShutdown, -1, 0)]
    public void Decode_ControlFrame_Recognised(string json, ControlKind kind, long id, int code)
    {
        AssertOk(Decode(json, out var evt));
        Assert.Equal(MarketEventKind.Control, evt.Kind);
        Assert.Equal(kind, evt.Payload.Control.ControlKind);
        Assert.Equal(id, evt.Payload.Control.RequestId);
        Assert.Equal(code, evt.Payload.Control.ErrorCode);
    }

    [Theory]
    [InlineData("""{"e":"trade","E":1,"s":"X","t":1,"q":"1","T":1,"m":true}""", DecodeStatus.MissingField, "trade: field 'p' missing")]
    [InlineData("""{"e":"trade","E":1,"s":"X","t":1,"p":1.5,"q":"1","T":1,"m":true}""", DecodeStatus.WrongType, "trade: field 'p' has the wrong type or form")]
    [InlineData("""{"e":"trade","E":1,"s":"X","t":"1","p":"1","q":"1","T":1,"m":true}""", DecodeStatus.WrongType, "trade: field 't' has the wrong type or form")]
    [InlineData("""{"e":"trade","E":1,"s":"X","t":99999999999999999999,"p":"1","q":"1","T":1,"m":true}""", DecodeStatus.Overflow, "trade: field 't' overflows")]
    [InlineData("""{"e":"trade","E":1,"s":"X","t":1,"p":"1.000000001","q":"1","T":1,"m":true}""", DecodeStatus.PrecisionLoss, "trade: field 'p' has more than 8 decimals")]
    [InlineData("""{"e":"trade","E":1,"s":"X","t":1,"p":"1","q":"1","T":1,"m":1}""", DecodeStatus.WrongType, "trade: field 'm' has the wrong type or form")]
    [InlineData("""{"e":"trade","E":1,"s":"","t":1,"p":"1","q":"1","T":1,"m":true}""", DecodeStatus.SymbolRejected, "trade: field 's' was rejected by the symbol table")]
    [InlineData("""{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["1"]],"a":[]}""", DecodeStatus.WrongType, "depthUpdate: a level is not [\"price\",\"quantity\"]")]
    [InlineData("""{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":{},"a":[]}""", DecodeStatus.WrongType, "depthUpdate: field 'b' has the wrong type or form")]
    [InlineData("""{"e":"fooEvent","E":1}""", DecodeStatus.Unsupported, "message: unknown event type 'e'")]
    [InlineData("""{"a":1}""", DecodeStatus.Unsupported, "message: not a known Binance message")]
    [InlineData("""[1,2]""", DecodeStatus.Malformed, "json: expected an object")]
    [InlineData("""{"result":null,"id":1} x""", DecodeStatus.Malformed, "json: characters after the message")]
    [InlineData("""{"stream":"x","data":[]}""", DecodeStatus.WrongType, "stream: field 'data' is not an object")]
    public void Decode_BadMessage_StatusAndStaticReason(string json, DecodeStatus status, string reason)
    {
        var result = Decode(json, out var evt);
        Assert.Equal(status, result.Status);
        Assert.Equal(reason, result.Reason);
        Assert.Equal(MarketEventKind.Invalid, evt.Kind);
        Assert.Same(result.Reason, Decode(json, out _).Reason); // static: the same instance every time
    }

    [Fact]
    public void Decode_NestingBomb_MalformedQuickly()
    {
        var bytes = new byte[100_000 + 2];
        bytes[0] = (byte)'{';
        bytes[1] = (byte)'"';
        Array.Fill(bytes, (byte)'[', 2, 100_000);
        bytes[1] = (byte)'[';
        var evt = MarketEvent.Create();
        var decoder = new BinanceDecoder(_symbols);
        Assert.Equal(DecodeStatus.Malformed, decoder.Decode(bytes, ref evt).Status);

        var nested = Encoding.UTF8.GetBytes("{\"x\":" + new string('[', 100_000));
        var result = decoder.Decode(nested, ref evt);
        Assert.Equal(DecodeStatus.Malformed, result.Status);
        Assert.Equal("json: nesting too deep", result.Reason);
    }

    [Fact]
    public void Decode_NestingAtLimit_Accepted()
    {
        // The message object is the first level; MaxDepth levels in all are accepted, one more is not.
        var depth = BinanceDecoder.MaxDepth - 1;
        var json = """{"x":""" + new string('[', depth) + new string(']', depth) + ""","result":null}""";
        AssertOk(Decode(json, out _));
        var tooDeep = """{"x":""" + new string('[', depth + 1) + new string(']', depth + 1) + ""","result":null}""";
        Assert.Equal(DecodeStatus.Malformed, Decode(tooDeep, out _).Status);
    }

    [Theory]
    [InlineData(Trade)]
    [InlineData(BookTicker)]
    [InlineData(DepthUpdate)]
    [InlineData("""{"error":{"code":2,"msg":"Invalid request"},"id":1}""")]
    [InlineData("""{"e":"kline","E":1,"s":"X","k":{"t":1,"T":2,"i":"1m","o":"1","c":"1","h":"1","l":"1","v":"1","x":true}}""")]
    public void Decode_EveryTruncation_NotOkAndNoThrow(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var decoder = new BinanceDecoder(_symbols);
        var evt = MarketEvent.Create(2);
        for (var length = 0; length < bytes.Length; length++)
        {
            var cursor = default(DepthCursor);
            var result = decoder.Decode(bytes.AsSpan(0, length), ref evt, ref cursor);
            Assert.True(result.Status == DecodeStatus.Malformed, $"prefix of {length} bytes: {result}");
            Assert.Equal(MarketEventKind.Invalid, evt.Kind);
        }
    }

    [Fact]
    public void Decode_EverySingleByteCorruption_NeverThrows()
    {
        var bytes = Encoding.UTF8.GetBytes(DepthUpdate);
        var decoder = new BinanceDecoder(_symbols);
        var evt = MarketEvent.Create(2);
        byte[] replacements = [(byte)'"', (byte)'[', (byte)']', (byte)'{', (byte)'}', (byte)',', (byte)':', (byte)'\\', (byte)'-', (byte)'0', 0, 0xFF];
        for (var i = 0; i < bytes.Length; i++)
        {
            var original = bytes[i];
            foreach (var replacement in replacements)
            {
                bytes[i] = replacement;
                var cursor = default(DepthCursor);
                var result = decoder.Decode(bytes, ref evt, ref cursor);
                for (var guard = 0; result.Status == DecodeStatus.MoreChunks && guard < 10; guard++)
                {
                    result = decoder.Decode(bytes, ref evt, ref cursor);
                }

                Assert.NotNull(result.Reason);
            }

            bytes[i] = original;
        }
    }

    [Fact]
    public void Decode_Trade_AllocatesNothing() => AssertDecodesWithoutAllocating(Trade);

    [Fact]
    public void Decode_BookTicker_AllocatesNothing() => AssertDecodesWithoutAllocating(BookTicker);

    [Fact]
    public void Decode_DepthUpdate_AllocatesNothing() => AssertDecodesWithoutAllocating(DepthUpdate);

    [Fact]
    public void Decode_ChunkedDepthAndErrors_AllocateNothing()
    {
        var decoder = new BinanceDecoder(_symbols);
        var depth = Encoding.UTF8.GetBytes(DepthUpdate);
        var bad = Encoding.UTF8.GetBytes("""{"e":"trade","E":1,"s":"X","t":1,"q":"1","T":1,"m":true}""");
        var evt = MarketEvent.Create(1);
        Allocations.AssertNone(
            () =>
            {
                var cursor = default(DepthCursor);
                while (decoder.Decode(depth, ref evt, ref cursor).Status == DecodeStatus.MoreChunks)
                {
                }

                decoder.Decode(bad, ref evt);
            },
            "chunked depth and a failing trade");
    }

    private void AssertDecodesWithoutAllocating(string json)
    {
        var decoder = new BinanceDecoder(_symbols);
        var bytes = Encoding.UTF8.GetBytes(json);
        var evt = MarketEvent.Create();
        var status = DecodeStatus.Malformed;
        Allocations.AssertNone(
            () =>
            {
                for (var i = 0; i < 1000; i++)
                {
                    status = decoder.Decode(bytes, ref evt).Status;
                }
            },
            "decoding " + json[..40]);
        Assert.Equal(DecodeStatus.Ok, status);
    }
}

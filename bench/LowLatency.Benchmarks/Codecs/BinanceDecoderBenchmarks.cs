using System.Text.Json;
using System.Text.Json.Serialization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using LowLatency.Codecs.Binance;
using LowLatency.Connectors.Replay;
using LowLatency.Market;

namespace LowLatency.Benchmarks.Codecs;

/// <summary>
/// Decode cost per message (ns, bytes) of <see cref="BinanceDecoder"/> for the three hot stream types, each against
/// the baseline a .NET developer would otherwise write: <see cref="JsonSerializer.Deserialize{TValue}(ReadOnlySpan{byte}, JsonSerializerOptions?)"/>
/// into a plain class with <c>decimal</c> prices read from strings. The frames are real ones from the BTCUSDT recording;
/// the mix is the perf scenario's feed (<see cref="MarketDataGenerator"/> defaults: 50 symbols × trade, bookTicker,
/// depth), per frame, against the general path alone.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class BinanceDecoderBenchmarks
{
    private const int MixedFrames = BinanceSampleFrames.MixedCount;

    private static readonly JsonSerializerOptions s_options = new() { NumberHandling = JsonNumberHandling.AllowReadingFromString };

    private readonly byte[] _trade = BinanceSampleFrames.Trade;
    private readonly byte[] _bookTicker = BinanceSampleFrames.BookTicker;
    private readonly byte[] _depthUpdate = BinanceSampleFrames.DepthUpdate;

    private BinanceDecoder _decoder = null!;
    private BinanceDecoder _generalDecoder = null!;
    private MarketEvent _event;
    private byte[][] _mixed = null!;

    [GlobalSetup]
    public void Setup()
    {
        _decoder = new BinanceDecoder(new SymbolTable());
        _generalDecoder = new BinanceDecoder(new SymbolTable()) { UseFastPath = false };
        _event = MarketEvent.Create();
        var generator = new MarketDataGenerator();
        _mixed = BinanceSampleFrames.Mixed(generator);
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Trade")]
    public StjMessage<StjTrade>? Trade_JsonSerializer() => JsonSerializer.Deserialize<StjMessage<StjTrade>>(_trade, s_options);

    [Benchmark]
    [BenchmarkCategory("Trade")]
    public long Trade_BinanceDecoder()
    {
        _decoder.Decode(_trade, ref _event);
        return _event.Payload.Trade.TradeId;
    }

    /// <summary>The same frame through the general path only (the fast path switched off): what any other shape costs.</summary>
    [Benchmark]
    [BenchmarkCategory("Trade")]
    public long Trade_BinanceDecoderGeneralPath()
    {
        _generalDecoder.Decode(_trade, ref _event);
        return _event.Payload.Trade.TradeId;
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("BookTicker")]
    public StjMessage<StjBookTicker>? BookTicker_JsonSerializer() => JsonSerializer.Deserialize<StjMessage<StjBookTicker>>(_bookTicker, s_options);

    [Benchmark]
    [BenchmarkCategory("BookTicker")]
    public long BookTicker_BinanceDecoder()
    {
        _decoder.Decode(_bookTicker, ref _event);
        return _event.Payload.BookTicker.UpdateId;
    }

    /// <summary>The same frame through the general path only (the fast path switched off).</summary>
    [Benchmark]
    [BenchmarkCategory("BookTicker")]
    public long BookTicker_BinanceDecoderGeneralPath()
    {
        _generalDecoder.Decode(_bookTicker, ref _event);
        return _event.Payload.BookTicker.UpdateId;
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("DepthUpdate")]
    public StjMessage<StjDepthUpdate>? DepthUpdate_JsonSerializer() => JsonSerializer.Deserialize<StjMessage<StjDepthUpdate>>(_depthUpdate, s_options);

    [Benchmark]
    [BenchmarkCategory("DepthUpdate")]
    public long DepthUpdate_BinanceDecoder()
    {
        _decoder.Decode(_depthUpdate, ref _event);
        return _event.Payload.Depth.FinalUpdateId;
    }

    /// <summary>The perf scenario's mix through the general path only, per frame.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = MixedFrames)]
    [BenchmarkCategory("Mixed")]
    public long Mixed_BinanceDecoderGeneralPath()
    {
        long sum = 0;
        foreach (var frame in _mixed)
        {
            _generalDecoder.Decode(frame, ref _event);
            sum += _event.SymbolId;
        }

        return sum;
    }

    /// <summary>The perf scenario's mix, per frame.</summary>
    [Benchmark(OperationsPerInvoke = MixedFrames)]
    [BenchmarkCategory("Mixed")]
    public long Mixed_BinanceDecoder()
    {
        long sum = 0;
        foreach (var frame in _mixed)
        {
            _decoder.Decode(frame, ref _event);
            sum += _event.SymbolId;
        }

        return sum;
    }

    /// <summary>The combined-stream wrapper.</summary>
    public sealed class StjMessage<T>
    {
        [JsonPropertyName("stream")]
        public string? Stream { get; set; }

        [JsonPropertyName("data")]
        public T? Data { get; set; }
    }

    /// <summary>A trade, as a user would map it.</summary>
    public sealed class StjTrade
    {
        [JsonPropertyName("e")]
        public string? EventType { get; set; }

        [JsonPropertyName("E")]
        public long EventTime { get; set; }

        [JsonPropertyName("s")]
        public string? Symbol { get; set; }

        [JsonPropertyName("t")]
        public long TradeId { get; set; }

        [JsonPropertyName("p")]
        public decimal Price { get; set; }

        [JsonPropertyName("q")]
        public decimal Quantity { get; set; }

        [JsonPropertyName("T")]
        public long TradeTime { get; set; }

        [JsonPropertyName("m")]
        public bool IsBuyerMaker { get; set; }
    }

    /// <summary>A bookTicker, as a user would map it.</summary>
    public sealed class StjBookTicker
    {
        [JsonPropertyName("u")]
        public long UpdateId { get; set; }

        [JsonPropertyName("s")]
        public string? Symbol { get; set; }

        [JsonPropertyName("b")]
        public decimal BidPrice { get; set; }

        [JsonPropertyName("B")]
        public decimal BidQuantity { get; set; }

        [JsonPropertyName("a")]
        public decimal AskPrice { get; set; }

        [JsonPropertyName("A")]
        public decimal AskQuantity { get; set; }
    }

    /// <summary>A depthUpdate, as a user would map it.</summary>
    public sealed class StjDepthUpdate
    {
        [JsonPropertyName("e")]
        public string? EventType { get; set; }

        [JsonPropertyName("E")]
        public long EventTime { get; set; }

        [JsonPropertyName("s")]
        public string? Symbol { get; set; }

        [JsonPropertyName("U")]
        public long FirstUpdateId { get; set; }

        [JsonPropertyName("u")]
        public long FinalUpdateId { get; set; }

        [JsonPropertyName("b")]
        public List<List<decimal>>? Bids { get; set; }

        [JsonPropertyName("a")]
        public List<List<decimal>>? Asks { get; set; }
    }
}

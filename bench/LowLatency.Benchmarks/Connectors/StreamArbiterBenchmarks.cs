using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using LowLatency.Benchmarks.Codecs;
using LowLatency.Connectors.Binance;
using LowLatency.Connectors.Replay;

namespace LowLatency.Benchmarks.Connectors;

/// <summary>
/// Cost per frame (ns, bytes) of <see cref="StreamArbiter.Inspect"/>, the receive thread's read of a frame's stream name
/// and sequence ids before it is decoded, against the arbiter's general path (<see cref="StreamArbiter.InspectGeneral"/>,
/// the decoder's JSON scanner over the whole frame) as the baseline. Single frames are real ones from the BTCUSDT
/// recording (the same as BinanceDecoderBenchmarks'); the mix is the perf scenario's feed
/// (<see cref="MarketDataGenerator"/> defaults: 50 symbols × trade, bookTicker, depth), per frame.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class StreamArbiterBenchmarks
{
    private const int MixedFrames = BinanceSampleFrames.MixedCount;

    private readonly byte[] _trade = BinanceSampleFrames.Trade;
    private readonly byte[] _bookTicker = BinanceSampleFrames.BookTicker;
    private readonly byte[] _depthUpdate = BinanceSampleFrames.DepthUpdate;

    private StreamArbiter _arbiter = null!;
    private byte[][] _mixed = null!;

    [GlobalSetup]
    public void Setup()
    {
        var generator = new MarketDataGenerator();
        _arbiter = new StreamArbiter(1_024, 2, 0);
        foreach (var symbol in generator.Symbols)
        {
            var lower = symbol.ToLowerInvariant();
            _arbiter.Register(lower + "@trade", 0);
            _arbiter.Register(lower + "@bookTicker", 0);
            _arbiter.Register(lower + "@depth@100ms", 0);
        }

        _mixed = BinanceSampleFrames.Mixed(generator);
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Trade")]
    public long Trade_General()
    {
        _arbiter.InspectGeneral(_trade, out var facts);
        return facts.First + facts.StreamId;
    }

    [Benchmark]
    [BenchmarkCategory("Trade")]
    public long Trade_Inspect()
    {
        _arbiter.Inspect(_trade, out var facts);
        return facts.First + facts.StreamId;
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("BookTicker")]
    public long BookTicker_General()
    {
        _arbiter.InspectGeneral(_bookTicker, out var facts);
        return facts.First + facts.StreamId;
    }

    [Benchmark]
    [BenchmarkCategory("BookTicker")]
    public long BookTicker_Inspect()
    {
        _arbiter.Inspect(_bookTicker, out var facts);
        return facts.First + facts.StreamId;
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("DepthUpdate")]
    public long DepthUpdate_General()
    {
        _arbiter.InspectGeneral(_depthUpdate, out var facts);
        return facts.First + facts.StreamId;
    }

    [Benchmark]
    [BenchmarkCategory("DepthUpdate")]
    public long DepthUpdate_Inspect()
    {
        _arbiter.Inspect(_depthUpdate, out var facts);
        return facts.First + facts.StreamId;
    }

    /// <summary>The perf scenario's mix, per frame.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = MixedFrames)]
    [BenchmarkCategory("Mixed")]
    public long Mixed_General()
    {
        long sum = 0;
        foreach (var frame in _mixed)
        {
            _arbiter.InspectGeneral(frame, out var facts);
            sum += facts.First + facts.StreamId;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = MixedFrames)]
    [BenchmarkCategory("Mixed")]
    public long Mixed_Inspect()
    {
        long sum = 0;
        foreach (var frame in _mixed)
        {
            _arbiter.Inspect(frame, out var facts);
            sum += facts.First + facts.StreamId;
        }

        return sum;
    }
}

using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
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
    private const int MixedFrames = 4_096;

    private readonly byte[] _trade =
        """{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"""u8.ToArray();

    private readonly byte[] _bookTicker =
        """{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"""u8.ToArray();

    private readonly byte[] _depthUpdate =
        """{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":50093239189,"u":50093239202,"b":[["61737.63000000","0.00000000"],["61730.17000000","0.00000000"],["56854.58000000","0.00000000"]],"a":[["61837.64000000","1.54698000"],["61839.85000000","0.00000000"],["61839.86000000","0.00000000"],["61845.11000000","0.32329000"],["61848.49000000","0.00000000"],["61855.45000000","0.32323000"],["61862.51000000","0.05041000"],["61862.52000000","0.00000000"],["61937.64000000","0.02000000"]]}}"""u8.ToArray();

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

        var buffer = new byte[generator.MaxFrameBytes];
        _mixed = new byte[MixedFrames][];
        for (var i = 0; i < MixedFrames; i++)
        {
            _mixed[i] = buffer.AsSpan(0, generator.WriteNext(buffer, out _)).ToArray();
        }
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

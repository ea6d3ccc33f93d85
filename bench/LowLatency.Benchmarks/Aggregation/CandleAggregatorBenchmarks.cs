using BenchmarkDotNet.Attributes;
using LowLatency.Aggregation;
using LowLatency.Market;

namespace LowLatency.Benchmarks.Aggregation;

/// <summary>
/// Cost per trade of building candles for 5 intervals (1 s, 1 min, 5 min, 15 min, 1 h) over 50 symbols, against what a
/// .NET developer would otherwise write: a dictionary keyed by (symbol, interval, bucket) of candle objects with
/// <c>decimal</c> arithmetic. Both see the same trades (prices parsed beforehand) in time order.
/// </summary>
[MemoryDiagnoser]
public class CandleAggregatorBenchmarks
{
    private const int Trades = 1 << 16;
    private const int Symbols = 50;
    private static readonly long[] s_intervalsNs = [1_000_000_000L, 60_000_000_000L, 300_000_000_000L, 900_000_000_000L, 3_600_000_000_000L];

    private int[] _symbol = null!;
    private long[] _id = null!;
    private long[] _price = null!;
    private long[] _quantity = null!;
    private long[] _time = null!;
    private bool[] _buyerMaker = null!;
    private long _timeOffset;

    private CandleAggregator _aggregator = null!;
    private Dictionary<(int Symbol, int Interval, long Bucket), NaiveCandle> _naive = null!;

    private sealed class NaiveCandle
    {
        public decimal Open;
        public decimal High;
        public decimal Low;
        public decimal Close;
        public decimal Volume;
        public decimal QuoteVolume;
        public long Count;
    }

    private struct CountingSink : ICandleSink
    {
        public long Closed;

        public void OnCandleClosed(in Candle candle) => Closed++;
    }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _symbol = new int[Trades];
        _id = new long[Trades];
        _price = new long[Trades];
        _quantity = new long[Trades];
        _time = new long[Trades];
        _buyerMaker = new bool[Trades];
        var time = 1_723_161_253_000_000_000L;
        var ids = new long[Symbols];
        for (var i = 0; i < Trades; i++)
        {
            var s = Math.Min(Symbols - 1, (int)(Symbols * Math.Pow(random.NextDouble(), 3))); // skewed activity
            time += random.Next(0, 2_000_000);
            _symbol[i] = s;
            _id[i] = ids[s]++;
            _price[i] = 6_000_000_000_000 + random.Next(-100_000_000, 100_000_000);
            _quantity[i] = random.Next(1, 100_000_000);
            _time[i] = time;
            _buyerMaker[i] = random.Next(2) == 0;
        }

        _aggregator = new CandleAggregator(new CandleAggregatorOptions { SymbolCapacity = Symbols });
        _naive = [];
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Trades)]
    public int DictionaryOfDecimalCandles()
    {
        // Each invocation continues in time, as a live stream would.
        var offset = _timeOffset;
        _timeOffset += _time[^1] - _time[0] + 1;
        for (var i = 0; i < Trades; i++)
        {
            var price = _price[i] / 100_000_000m;
            var quantity = _quantity[i] / 100_000_000m;
            for (var k = 0; k < s_intervalsNs.Length; k++)
            {
                var key = (_symbol[i], k, (_time[i] + offset) / s_intervalsNs[k]);
                if (!_naive.TryGetValue(key, out var candle))
                {
                    candle = new NaiveCandle { Open = price, High = price, Low = price };
                    _naive[key] = candle;
                }

                candle.High = Math.Max(candle.High, price);
                candle.Low = Math.Min(candle.Low, price);
                candle.Close = price;
                candle.Volume += quantity;
                candle.QuoteVolume += price * quantity;
                candle.Count++;
            }
        }

        if (_naive.Count > 1_000_000)
        {
            _naive.Clear(); // the naive version never closes candles; keep its memory bounded between iterations
        }

        return _naive.Count;
    }

    [Benchmark(OperationsPerInvoke = Trades)]
    public long CandleAggregator()
    {
        var sink = new CountingSink();
        var offset = _timeOffset;
        _timeOffset += _time[^1] - _time[0] + 1;
        for (var i = 0; i < Trades; i++)
        {
            _aggregator.OnTrade(_symbol[i], _id[i], new Price(_price[i]), new Quantity(_quantity[i]), _time[i] + offset, _buyerMaker[i], SourcePosition.None, ref sink);
        }

        return sink.Closed;
    }
}

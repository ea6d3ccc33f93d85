using LowLatency.Market;
using LowLatency.TestSupport;

namespace LowLatency.Aggregation.Tests;

public sealed class CandleAggregatorTests
{
    private const long Second = 1_000_000_000;
    private static readonly long s_start = new DateTimeOffset(2024, 8, 8, 23, 54, 13, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000;

    internal readonly record struct Trade(int Symbol, long Id, long Price, long Quantity, long TimeNs, bool BuyerMaker);

    internal struct CollectingSink : ICandleSink
    {
        public List<Candle> Candles;

        public readonly void OnCandleClosed(in Candle candle) => Candles.Add(candle);
    }

    /// <summary>Trades for several symbols: consecutive ids, prices as a random walk, times increasing with bursts and quiet spells.</summary>
    internal static List<Trade> GenerateTrades(int seed, int symbols, int perSymbol)
    {
        var random = new Random(seed);
        var trades = new List<Trade>();
        for (var s = 0; s < symbols; s++)
        {
            var time = s_start + random.NextInt64(0, Second);
            var price = 6_000_000_000_000L + random.NextInt64(-1_000_000_000, 1_000_000_000);
            for (var i = 0; i < perSymbol; i++)
            {
                time += random.Next(10) == 0 ? random.NextInt64(0, 5 * Second) : random.NextInt64(0, 50_000_000);
                price += random.NextInt64(-5_000_000, 5_000_001);
                trades.Add(new Trade(s, 1000 + i, price, random.NextInt64(1, 200_000_000), time, random.Next(2) == 0));
            }
        }

        return [.. trades.OrderBy(t => t.TimeNs).ThenBy(t => t.Symbol)];
    }

    internal static List<Candle> Aggregate(IEnumerable<Trade> trades, CandleAggregatorOptions options, out CandleAggregator aggregator)
    {
        aggregator = new CandleAggregator(options);
        var sink = new CollectingSink { Candles = [] };
        foreach (var t in trades)
        {
            aggregator.OnTrade(t.Symbol, t.Id, new Price(t.Price), new Quantity(t.Quantity), t.TimeNs, t.BuyerMaker, SourcePosition.None, ref sink);
        }

        aggregator.FlushAll(ref sink);
        return sink.Candles;
    }

    /// <summary>The independent reference: group with LINQ, compute with decimal.</summary>
    private static void AssertEqualsReference(List<Trade> trades, List<Candle> candles, CandleAggregatorOptions options)
    {
        for (var k = 0; k < options.Intervals.Count; k++)
        {
            var interval = options.Intervals[k].Ticks * 100;
            var expected = trades
                .GroupBy(t => (t.Symbol, Bucket: t.TimeNs / interval * interval))
                .OrderBy(g => g.Key.Symbol).ThenBy(g => g.Key.Bucket)
                .ToList();
            var actual = candles.Where(c => c.IntervalIndex == k).OrderBy(c => c.SymbolId).ThenBy(c => c.OpenTimeNs).ToList();
            Assert.Equal(expected.Count, actual.Count);

            for (var i = 0; i < expected.Count; i++)
            {
                var g = expected[i].OrderBy(t => t.Id).ToList();
                var c = actual[i];
                var volume = g.Sum(t => (decimal)t.Quantity / 1e8m);
                var quote = g.Sum(t => (decimal)t.Price / 1e8m * ((decimal)t.Quantity / 1e8m));
                var takerBuyQuote = g.Where(t => !t.BuyerMaker).Sum(t => (decimal)t.Price / 1e8m * ((decimal)t.Quantity / 1e8m));

                Assert.Equal(expected[i].Key.Symbol, c.SymbolId);
                Assert.Equal(expected[i].Key.Bucket, c.OpenTimeNs);
                Assert.Equal(g[0].Price, c.Open.Mantissa);
                Assert.Equal(g[^1].Price, c.Close.Mantissa);
                Assert.Equal(g.Max(t => t.Price), c.High.Mantissa);
                Assert.Equal(g.Min(t => t.Price), c.Low.Mantissa);
                Assert.Equal(volume, c.Volume.ToDecimal());
                Assert.Equal(quote, (decimal)c.QuoteVolumeRaw / 1e16m);
                Assert.Equal(takerBuyQuote, (decimal)c.TakerBuyQuoteVolumeRaw / 1e16m);
                Assert.Equal(g.Where(t => !t.BuyerMaker).Sum(t => t.Quantity), c.TakerBuyVolume.Mantissa);
                Assert.Equal(g.Count, c.TradeCount);
                Assert.Equal(g[0].Id, c.FirstTradeId);
                Assert.Equal(g[^1].Id, c.LastTradeId);
                Assert.Equal(decimal.Truncate(quote / volume * 1e8m), c.Vwap.Mantissa);
                Assert.False(c.HasGap);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void OnTrade_InOrder_EqualsDecimalReferenceForEveryInterval(int seed)
    {
        var options = new CandleAggregatorOptions();
        var trades = GenerateTrades(seed, symbols: 5, perSymbol: 4000);
        var candles = Aggregate(trades, options, out var aggregator);

        AssertEqualsReference(trades, candles, options);
        Assert.All(Enumerable.Range(0, 5), s => Assert.Equal(0, aggregator.TooLateTrades(s)));
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void OnTrade_ShuffledWithinLateness_SameClosedCandles(int seed)
    {
        var options = new CandleAggregatorOptions { AllowedLateness = TimeSpan.FromSeconds(2) };
        var trades = GenerateTrades(seed, symbols: 4, perSymbol: 3000);
        var random = new Random(seed);

        // Arrival order sorted by time plus a jitter below the lateness: no trade arrives after one that is 2 s newer.
        var shuffled = trades.OrderBy(t => t.TimeNs + random.NextInt64(0, (2 * Second) - 1)).ToList();
        Assert.NotEqual(trades, shuffled);

        var inOrder = Aggregate(trades, options, out _);
        var outOfOrder = Aggregate(shuffled, options, out var aggregator);

        static object Key(Candle c) => (c.SymbolId, c.IntervalIndex, c.OpenTimeNs, c.Open, c.High, c.Low, c.Close, c.Volume,
            c.QuoteVolumeRaw, c.TakerBuyVolume, c.TakerBuyQuoteVolumeRaw, c.TradeCount, c.FirstTradeId, c.LastTradeId, c.HasGap);
        Assert.Equal(
            inOrder.Select(Key).OrderBy(k => k.ToString()).ToList(),
            outOfOrder.Select(Key).OrderBy(k => k.ToString()).ToList());
        Assert.True(outOfOrder.Sum(c => c.LateTrades) > 0, "the shuffle produced no late trades");
        Assert.All(Enumerable.Range(0, 4), s => Assert.Equal(0, aggregator.TooLateTrades(s)));
    }

    [Fact]
    public void OnTrade_BeyondLateness_IsCountedNotApplied()
    {
        var aggregator = new CandleAggregator(new CandleAggregatorOptions { Intervals = [TimeSpan.FromSeconds(1)], AllowedLateness = TimeSpan.FromSeconds(1) });
        var sink = new CollectingSink { Candles = [] };
        Assert.True(aggregator.OnTrade(0, 1, Price.Parse("10"), Quantity.Parse("1"), s_start, false, SourcePosition.None, ref sink));
        Assert.True(aggregator.OnTrade(0, 3, Price.Parse("11"), Quantity.Parse("1"), s_start + (3 * Second), false, SourcePosition.None, ref sink));
        Assert.Single(sink.Candles); // the first second closed: the watermark passed its end

        Assert.False(aggregator.OnTrade(0, 2, Price.Parse("99"), Quantity.Parse("1"), s_start + (Second / 2), false, SourcePosition.None, ref sink));
        Assert.Equal(1, aggregator.TooLateTrades(0));
        Assert.Equal(Price.Parse("10"), sink.Candles[0].High); // the late trade changed nothing

        aggregator.FlushAll(ref sink);
        Assert.Equal(2, sink.Candles.Count);
        Assert.True(sink.Candles[1].HasGap); // id 2 was never applied: ids 1 and 3 are not consecutive
    }

    [Fact]
    public void OnTrade_TradeIdGap_FlagsTheCandleAndCountsPerSymbol()
    {
        var aggregator = new CandleAggregator(new CandleAggregatorOptions { Intervals = [TimeSpan.FromSeconds(1)] });
        var sink = new CollectingSink { Candles = [] };
        long[] ids = [100, 101, 102, 110, 111];
        for (var i = 0; i < ids.Length; i++)
        {
            aggregator.OnTrade(7, ids[i], Price.Parse("1"), Quantity.Parse("1"), s_start + (i * Second), true, SourcePosition.None, ref sink);
        }

        aggregator.FlushAll(ref sink);
        Assert.Equal([false, false, false, true, false], sink.Candles.Select(c => c.HasGap));
        Assert.Equal(1, aggregator.Gaps(7));
        Assert.Equal(7, aggregator.MissingTrades(7));
    }

    [Fact]
    public void OnTrade_QuietPeriod_InventsNoFlatCandles()
    {
        var aggregator = new CandleAggregator(new CandleAggregatorOptions { Intervals = [TimeSpan.FromSeconds(1)] });
        var sink = new CollectingSink { Candles = [] };
        aggregator.OnTrade(0, 1, Price.Parse("1"), Quantity.Parse("1"), s_start, true, SourcePosition.None, ref sink);
        aggregator.OnTrade(0, 2, Price.Parse("2"), Quantity.Parse("1"), s_start + (60 * Second), true, SourcePosition.None, ref sink);
        aggregator.FlushAll(ref sink);
        Assert.Equal(2, sink.Candles.Count);
        Assert.Equal(60 * Second, sink.Candles[1].OpenTimeNs - sink.Candles[0].OpenTimeNs);
    }

    [Fact]
    public void AdvanceTime_ClosesBucketsWithoutATrade()
    {
        var aggregator = new CandleAggregator(new CandleAggregatorOptions { Intervals = [TimeSpan.FromSeconds(1)], AllowedLateness = TimeSpan.Zero });
        var sink = new CollectingSink { Candles = [] };
        aggregator.OnTrade(0, 1, Price.Parse("1"), Quantity.Parse("1"), s_start, true, SourcePosition.None, ref sink);
        Assert.Empty(sink.Candles);
        aggregator.AdvanceTime(0, s_start + Second, ref sink); // e.g. a book ticker of the next second
        Assert.Single(sink.Candles);
    }

    [Fact]
    public void OldestOpenPosition_FollowsTheOldestOpenCandleOfAnyInterval()
    {
        var aggregator = new CandleAggregator(new CandleAggregatorOptions
        {
            Intervals = [TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)],
            AllowedLateness = TimeSpan.Zero,
        });
        var sink = new CollectingSink { Candles = [] };
        Assert.Equal(SourcePosition.None, aggregator.OldestOpenPosition(0));

        aggregator.OnTrade(0, 1, Price.Parse("1"), Quantity.Parse("1"), s_start, true, SourcePosition.Compose(3, 100), ref sink);
        aggregator.OnTrade(0, 2, Price.Parse("1"), Quantity.Parse("1"), s_start + (2 * Second), true, SourcePosition.Compose(3, 101), ref sink);

        // The first 1s candle closed, but the 1m candle that holds offset 100 is still open.
        Assert.Single(sink.Candles);
        Assert.Equal(SourcePosition.Compose(3, 100), sink.Candles[0].FirstPosition);
        Assert.Equal(SourcePosition.Compose(3, 100), aggregator.OldestOpenPosition(0));
        Assert.Equal(SourcePosition.None, aggregator.OldestOpenPosition(1));

        // The next minute closes everything that held offsets 100 and 101.
        aggregator.OnTrade(0, 3, Price.Parse("1"), Quantity.Parse("1"), s_start + (61 * Second), true, SourcePosition.Compose(3, 102), ref sink);
        Assert.Equal(SourcePosition.Compose(3, 102), aggregator.OldestOpenPosition(0));
        Assert.Equal(SourcePosition.Compose(3, 100), sink.Candles.Single(c => c.IntervalNs == 60 * Second).FirstPosition);
    }

    [Fact]
    public void SourcePosition_ComposeAndSplit_RoundTrip()
    {
        var position = SourcePosition.Compose(SourcePosition.MaxPartitions - 1, SourcePosition.MaxOffset);
        Assert.True(position > 0);
        Assert.Equal(SourcePosition.MaxPartitions - 1, SourcePosition.PartitionOf(position));
        Assert.Equal(SourcePosition.MaxOffset, SourcePosition.OffsetOf(position));
        Assert.True(SourcePosition.Compose(1, 0) > SourcePosition.Compose(0, SourcePosition.MaxOffset));
        Assert.Throws<ArgumentOutOfRangeException>(() => SourcePosition.Compose(SourcePosition.MaxPartitions, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SourcePosition.Compose(0, -1));
    }

    private struct CountingSink : ICandleSink
    {
        public long Count;

        public void OnCandleClosed(in Candle candle) => Count++;
    }

    [Fact]
    public void OnTrade_AfterWarmUp_AllocatesNothing()
    {
        var aggregator = new CandleAggregator();
        var sink = new CountingSink();
        var time = s_start;
        long id = 0;
        Allocations.AssertNone(
            () =>
            {
                for (var i = 0; i < 100_000; i++)
                {
                    time += 7_000_000;
                    aggregator.OnTrade((int)(id % 16), id, new Price(6_000_000_000_000 + (i % 1000)), new Quantity(1_000_000), time, (i & 1) == 0, SourcePosition.None, ref sink);
                    id++;
                }
            },
            "candle aggregation");
        Assert.True(sink.Count > 0);
    }
}

using FsCheck;
using FsCheck.Fluent;

namespace LowLatency.Aggregation.Tests;

/// <summary>
/// FsCheck properties of the candle aggregation: for generated trade streams (seed, number of symbols, jitter, shard
/// count all drawn by FsCheck, which shrinks a failing case to a small one), the closed candles do not depend on the
/// arrival order within the allowed lateness, nor on how symbols are split across shards.
/// </summary>
public sealed class CandlePropertyTests
{
    private const long Second = 1_000_000_000;
    private static readonly Config s_config = Config.QuickThrowOnFailure.WithMaxTest(25);

    private static object Key(Candle c) => (c.SymbolId, c.IntervalIndex, c.OpenTimeNs, c.Open, c.High, c.Low, c.Close, c.Volume,
        c.QuoteVolumeRaw, c.TakerBuyVolume, c.TakerBuyQuoteVolumeRaw, c.TradeCount, c.FirstTradeId, c.LastTradeId, c.HasGap);

    private static List<string> Keys(IEnumerable<Candle> candles) => [.. candles.Select(Key).Select(k => k.ToString()!).Order(StringComparer.Ordinal)];

    [Fact]
    public void Property_ShufflingWithinTheLateness_ChangesNoClosedCandle()
    {
        var cases =
            from seed in Gen.Choose(0, 100_000)
            from symbols in Gen.Choose(1, 6)
            from jitterMs in Gen.Choose(0, 1_999) // strictly below the 2 s lateness
            select (seed, symbols, jitterMs);

        Check.One(s_config, Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var options = new CandleAggregatorOptions { AllowedLateness = TimeSpan.FromSeconds(2), SymbolCapacity = 8 };
            var trades = CandleAggregatorTests.GenerateTrades(c.seed, c.symbols, perSymbol: 400);
            var random = new Random(c.seed);
            var shuffled = trades.OrderBy(t => t.TimeNs + random.NextInt64(0, (c.jitterMs * 1_000_000L) + 1)).ToList();

            var inOrder = CandleAggregatorTests.Aggregate(trades, options, out _);
            var outOfOrder = CandleAggregatorTests.Aggregate(shuffled, options, out var aggregator);
            return Keys(inOrder).SequenceEqual(Keys(outOfOrder))
                && Enumerable.Range(0, c.symbols).All(s => aggregator.TooLateTrades(s) == 0);
        }));
    }

    [Fact]
    public void Property_SplittingSymbolsAcrossShards_ChangesNoSymbolsCandles()
    {
        var cases =
            from seed in Gen.Choose(0, 100_000)
            from symbols in Gen.Choose(1, 8)
            from shards in Gen.Choose(1, 5)
            select (seed, symbols, shards);

        Check.One(s_config, Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var options = new CandleAggregatorOptions { SymbolCapacity = 8 };
            var trades = CandleAggregatorTests.GenerateTrades(c.seed, c.symbols, perSymbol: 300);
            var whole = CandleAggregatorTests.Aggregate(trades, options, out _);
            var split = Enumerable.Range(0, c.shards)
                .SelectMany(k => CandleAggregatorTests.Aggregate(trades.Where(t => t.Symbol % c.shards == k), options, out _));
            return Keys(whole).SequenceEqual(Keys(split));
        }));
    }

    [Fact]
    public void Property_TooLateTrades_AreNeverApplied()
    {
        // A trade delayed by more than lateness + one interval behind the newest trade of its symbol must be counted
        // as too late and leave every candle as if it had never existed.
        var cases =
            from seed in Gen.Choose(0, 100_000)
            from victim in Gen.Choose(0, 199)
            select (seed, victim);

        Check.One(s_config, Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var options = new CandleAggregatorOptions { Intervals = [TimeSpan.FromSeconds(1)], AllowedLateness = TimeSpan.FromSeconds(1), SymbolCapacity = 2 };
            var trades = CandleAggregatorTests.GenerateTrades(c.seed, symbols: 1, perSymbol: 200);
            var delayed = trades[c.victim];
            var lastTime = trades[^1].TimeNs;
            if (lastTime - delayed.TimeNs <= 3 * Second)
            {
                return true; // not late enough to be dropped in this stream: nothing to check
            }

            var arrival = trades.Where((_, i) => i != c.victim).Append(delayed).ToList();
            var withDrop = CandleAggregatorTests.Aggregate(arrival, options, out var aggregator);
            var without = CandleAggregatorTests.Aggregate(trades.Where((_, i) => i != c.victim), options, out _);
            return aggregator.TooLateTrades(0) == 1
                && Keys(withDrop.Select(x => x with { HasGap = false })).SequenceEqual(Keys(without.Select(x => x with { HasGap = false })));
        }));
    }
}

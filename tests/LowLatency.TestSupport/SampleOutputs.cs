using LowLatency.Aggregation;
using LowLatency.Market;

namespace LowLatency.TestSupport;

/// <summary>Output events with fixed, recognisable values, for the store sinks' tests.</summary>
public static class SampleOutputs
{
    /// <summary>
    /// A closed 1-minute candle of <paramref name="symbol"/> opening at <paramref name="openMs"/>: open 2601.12345678,
    /// high 2610, low 2600, close -0.00000001 (the smallest mantissa, negative), volume 3, 7 trades (ids 10–16); price
    /// change 0.5 %, the other metrics undefined (NaN).
    /// </summary>
    public static OutputEvent Candle(SymbolTable symbols, string symbol, long openMs, bool hasGap = false)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        var id = symbols.GetOrAdd(symbol);
        return new OutputEvent
        {
            Kind = OutputKind.Candle,
            SymbolId = id,
            Candle = new Candle
            {
                SymbolId = id,
                IntervalNs = 60_000_000_000,
                OpenTimeNs = openMs * 1_000_000,
                Open = Price.Parse("2601.12345678"),
                High = Price.Parse("2610"),
                Low = Price.Parse("2600"),
                Close = new Price(-1),
                Volume = Quantity.Parse("3"),
                TradeCount = 7,
                FirstTradeId = 10,
                LastTradeId = 16,
                HasGap = hasGap,
            },
            Metrics = new CandleMetrics(PriceChangePercent: 0.5, BuySellRatio: double.NaN, LogReturn: double.NaN, RollingVolatility: double.NaN, RollingCount: 0),
        };
    }
}

using LowLatency.Market;

namespace LowLatency.Aggregation;

/// <summary>
/// One closed (or, while aggregating, open) OHLCV candle of one symbol and interval. Prices and base volumes are
/// 8-decimal fixed-point mantissas; quote volumes are exact sums of price × quantity at 16 decimals (<see cref="Int128"/>),
/// so VWAP and quote volume carry no rounding error however many trades a candle holds.
/// </summary>
public struct Candle
{
    /// <summary>The symbol's dense id.</summary>
    public int SymbolId;

    /// <summary>The interval's index in the aggregator's <see cref="CandleAggregatorOptions.Intervals"/>.</summary>
    public int IntervalIndex;

    /// <summary>The interval length, ns.</summary>
    public long IntervalNs;

    /// <summary>Start of the bucket (inclusive), ns since the Unix epoch; the bucket ends at OpenTimeNs + IntervalNs.</summary>
    public long OpenTimeNs;

    /// <summary>Price of the first trade (lowest trade id) in the bucket.</summary>
    public Price Open;

    /// <summary>Highest trade price.</summary>
    public Price High;

    /// <summary>Lowest trade price.</summary>
    public Price Low;

    /// <summary>Price of the last trade (highest trade id) in the bucket.</summary>
    public Price Close;

    /// <summary>Sum of trade quantities (base asset).</summary>
    public Quantity Volume;

    /// <summary>Sum of price × quantity, 16 decimals (quote asset).</summary>
    public Int128 QuoteVolumeRaw;

    /// <summary>Base volume of trades whose taker was the buyer (buyer is not the maker).</summary>
    public Quantity TakerBuyVolume;

    /// <summary>Quote volume of taker-buy trades, 16 decimals.</summary>
    public Int128 TakerBuyQuoteVolumeRaw;

    /// <summary>Number of trades.</summary>
    public long TradeCount;

    /// <summary>Lowest trade id in the bucket.</summary>
    public long FirstTradeId;

    /// <summary>Highest trade id in the bucket.</summary>
    public long LastTradeId;

    /// <summary>
    /// True if trade ids are missing: inside the bucket (<c>LastTradeId - FirstTradeId + 1 != TradeCount</c>) or between
    /// this candle and the previous closed one of the symbol and interval. Binance trade ids are consecutive per symbol,
    /// so a gap means trades this engine never saw (an outage), and the candle is not to be trusted as complete.
    /// </summary>
    public bool HasGap;

    /// <summary>Trades that arrived after a later trade of the symbol but within the allowed lateness, and were applied.</summary>
    public int LateTrades;

    /// <summary>
    /// The lowest source position (<see cref="SourcePosition"/>) of the candle's trades: a source may commit past it only
    /// once the candle has been written, or a restart would rebuild the candle without its first trades.
    /// </summary>
    public long FirstPosition;

    /// <summary>Quote volume rounded to 8 decimals.</summary>
    public readonly Quantity QuoteVolume => new((long)(QuoteVolumeRaw / FixedPoint.Scale));

    /// <summary>Taker-buy quote volume rounded to 8 decimals.</summary>
    public readonly Quantity TakerBuyQuoteVolume => new((long)(TakerBuyQuoteVolumeRaw / FixedPoint.Scale));

    /// <summary>Volume-weighted average price (quote volume / base volume), truncated to 8 decimals; zero without volume.</summary>
    public readonly Price Vwap => Volume.Mantissa == 0 ? default : new((long)(QuoteVolumeRaw / Volume.Mantissa));

    /// <summary>End of the bucket (exclusive), ns.</summary>
    public readonly long CloseTimeNs => OpenTimeNs + IntervalNs;
}

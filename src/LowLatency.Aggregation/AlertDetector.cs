using LowLatency.Market;

namespace LowLatency.Aggregation;

/// <summary>The kinds of anomaly the engine reports.</summary>
public enum AlertKind : byte
{
    /// <summary>One trade's notional (price × quantity) above <see cref="AlertOptions.WhaleNotional"/>.</summary>
    WhaleTrade = 1,

    /// <summary>A closed one-minute candle's quote volume above <see cref="AlertOptions.VolumeSpikeQuoteVolume"/>.</summary>
    VolumeSpike = 2,

    /// <summary>A closed one-minute candle that moved more than <see cref="AlertOptions.PriceSpikePercent"/> from open to close.</summary>
    PriceSpike = 3,
}

/// <summary>An anomaly. <see cref="Id"/> is deterministic (kind, symbol and the trade id or candle open time), so a
/// replay produces the same ids and stores can write alerts idempotently.</summary>
public struct Alert
{
    /// <summary>What was detected.</summary>
    public AlertKind Kind;

    /// <summary>The symbol's dense id.</summary>
    public int SymbolId;

    /// <summary>Trade time (whale) or candle open time (spikes), ns since the Unix epoch.</summary>
    public long TimeNs;

    /// <summary>The trade id (whale) or the candle's first trade id (spikes).</summary>
    public long TradeId;

    /// <summary>The trade price (whale) or the candle's close (spikes).</summary>
    public Price Price;

    /// <summary>The measured value: notional or quote volume (8 decimals), or the move in percent (8 decimals).</summary>
    public long Value;

    /// <summary>The threshold it crossed, in the same unit as <see cref="Value"/>.</summary>
    public long Threshold;

    /// <summary>A deterministic id: kind in the top byte, symbol id, and the trade id or candle time.</summary>
    public readonly UInt128 Id => new(((ulong)Kind << 56) | (uint)SymbolId, (ulong)(Kind == AlertKind.WhaleTrade ? TradeId : TimeNs));
}

/// <summary>Receives alerts; implement on a struct.</summary>
public interface IAlertSink
{
    /// <summary>An anomaly was detected.</summary>
    void OnAlert(in Alert alert);
}

/// <summary>The thresholds of the original pipeline; all configurable.</summary>
public sealed record AlertOptions
{
    /// <summary>Notional of one trade, in quote currency (USDT), above which it is a whale trade. Default 100,000.</summary>
    public decimal WhaleNotional { get; init; } = 100_000m;

    /// <summary>Quote volume of a one-minute candle above which it is a volume spike. Default 1,000,000.</summary>
    public decimal VolumeSpikeQuoteVolume { get; init; } = 1_000_000m;

    /// <summary>Move from open to close of a one-minute candle, in percent, above which it is a price spike. Default 2.</summary>
    public decimal PriceSpikePercent { get; init; } = 2m;
}

/// <summary>
/// Detects whale trades per trade, and volume and price spikes per closed one-minute candle. Stateless apart from its
/// thresholds, which are converted once to the fixed-point units of the hot path; allocates nothing.
/// </summary>
public sealed class AlertDetector
{
    private readonly Int128 _whaleNotionalRaw;   // 16 decimals, as price mantissa × quantity mantissa
    private readonly Int128 _volumeSpikeRaw;     // 16 decimals, as Candle.QuoteVolumeRaw
    private readonly long _priceSpikePercent;    // 8 decimals

    /// <summary>Creates a detector with <paramref name="options"/> (the defaults if null).</summary>
    public AlertDetector(AlertOptions? options = null)
    {
        Options = options ?? new AlertOptions();
        _whaleNotionalRaw = ToRaw16(Options.WhaleNotional);
        _volumeSpikeRaw = ToRaw16(Options.VolumeSpikeQuoteVolume);
        _priceSpikePercent = (long)(Options.PriceSpikePercent * FixedPoint.Scale);
    }

    /// <summary>The thresholds.</summary>
    public AlertOptions Options { get; }

    /// <summary>Checks one trade; returns whether it raised an alert.</summary>
    public bool OnTrade<TSink>(int symbolId, long tradeId, Price price, Quantity quantity, long tradeTimeNs, ref TSink sink)
        where TSink : struct, IAlertSink
    {
        var notional = (Int128)price.Mantissa * quantity.Mantissa;
        if (notional <= _whaleNotionalRaw)
        {
            return false;
        }

        sink.OnAlert(new Alert
        {
            Kind = AlertKind.WhaleTrade,
            SymbolId = symbolId,
            TimeNs = tradeTimeNs,
            TradeId = tradeId,
            Price = price,
            Value = (long)(notional / FixedPoint.Scale),
            Threshold = (long)(_whaleNotionalRaw / FixedPoint.Scale),
        });
        return true;
    }

    /// <summary>Checks a closed candle; only one-minute candles are considered. Returns how many alerts it raised.</summary>
    public int OnCandleClosed<TSink>(in Candle candle, ref TSink sink)
        where TSink : struct, IAlertSink
    {
        if (candle.IntervalNs != 60_000_000_000L)
        {
            return 0;
        }

        var raised = 0;
        if (candle.QuoteVolumeRaw > _volumeSpikeRaw)
        {
            sink.OnAlert(SpikeAlert(candle, AlertKind.VolumeSpike, (long)(candle.QuoteVolumeRaw / FixedPoint.Scale), (long)(_volumeSpikeRaw / FixedPoint.Scale)));
            raised++;
        }

        if (candle.Open.Mantissa > 0)
        {
            // |close - open| / open in percent, 8 decimals: exact in Int128.
            var move = (long)((Int128)Math.Abs(candle.Close.Mantissa - candle.Open.Mantissa) * 100 * FixedPoint.Scale / candle.Open.Mantissa);
            if (move > _priceSpikePercent)
            {
                sink.OnAlert(SpikeAlert(candle, AlertKind.PriceSpike, move, _priceSpikePercent));
                raised++;
            }
        }

        return raised;
    }

    private static Alert SpikeAlert(in Candle candle, AlertKind kind, long value, long threshold) => new()
    {
        Kind = kind,
        SymbolId = candle.SymbolId,
        TimeNs = candle.OpenTimeNs,
        TradeId = candle.FirstTradeId,
        Price = candle.Close,
        Value = value,
        Threshold = threshold,
    };

    private static Int128 ToRaw16(decimal value) =>
        (Int128)(long)(value * FixedPoint.Scale) * FixedPoint.Scale; // 8 decimals kept; thresholds need no more
}

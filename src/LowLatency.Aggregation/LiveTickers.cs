using LowLatency.Market;

namespace LowLatency.Aggregation;

/// <summary>
/// The live ticker of one symbol: the last trade, the best bid and ask, and the exchange's rolling 24-hour figures.
/// It carries what the Redis <c>ticker:{SYMBOL}</c> hash of the original pipelines holds.
/// </summary>
public struct LiveTicker
{
    /// <summary>Price of the last trade (or of the last 24 h ticker if it is newer).</summary>
    public Price LastPrice;

    /// <summary>Quantity of the last trade.</summary>
    public Quantity LastQuantity;

    /// <summary>24 h open price (from the exchange's 24 h ticker).</summary>
    public Price Open;

    /// <summary>24 h high.</summary>
    public Price High;

    /// <summary>24 h low.</summary>
    public Price Low;

    /// <summary>24 h base volume.</summary>
    public Quantity Volume;

    /// <summary>24 h quote volume.</summary>
    public Quantity QuoteVolume;

    /// <summary>24 h trade count.</summary>
    public long TradeCount;

    /// <summary>Best bid price.</summary>
    public Price BidPrice;

    /// <summary>Best bid quantity.</summary>
    public Quantity BidQuantity;

    /// <summary>Best ask price.</summary>
    public Price AskPrice;

    /// <summary>Best ask quantity.</summary>
    public Quantity AskQuantity;

    /// <summary>Update id of the last book ticker applied; older ones are ignored.</summary>
    public long BookUpdateId;

    /// <summary>Exchange event time of the newest update, ns since the Unix epoch.</summary>
    public long EventTimeNs;

    /// <summary>Local receive time of the newest update, ns.</summary>
    public long UpdatedAtNs;

    /// <summary>Whether a 24 h ticker has been seen (Open and the 24 h figures are valid).</summary>
    public bool Has24h;

    /// <summary>Last price minus the 24 h open (zero without a 24 h ticker).</summary>
    public readonly Price PriceChange => Has24h ? new(LastPrice.Mantissa - Open.Mantissa) : default;

    /// <summary>Change from the 24 h open in percent, 8 decimals (zero without a 24 h ticker or with a zero open).</summary>
    public readonly long PriceChangePercent =>
        Has24h && Open.Mantissa != 0 ? (long)((Int128)(LastPrice.Mantissa - Open.Mantissa) * 100 * FixedPoint.Scale / Open.Mantissa) : 0;

    /// <summary>Ask minus bid (zero until both are known).</summary>
    public readonly Price Spread => BidPrice.Mantissa > 0 && AskPrice.Mantissa > 0 ? new(AskPrice.Mantissa - BidPrice.Mantissa) : default;
}

/// <summary>
/// Live tickers of all symbols, in an array indexed by symbol id, updated from trades, book tickers and 24 h tickers.
/// One instance belongs to one shard thread; nothing is allocated per update. Updates older than what a ticker holds
/// (by event time for trades and 24 h tickers, by update id for book tickers) are ignored and counted.
/// </summary>
public sealed class LiveTickers
{
    private readonly LiveTicker[] _tickers;

    /// <summary>Creates tickers for symbol ids 0 … <paramref name="symbolCapacity"/>-1.</summary>
    public LiveTickers(int symbolCapacity = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(symbolCapacity, 1);
        _tickers = new LiveTicker[symbolCapacity];
    }

    /// <summary>Updates that were older than the ticker's state and were ignored.</summary>
    public long StaleUpdates { get; private set; }

    /// <summary>The ticker of <paramref name="symbolId"/>, by reference (read it on the owning thread).</summary>
    public ref readonly LiveTicker this[int symbolId] => ref _tickers[symbolId];

    /// <summary>Applies a trade: last price and quantity.</summary>
    public void OnTrade(int symbolId, Price price, Quantity quantity, long eventTimeNs, long receiveTimeNs)
    {
        ref var ticker = ref _tickers[symbolId];
        if (eventTimeNs < ticker.EventTimeNs)
        {
            StaleUpdates++;
            return;
        }

        ticker.LastPrice = price;
        ticker.LastQuantity = quantity;
        ticker.EventTimeNs = eventTimeNs;
        ticker.UpdatedAtNs = receiveTimeNs;
    }

    /// <summary>Applies a book ticker: best bid and ask.</summary>
    public void OnBookTicker(int symbolId, long updateId, Price bid, Quantity bidQuantity, Price ask, Quantity askQuantity, long receiveTimeNs)
    {
        ref var ticker = ref _tickers[symbolId];
        if (updateId <= ticker.BookUpdateId && ticker.BookUpdateId != 0)
        {
            StaleUpdates++;
            return;
        }

        ticker.BookUpdateId = updateId;
        ticker.BidPrice = bid;
        ticker.BidQuantity = bidQuantity;
        ticker.AskPrice = ask;
        ticker.AskQuantity = askQuantity;
        ticker.UpdatedAtNs = receiveTimeNs;
    }

    /// <summary>Applies the exchange's 24 h ticker.</summary>
    public void On24hTicker(
        int symbolId, Price last, Price open, Price high, Price low, Quantity volume, Quantity quoteVolume, long tradeCount, long eventTimeNs, long receiveTimeNs)
    {
        ref var ticker = ref _tickers[symbolId];
        if (eventTimeNs < ticker.EventTimeNs)
        {
            StaleUpdates++;
            return;
        }

        ticker.LastPrice = last;
        ticker.Open = open;
        ticker.High = high;
        ticker.Low = low;
        ticker.Volume = volume;
        ticker.QuoteVolume = quoteVolume;
        ticker.TradeCount = tradeCount;
        ticker.EventTimeNs = eventTimeNs;
        ticker.UpdatedAtNs = receiveTimeNs;
        ticker.Has24h = true;
    }
}

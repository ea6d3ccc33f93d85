using System.Runtime.InteropServices;

namespace LowLatency.Market;

/// <summary>What a <see cref="MarketEvent"/> holds; selects the live member of <see cref="MarketEvent.Payload"/>.</summary>
public enum MarketEventKind : byte
{
    /// <summary>Nothing (a fresh ring slot).</summary>
    None,

    /// <summary>A single trade (<c>@trade</c>): <see cref="MarketPayload.Trade"/>.</summary>
    Trade,

    /// <summary>An aggregate trade (<c>@aggTrade</c>): <see cref="MarketPayload.Trade"/>.</summary>
    AggTrade,

    /// <summary>A candle update (<c>@kline_&lt;interval&gt;</c>): <see cref="MarketPayload.Kline"/>.</summary>
    Kline,

    /// <summary>A 24-hour (or rolling-window) ticker (<c>@ticker</c>, <c>@ticker_1h</c>): <see cref="MarketPayload.Ticker"/>.</summary>
    Ticker,

    /// <summary>A 24-hour mini ticker (<c>@miniTicker</c>): <see cref="MarketPayload.Ticker"/> (only close, open, high, low, volumes).</summary>
    MiniTicker,

    /// <summary>Best bid and offer (<c>@bookTicker</c>): <see cref="MarketPayload.BookTicker"/>.</summary>
    BookTicker,

    /// <summary>An order-book diff (<c>@depth</c>): <see cref="MarketPayload.Depth"/> plus <see cref="MarketEvent.Levels"/>.</summary>
    DepthUpdate,

    /// <summary>A full book (REST <c>/api/v3/depth</c> or partial <c>@depth5/10/20</c>): <see cref="MarketPayload.Depth"/> plus levels.</summary>
    DepthSnapshot,

    /// <summary>A control frame (subscription result, error, server shutdown): <see cref="MarketPayload.Control"/>.</summary>
    Control,

    /// <summary>The decoder rejected the frame; the slot carries nothing usable.</summary>
    Invalid,
}

/// <summary>Binance kline intervals.</summary>
public enum KlineInterval : byte
{
    /// <summary>Absent or unknown.</summary>
    None,
#pragma warning disable CS1591 // the names are the intervals
    Second1,
    Minute1,
    Minute3,
    Minute5,
    Minute15,
    Minute30,
    Hour1,
    Hour2,
    Hour4,
    Hour6,
    Hour8,
    Hour12,
    Day1,
    Day3,
    Week1,
    Month1,
#pragma warning restore CS1591
}

/// <summary>What a control frame says.</summary>
public enum ControlKind : byte
{
    /// <summary>Unset.</summary>
    None,

    /// <summary><c>{"result":…,"id":n}</c>: the answer to a SUBSCRIBE / UNSUBSCRIBE / LIST request.</summary>
    SubscriptionResult,

    /// <summary><c>{"code":n,"msg":…}</c> or <c>{"error":{"code":n,"msg":…}}</c>.</summary>
    Error,

    /// <summary><c>{"e":"serverShutdown",…}</c>: the connection will close; reconnect.</summary>
    ServerShutdown,

    /// <summary>
    /// Not from the exchange: a source's commit mark (its id in <see cref="ControlData.RequestId"/>), a barrier that
    /// flows through the shards and sinks so the source learns when its input up to here is durably processed.
    /// </summary>
    CommitMark,

    /// <summary>
    /// Not from the exchange: the source gave up partition <see cref="ControlData.RequestId"/> (a Kafka rebalance); the
    /// shards drop the open state of its symbols, which the partition's next owner rebuilds from the committed offset.
    /// </summary>
    PartitionRevoked,

    /// <summary>
    /// Not from the exchange: partition <see cref="ControlData.RequestId"/> was assigned with the event-time clock it had
    /// at its committed offset (<see cref="ControlData.TimeNs"/>, kept with the commit); the shards start its clock
    /// there, so the candles that had closed before the commit stay closed and are not rebuilt from part of their trades.
    /// </summary>
    PartitionClock,
}

/// <summary>One price level of a book: price and quantity (quantity 0 in a diff removes the level).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PriceLevel
{
    /// <summary>The level's price.</summary>
    public Price Price;

    /// <summary>The quantity at the price.</summary>
    public Quantity Quantity;

    /// <summary>Creates a level.</summary>
    public PriceLevel(Price price, Quantity quantity)
    {
        Price = price;
        Quantity = quantity;
    }
}

/// <summary>A trade or an aggregate trade. Times are ns since the Unix epoch.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct TradeData
{
    /// <summary>Trade id <c>t</c> (trade) or aggregate id <c>a</c> (aggTrade).</summary>
    public long TradeId;

    /// <summary>First trade id <c>f</c> (aggTrade); equals <see cref="TradeId"/> for a trade.</summary>
    public long FirstTradeId;

    /// <summary>Last trade id <c>l</c> (aggTrade); equals <see cref="TradeId"/> for a trade.</summary>
    public long LastTradeId;

    /// <summary>Price <c>p</c>.</summary>
    public Price Price;

    /// <summary>Quantity <c>q</c>.</summary>
    public Quantity Quantity;

    /// <summary>Trade time <c>T</c>.</summary>
    public long TradeTimeNs;

    /// <summary>Buyer order id <c>b</c> of trade payloads before 2024-06-18; -1 if absent.</summary>
    public long BuyerOrderId;

    /// <summary>Seller order id <c>a</c> of trade payloads before 2024-06-18; -1 if absent.</summary>
    public long SellerOrderId;

    /// <summary><c>m</c>: the buyer was the maker (the aggressor sold).</summary>
    public bool IsBuyerMaker;
}

/// <summary>A candle (<c>k</c> object of a kline event). Times are ns since the Unix epoch.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KlineData
{
    /// <summary>Open time <c>t</c>.</summary>
    public long OpenTimeNs;

    /// <summary>Close time <c>T</c>.</summary>
    public long CloseTimeNs;

    /// <summary>First trade id <c>f</c> (-1 if absent).</summary>
    public long FirstTradeId;

    /// <summary>Last trade id <c>L</c> (-1 if absent).</summary>
    public long LastTradeId;

    /// <summary>Open <c>o</c>.</summary>
    public Price Open;

    /// <summary>High <c>h</c>.</summary>
    public Price High;

    /// <summary>Low <c>l</c>.</summary>
    public Price Low;

    /// <summary>Close <c>c</c>.</summary>
    public Price Close;

    /// <summary>Base volume <c>v</c>.</summary>
    public Quantity Volume;

    /// <summary>Quote volume <c>q</c>.</summary>
    public Quantity QuoteVolume;

    /// <summary>Taker buy base volume <c>V</c>.</summary>
    public Quantity TakerBuyBaseVolume;

    /// <summary>Taker buy quote volume <c>Q</c>.</summary>
    public Quantity TakerBuyQuoteVolume;

    /// <summary>Number of trades <c>n</c>.</summary>
    public long TradeCount;

    /// <summary>Interval <c>i</c>.</summary>
    public KlineInterval Interval;

    /// <summary><c>x</c>: the candle is closed (final).</summary>
    public bool IsClosed;

    /// <summary>
    /// The id the producer gave the record (<c>data.asset_prices</c>' <c>id</c>, a UUID), or <see cref="Guid.Empty"/>:
    /// Binance klines and Debezium rows have none.
    /// </summary>
    public Guid RecordId;
}

/// <summary>A 24-hour / rolling-window ticker or a mini ticker (which fills only close, open, high, low and the volumes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct TickerData
{
    /// <summary>Price change <c>p</c> (may be negative).</summary>
    public Price PriceChange;

    /// <summary>Price change percent <c>P</c>, as an 8-decimal fixed-point mantissa (see <see cref="FixedPoint"/>).</summary>
    public long PriceChangePercent;

    /// <summary>Weighted average price <c>w</c>.</summary>
    public Price WeightedAveragePrice;

    /// <summary>Last price <c>c</c>.</summary>
    public Price LastPrice;

    /// <summary>Last quantity <c>Q</c>.</summary>
    public Quantity LastQuantity;

    /// <summary>Best bid <c>b</c>.</summary>
    public Price BidPrice;

    /// <summary>Best bid quantity <c>B</c>.</summary>
    public Quantity BidQuantity;

    /// <summary>Best ask <c>a</c>.</summary>
    public Price AskPrice;

    /// <summary>Best ask quantity <c>A</c>.</summary>
    public Quantity AskQuantity;

    /// <summary>Open <c>o</c>.</summary>
    public Price Open;

    /// <summary>High <c>h</c>.</summary>
    public Price High;

    /// <summary>Low <c>l</c>.</summary>
    public Price Low;

    /// <summary>Base volume <c>v</c>.</summary>
    public Quantity Volume;

    /// <summary>Quote volume <c>q</c>.</summary>
    public Quantity QuoteVolume;

    /// <summary>Statistics open time <c>O</c> (ns).</summary>
    public long OpenTimeNs;

    /// <summary>Statistics close time <c>C</c> (ns).</summary>
    public long CloseTimeNs;

    /// <summary>First trade id <c>F</c> (-1 if absent).</summary>
    public long FirstTradeId;

    /// <summary>Last trade id <c>L</c> (-1 if absent).</summary>
    public long LastTradeId;

    /// <summary>Number of trades <c>n</c>.</summary>
    public long TradeCount;
}

/// <summary>Best bid and offer.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct BookTickerData
{
    /// <summary>Order-book update id <c>u</c>.</summary>
    public long UpdateId;

    /// <summary>Best bid <c>b</c>.</summary>
    public Price BidPrice;

    /// <summary>Best bid quantity <c>B</c>.</summary>
    public Quantity BidQuantity;

    /// <summary>Best ask <c>a</c>.</summary>
    public Price AskPrice;

    /// <summary>Best ask quantity <c>A</c>.</summary>
    public Quantity AskQuantity;
}

/// <summary>
/// The header of a depth diff or snapshot; the levels themselves are in <see cref="MarketEvent.Levels"/>, bids first
/// (<see cref="BidCount"/>) then asks (<see cref="AskCount"/>). A message with more levels than the event's capacity
/// becomes several consecutive events with the same ids, <see cref="ChunkIndex"/> 0, 1, … and
/// <see cref="IsLastChunk"/> set on the last; a book applies a message only once it has seen its last chunk.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct DepthData
{
    /// <summary>First update id <c>U</c> of a diff (0 for a snapshot).</summary>
    public long FirstUpdateId;

    /// <summary>Final update id <c>u</c> of a diff (0 for a snapshot).</summary>
    public long FinalUpdateId;

    /// <summary>Previous final update id <c>pu</c> (futures diffs); -1 if absent.</summary>
    public long PreviousFinalUpdateId;

    /// <summary><c>lastUpdateId</c> of a snapshot (0 for a diff).</summary>
    public long LastUpdateId;

    /// <summary>Bids in this chunk: <c>Levels[0 .. BidCount]</c>.</summary>
    public int BidCount;

    /// <summary>Asks in this chunk: <c>Levels[BidCount .. BidCount + AskCount]</c>.</summary>
    public int AskCount;

    /// <summary>0 for the first (often only) chunk of a message.</summary>
    public int ChunkIndex;

    /// <summary>This is the message's last chunk.</summary>
    public bool IsLastChunk;
}

/// <summary>A control frame.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ControlData
{
    /// <summary>What the frame says.</summary>
    public ControlKind ControlKind;

    /// <summary>The numeric request <c>id</c> it answers; -1 if absent, null or not a number.</summary>
    public long RequestId;

    /// <summary>The error <c>code</c> (0 when not an error).</summary>
    public int ErrorCode;

    /// <summary>A time, ns since the Unix epoch (<see cref="ControlKind.PartitionClock"/>); 0 otherwise.</summary>
    public long TimeNs;
}

/// <summary>
/// The per-kind payloads of a <see cref="MarketEvent"/>, overlaid: only the member selected by
/// <see cref="MarketEvent.Kind"/> is meaningful. Every member is unmanaged, so the overlay is safe.
/// </summary>
[StructLayout(LayoutKind.Explicit)]
public struct MarketPayload
{
    /// <summary>Trade and AggTrade.</summary>
    [FieldOffset(0)]
    public TradeData Trade;

    /// <summary>Kline.</summary>
    [FieldOffset(0)]
    public KlineData Kline;

    /// <summary>Ticker and MiniTicker.</summary>
    [FieldOffset(0)]
    public TickerData Ticker;

    /// <summary>BookTicker.</summary>
    [FieldOffset(0)]
    public BookTickerData BookTicker;

    /// <summary>DepthUpdate and DepthSnapshot.</summary>
    [FieldOffset(0)]
    public DepthData Depth;

    /// <summary>Control.</summary>
    [FieldOffset(0)]
    public ControlData Control;
}

/// <summary>
/// The one event type of the input ring: a mutable struct that lives in a preallocated ring slot and is written in
/// place by a decoder (Disruptor-net value events). Times are ns since the Unix epoch.
/// </summary>
/// <remarks>
/// Size: the struct is at most 256 bytes (a test checks it); depth levels are not inline but in <see cref="Levels"/>,
/// an array allocated once per slot by <see cref="Create"/> and reused for every event written into the slot.
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
public struct MarketEvent
{
    /// <summary>The default number of depth levels per event (a message with more becomes several chunk events).</summary>
    public const int DefaultLevelCapacity = 200;

    /// <summary>Preallocated depth levels: bids first, then asks (see <see cref="DepthData"/>). Never reallocated.</summary>
    public PriceLevel[] Levels;

    /// <summary>Exchange event time <c>E</c>, ns since the Unix epoch (0 when the frame has none, e.g. spot bookTicker).</summary>
    public long EventTimeNs;

    /// <summary>Local receive time, ns since the Unix epoch, set by the source.</summary>
    public long ReceiveTimeNs;

    /// <summary>
    /// Where the frame came from, set by the source: see <see cref="Market.SourcePosition"/> (a Kafka partition and
    /// offset, the line number of a recording), or <see cref="Market.SourcePosition.None"/>.
    /// </summary>
    public long SourcePosition;

    /// <summary>
    /// <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> when the source took the frame (0 if not set): the start
    /// of the engine's own latency, measured by the consumers in the same process.
    /// </summary>
    public long IngestTimestamp;

    /// <summary>The interned symbol (<see cref="SymbolTable"/>), or -1 when the frame names none (REST snapshot, control).</summary>
    public int SymbolId;

    /// <summary>Which <see cref="Payload"/> member is live.</summary>
    public MarketEventKind Kind;

    /// <summary>The per-kind data.</summary>
    public MarketPayload Payload;

    /// <summary>Creates an event with room for <paramref name="levelCapacity"/> depth levels (the ring's slot factory).</summary>
    public static MarketEvent Create(int levelCapacity = DefaultLevelCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(levelCapacity, 1);
        return new MarketEvent { Levels = new PriceLevel[levelCapacity], SymbolId = -1 };
    }

    /// <summary>The bids of a depth event's chunk.</summary>
    public readonly ReadOnlySpan<PriceLevel> Bids => Levels.AsSpan(0, Payload.Depth.BidCount);

    /// <summary>The asks of a depth event's chunk.</summary>
    public readonly ReadOnlySpan<PriceLevel> Asks => Levels.AsSpan(Payload.Depth.BidCount, Payload.Depth.AskCount);
}

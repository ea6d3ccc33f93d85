namespace LowLatency.Connectors.Binance;

/// <summary>
/// Where a <see cref="BinanceStreamClient{THandler}"/> hands its frames: every data frame once, whichever connection
/// received it first, and every hole in a stream's sequence ids before the frame that revealed it.
/// </summary>
/// <remarks>
/// Calls are serialised: one at a time, never concurrently, though not always from the same thread (each connection's
/// receive thread delivers, under the client's delivery lock). So the handler may publish into a single-producer ring
/// (<c>MarketDataPipeline.Publish</c>) without locks of its own. The lock is held for the call: a handler that blocks
/// (a full ring) stalls every connection, and one that blocks for long loses them: the server's pings are answered
/// by the receive thread, between frames. Implement it as a struct to let the JIT devirtualise the calls. From inside a call the
/// handler may read <see cref="BinanceStreamClient{THandler}.Counters"/> and call <c>Subscribe</c>/<c>Unsubscribe</c>
/// (they take no lock); <c>GetConnections</c> and <c>StopAsync</c> it must not call.
/// </remarks>
public interface IBinanceFrameHandler
{
    /// <summary>
    /// One combined-stream frame (<c>{"stream":…,"data":…}</c>), exactly as received. The span is valid during the call
    /// only (it is the connection's receive buffer).
    /// </summary>
    /// <param name="frame">The frame's bytes.</param>
    /// <param name="receiveTimeNs">When the read that completed it returned: Unix ns from <c>WallClock</c> (monotonic).</param>
    void OnFrame(ReadOnlySpan<byte> frame, long receiveTimeNs);

    /// <summary>
    /// Ids of a stream that no connection delivered: reported once, just before <see cref="OnFrame"/> delivers the frame
    /// that follows them. A later issue backfills the range over REST.
    /// </summary>
    void OnGap(in StreamGap gap);
}

/// <summary>What a stream carries, which decides how its frames are ordered and deduplicated.</summary>
public enum BinanceStreamKind : byte
{
    /// <summary>Any other payload with an event time <c>E</c> (avgPrice, …): ordered by <c>E</c>.</summary>
    Other,

    /// <summary><c>trade</c>: trade id <c>t</c>, consecutive per symbol; a jump is a gap.</summary>
    Trade,

    /// <summary><c>aggTrade</c>: aggregate id <c>a</c>, consecutive per symbol; a jump is a gap.</summary>
    AggTrade,

    /// <summary><c>depthUpdate</c>: update ids <c>U</c>…<c>u</c>; <c>U</c> above the previous <c>u</c> + 1 is a gap.</summary>
    DepthUpdate,

    /// <summary>Partial depth (<c>@depth5</c>, …): <c>lastUpdateId</c>, increasing but not consecutive.</summary>
    PartialDepth,

    /// <summary><c>bookTicker</c>: order-book update id <c>u</c>, increasing but not consecutive.</summary>
    BookTicker,

    /// <summary><c>kline</c>: ordered by event time <c>E</c>, then the candle's open time <c>k.t</c>.</summary>
    Kline,

    /// <summary>24 h, mini and rolling-window tickers (also their <c>!…@arr</c> arrays): ordered by event time <c>E</c>.</summary>
    Ticker,
}

/// <summary>
/// Missing sequence ids of one stream: <see cref="FirstMissing"/> to <see cref="LastMissing"/>, both included. Trade
/// streams report trade ids, aggTrade streams aggregate ids, depth streams order-book update ids.
/// </summary>
public readonly struct StreamGap
{
    internal StreamGap(int streamId, string stream, string symbol, BinanceStreamKind kind, long firstMissing, long lastMissing, long receiveTimeNs)
    {
        StreamId = streamId;
        Stream = stream;
        Symbol = symbol;
        Kind = kind;
        FirstMissing = firstMissing;
        LastMissing = lastMissing;
        ReceiveTimeNs = receiveTimeNs;
    }

    /// <summary>The stream's dense id in the client (stable for the client's lifetime).</summary>
    public int StreamId { get; }

    /// <summary>The stream's name as subscribed, e.g. <c>btcusdt@trade</c>.</summary>
    public string Stream { get; }

    /// <summary>The symbol in the exchange's spelling, e.g. <c>BTCUSDT</c>; empty for all-market streams.</summary>
    public string Symbol { get; }

    /// <summary>What the stream carries.</summary>
    public BinanceStreamKind Kind { get; }

    /// <summary>The first id no connection delivered.</summary>
    public long FirstMissing { get; }

    /// <summary>The last id no connection delivered.</summary>
    public long LastMissing { get; }

    /// <summary>How many ids are missing.</summary>
    public long Count => LastMissing - FirstMissing + 1;

    /// <summary>When the frame that revealed the gap arrived (Unix ns, <c>WallClock</c>).</summary>
    public long ReceiveTimeNs { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Stream}: {Count} id(s) missing, {FirstMissing}..{LastMissing}";
}

using LowLatency.Market;
using LowLatency.Ring;

namespace LowLatency.Aggregation;

/// <summary>What an <see cref="OutputEvent"/> carries.</summary>
public enum OutputKind : byte
{
    /// <summary>Nothing (a fresh slot).</summary>
    None,

    /// <summary>A closed candle and its metrics.</summary>
    Candle,

    /// <summary>An alert.</summary>
    Alert,

    /// <summary>A ticker snapshot.</summary>
    Ticker,

    /// <summary>
    /// A commit mark passed on by shard <see cref="OutputEvent.SymbolId"/> (<see cref="ICommitMarks"/>): sinks
    /// acknowledge <see cref="OutputEvent.MarkId"/> once everything before it is durable. Not data: never written.
    /// </summary>
    Mark,

    /// <summary>
    /// A kline as it arrived (a Binance kline stream, a <c>data.asset_prices</c> record, a Debezium kline row), passed
    /// through for the stores that keep the producers' rows (Cassandra's <c>assets</c> table).
    /// </summary>
    Kline,

    /// <summary>
    /// A trade of the exchange's trade stream as it arrived, passed through only when the pipeline is asked to
    /// (<c>PassTrades</c>: the Parquet cold tier's trades dataset), since trades outnumber every derived output.
    /// </summary>
    Trade,
}

/// <summary>
/// The event of the output ring: what the shards derive, on its way to the persistence handlers. A plain struct with
/// the three payloads side by side (about 400 bytes); the ring preallocates the slots.
/// </summary>
public struct OutputEvent
{
    /// <summary>Which payload is live.</summary>
    public OutputKind Kind;

    /// <summary>The symbol (for a <see cref="OutputKind.Mark"/>, the shard that passed it on).</summary>
    public int SymbolId;

    /// <summary>The commit mark's id (<see cref="OutputKind.Mark"/>).</summary>
    public long MarkId;

    /// <summary>The candle (<see cref="OutputKind.Candle"/>).</summary>
    public Candle Candle;

    /// <summary>The candle's metrics (<see cref="OutputKind.Candle"/>).</summary>
    public CandleMetrics Metrics;

    /// <summary>The alert (<see cref="OutputKind.Alert"/>).</summary>
    public Alert Alert;

    /// <summary>The ticker (<see cref="OutputKind.Ticker"/>).</summary>
    public LiveTicker Ticker;

    /// <summary>The kline passed through (<see cref="OutputKind.Kline"/>).</summary>
    public KlineRecord Kline;

    /// <summary>The trade passed through (<see cref="OutputKind.Trade"/>).</summary>
    public TradeRecord Trade;
}

/// <summary>A trade as it arrived, with when the engine received it (<see cref="OutputKind.Trade"/>).</summary>
public struct TradeRecord
{
    /// <summary>The trade: id, price, quantity, time, side.</summary>
    public TradeData Data;

    /// <summary>When the engine received it (ns since the epoch).</summary>
    public long ReceiveTimeNs;
}

/// <summary>A kline as it arrived, with when it was produced and received (<see cref="OutputKind.Kline"/>).</summary>
public struct KlineRecord
{
    /// <summary>The kline: times, prices, volumes, trades, closed flag, the producer's record id.</summary>
    public KlineData Data;

    /// <summary>The event time (ns since the epoch): Binance's <c>E</c>, the asset record's <c>collected_at</c>.</summary>
    public long EventTimeNs;

    /// <summary>When the engine received it (ns since the epoch): the Kafka consume, the socket read.</summary>
    public long ReceiveTimeNs;
}

/// <summary>A shard output that publishes into the (multi-producer) output ring; holds only a reference.</summary>
public readonly struct RingShardOutput(ValueRingBuffer<OutputEvent> ring) : IShardOutput
{
    /// <inheritdoc />
    public void OnCandle(in Candle candle, in CandleMetrics metrics)
    {
        var sequence = ring.Next();
        ref var e = ref ring[sequence];
        e.Kind = OutputKind.Candle;
        e.SymbolId = candle.SymbolId;
        e.Candle = candle;
        e.Metrics = metrics;
        ring.Publish(sequence);
    }

    /// <inheritdoc />
    public void OnAlert(in Alert alert)
    {
        var sequence = ring.Next();
        ref var e = ref ring[sequence];
        e.Kind = OutputKind.Alert;
        e.SymbolId = alert.SymbolId;
        e.Alert = alert;
        ring.Publish(sequence);
    }

    /// <inheritdoc />
    public void OnMark(long markId, int shardIndex)
    {
        var sequence = ring.Next();
        ref var e = ref ring[sequence];
        e.Kind = OutputKind.Mark;
        e.SymbolId = shardIndex;
        e.MarkId = markId;
        ring.Publish(sequence);
    }

    /// <inheritdoc />
    public void OnTicker(int symbolId, in LiveTicker ticker)
    {
        var sequence = ring.Next();
        ref var e = ref ring[sequence];
        e.Kind = OutputKind.Ticker;
        e.SymbolId = symbolId;
        e.Ticker = ticker;
        ring.Publish(sequence);
    }

    /// <inheritdoc />
    public void OnKline(int symbolId, in KlineData kline, long eventTimeNs, long receiveTimeNs)
    {
        var sequence = ring.Next();
        ref var e = ref ring[sequence];
        e.Kind = OutputKind.Kline;
        e.SymbolId = symbolId;
        e.Kline.Data = kline;
        e.Kline.EventTimeNs = eventTimeNs;
        e.Kline.ReceiveTimeNs = receiveTimeNs;
        ring.Publish(sequence);
    }

    /// <inheritdoc />
    public void OnTrade(int symbolId, in TradeData trade, long receiveTimeNs)
    {
        var sequence = ring.Next();
        ref var e = ref ring[sequence];
        e.Kind = OutputKind.Trade;
        e.SymbolId = symbolId;
        e.Trade.Data = trade;
        e.Trade.ReceiveTimeNs = receiveTimeNs;
        ring.Publish(sequence);
    }
}

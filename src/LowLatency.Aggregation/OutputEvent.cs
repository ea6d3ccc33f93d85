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
}

namespace LowLatency.Aggregation;

/// <summary>
/// The commit watermark as the shards and sinks see it. A source that must not acknowledge input before its results
/// are written (Kafka) puts a <em>commit mark</em> into the input ring (a <see cref="Market.ControlKind.CommitMark"/>
/// event); the mark flows through every shard, which reports the oldest source offset its open candles still hold and
/// passes the mark on into the output ring (<see cref="OutputKind.Mark"/>); every sink acknowledges the mark once what
/// came before it is durably written. A mark acknowledged by every sink for every shard lets the source commit, per
/// partition, up to the smaller of its read position at the mark and the oldest offset still held open.
/// </summary>
/// <remarks>
/// The mark is a barrier, as in Chandy–Lamport snapshots: rings keep order, so everything a shard derived from input
/// before the mark is ahead of the mark in the output ring, and a sink that has durably written the mark has durably
/// written all of it. No sequence arithmetic between rings is needed, and a sink with asynchronous writes (a Kafka
/// producer) acknowledges from its delivery reports.
/// </remarks>
public interface ICommitMarks
{
    /// <summary>
    /// Called on shard <paramref name="shardIndex"/>'s thread when it handles mark <paramref name="markId"/>:
    /// <paramref name="oldestOpenOffsets"/>[p] is the oldest offset of partition p that an open candle of the shard
    /// holds (long.MaxValue for none), and <paramref name="partitionClocks"/>[p] the partition's event-time clock at the
    /// mark (long.MinValue before its first trade; every shard reports the same clocks): candles that end more than the
    /// allowed lateness before it are closed. The spans are the shard's and are reused after the call returns.
    /// </summary>
    void OnShardMark(long markId, int shardIndex, ReadOnlySpan<long> oldestOpenOffsets, ReadOnlySpan<long> partitionClocks);

    /// <summary>Called by a sink once everything before mark <paramref name="markId"/> (from one shard) is durably written.</summary>
    void OnDurable(long markId);
}

namespace LowLatency.Market;

/// <summary>
/// A frame's position in its source as one <see cref="long"/> (<see cref="MarketEvent.SourcePosition"/>): the source
/// partition in the top bits and the offset within it in the low <see cref="OffsetBits"/> bits. A Kafka source interns
/// each topic-partition to a dense partition index; a single-stream source (a recording) uses partition 0 and the line
/// number.
/// </summary>
/// <remarks>
/// Positions of one partition increase with its offsets, so "the oldest position still needed" per partition is a
/// plain minimum: the commit watermark takes it over the open candles (<c>Candle.FirstPosition</c>) and the events not
/// yet handled. Composed positions are never negative.
/// </remarks>
public static class SourcePosition
{
    /// <summary>Bits of the offset: 2^48 messages per partition.</summary>
    public const int OffsetBits = 48;

    /// <summary>Partition indexes are 0 to MaxPartitions - 1 (15 bits, so a position is never negative).</summary>
    public const int MaxPartitions = 1 << 15;

    /// <summary>Offsets are 0 to MaxOffset.</summary>
    public const long MaxOffset = (1L << OffsetBits) - 1;

    /// <summary>No position: the event does not hold anything back (it sorts after every real position).</summary>
    public const long None = long.MaxValue;

    /// <summary>The position of <paramref name="offset"/> in partition <paramref name="partition"/>.</summary>
    public static long Compose(int partition, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(partition, MaxPartitions);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, MaxOffset);
        return ((long)partition << OffsetBits) | offset;
    }

    /// <summary>The partition index of a composed position.</summary>
    public static int PartitionOf(long position) => (int)((ulong)position >> OffsetBits);

    /// <summary>The offset of a composed position.</summary>
    public static long OffsetOf(long position) => position & MaxOffset;
}

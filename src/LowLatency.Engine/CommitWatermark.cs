using LowLatency.Aggregation;

namespace LowLatency.Engine;

/// <summary>
/// Decides what a source may commit: the source opens a commit mark with its read positions (<see cref="BeginMark"/>)
/// and puts it into the input ring; every shard reports the oldest offsets its open candles hold and passes the mark on;
/// every durable sink acknowledges it once what came before it is written (<see cref="ICommitMarks"/>). A mark with a
/// report from every shard and an acknowledgement from every sink for every shard is complete:
/// <see cref="TryComplete(Span{long}, Span{long})"/> then gives, per partition, the offset to commit, the smaller of the read position at the
/// mark and the oldest offset still held open, with the partition's event-time clock at the mark (to be kept with the
/// commit: a restart starts the partition's clock there, see <see cref="Market.ControlKind.PartitionClock"/>). Marks
/// complete in the order they were opened.
/// </summary>
/// <remarks>
/// Threads: <see cref="BeginMark"/> and <see cref="TryComplete(Span{long}, Span{long})"/> are the source's (one thread);
/// <see cref="OnShardMark"/> comes from the shard threads and <see cref="OnDurable"/> from the sinks' threads. The
/// pending marks are guarded by one lock, taken a few times per mark (a mark a second is plenty), never per message.
/// </remarks>
public sealed class CommitWatermark : ICommitMarks
{
    /// <summary>Offset meaning "nothing read from this partition" in the read positions and results.</summary>
    public const long NoOffset = -1;

    /// <summary>Clock meaning "no trade seen from this partition".</summary>
    public const long NoClock = long.MinValue;

    private readonly Lock _lock = new();
    private readonly Mark[] _marks;
    private readonly int _shards;
    private readonly int _sinks;
    private long _nextId = 1;
    private long _oldestPending = 1; // ids [_oldestPending, _nextId) are pending

    /// <summary>Creates a watermark for <paramref name="shards"/> shards and <paramref name="durableSinks"/> acknowledging sinks.</summary>
    /// <param name="shards">Shards that report each mark.</param>
    /// <param name="durableSinks">Sinks that acknowledge each shard's mark (0: marks complete once the shards reported).</param>
    /// <param name="partitionCapacity">Partition indexes 0 to this - 1.</param>
    /// <param name="maxPendingMarks">Marks open at once; <see cref="BeginMark"/> refuses more (default 4).</param>
    public CommitWatermark(int shards, int durableSinks, int partitionCapacity, int maxPendingMarks = 4)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(durableSinks);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPendingMarks, 1);
        _shards = shards;
        _sinks = durableSinks;
        PartitionCapacity = partitionCapacity;
        _marks = new Mark[maxPendingMarks];
        for (var i = 0; i < _marks.Length; i++)
        {
            _marks[i] = new Mark(partitionCapacity);
        }
    }

    /// <summary>Partition indexes 0 to this - 1.</summary>
    public int PartitionCapacity { get; }

    /// <summary>Marks opened and not yet completed.</summary>
    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return (int)(_nextId - _oldestPending);
            }
        }
    }

    /// <summary>Marks completed so far.</summary>
    public long Completed
    {
        get
        {
            lock (_lock)
            {
                return _oldestPending - 1;
            }
        }
    }

    /// <summary>
    /// Opens a mark: <paramref name="nextOffsets"/>[p] is the offset after the last one of partition p published into
    /// the input ring before the mark (<see cref="NoOffset"/> for none). Returns the mark's id, to publish as a
    /// <c>CommitMark</c> control event, or 0 if <c>maxPendingMarks</c> are already open.
    /// </summary>
    public long BeginMark(ReadOnlySpan<long> nextOffsets)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nextOffsets.Length, PartitionCapacity, nameof(nextOffsets));
        lock (_lock)
        {
            if (_nextId - _oldestPending == _marks.Length)
            {
                return 0;
            }

            var id = _nextId++;
            var mark = _marks[id % _marks.Length];
            mark.Reset(id);
            nextOffsets.CopyTo(mark.Committable);
            mark.Committable.AsSpan(nextOffsets.Length).Fill(NoOffset);
            mark.Clocks.AsSpan().Fill(NoClock);
            return id;
        }
    }

    /// <inheritdoc />
    public void OnShardMark(long markId, int shardIndex, ReadOnlySpan<long> oldestOpenOffsets, ReadOnlySpan<long> partitionClocks)
    {
        lock (_lock)
        {
            var mark = Find(markId);
            var committable = mark.Committable.AsSpan();
            var n = Math.Min(committable.Length, oldestOpenOffsets.Length);
            for (var p = 0; p < n; p++)
            {
                if (oldestOpenOffsets[p] < committable[p])
                {
                    committable[p] = oldestOpenOffsets[p];
                }
            }

            var clocks = mark.Clocks.AsSpan();
            n = Math.Min(clocks.Length, partitionClocks.Length);
            for (var p = 0; p < n; p++)
            {
                if (partitionClocks[p] > clocks[p])
                {
                    clocks[p] = partitionClocks[p];
                }
            }

            mark.ShardReports++;
        }
    }

    public void OnDurable(long markId)
    {
        lock (_lock)
        {
            Find(markId).Acknowledgements++;
        }
    }

    /// <summary>
    /// If the oldest open mark is complete, copies its committable offsets (per partition: the offset to commit, i.e.
    /// the next one to read after a restart, or <see cref="NoOffset"/>) into <paramref name="committable"/>, retires it
    /// and returns its id; otherwise 0.
    /// </summary>
    public long TryComplete(Span<long> committable) => TryComplete(committable, []);

    /// <summary>
    /// As <see cref="TryComplete(Span{long})"/>, and copies the partitions' event-time clocks at the mark
    /// (<see cref="NoClock"/> where none was reported) into <paramref name="clocks"/>.
    /// </summary>
    public long TryComplete(Span<long> committable, Span<long> clocks)
    {
        lock (_lock)
        {
            if (_oldestPending == _nextId)
            {
                return 0;
            }

            var mark = _marks[_oldestPending % _marks.Length];
            if (mark.ShardReports < _shards || mark.Acknowledgements < _shards * _sinks)
            {
                return 0;
            }

            mark.Committable.AsSpan(0, Math.Min(committable.Length, PartitionCapacity)).CopyTo(committable);
            mark.Clocks.AsSpan(0, Math.Min(clocks.Length, PartitionCapacity)).CopyTo(clocks);
            _oldestPending++;
            return mark.Id;
        }
    }

    private Mark Find(long markId)
    {
        var mark = _marks[markId % _marks.Length];
        if (markId < _oldestPending || markId >= _nextId || mark.Id != markId)
        {
            throw new InvalidOperationException($"Commit mark {markId} is not pending (pending: {_oldestPending} to {_nextId - 1}).");
        }

        return mark;
    }

    /// <summary>One open mark: what may be committed so far and who has answered.</summary>
    private sealed class Mark(int partitions)
    {
        public long Id;
        public int ShardReports;
        public int Acknowledgements;

        /// <summary>Starts as the read positions; each shard report lowers it to the oldest offsets still open.</summary>
        public long[] Committable { get; } = new long[partitions];

        public long[] Clocks { get; } = new long[partitions];

        public void Reset(long id)
        {
            Id = id;
            ShardReports = 0;
            Acknowledgements = 0;
        }
    }
}

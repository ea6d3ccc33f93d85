using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Confluent.Kafka;
using LowLatency.Codecs.Binance;
using LowLatency.Codecs.Debezium;
using LowLatency.Engine;
using LowLatency.Market;
using LowLatency.Telemetry;
using Microsoft.Extensions.Logging;

namespace LowLatency.Kafka.Source;

/// <summary>
/// Consumes Kafka topics in a consumer group into a <see cref="MarketDataPipeline"/> and commits only what the pipeline
/// has durably written: one thread (<see cref="Run"/>) consumes, decodes straight into the input ring, pauses the
/// partitions while the ring is full, sends commit marks through the pipeline (<see cref="CommitWatermark"/>) and
/// stores the offsets a completed mark allows; librdkafka commits stored offsets in the background, and synchronously
/// at a rebalance and at shutdown.
/// </summary>
/// <remarks>
/// <para>
/// Delivery is at least once: after a crash the group resumes from the last commit, which is never past the first
/// offset of a candle not yet written, so every candle is rebuilt whole, and outputs keyed by symbol, interval and open
/// time make the replayed ones idempotent downstream.
/// </para>
/// <para>
/// Allocation: message values are copied by our deserializer into one reused buffer (Confluent's byte-array
/// deserializer would allocate a copy per message); Confluent still allocates its result objects per message, which is
/// outside the engine's code. Decoding and publishing allocate nothing.
/// </para>
/// </remarks>
public sealed partial class KafkaSource : IDisposable
{
    private const int MaxRewinds = 5;

    private readonly KafkaSourceOptions _options;
    private readonly MarketDataPipeline _pipeline;
    private readonly CommitWatermark _watermark;
    private readonly GroupCommits _commits;
    private readonly ILogger _log;
    private readonly FrameBuffer _frame = new();
    private readonly IConsumer<Ignore, int> _consumer;
    private readonly Dictionary<TopicPartition, int> _partitionIndex = [];
    private readonly List<TopicPartition> _partitions = []; // by index
    private readonly long[] _nextOffsets;   // [index]: offset after the last one published; NoOffset if none
    private readonly long[] _storedOffsets; // [index]: the offset last committed, NoOffset if none in this assignment
    private readonly long[] _storedClocks;  // [index]: the partition clock committed with it
    private readonly long[] _committedOffsets; // [index]: the offset last sent in a commit (NoOffset: send again)
    private readonly long[] _committedClocks;  // [index]: the clock last sent with it
    private readonly bool[] _owned;         // [index]: assigned to this source now
    private readonly long[] _committable;
    private readonly long[] _clocks;
    private readonly List<CommittedPosition> _commitBatch = [];
    private readonly long[] _rewoundTo;     // [index]: the offset the partition was last sought back to (NoOffset if none)
    private readonly int[] _rewindAttempts; // [index]: seeks back to _rewoundTo so far
    private readonly List<TopicPartition> _pausedPartitions = []; // what Pause was called for, so exactly these are resumed
    private readonly Dictionary<string, FrameFormat> _formats;
    private readonly Dictionary<string, int> _topicOrdinals;
    private readonly string[] _topics;          // [ordinal]: the subscribed topics, then "(other)" for a topic none names
    private readonly long[] _messagesByTopic;   // [ordinal]: written by the source thread only, read by metrics
    private readonly long[] _lagByTopic;        // [ordinal]: consumer lag, refreshed once a second by the source thread
    private long _nextLagTicks;
    private int _lastTopicOrdinal;
    private int _assigned;
    private long _lastPollTicks;
    private IProducer<byte[]?, byte[]>? _deadLetters;
    private int _deadLettersSinceMark;
    private long _nextMarkTicks;
    private bool _paused;
    private bool _closing;
    private string? _lastTopic;
    private string? _lastFormatTopic;
    private FrameFormat _lastFormat;
    private int _lastPartition = -1;
    private int _lastIndex = -1;

    /// <summary>Creates the consumer and subscribes; nothing is consumed until <see cref="Run"/>.</summary>
    public KafkaSource(KafkaSourceOptions options, MarketDataPipeline pipeline, CommitWatermark watermark, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(watermark);
        if (options.Topics.Count == 0)
        {
            throw new ArgumentException("At least one topic is needed.", nameof(options));
        }

        _options = options;
        _pipeline = pipeline;
        _watermark = watermark;
        _log = log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _formats = new Dictionary<string, FrameFormat>(options.Topics, StringComparer.Ordinal);
        _topics = [.. options.Topics.Keys, "(other)"];
        _topicOrdinals = _topics.Select((topic, i) => KeyValuePair.Create(topic, i)).ToDictionary(StringComparer.Ordinal);
        _messagesByTopic = new long[_topics.Length];
        _lagByTopic = new long[_topics.Length];
        _lastPollTicks = Environment.TickCount64;
        _nextOffsets = new long[watermark.PartitionCapacity];
        _storedOffsets = new long[watermark.PartitionCapacity];
        _storedClocks = new long[watermark.PartitionCapacity];
        _owned = new bool[watermark.PartitionCapacity];
        _committedOffsets = new long[watermark.PartitionCapacity];
        _committedClocks = new long[watermark.PartitionCapacity];
        _committable = new long[watermark.PartitionCapacity];
        _clocks = new long[watermark.PartitionCapacity];
        _rewoundTo = new long[watermark.PartitionCapacity];
        _rewindAttempts = new int[watermark.PartitionCapacity];
        _nextOffsets.AsSpan().Fill(CommitWatermark.NoOffset);
        _storedOffsets.AsSpan().Fill(CommitWatermark.NoOffset);

        LibRdKafka.EnsureResolvable();
        var config = new ConsumerConfig(new Dictionary<string, string>(options.Config))
        {
            BootstrapServers = options.BootstrapServers,
            GroupId = options.GroupId,
            EnableAutoCommit = false,        // completed commit marks commit, with their partition clocks (GroupCommits)
            EnableAutoOffsetStore = false,   // only completed commit marks store offsets
            AutoOffsetReset = options.AutoOffsetReset == "latest" ? Confluent.Kafka.AutoOffsetReset.Latest : Confluent.Kafka.AutoOffsetReset.Earliest,
            SessionTimeoutMs = options.SessionTimeoutMs,
            EnablePartitionEof = false,
        };
        _consumer = new ConsumerBuilder<Ignore, int>(config)
            .SetValueDeserializer(_frame)
            .SetPartitionsAssignedHandler((consumer, assigned) => OnAssigned(consumer, assigned))
            .SetPartitionsRevokedHandler((_, revoked) => OnRevoked(revoked))
            .SetPartitionsLostHandler((_, lost) => OnLost(lost))
            .SetErrorHandler((_, error) => LogKafkaError(error.Code, error.Reason, error.IsFatal))
            .SetOffsetsCommittedHandler((_, committed) => OnCommitted(committed))
            .Build();
        _commits = new GroupCommits(_consumer);
        _consumer.Subscribe(options.Topics.Keys);
    }

    /// <summary>Messages consumed and published.</summary>
    public long Messages { get; private set; }

    /// <summary>Messages the decoders rejected (published as invalid events and dead-lettered).</summary>
    public long Rejected { get; private set; }

    /// <summary>Debezium deletes and tombstones (<see cref="KlineChangeDecoder.Skipped"/>): counted here, neither rejected nor dead-lettered.</summary>
    public long Skipped { get; private set; }

    /// <summary>Messages librdkafka delivered again within one assignment; dropped, they were published already.</summary>
    public long Redelivered { get; private set; }

    /// <summary>Times librdkafka skipped offsets of a partition and the source read it again from the expected offset.</summary>
    public long Rewinds { get; private set; }

    /// <summary>Times reading went on past offsets that did not come back after seeking (retention, compaction, transaction markers).</summary>
    public long OffsetGaps { get; private set; }

    /// <summary>Messages sent to the dead-letter topic.</summary>
    public long DeadLettered { get; private set; }

    /// <summary>Times the partitions were paused because the input ring was full.</summary>
    public long Pauses { get; private set; }

    /// <summary>Completed commit marks whose offsets were stored.</summary>
    public long Commits { get; private set; }

    /// <summary>The topics <see cref="MessagesOf"/> and <see cref="LagOf"/> count by ordinal: the subscribed ones, then "(other)".</summary>
    public IReadOnlyList<string> Topics => _topics;

    /// <summary>Messages consumed from topic <paramref name="ordinal"/> of <see cref="Topics"/> (any thread).</summary>
    /// <remarks>A plain 64-bit read of a field only the source thread writes: atomic, possibly a moment stale.</remarks>
    public long MessagesOf(int ordinal) => Volatile.Read(ref _messagesByTopic[ordinal]);

    /// <summary>
    /// Consumer lag of topic <paramref name="ordinal"/>: high watermark minus position, summed over its assigned
    /// partitions, as librdkafka last saw them (refreshed once a second by the source thread; any thread may read).
    /// </summary>
    public long LagOf(int ordinal) => Volatile.Read(ref _lagByTopic[ordinal]);

    /// <summary>Partitions assigned (as of the last rebalance or lag refresh; any thread).</summary>
    public int AssignedPartitions => Volatile.Read(ref _assigned);

    /// <summary>When the source thread last polled the consumer (<see cref="Environment.TickCount64"/>; any thread).</summary>
    public long LastPollTicks => Volatile.Read(ref _lastPollTicks);

    /// <summary>Whether the partitions are paused now.</summary>
    public bool IsPaused => _paused;

    /// <summary>The partitions assigned now (a copy).</summary>
    public IReadOnlyList<TopicPartition> Assignment => [.. _consumer.Assignment];

    /// <summary>
    /// Consumes until <paramref name="stop"/> is cancelled, then drains: a last commit mark, a synchronous commit, and
    /// the consumer leaves the group. Call on the thread that owns the source (one thread only).
    /// </summary>
    public void Run(CancellationToken stop)
    {
        _nextMarkTicks = Environment.TickCount64 + (long)_options.CommitInterval.TotalMilliseconds;
        while (!stop.IsCancellationRequested)
        {
            ApplyBackpressure();
            ConsumeResult<Ignore, int>? result;
            try
            {
                result = _consumer.Consume(_paused ? 10 : 100);
            }
            catch (ConsumeException e)
            {
                LogConsumeError(e.Error.Code, e.Error.Reason);
                continue;
            }

            if (result is not null && !result.IsPartitionEOF)
            {
                Publish(result);
            }

            if (Environment.TickCount64 >= _nextMarkTicks)
            {
                BeginMark();
                _nextMarkTicks = Environment.TickCount64 + (long)_options.CommitInterval.TotalMilliseconds;
            }

            StoreCompletedMarks();
            Volatile.Write(ref _lastPollTicks, Environment.TickCount64);
            if (Environment.TickCount64 >= _nextLagTicks)
            {
                RefreshLag();
                _nextLagTicks = Environment.TickCount64 + 1_000;
            }
        }

        _closing = true;
        CommitEverythingDrained("shutdown");
        _consumer.Close();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _consumer.Dispose();
        _deadLetters?.Dispose();
    }

    private void Publish(ConsumeResult<Ignore, int> result)
    {
        var index = IndexOf(result.Topic, result.Partition.Value);
        var offset = result.Offset.Value;
        var position = SourcePosition.Compose(index, offset);
        var frame = result.Message.Value < 0 ? ReadOnlySpan<byte>.Empty : _frame.Buffer.AsSpan(0, result.Message.Value);

        var expected = _nextOffsets[index];
        if (offset != expected && expected != CommitWatermark.NoOffset && !OnUnexpectedOffset(result, index, expected))
        {
            return;
        }

        var format = FormatOf(result.Topic);
        var decoded = _pipeline.Publish(format, frame, WallClock.UnixNanoseconds(), position);
        _nextOffsets[index] = offset + 1;
        Messages++;
        _messagesByTopic[_lastTopicOrdinal]++;
        if (KlineChangeDecoder.IsSkipped(decoded))
        {
            Skipped++;
        }
        else if (!decoded.IsSuccess)
        {
            Rejected++;
            DeadLetter(result, frame, decoded);
        }
    }

    private FrameFormat FormatOf(string topic) =>
        ReferenceEquals(topic, _lastFormatTopic) || string.Equals(topic, _lastFormatTopic, StringComparison.Ordinal)
            ? _lastFormat
            : CacheFormat(topic);

    private FrameFormat CacheFormat(string topic)
    {
        _lastFormatTopic = topic;
        _lastTopicOrdinal = _topicOrdinals.GetValueOrDefault(topic, _topics.Length - 1);
        return _lastFormat = _formats.GetValueOrDefault(topic, FrameFormat.BinanceJson);
    }

    /// <summary>The dense index of a topic-partition; the last one is cached (a consumer reads runs from one partition).</summary>
    private int IndexOf(string topic, int partition)
    {
        if (partition == _lastPartition && string.Equals(topic, _lastTopic, StringComparison.Ordinal))
        {
            return _lastIndex;
        }

        var index = IndexOf(new TopicPartition(topic, partition));
        _lastTopic = topic;
        _lastPartition = partition;
        _lastIndex = index;
        return index;
    }

    private int IndexOf(TopicPartition partition)
    {
        if (_partitionIndex.TryGetValue(partition, out var index))
        {
            return index;
        }

        // Indexes are never reused for another partition, so positions of different partitions never mix.
        if (_partitions.Count == _watermark.PartitionCapacity)
        {
            throw new InvalidOperationException(
                $"More than {_watermark.PartitionCapacity} partitions seen; raise the partition capacity of the commit watermark.");
        }

        index = _partitions.Count;
        _partitions.Add(partition);
        _partitionIndex.Add(partition, index);
        return index;
    }

    /// <summary>
    /// Lag per topic from librdkafka's cached watermarks and positions (local calls, no broker round trip); on the
    /// source thread because the consumer is used from it alone.
    /// </summary>
    private void RefreshLag()
    {
        var assignment = _consumer.Assignment;
        Volatile.Write(ref _assigned, assignment.Count);
        Span<long> lag = stackalloc long[_lagByTopic.Length];
        lag.Clear();
        foreach (var partition in assignment)
        {
            var high = _consumer.GetWatermarkOffsets(partition).High;
            var position = _consumer.Position(partition);
            if (high != Offset.Unset && position != Offset.Unset && high.Value > position.Value)
            {
                lag[_topicOrdinals.GetValueOrDefault(partition.Topic, _topics.Length - 1)] += high.Value - position.Value;
            }
        }

        for (var i = 0; i < lag.Length; i++)
        {
            Volatile.Write(ref _lagByTopic[i], lag[i]);
        }
    }

    private void ApplyBackpressure()
    {
        var occupancy = _pipeline.InputOccupancy;
        if (!_paused && occupancy >= _options.PauseAtOccupancy)
        {
            if (RoomWithin(_options.PauseAfter))
            {
                return; // a burst, not a stall: the ring made room without a pause and its refetch
            }

            var assignment = _consumer.Assignment;
            if (assignment.Count == 0)
            {
                return; // nothing to pause yet; an assignment arriving later is paused by the next check
            }

            _consumer.Pause(assignment);
            _pausedPartitions.AddRange(assignment);
            _paused = true;
            Pauses++;
        }
        else if (_paused && occupancy <= _options.ResumeAtOccupancy)
        {
            Resume(_pausedPartitions);
        }
    }

    /// <summary>
    /// Waits up to <paramref name="grace"/> for the input ring to drop below the pause threshold; true when it did. Spins
    /// briefly, then yields and sleeps (<see cref="SpinWait"/>), so a waiting source does not take a core from the shards.
    /// </summary>
    private bool RoomWithin(TimeSpan grace)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(grace.TotalSeconds * Stopwatch.Frequency);
        var spin = default(SpinWait);
        while (_pipeline.InputOccupancy >= _options.PauseAtOccupancy)
        {
            if (Stopwatch.GetTimestamp() >= deadline)
            {
                return false;
            }

            spin.SpinOnce();
        }

        return true;
    }

    /// <summary>
    /// Resumes the paused partitions among <paramref name="partitions"/>, and only those: librdkafka 2.0 may fetch again
    /// from a stale position when a partition that was not paused is resumed (librdkafka#4637), which would deliver
    /// messages twice.
    /// </summary>
    private void Resume(IReadOnlyCollection<TopicPartition> partitions)
    {
        var resume = ReferenceEquals(partitions, _pausedPartitions)
            ? [.. _pausedPartitions]
            : _pausedPartitions.Intersect(partitions).ToList();
        if (resume.Count > 0)
        {
            _consumer.Resume(resume);
            _pausedPartitions.RemoveAll(resume.Contains);
        }

        _paused = _pausedPartitions.Count > 0;
    }

    /// <summary>Opens a commit mark at the current read positions and sends it through the pipeline.</summary>
    private long BeginMark()
    {
        if (_deadLettersSinceMark > 0)
        {
            // A dead-lettered message's offset may be committed only once its copy is in the dead-letter topic.
            _deadLetters!.Flush(_options.DrainTimeout);
            _deadLettersSinceMark = 0;
        }

        var id = _watermark.BeginMark(_nextOffsets.AsSpan(0, _partitions.Count));
        if (id != 0)
        {
            _pipeline.PublishControl(ControlKind.CommitMark, id);
        }

        return id;
    }

    /// <summary>Commits the offsets of every completed mark, with the partitions' clocks, asynchronously.</summary>
    private void StoreCompletedMarks()
    {
        var completed = false;
        while (_watermark.TryComplete(_committable, _clocks) != 0)
        {
            Commits++;
            completed = true;
            for (var i = 0; i < _partitions.Count; i++)
            {
                // Only partitions still ours: a lost one may have a new owner whose commits must not be overwritten.
                // The clock is the mark's even when the offset did not move: an open 1 min candle can hold the offset
                // while 1 s candles keep closing, and a restart from that offset must know they were written (a clock
                // stored only with a new offset once let a restart write 52 candles again).
                if (_owned[i] && _committable[i] != CommitWatermark.NoOffset && _committable[i] >= _storedOffsets[i])
                {
                    _storedOffsets[i] = _committable[i];
                    _storedClocks[i] = _clocks[i];
                }
            }
        }

        if (completed)
        {
            CommitStored(synchronous: false, onlyNew: true);
        }
    }

    /// <summary>Commits the stored offsets of the owned partitions (those not committed yet, or all).</summary>
    private void CommitStored(bool synchronous, bool onlyNew)
    {
        _commitBatch.Clear();
        for (var i = 0; i < _partitions.Count; i++)
        {
            if (_owned[i] && _storedOffsets[i] != CommitWatermark.NoOffset
                && (!onlyNew || _storedOffsets[i] != _committedOffsets[i] || _storedClocks[i] != _committedClocks[i]))
            {
                _commitBatch.Add(new CommittedPosition(_partitions[i], _storedOffsets[i], _storedClocks[i]));
                _committedOffsets[i] = _storedOffsets[i];
                _committedClocks[i] = _storedClocks[i];
            }
        }

        var error = _commits.Commit(_commitBatch, synchronous);
        if (error != ErrorCode.NoError)
        {
            LogCommitFailed(synchronous ? "drain" : "mark", error, new Error(error).Reason);
        }
    }

    private void OnCommitted(CommittedOffsets committed)
    {
        // Asynchronous commits report here (served by Consume). A failed one is retried by the next mark's commit.
        if (committed.Error.IsError)
        {
            LogCommitFailed("mark", committed.Error.Code, committed.Error.Reason);
            _committedOffsets.AsSpan().Fill(CommitWatermark.NoOffset);
        }
    }

    /// <summary>Sends a mark, waits until the pipeline has written everything before it, stores and commits.</summary>
    private void CommitEverythingDrained(string why)
    {
        var deadline = Environment.TickCount64 + (long)_options.DrainTimeout.TotalMilliseconds;
        long id;
        while ((id = BeginMark()) == 0)
        {
            StoreCompletedMarks(); // the pending marks complete first
            if (Environment.TickCount64 > deadline)
            {
                LogDrainTimeout(why, _options.DrainTimeout);
                return;
            }

            Thread.Yield();
        }

        while (_watermark.Completed < id)
        {
            StoreCompletedMarks();
            if (Environment.TickCount64 > deadline)
            {
                LogDrainTimeout(why, _options.DrainTimeout);
                return;
            }

            Thread.Sleep(1);
        }

        StoreCompletedMarks();
        CommitStored(synchronous: true, onlyNew: false);
    }

    private List<TopicPartitionOffset> OnAssigned(IConsumer<Ignore, int> consumer, List<TopicPartition> assigned)
    {
        // Every partition starts at the group's committed offset, named explicitly. Left to itself, librdkafka 2.0 can
        // continue a re-assigned partition from its own last position when it was paused and resumed before the
        // rebalance (librdkafka#1802, #4686), while the shards have just dropped the partition's open candles: they would
        // be rebuilt from part of their trades (the crash test caught exactly that).
        List<CommittedPosition> start;
        try
        {
            start = _commits.Committed(assigned, _options.DrainTimeout);
        }
        catch (KafkaException e)
        {
            LogCommittedUnknown(e.Error.Code, e.Error.Reason);
            start = [.. assigned.Select(p => new CommittedPosition(p, Offset.Unset.Value, GroupCommits.NoClock))];
        }

        foreach (var partition in start)
        {
            var index = IndexOf(partition.Partition);
            _owned[index] = true;
            _nextOffsets[index] = partition.Offset >= 0 ? partition.Offset : CommitWatermark.NoOffset;
            _storedOffsets[index] = CommitWatermark.NoOffset;
            _committedOffsets[index] = CommitWatermark.NoOffset;
            _rewoundTo[index] = CommitWatermark.NoOffset;
            if (partition.ClockNs != GroupCommits.NoClock)
            {
                // The candles that had closed when this offset was committed stay closed (see ControlKind.PartitionClock).
                _pipeline.PublishControl(ControlKind.PartitionClock, index, partition.ClockNs);
            }
        }

        _lastPartition = -1;
        Volatile.Write(ref _assigned, assigned.Count); // eager assignment: the whole new set (RefreshLag corrects it within a second)
        LogAssigned(assigned.Count, string.Join(", ", start.Select(p => p.ClockNs == GroupCommits.NoClock ? $"{p.Partition}@{p.Offset}"
            : string.Create(CultureInfo.InvariantCulture, $"{p.Partition}@{p.Offset} (clock {DateTimeOffset.UnixEpoch.AddTicks(p.ClockNs / 100):yyyy-MM-ddTHH:mm:ss.fffZ})"))));
        return [.. start.Select(p => new TopicPartitionOffset(p.Partition, p.Offset))]; // Unset where the group has no commit: auto.offset.reset applies
    }

    /// <summary>
    /// A message that is not the next one of its partition: false if it must not be published. An earlier offset was
    /// published already in this assignment (librdkafka delivered it again): dropped. A later one means offsets were
    /// skipped: the partition is sought back to the expected offset and read again. Only when the broker confirms that
    /// the offsets in between are gone (below its low watermark: retention) or after several seeks (compaction and
    /// transaction markers leave offsets that never come) does reading go on past them, with a warning.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool OnUnexpectedOffset(ConsumeResult<Ignore, int> result, int index, long expected)
    {
        var offset = result.Offset.Value;
        if (offset < expected)
        {
            Redelivered++;
            return false;
        }

        var partition = result.TopicPartition;
        if (_rewoundTo[index] != expected)
        {
            _rewoundTo[index] = expected;
            _rewindAttempts[index] = 0;
        }

        var gone = false;
        if (_rewindAttempts[index] > 0)
        {
            try
            {
                gone = _consumer.QueryWatermarkOffsets(partition, _options.DrainTimeout).Low.Value > expected;
            }
            catch (KafkaException)
            {
                // Unknown: seek again.
            }
        }

        if (!gone && _rewindAttempts[index] < MaxRewinds)
        {
            _rewindAttempts[index]++;
            Rewinds++;
            LogRewind(partition.ToString(), offset, expected);
            _consumer.Seek(new TopicPartitionOffset(partition, expected));
            return false;
        }

        OffsetGaps++;
        LogOffsetGap(partition.ToString(), expected, offset, gone ? "removed by retention" : $"still missing after {MaxRewinds} seeks (compaction or transaction markers)");
        return true;
    }

    private void OnRevoked(List<TopicPartitionOffset> revoked)
    {
        // Called inside Consume, on the source's thread: commit what the pipeline has written, then let the shards drop
        // the open state of the partitions' symbols (their next owner rebuilds it from this commit).
        if (!_closing)
        {
            CommitEverythingDrained("rebalance");
        }

        // librdkafka keeps a partition's pause flag across a re-assignment (the flag belongs to its partition object,
        // not to the assignment): resume while they are still ours, or a partition assigned again would stay paused
        // for good while this source believes it flows. The backpressure check pauses the new assignment if needed.
        var partitions = revoked.Select(r => r.TopicPartition).ToList();
        Resume(partitions);
        Forget(partitions);
        Volatile.Write(ref _assigned, Math.Max(0, _assigned - revoked.Count));
        LogRevoked(revoked.Count);
    }

    private void OnLost(List<TopicPartitionOffset> lost)
    {
        // Lost, not revoked: another member may own them already, so nothing may be committed for them.
        var partitions = lost.Select(l => l.TopicPartition).ToList();
        Resume(partitions);
        Forget(partitions);
        Volatile.Write(ref _assigned, Math.Max(0, _assigned - lost.Count));
        LogLost(lost.Count);
    }

    private void Forget(IEnumerable<TopicPartition> partitions)
    {
        foreach (var partition in partitions)
        {
            if (_partitionIndex.TryGetValue(partition, out var index))
            {
                _pipeline.PublishControl(ControlKind.PartitionRevoked, index);
                _nextOffsets[index] = CommitWatermark.NoOffset;
                _storedOffsets[index] = CommitWatermark.NoOffset;
                _owned[index] = false;
            }
        }

        _lastPartition = -1;
    }

    private void DeadLetter(ConsumeResult<Ignore, int> result, ReadOnlySpan<byte> frame, DecodeResult decoded)
    {
        if (_options.DeadLetterTopic is null)
        {
            return;
        }

        _deadLetters ??= new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig(new Dictionary<string, string>(_options.Config))
        {
            BootstrapServers = _options.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
        }).Build();

        var headers = new Headers
        {
            { "lowlatency.reason", System.Text.Encoding.UTF8.GetBytes(decoded.ToString()) },
            { "lowlatency.topic", System.Text.Encoding.UTF8.GetBytes(result.Topic) },
            { "lowlatency.partition", BitConverter.GetBytes(result.Partition.Value) },
            { "lowlatency.offset", BitConverter.GetBytes(result.Offset.Value) },
        };
        _deadLetters.Produce(_options.DeadLetterTopic, new Message<byte[]?, byte[]> { Value = frame.ToArray(), Headers = headers });
        _deadLettersSinceMark++;
        DeadLettered++;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Kafka: {Count} partition(s) assigned: {Partitions}")]
    private partial void LogAssigned(int count, string partitions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka: the group's committed offsets are unknown ({Code}: {Reason}); librdkafka looks them up itself")]
    private partial void LogCommittedUnknown(ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka: {Partition} delivered offset {Offset} where {Expected} was next; reading it again from {Expected}")]
    private partial void LogRewind(string partition, long offset, long expected);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka: {Partition} goes on at offset {Offset}; offsets from {Expected} are {Why}")]
    private partial void LogOffsetGap(string partition, long expected, long offset, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kafka: {Count} partition(s) revoked after a commit of what was written")]
    private partial void LogRevoked(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka: {Count} partition(s) lost (no commit possible); their new owner resumes from the last commit")]
    private partial void LogLost(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka: {Code}: {Reason} (fatal: {Fatal}); librdkafka retries with backoff")]
    private partial void LogKafkaError(ErrorCode code, string reason, bool fatal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka: consume failed: {Code}: {Reason}")]
    private partial void LogConsumeError(ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Kafka: the pipeline did not drain within {Timeout} at {Why}; committing only what completed (the rest is replayed)")]
    private partial void LogDrainTimeout(string why, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka: commit at {Why} failed: {Code}: {Reason} (the stored offsets are committed later; at worst replayed)")]
    private partial void LogCommitFailed(string why, ErrorCode code, string reason);

    /// <summary>
    /// The value deserializer: copies the message into one reused buffer and returns its length (-1 for a null value).
    /// Valid until the next Consume, which is when the frame has been decoded into the ring.
    /// </summary>
    private sealed class FrameBuffer : IDeserializer<int>
    {
        public byte[] Buffer { get; private set; } = new byte[64 * 1024];

        public int Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
        {
            if (isNull)
            {
                return -1;
            }

            if (data.Length > Buffer.Length)
            {
                Buffer = new byte[Math.Max(data.Length, Buffer.Length * 2)]; // grows to the largest message, bounded by fetch.max.bytes
            }

            data.CopyTo(Buffer);
            return data.Length;
        }
    }
}

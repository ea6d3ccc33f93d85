using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace LowLatency.Kafka.Source;

/// <summary>A partition's committed offset and the event-time clock kept with it (<see cref="GroupCommits.NoClock"/> if none).</summary>
public readonly record struct CommittedPosition(TopicPartition Partition, long Offset, long ClockNs);

/// <summary>
/// Commits a consumer group's offsets with a metadata string and reads both back, through librdkafka's C API on the
/// consumer's own handle. The metadata carries each partition's event-time clock at the commit, so a restart starts the
/// clock where the commit left it (see <see cref="Market.ControlKind.PartitionClock"/>), as Kafka Streams keeps its
/// partition time in the commit metadata. Confluent.Kafka 1.9 (and 2.x) cannot: its offsets have no metadata
/// (confluent-kafka-dotnet#2112), while the protocol and librdkafka have had it from the start.
/// </summary>
/// <remarks>
/// The consumer's <c>rd_kafka_t</c> comes from Confluent.Kafka's internal <c>Handle.LibrdkafkaHandle</c>, found by
/// reflection once; a Confluent.Kafka without it fails at construction with a clear message, never later. Calls hold a
/// reference on the handle (<see cref="SafeHandle.DangerousAddRef"/>) so a concurrent dispose cannot free it under us.
/// The metadata is ASCII, <c>lowlatency clock_ns=&lt;n&gt;</c>, so <c>kafka-consumer-groups --describe</c> shows it.
/// </remarks>
public sealed unsafe partial class GroupCommits
{
    /// <summary>Clock meaning "none kept with the commit" (an older commit, or another client's).</summary>
    public const long NoClock = long.MinValue;

    private const string Library = LibRdKafka.ImportName;
    private readonly SafeHandle _handle;

    static GroupCommits() => NativeLibrary.SetDllImportResolver(typeof(GroupCommits).Assembly, LibRdKafka.Resolve);

    /// <summary>Binds to <paramref name="consumer"/>'s librdkafka handle.</summary>
    public GroupCommits(IClient consumer)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        var property = typeof(Handle).GetProperty("LibrdkafkaHandle", BindingFlags.Instance | BindingFlags.NonPublic);
        _handle = property?.GetValue(consumer.Handle) as SafeHandle
            ?? throw new NotSupportedException(
                $"This Confluent.Kafka ({typeof(Handle).Assembly.GetName().Version}) does not expose its librdkafka handle as 1.9 does; offsets cannot be committed with their clocks.");
    }

    /// <summary>Commits <paramref name="positions"/> (offsets with clocks), asynchronously or not; returns the error of a synchronous commit.</summary>
    public ErrorCode Commit(IReadOnlyList<CommittedPosition> positions, bool synchronous)
    {
        ArgumentNullException.ThrowIfNull(positions);
        if (positions.Count == 0)
        {
            return ErrorCode.NoError;
        }

        var added = false;
        _handle.DangerousAddRef(ref added);
        var rk = _handle.DangerousGetHandle();
        var list = rd_kafka_topic_partition_list_new(positions.Count);
        try
        {
            Span<byte> text = stackalloc byte[64];
            foreach (var position in positions)
            {
                var element = rd_kafka_topic_partition_list_add(list, position.Partition.Topic, position.Partition.Partition.Value);
                element->Offset = position.Offset;
                if (position.ClockNs != NoClock)
                {
                    MetadataPrefix.CopyTo(text);
                    var length = MetadataPrefix.Length;
                    position.ClockNs.TryFormat(text[length..], out var digits, default, CultureInfo.InvariantCulture);
                    length += digits;

                    // Allocated by librdkafka's allocator: destroying the list frees it.
                    element->Metadata = rd_kafka_mem_malloc(rk, (nuint)length);
                    text[..length].CopyTo(new Span<byte>((void*)element->Metadata, length));
                    element->MetadataSize = (nuint)length;
                }
            }

            // rd_kafka_commit copies the list for an asynchronous commit; its result then reaches the consumer's
            // OffsetsCommitted handler (librdkafka's offset_commit_cb), served by Consume.
            return (ErrorCode)rd_kafka_commit(rk, list, synchronous ? 0 : 1);
        }
        finally
        {
            rd_kafka_topic_partition_list_destroy(list);
            _handle.DangerousRelease();
        }
    }

    /// <summary>
    /// The group's committed offsets of <paramref name="partitions"/> with their clocks (offset -1001, Unset, where none).
    /// Throws a <see cref="KafkaException"/> when the broker does not answer within <paramref name="timeout"/>.
    /// </summary>
    public List<CommittedPosition> Committed(IReadOnlyList<TopicPartition> partitions, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        var added = false;
        _handle.DangerousAddRef(ref added);
        var list = rd_kafka_topic_partition_list_new(Math.Max(1, partitions.Count));
        try
        {
            foreach (var partition in partitions)
            {
                rd_kafka_topic_partition_list_add(list, partition.Topic, partition.Partition.Value);
            }

            var error = (ErrorCode)rd_kafka_committed(_handle.DangerousGetHandle(), list, (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds));
            if (error != ErrorCode.NoError)
            {
                throw new KafkaException(error);
            }

            var result = new List<CommittedPosition>(partitions.Count);
            for (var i = 0; i < list->Count; i++)
            {
                ref var element = ref list->Elements[i];
                var metadata = element.Metadata == IntPtr.Zero
                    ? ReadOnlySpan<byte>.Empty
                    : new ReadOnlySpan<byte>((void*)element.Metadata, (int)Math.Min(element.MetadataSize, 256));
                result.Add(new CommittedPosition(partitions[i], element.Offset, ParseClock(metadata)));
            }

            return result;
        }
        finally
        {
            rd_kafka_topic_partition_list_destroy(list);
            _handle.DangerousRelease();
        }
    }

    /// <summary>The clock in a commit's metadata, or <see cref="NoClock"/> if it holds none of ours.</summary>
    public static long ParseClock(ReadOnlySpan<byte> metadata) =>
        metadata.StartsWith(MetadataPrefix)
            && long.TryParse(metadata[MetadataPrefix.Length..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var clock)
            ? clock
            : NoClock;

    private static ReadOnlySpan<byte> MetadataPrefix => "lowlatency clock_ns="u8;

    /// <summary><c>rd_kafka_topic_partition_t</c> of <c>rdkafka.h</c> (librdkafka 0.9 to 2.x; the layout is part of its ABI).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct TopicPartitionNative
    {
        public IntPtr Topic;
        public int Partition;
        public long Offset;
        public IntPtr Metadata;
        public nuint MetadataSize;
        public IntPtr Opaque;
        public int Error;
        public IntPtr Private;
    }

    /// <summary><c>rd_kafka_topic_partition_list_t</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct TopicPartitionListNative
    {
        public int Count;
        public int Size;
        public TopicPartitionNative* Elements;
    }

    [LibraryImport(Library)]
    private static partial TopicPartitionListNative* rd_kafka_topic_partition_list_new(int size);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial TopicPartitionNative* rd_kafka_topic_partition_list_add(TopicPartitionListNative* list, string topic, int partition);

    [LibraryImport(Library)]
    private static partial void rd_kafka_topic_partition_list_destroy(TopicPartitionListNative* list);

    [LibraryImport(Library)]
    private static partial IntPtr rd_kafka_mem_malloc(IntPtr rk, nuint size);

    [LibraryImport(Library)]
    private static partial int rd_kafka_commit(IntPtr rk, TopicPartitionListNative* offsets, int async);

    [LibraryImport(Library)]
    private static partial int rd_kafka_committed(IntPtr rk, TopicPartitionListNative* partitions, int timeoutMs);
}

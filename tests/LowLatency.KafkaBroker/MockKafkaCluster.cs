using System.Globalization;

namespace LowLatency.KafkaBroker;

/// <summary>A topic to create on a <see cref="MockKafkaCluster"/>.</summary>
/// <param name="Name">The topic name.</param>
/// <param name="Partitions">Partitions, at least 1. Each keeps at most 5 MiB or 100,000 batches (see <see cref="MockKafkaCluster"/>).</param>
/// <param name="ReplicationFactor">Replicas, at least 1 and at most the number of brokers. Default 1.</param>
public readonly record struct MockTopic(string Name, int Partitions, int ReplicationFactor = 1)
{
    /// <summary>
    /// Parses the command line's <c>NAME:PARTITIONS[:REPLICATION]</c>, e.g. <c>binance.raw:64</c>. Throws
    /// <see cref="FormatException"/> with a message for the user.
    /// </summary>
    public static MockTopic Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(':');
        if (parts.Length is < 2 or > 3 || parts[0].Length == 0
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var partitions) || partitions < 1
            || !TryReplication(parts, out var replication))
        {
            throw new FormatException($"A topic is NAME:PARTITIONS[:REPLICATION] with counts of at least 1, e.g. binance.raw:64; got '{text}'.");
        }

        return new MockTopic(parts[0], partitions, replication);

        static bool TryReplication(string[] parts, out int replication)
        {
            replication = 1;
            return parts.Length == 2
                || (int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out replication) && replication >= 1);
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name}:{Partitions}:{ReplicationFactor}");
}

/// <summary>
/// A real Kafka-protocol cluster in this process: librdkafka's mock cluster (<c>rdkafka_mock.h</c>), listening on
/// ephemeral ports of 127.0.0.1, reachable by any Kafka client in any process through <see cref="BootstrapServers"/>.
/// It serves produce (idempotent and transactional too), fetch, metadata, consumer groups and offset commits.
/// </summary>
/// <remarks>
/// <para>
/// Limits of librdkafka 2.0.2's mock that tests must respect: each partition keeps at most 5 MiB or 100,000 batches and
/// drops older data silently, so large runs need many partitions; there is no CreateTopics, DescribeConfigs or ListGroups,
/// and any metadata request for an unknown topic auto-creates it with 4 partitions, so create topics here (at start, or
/// through <see cref="CreateTopic(MockTopic)"/>) before a client asks for them; a new consumer group waits about 3 s
/// before its first assignment and occasionally rebalances twice, so use a unique group id per test, a session timeout
/// of about 6 s, and tolerate a commit that fails during a rebalance. State lives in memory and ends with the cluster.
/// </para>
/// <para>
/// The cluster hangs off a producer handle (<c>rd_kafka_t</c>) that exists only to own it and its threads; that handle
/// never connects anywhere. Thread-safe: <see cref="CreateTopic(MockTopic)"/> hands the request to the cluster's own
/// thread and waits for its reply.
/// </para>
/// </remarks>
public sealed class MockKafkaCluster : IDisposable
{
    /// <summary>librdkafka's log level for the owning handle: 3 (errors) keeps its notice about having no bootstrap
    /// servers, which is expected here, out of test output.</summary>
    private const string LogLevel = "3";

    private readonly Lock _lock = new();
    private readonly List<MockTopic> _topics = [];
    private IntPtr _handle;
    private IntPtr _cluster;

    private MockKafkaCluster(IntPtr handle, IntPtr cluster, int brokers)
    {
        _handle = handle;
        _cluster = cluster;
        Brokers = brokers;
        BootstrapServers = NativeMethods.Utf8(NativeMethods.rd_kafka_mock_cluster_bootstraps(cluster));
    }

    /// <summary>The version of the native librdkafka in use, e.g. <c>2.0.2</c>.</summary>
    public static string NativeVersion => NativeMethods.Utf8(NativeMethods.rd_kafka_version_str());

    /// <summary>Comma-separated <c>host:port</c> of every broker, for a client's <c>bootstrap.servers</c>.</summary>
    public string BootstrapServers { get; }

    /// <summary>How many brokers the cluster runs.</summary>
    public int Brokers { get; }

    /// <summary>The topics created so far, in order.</summary>
    public IReadOnlyList<MockTopic> Topics
    {
        get
        {
            lock (_lock)
            {
                return [.. _topics];
            }
        }
    }

    /// <summary>
    /// Starts a cluster of <paramref name="brokers"/> brokers and creates <paramref name="topics"/>. Throws
    /// <see cref="InvalidOperationException"/> when librdkafka cannot (no free port, a bad topic), and
    /// <see cref="DllNotFoundException"/> when librdkafka is not installed (<c>apt-get install librdkafka1</c>).
    /// </summary>
    public static MockKafkaCluster Start(int brokers = 1, params IEnumerable<MockTopic> topics)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        ArgumentNullException.ThrowIfNull(topics);
        var handle = NewOwnerHandle();
        var cluster = NativeMethods.rd_kafka_mock_cluster_new(handle, brokers);
        if (cluster == IntPtr.Zero)
        {
            NativeMethods.rd_kafka_destroy(handle);
            throw new InvalidOperationException($"librdkafka could not start a mock cluster of {brokers} broker(s).");
        }

        var started = new MockKafkaCluster(handle, cluster, brokers);
        try
        {
            foreach (var topic in topics)
            {
                started.CreateTopic(topic);
            }
        }
        catch
        {
            started.Dispose();
            throw;
        }

        return started;
    }

    /// <summary>Creates <paramref name="name"/> with <paramref name="partitions"/> partitions and one replica.</summary>
    public void CreateTopic(string name, int partitions) => CreateTopic(new MockTopic(name, partitions));

    /// <summary>
    /// Creates <paramref name="topic"/>. Throws <see cref="InvalidOperationException"/> with librdkafka's reason when it
    /// refuses (the name exists, more replicas than brokers), and <see cref="ObjectDisposedException"/> after
    /// <see cref="Dispose"/>.
    /// </summary>
    public void CreateTopic(MockTopic topic)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic.Name);
        ArgumentOutOfRangeException.ThrowIfLessThan(topic.Partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(topic.ReplicationFactor, 1);
        if (topic.ReplicationFactor > Brokers)
        {
            throw new ArgumentOutOfRangeException(nameof(topic), $"Topic {topic.Name}: {topic.ReplicationFactor} replicas but only {Brokers} broker(s).");
        }

        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_cluster == IntPtr.Zero, this);
            var error = NativeMethods.rd_kafka_mock_topic_create(_cluster, topic.Name, topic.Partitions, topic.ReplicationFactor);
            if (error != 0)
            {
                throw new InvalidOperationException($"librdkafka refused to create topic {topic}: {NativeMethods.Utf8(NativeMethods.rd_kafka_err2str(error))} ({error}).");
            }

            _topics.Add(topic);
        }
    }

    /// <summary>
    /// Takes broker <paramref name="brokerId"/> (1 to <see cref="Brokers"/>) down: its connections close and new ones are
    /// refused, as when a broker process stops; its data stays. <see cref="SetBrokerUp"/> brings it back.
    /// </summary>
    public void SetBrokerDown(int brokerId) => SetBroker(brokerId, up: false);

    /// <summary>Brings broker <paramref name="brokerId"/> back after <see cref="SetBrokerDown"/>.</summary>
    public void SetBrokerUp(int brokerId) => SetBroker(brokerId, up: true);

    /// <summary>Stops the brokers (clients still connected see their connections close) and frees the cluster.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_cluster == IntPtr.Zero)
            {
                return;
            }

            // The cluster before its owner: the cluster's thread logs through the owning handle.
            NativeMethods.rd_kafka_mock_cluster_destroy(_cluster);
            NativeMethods.rd_kafka_destroy(_handle);
            _cluster = IntPtr.Zero;
            _handle = IntPtr.Zero;
        }
    }

    private void SetBroker(int brokerId, bool up)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokerId, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(brokerId, Brokers);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_cluster == IntPtr.Zero, this);
            var error = up ? NativeMethods.rd_kafka_mock_broker_set_up(_cluster, brokerId) : NativeMethods.rd_kafka_mock_broker_set_down(_cluster, brokerId);
            if (error != 0)
            {
                throw new InvalidOperationException($"librdkafka could not set broker {brokerId} {(up ? "up" : "down")}: {NativeMethods.Utf8(NativeMethods.rd_kafka_err2str(error))} ({error}).");
            }
        }
    }

    public override string ToString() => $"mock Kafka cluster, {Brokers} broker(s) at {BootstrapServers}";

    private static unsafe IntPtr NewOwnerHandle()
    {
        var error = stackalloc byte[NativeMethods.ErrorStringSize];
        var conf = NativeMethods.rd_kafka_conf_new();
        if (NativeMethods.rd_kafka_conf_set(conf, "log_level", LogLevel, error, NativeMethods.ErrorStringSize) != NativeMethods.ConfOk
            || NativeMethods.rd_kafka_conf_set(conf, "client.id", "lowlatency-mock-cluster", error, NativeMethods.ErrorStringSize) != NativeMethods.ConfOk)
        {
            NativeMethods.rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException($"librdkafka rejected the mock cluster's configuration: {NativeMethods.Utf8(new ReadOnlySpan<byte>(error, NativeMethods.ErrorStringSize))}");
        }

        var handle = NativeMethods.rd_kafka_new(NativeMethods.ProducerType, conf, error, NativeMethods.ErrorStringSize);
        if (handle == IntPtr.Zero)
        {
            NativeMethods.rd_kafka_conf_destroy(conf); // rd_kafka_new takes the configuration only when it succeeds
            throw new InvalidOperationException($"librdkafka could not create the mock cluster's owner: {NativeMethods.Utf8(new ReadOnlySpan<byte>(error, NativeMethods.ErrorStringSize))}");
        }

        return handle;
    }
}

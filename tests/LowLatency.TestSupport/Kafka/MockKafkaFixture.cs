using System.Globalization;
using LowLatency.KafkaBroker;

namespace LowLatency.TestSupport.Kafka;

/// <summary>
/// A real Kafka broker for a test class or collection (<c>IClassFixture&lt;MockKafkaFixture&gt;</c> or a collection
/// fixture): a <see cref="MockKafkaCluster"/> in the test process, one broker on an ephemeral port of 127.0.0.1, started
/// in milliseconds. Tests create their own topics and group ids through it, so tests sharing a fixture never see each
/// other's data, and follow the mock's limits (see <see cref="MockKafkaCluster"/>) through the constants below.
/// </summary>
public sealed class MockKafkaFixture : IDisposable
{
    /// <summary>
    /// The consumer session timeout for tests, in ms: 6 s, the lower bound a real broker accepts by default
    /// (<c>group.min.session.timeout.ms</c>) and the value verified with the mock on a loaded 2-core machine. A member that
    /// died is noticed after this long, so it bounds how long a rebalance waits for it.
    /// </summary>
    public const int SessionTimeoutMs = 6_000;

    private static int s_sequence;

    private readonly MockKafkaCluster? _cluster;

    /// <summary>Starts the cluster, unless librdkafka is absent and the tests will skip (<see cref="KafkaAvailability"/>).</summary>
    public MockKafkaFixture() => _cluster = KafkaAvailability.ShouldRun ? MockKafkaCluster.Start(brokers: 1) : null;

    /// <summary>The cluster, for anything the helpers below do not cover.</summary>
    public MockKafkaCluster Cluster => _cluster ?? throw new InvalidOperationException(KafkaAvailability.MissingReason);

    /// <summary>What clients put in <c>bootstrap.servers</c>.</summary>
    public string BootstrapServers => Cluster.BootstrapServers;

    /// <summary>
    /// Creates a topic named after <paramref name="prefix"/> and unique in the process, with <paramref name="partitions"/>
    /// partitions, and returns its name. Create it before any client asks for it (a metadata request would auto-create it
    /// with 4 partitions); keep under 5 MiB per partition.
    /// </summary>
    public string CreateTopic(string prefix, int partitions)
    {
        var name = UniqueName(prefix);
        Cluster.CreateTopic(name, partitions);
        return name;
    }

    /// <summary>A consumer group id unique in the process (a reused group would resume from its committed offsets and
    /// share partitions with a member left over from another test).</summary>
    public static string NewGroupId(string prefix) => UniqueName(prefix);

    public void Dispose() => _cluster?.Dispose();

    /// <summary>The prefix, the process id and a counter: unique across tests and across test processes.</summary>
    private static string UniqueName(string prefix) => string.Create(
        CultureInfo.InvariantCulture,
        $"{prefix}-{Environment.ProcessId}-{Interlocked.Increment(ref s_sequence)}");
}

using LowLatency.TestSupport;
using LowLatency.TestSupport.Kafka;

namespace LowLatency.Kafka.Tests;

/// <summary>The <c>lowlatency-kafka-broker</c> command: it serves a broker clients of another process can use, and stops
/// cleanly on the end of its standard input and on SIGTERM.</summary>
public sealed class KafkaBrokerCommandTests
{
    private static readonly TimeSpan s_exitTimeout = TimeSpan.FromSeconds(15);

    [KafkaFact]
    public void Start_WithTopics_PrintsBootstrapOfBrokerServingThem()
    {
        using var broker = KafkaBrokerProcess.Start(["--brokers", "2", "--topic", "frames:6", "--topic", "candles:3:2"]);

        Assert.Equal(2, broker.BootstrapServers.Split(',').Length);
        Assert.All(broker.BootstrapServers.Split(','), s => Assert.StartsWith("127.0.0.1:", s, StringComparison.Ordinal));
        using var admin = TestClients.Admin(broker.BootstrapServers);
        var metadata = admin.GetMetadata(Poll.DefaultTimeout);
        Assert.Equal(2, metadata.Brokers.Count);
        Assert.Equal(6, metadata.Topics.Single(t => t.Topic == "frames").Partitions.Count);
        Assert.All(metadata.Topics.Single(t => t.Topic == "candles").Partitions, p => Assert.Equal(2, p.Replicas.Length));
    }

    [KafkaFact]
    public void CloseInput_RunningBroker_ExitsWithZero()
    {
        using var broker = KafkaBrokerProcess.Start(["--topic", "t:1"]);
        Assert.False(broker.HasExited);

        broker.CloseInput();

        Assert.True(broker.WaitForExit(s_exitTimeout), "The broker did not exit after its standard input closed.");
        Assert.Equal(0, broker.ExitCode);
        Assert.Contains("stopping (end of standard input)", broker.StandardError, StringComparison.Ordinal);
    }

    [KafkaFact]
    public void Terminate_RunningBroker_ExitsWithZero()
    {
        using var broker = KafkaBrokerProcess.Start([]);

        broker.Terminate();

        Assert.True(broker.WaitForExit(s_exitTimeout), "The broker did not exit after SIGTERM.");
        Assert.Equal(0, broker.ExitCode);
        Assert.Contains("stopping (SIGTERM)", broker.StandardError, StringComparison.Ordinal);
    }
}

using LowLatency.KafkaBroker;

using LowLatency.TestSupport.Kafka;

namespace LowLatency.Kafka.Tests;

public sealed class LibRdKafkaTests
{
    [KafkaFact]
    public void Version_AfterEnsureResolvable_IsTheLibraryTheMockBrokerUses()
    {
        Assert.True(LibRdKafka.EnsureResolvable(), "Confluent.Kafka already had a resolver of someone else's.");

        Assert.Equal(MockKafkaCluster.NativeVersion, LibRdKafka.Version);
        Assert.Matches(@"^\d+\.\d+\.\d+", LibRdKafka.Version);
    }
}

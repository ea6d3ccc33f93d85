using LowLatency.KafkaBroker;

namespace LowLatency.Kafka.Tests;

public sealed class LibRdKafkaTests
{
    [Fact]
    public void Version_AfterEnsureResolvable_IsTheLibraryTheMockBrokerUses()
    {
        Assert.True(LibRdKafka.EnsureResolvable(), "Confluent.Kafka already had a resolver of someone else's.");

        Assert.Equal(MockKafkaCluster.NativeVersion, LibRdKafka.Version);
        Assert.Matches(@"^\d+\.\d+\.\d+", LibRdKafka.Version);
    }
}

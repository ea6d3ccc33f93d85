using Confluent.Kafka;
using LowLatency.TestSupport.Kafka;

namespace LowLatency.Kafka.Tests;

/// <summary>
/// Keyed by symbol, every message of a symbol lands on one partition, in the order it was produced: what lets the source
/// hand one symbol's events to the shards in exchange order however many partitions the topic has.
/// </summary>
public sealed class KeyedPartitioningTests(MockKafkaFixture kafka) : IClassFixture<MockKafkaFixture>
{
    private const int Partitions = 8;
    private const int Messages = 3_000;

    [KafkaFact]
    public void Produce_KeyedBySymbol_EachSymbolOnOnePartitionInProducedOrder()
    {
        var topic = kafka.CreateTopic("keyed", Partitions);
        var sent = TestClients.ProduceFrames(kafka, topic, Messages);

        // No group needed to read a whole topic: assign every partition from its beginning.
        var received = new List<ConsumeResult<string, byte[]>>(Messages);
        using (var consumer = TestClients.Consumer(kafka, MockKafkaFixture.NewGroupId("keyed")))
        {
            consumer.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
            TestClients.ConsumeWhile(consumer, result =>
            {
                received.Add(result);
                return received.Count < Messages;
            }, $"{Messages} messages from {Partitions} partitions");
        }

        var partitionsBySymbol = received.GroupBy(r => r.Message.Key).ToDictionary(g => g.Key, g => g.Select(r => r.Partition.Value).Distinct().ToArray());
        Assert.All(partitionsBySymbol, p => Assert.True(p.Value.Length == 1, $"{p.Key} was spread over partitions {string.Join(", ", p.Value)}."));
        Assert.True(partitionsBySymbol.Values.Select(p => p[0]).Distinct().Count() > 1, "Every symbol landed on the same partition.");

        // Consumption interleaves partitions, but within one symbol (one partition) the order is the produced order.
        foreach (var symbol in sent.Select(s => s.Symbol).Distinct())
        {
            var produced = sent.Where(s => s.Symbol == symbol).Select(s => Convert.ToHexString(s.Frame));
            var consumed = received.Where(r => r.Message.Key == symbol).Select(r => Convert.ToHexString(r.Message.Value));
            Assert.Equal(produced, consumed);
        }
    }
}

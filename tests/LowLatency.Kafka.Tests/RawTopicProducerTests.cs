using System.Text;
using Confluent.Kafka;
using LowLatency.Kafka.Connector;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Kafka;

namespace LowLatency.Kafka.Tests;

/// <summary>The connector's producer against a real broker: a frame the producer refuses is the connector's counted failure.</summary>
public sealed class RawTopicProducerTests(MockKafkaFixture kafka) : IClassFixture<MockKafkaFixture>
{
    [KafkaFact]
    public void Produce_FrameAboveMessageMaxBytes_RejectedCountedAndTheNextFrameStillDelivered()
    {
        var topic = kafka.CreateTopic("raw-trades-rejected", 1);
        using var producer = new RawTopicProducer(new RawTopicProducerOptions { BootstrapServers = kafka.BootstrapServers, TradesTopic = topic });
        var huge = Encoding.UTF8.GetBytes($"{{\"stream\":\"btcusdt@trade\",\"data\":{{\"e\":\"trade\",\"p\":\"{new string('9', 2_000_000)}\"}}}}");
        var normal = Encoding.UTF8.GetBytes("{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"t\":1}}");

        producer.Produce(huge, 1_000_000);
        producer.Produce(normal, 2_000_000);

        Assert.True(producer.Flush(TimeSpan.FromSeconds(30)), "the normal frame was acknowledged");
        Assert.Equal((1L, 1L, 1L, 0L), (producer.Rejected, producer.Produced, producer.Delivered, producer.Failed));
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            GroupId = "raw-rejected-check",
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe(topic);
        var consumed = consumer.Consume(TimeSpan.FromSeconds(30));
        Assert.NotNull(consumed);
        Assert.Equal(normal, consumed.Message.Value);
        Assert.Equal("BTCUSDT", Encoding.ASCII.GetString(consumed.Message.Key));
    }
}

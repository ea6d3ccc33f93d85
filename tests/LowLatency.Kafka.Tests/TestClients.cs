using Confluent.Kafka;
using LowLatency.Connectors.Replay;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Kafka;

namespace LowLatency.Kafka.Tests;

/// <summary>A produced message: its key (the symbol) and its value (a Binance frame).</summary>
internal sealed record SentFrame(string Symbol, byte[] Frame);

/// <summary>Confluent.Kafka clients configured for the mock broker, and the loops every test needs.</summary>
internal static class TestClients
{
    // What the Kafka source and sink will do before their first client: works with librdkafka-dev or librdkafka1 alone.
    static TestClients() => LibRdKafka.EnsureResolvable();

    /// <summary>An admin client (metadata) for any broker, e.g. the broker command's.</summary>
    public static IAdminClient Admin(string bootstrapServers) =>
        new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();

    /// <summary>Every produce is acknowledged by the partition leader (the mock has one replica).</summary>
    public static IProducer<string, byte[]> Producer(MockKafkaFixture kafka) =>
        new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, Acks = Acks.Leader }).Build();

    /// <summary>
    /// A consumer in <paramref name="groupId"/> with the commit discipline of the Kafka source: nothing committed or
    /// stored automatically (<c>EnableAutoOffsetStore = false</c> is also what makes <c>StoreOffset</c> work with
    /// Confluent.Kafka 1.9.3 on librdkafka 2.x), reading from the start when the group has no committed offset.
    /// </summary>
    public static IConsumer<string, byte[]> Consumer(MockKafkaFixture kafka, string groupId) =>
        new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            GroupId = groupId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeoutMs = MockKafkaFixture.SessionTimeoutMs,
        }).Build();

    /// <summary>
    /// Produces <paramref name="count"/> realistic Binance frames (the generator's mix of 50 symbols), keyed by symbol,
    /// waits for every delivery report and asserts none failed. Returns them in production order.
    /// </summary>
    public static List<SentFrame> ProduceFrames(MockKafkaFixture kafka, string topic, int count, MarketDataGeneratorOptions? options = null)
    {
        var generator = new MarketDataGenerator(options);
        var buffer = new byte[generator.MaxFrameBytes];
        var sent = new List<SentFrame>(count);
        var failures = new List<string>();
        using var producer = Producer(kafka);
        for (var i = 0; i < count; i++)
        {
            var length = generator.WriteNext(buffer, out _);
            var frame = new SentFrame(generator.Symbols[generator.LastSymbolIndex], buffer.AsSpan(0, length).ToArray());
            sent.Add(frame);
            producer.Produce(topic, new Message<string, byte[]> { Key = frame.Symbol, Value = frame.Frame }, report =>
            {
                if (report.Error.IsError)
                {
                    lock (failures)
                    {
                        failures.Add(report.Error.Reason);
                    }
                }
            });
        }

        Assert.Equal(0, producer.Flush(Poll.DefaultTimeout));
        Assert.Empty(failures);
        return sent;
    }

    /// <summary>Consumes until <paramref name="handle"/> returns false, failing the test at the deadline.</summary>
    public static void ConsumeWhile(IConsumer<string, byte[]> consumer, Func<ConsumeResult<string, byte[]>, bool> handle, string what)
    {
        var more = true;
        Poll.Until(() =>
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { } result)
            {
                more = handle(result);
            }

            return !more;
        }, what);
    }
}

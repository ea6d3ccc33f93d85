using System.Text;
using Confluent.Kafka;
using LowLatency.Aggregation;
using LowLatency.Codecs.Avro;
using LowLatency.Kafka.Sink;
using LowLatency.Sinks;
using LowLatency.Sinks.Avro;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Kafka;

namespace LowLatency.Kafka.Tests;

/// <summary>
/// The Kafka sink's Avro output, through a real broker: what a consumer reads from the derived topics decodes with
/// the shipped schemas to the JSON record of the same event, field for field.
/// </summary>
public sealed class KafkaSinkAvroTests(MockKafkaFixture kafka) : IClassFixture<MockKafkaFixture>
{
    private const int PerKind = 60;

    [KafkaTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Write_Avro_ConsumedRecordsDecodeToTheJsonRecords(bool confluent)
    {
        var topics = new Dictionary<OutputKind, string>
        {
            [OutputKind.Candle] = kafka.CreateTopic("avro-aggs", 1),
            [OutputKind.Alert] = kafka.CreateTopic("avro-alerts", 1),
            [OutputKind.Ticker] = kafka.CreateTopic("avro-tickers", 1),
        };
        var ids = new OutputSchemaIds(Candles: 101, Alerts: 202, Tickers: 70_000);
        var symbols = OutputSamples.Table();
        var events = OutputSamples.Events(PerKind);

        using (var sink = new KafkaSink(
            new KafkaSinkOptions
            {
                BootstrapServers = kafka.BootstrapServers,
                CandlesTopic = topics[OutputKind.Candle],
                AlertsTopic = topics[OutputKind.Alert],
                TickersTopic = topics[OutputKind.Ticker],
                Encoding = OutputEncoding.Avro,
                SchemaIds = confluent ? ids : null,
            },
            symbols))
        {
            foreach (var e in events)
            {
                sink.Write(e);
            }

            Assert.True(sink.Flush(Poll.DefaultTimeout), "The sink did not deliver everything.");
            Assert.Equal(events.Count, sink.Delivered);
            Assert.Equal(0, sink.Failed);
        }

        // One partition per topic: each topic's messages come back in produced order.
        var received = topics.Values.ToDictionary(t => t, _ => new List<ConsumeResult<string, byte[]>>());
        using (var consumer = TestClients.Consumer(kafka, MockKafkaFixture.NewGroupId("avro-sink")))
        {
            consumer.Assign(topics.Values.Select(t => new TopicPartitionOffset(t, 0, Offset.Beginning)));
            var total = 0;
            TestClients.ConsumeWhile(consumer, result =>
            {
                received[result.Topic].Add(result);
                return ++total < events.Count;
            }, $"{events.Count} Avro records from three topics");
        }

        var records = new OutputRecords(symbols);
        foreach (var (kind, topic) in topics)
        {
            var produced = events.Where(e => e.Kind == kind).ToList();
            Assert.Equal(produced.Count, received[topic].Count);
            for (var i = 0; i < produced.Count; i++)
            {
                var e = produced[i];
                var message = received[topic][i].Message;
                Assert.Equal(symbols.GetName(e.SymbolId), message.Key);
                Assert.Equal(OutputSamples.Key(records, e), Encoding.UTF8.GetString(message.Headers.GetLastBytes("lowlatency.key")));
                ReadOnlySpan<byte> body = message.Value;
                if (confluent)
                {
                    Assert.Equal(ConfluentFraming.MagicByte, message.Value[0]);
                    Assert.Equal(AvroStatus.Ok, ConfluentFraming.TryRead(message.Value, out var schemaId, out body));
                    Assert.Equal(ids.For(kind), schemaId);
                }

                OutputSamples.AssertSameRecord(OutputSamples.Json(records, e), OutputSchemas.For(kind), body);
            }
        }
    }
}

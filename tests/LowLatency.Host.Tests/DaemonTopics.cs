using System.Text;
using System.Text.Json;
using System.Net;
using Confluent.Kafka;
using LowLatency.Engine;
using LowLatency.Host.Daemon;
using LowLatency.Kafka;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Kafka;
using Microsoft.Extensions.Logging;

namespace LowLatency.Host.Tests;

/// <summary>What the daemon tests do with the broker's topics: produce input, count and read back the derived topics.</summary>
internal sealed class DaemonTopics(MockKafkaFixture kafka)
{
    /// <summary>The last state <see cref="Settled"/> saw (for failure messages).</summary>
    public static string? LastCount { get; set; }

    /// <summary>
    /// True once the topic holds more than <paramref name="above"/> messages and has not grown for 3 s (the daemon has
    /// written what the input lets it write).
    /// </summary>
    public Func<bool> Settled(string topic, long above)
    {
        long last = -1;
        var since = DateTime.UtcNow;
        var nextCheck = DateTime.MinValue;
        return () =>
        {
            if (DateTime.UtcNow < nextCheck)
            {
                return false; // a check opens two clients: not more than five times a second
            }

            nextCheck = DateTime.UtcNow.AddMilliseconds(200);
            var count = CountMessages(topic);
            LastCount = $"{topic}: {count} messages (waiting for more than {above}, then 3 s without change)";
            if (count != last)
            {
                (last, since) = (count, DateTime.UtcNow);
            }

            return count > above && DateTime.UtcNow - since > TimeSpan.FromSeconds(3);
        };
    }

    public void Produce(string topic, IEnumerable<(string Key, byte[] Value)> messages, CompressionType compression = CompressionType.None)
    {
        LibRdKafka.EnsureResolvable();
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            Acks = Acks.All,
            CompressionType = compression,
            LingerMs = 20,
        }).Build();
        var failed = 0;
        foreach (var (key, value) in messages)
        {
            var message = new Message<string, byte[]> { Key = key, Value = value };
            while (true)
            {
                try
                {
                    producer.Produce(topic, message, r => { if (r.Error.IsError) { Interlocked.Increment(ref failed); } });
                    break;
                }
                catch (ProduceException<string, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(50)); // the local queue is full: let deliveries drain it
                }
            }
        }

        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(120)));
        Assert.Equal(0, failed);
    }

    public IConsumer<byte[], byte[]> Consumer(string groupId)
    {
        LibRdKafka.EnsureResolvable();
        return new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            GroupId = groupId,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            SessionTimeoutMs = MockKafkaFixture.SessionTimeoutMs,
        }).Build();
    }

    /// <summary>Messages in the topic now (sum of the partitions' high watermarks).</summary>
    public long CountMessages(string topic)
    {
        using var consumer = Consumer(MockKafkaFixture.NewGroupId("count"));
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
        return metadata.Topics[0].Partitions.Sum(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p.PartitionId), TimeSpan.FromSeconds(10)).High.Value);
    }

    /// <summary>
    /// The daemon's options for a test: one Binance JSON input topic, the derived topics named after
    /// <paramref name="candlesTopic"/>, 1 s and 1 m candles, 2 shards, marks every 200 ms, HTTP on an ephemeral port.
    /// </summary>
    public DaemonOptions DaemonOptions(string input, string candlesTopic, string groupId, string outputDirectory) => new()
    {
        BootstrapServers = kafka.BootstrapServers,
        GroupId = groupId,
        InputTopics = new Dictionary<string, FrameFormat> { [input] = FrameFormat.BinanceJson },
        CandlesTopic = candlesTopic,
        AlertsTopic = candlesTopic + "-alerts",
        TickersTopic = candlesTopic + "-tickers",
        DeadLetterTopic = candlesTopic + "-dead",
        OutputDirectory = outputDirectory,
        Intervals = [TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)],
        Shards = 2,
        CommitInterval = TimeSpan.FromMilliseconds(200),
        LogLevel = LogLevel.Information,
        HttpListen = new IPEndPoint(IPAddress.Loopback, 0),
    };

    /// <summary>
    /// The environment of a daemon run as a child process (<c>lowlatency run</c>), the variables' counterpart of
    /// <see cref="DaemonOptions"/>: one Binance JSON input topic, the derived topics named after
    /// <paramref name="candlesTopic"/>, <paramref name="intervals"/>, 2 shards, marks every 200 ms, no HTTP.
    /// </summary>
    public Dictionary<string, string> ChildEnvironment(string input, string candlesTopic, string groupId, string outputDirectory, string intervals = "1s,1m") => new()
    {
        ["KAFKA_BOOTSTRAP_SERVERS"] = kafka.BootstrapServers,
        ["KAFKA_GROUP_ID"] = groupId,
        ["TOPIC_RAW_TRADES"] = input,
        ["TOPIC_RAW_KLINES"] = "",
        ["TOPIC_RAW_TICKERS"] = "",
        ["ASSET_PRICES_TOPIC"] = "",
        ["TOPIC_PROCESSED_AGGS"] = candlesTopic,
        ["TOPIC_ALERTS"] = candlesTopic + "-alerts",
        ["TOPIC_TICKERS"] = candlesTopic + "-tickers",
        ["DEAD_LETTER_TOPIC"] = candlesTopic + "-dead",
        ["CANDLE_INTERVALS"] = intervals,
        ["COMMIT_INTERVAL_MS"] = "200",
        ["SHARDS"] = "2",
        ["OUTPUT_DIR"] = outputDirectory,
        ["HTTP_LISTEN"] = "",
        ["LOG_LEVEL"] = "Information",
    };

    /// <summary>Fails if the mock has dropped the oldest messages of a partition of <paramref name="topic"/> (it keeps 5 MiB each).</summary>
    public void AssertNothingDropped(string topic)
    {
        using var consumer = Consumer(MockKafkaFixture.NewGroupId("low"));
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        foreach (var partition in admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics[0].Partitions)
        {
            var low = consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition.PartitionId), TimeSpan.FromSeconds(10)).Low.Value;
            Assert.True(low == 0, $"{topic} [{partition.PartitionId}] starts at {low}: the mock dropped old data (5 MiB per partition); give the topic more partitions");
        }
    }

    /// <summary>Every candle in the topic, deduplicated by key (last wins, as a compacted topic or an upsert would).</summary>
    public List<KeyValuePair<string, string>> ReadCandles(string topic)
    {
        var byKey = new Dictionary<string, string>();
        foreach (var (key, value) in ReadCandleRecords(topic))
        {
            byKey[key] = value;
        }

        return [.. byKey];
    }

    /// <summary>Every candle record in the topic, duplicates included, each with its key header (checked against its value).</summary>
    public List<(string Key, string Value)> ReadCandleRecords(string topic)
    {
        var total = CountMessages(topic);
        var records = new List<(string Key, string Value)>();
        using var consumer = Consumer(MockKafkaFixture.NewGroupId("read"));
        AssertNothingDropped(topic);

        consumer.Subscribe(topic);
        Poll.Until(() =>
        {
            // Everything the consumer has fetched, then back to the poll (whose spinning sleeps between calls).
            while (records.Count < total && consumer.Consume(100) is { } r)
            {
                var key = Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("lowlatency.key"));
                var value = Encoding.UTF8.GetString(r.Message.Value);
                Assert.Equal(CandleKey(value), key);
                records.Add((key, value));
            }

            return records.Count >= total;
        }, $"{total} candles read back", TimeSpan.FromSeconds(120), () => $"{records.Count} read");
        return records;
    }

    public static string WithoutVolatility(string json) => json[..json.IndexOf(",\"volatility\":", StringComparison.Ordinal)];

    /// <summary>The deterministic key of a candle line: SYMBOL:interval:open_time.</summary>
    public static string CandleKey(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var c = doc.RootElement;
        return $"{c.GetProperty("symbol").GetString()}:{c.GetProperty("interval").GetString()}:{c.GetProperty("open_time").GetInt64()}";
    }
}

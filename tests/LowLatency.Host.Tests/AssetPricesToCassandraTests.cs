using System.Globalization;
using LowLatency.Cassandra;
using LowLatency.Cassandra.Sink;
using LowLatency.Codecs.Avro;
using LowLatency.Engine;
using LowLatency.Host.Daemon;
using LowLatency.Sinks.Batching;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Cassandra;
using LowLatency.TestSupport.Kafka;

namespace LowLatency.Host.Tests;

/// <summary>
/// The original Spark consumer's job, end to end (issue 7): Avro <c>data.asset_prices</c> records on Kafka, consumed by
/// the daemon, cast to the table's types and written to Cassandra's <c>assets.assets</c>, each with its
/// <c>consumed_at</c>; the group commits once Cassandra has them.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class AssetPricesToCassandraTests(MockKafkaFixture kafka, CassandraServerFixture cassandra)
    : IClassFixture<MockKafkaFixture>, IClassFixture<CassandraServerFixture>, IDisposable
{
    private const int Minutes = 40;
    private static readonly string[] s_symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lowlatency-assets-" + Guid.NewGuid().ToString("N"));
    private readonly DaemonTopics _topics = new(kafka);

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [KafkaCassandraFact]
    public async Task Run_AssetPricesTopic_EveryRecordInTheAssetsTableWithItsCastsAndConsumedAt()
    {
        var topic = kafka.CreateTopic("asset-prices", 2);
        var records = new List<Dictionary<string, object?>>();
        var plan = AvroPlan.Compile(AssetPriceSchema.Schema);
        var messages = new List<(string Key, byte[] Value)>();
        const long start = 1_723_161_240_000; // 2024-08-08T23:54:00Z
        for (var minute = 0; minute < Minutes; minute++)
        {
            foreach (var symbol in s_symbols)
            {
                var open = start + (minute * 60_000L);
                var record = new Dictionary<string, object?>
                {
                    ["id"] = Guid.NewGuid().ToString(),
                    ["asset_name"] = symbol,
                    ["open"] = (61_000 + minute).ToString(CultureInfo.InvariantCulture) + ".25",
                    ["high"] = (61_100 + minute).ToString(CultureInfo.InvariantCulture),
                    ["low"] = (60_900 + minute).ToString(CultureInfo.InvariantCulture) + ".5",
                    ["close"] = (61_050 + minute).ToString(CultureInfo.InvariantCulture) + ".75",
                    ["volume"] = "12.345",
                    ["quote_volume"] = "763000.12",
                    ["trades"] = (100 + minute).ToString(CultureInfo.InvariantCulture),
                    ["is_closed"] = minute % 2 == 0 ? "true" : "false",
                    ["timestamp"] = open.ToString(CultureInfo.InvariantCulture),
                    ["close_time"] = (open + 59_999).ToString(CultureInfo.InvariantCulture),
                    ["collected_at"] = (open + 60_123).ToString(CultureInfo.InvariantCulture),
                };
                records.Add(record);
                var header = new byte[ConfluentFraming.HeaderLength];
                ConfluentFraming.TryWriteHeader(header, 1);
                messages.Add((symbol, [.. header, .. AvroGenericDatum.Write(plan, record)]));
            }
        }

        var producedAt = DateTimeOffset.UtcNow;
        _topics.Produce(topic, messages);
        var sinkOptions = new CassandraSinkOptions
        {
            Cassandra = new CassandraOptions { Host = cassandra.Server.Host, Port = cassandra.Server.Port },
            Keyspace = "e2e_assets",
        };
        var candles = kafka.CreateTopic("asset-prices-aggs", 1);
        var options = _topics.DaemonOptions(topic, candles, MockKafkaFixture.NewGroupId("assets"), Path.Combine(_dir, "out")) with
        {
            InputTopics = new Dictionary<string, FrameFormat> { [topic] = FrameFormat.AssetPriceAvro },
            Cassandra = sinkOptions,
            Sinks = new BatchingSinkOptions { Name = "sink", JournalDirectory = Path.Combine(_dir, "journal") },
        };

        await using var read = new CassandraConnection(sinkOptions.Cassandra);
        var daemon = InProcessDaemon.Start(options);
        long rows = 0;
        try
        {
            Poll.Until(
                () =>
                {
                    Thread.Sleep(200);
                    Assert.True(daemon.IsRunning, daemon.Log);
                    try
                    {
                        using var count = read.QueryAsync("SELECT count(*) FROM e2e_assets.assets").AsTask().GetAwaiter().GetResult();
                        rows = count.GetInt64(0, 0);
                    }
                    catch (CassandraException e) when (e.Code == CassandraErrorCode.Invalid)
                    {
                        return false; // the daemon has not created the keyspace yet
                    }

                    return rows == records.Count;
                },
                "every asset record in Cassandra",
                TimeSpan.FromSeconds(120),
                () => $"{rows} of {records.Count} rows\n{daemon.Log}");
        }
        finally
        {
            Assert.Equal(0, daemon.Stop());
        }

        foreach (var record in records)
        {
            using var row = await read.QueryAsync(
                "SELECT id, open, high, low, close, volume, quote_volume, trades, is_closed, close_time, collected_at, consumed_at " +
                $"FROM e2e_assets.assets WHERE asset_name = '{record["asset_name"]}' AND timestamp = {record["timestamp"]}");
            Assert.Equal(1, row.Count);
            float F(string name) => float.Parse((string)record[name]!, CultureInfo.InvariantCulture);
            long L(string name) => long.Parse((string)record[name]!, CultureInfo.InvariantCulture);
            Assert.Equal(Guid.Parse((string)record["id"]!), row.GetGuid(0, 0));
            Assert.Equal((F("open"), F("high"), F("low"), F("close"), F("volume"), F("quote_volume")),
                (row.GetSingle(0, 1), row.GetSingle(0, 2), row.GetSingle(0, 3), row.GetSingle(0, 4), row.GetSingle(0, 5), row.GetSingle(0, 6)));
            Assert.Equal((int)L("trades"), row.GetInt32(0, 7));
            Assert.Equal((string)record["is_closed"]! == "true", row.GetBoolean(0, 8));
            Assert.Equal(L("close_time"), row.GetTimestamp(0, 9).ToUnixTimeMilliseconds());
            Assert.Equal(L("collected_at"), row.GetTimestamp(0, 10).ToUnixTimeMilliseconds());
            var consumedAt = row.GetTimestamp(0, 11);
            Assert.InRange(consumedAt, producedAt.AddSeconds(-1), DateTimeOffset.UtcNow); // stamped when the engine consumed it
        }
    }
}

/// <summary>A fact that needs librdkafka and Cassandra: skipped with the reason when one is missing.</summary>
public sealed class KafkaCassandraFactAttribute : FactAttribute
{
    public KafkaCassandraFactAttribute()
    {
        Skip = new KafkaFactAttribute().Skip ?? new CassandraFactAttribute().Skip;
    }
}

using System.Text.Json;
using LowLatency.Connectors.Binance;
using LowLatency.Host.Daemon;
using LowLatency.LocalExchange;
using LowLatency.Postgres;
using LowLatency.Redis;
using LowLatency.Redis.Sink;
using LowLatency.Sinks.Batching;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Exchange;
using LowLatency.TestSupport.Postgres;
using LowLatency.TestSupport.Redis;
using Npgsql;

namespace LowLatency.Host.Tests;

/// <summary>
/// <c>lowlatency run</c> with the Redis hot tier and the PostgreSQL warm tier enabled, over the real sessions: both
/// stores hold exactly what the file sink wrote.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class StoreSinksTests(RedisServerFixture redis, PostgresServerFixture postgres)
    : IClassFixture<RedisServerFixture>, IClassFixture<PostgresServerFixture>, IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lowlatency-stores-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void FromVariables_StoreVariables_SinksEnabledByTheirHostAndBadValuesNamed()
    {
        var none = DaemonOptions.FromVariables(new System.Collections.Hashtable());
        Assert.Null(none.Redis);
        Assert.Null(none.Postgres);
        Assert.Equal((OverflowPolicy.Backpressure, "journal", 1_000, 100.0, 2), (none.Sinks.Overflow, none.Sinks.JournalDirectory, none.Sinks.BatchSize, none.Sinks.BatchTimeout.TotalMilliseconds, none.Sinks.MaxInFlightBatches));

        var all = DaemonOptions.FromVariables(new System.Collections.Hashtable
        {
            ["REDIS_HOST"] = "redis.local",
            ["REDIS_PORT"] = "6380",
            ["REDIS_PASSWORD"] = "p",
            ["REDIS_USERNAME"] = "u",
            ["REDIS_DB"] = "3",
            ["REDIS_TLS"] = "true",
            ["REDIS_TLS_CA_FILE"] = "/etc/lowlatency/redis-ca.pem",
            ["TICKER_TTL_SECONDS"] = "30",
            ["TICKER_WATERMARK_DELAY_MS"] = "2000",
            ["TICKER_MAX_FUTURE_MS"] = "100",
            ["POSTGRES_HOST"] = "pg.local",
            ["POSTGRES_DB"] = "market",
            ["POSTGRES_RETENTION_DAYS"] = "30",
            ["PARQUET_DIR"] = "/var/lib/lowlatency/cold",
            ["PARQUET_CODEC"] = "gzip",
            ["PARQUET_ROLL_ROWS"] = "5000",
            ["PARQUET_ROLL_SECONDS"] = "60",
            ["SINK_OVERFLOW"] = "spill",
            ["SINK_JOURNAL_DIR"] = "/var/lib/lowlatency",
            ["SINK_BATCH_SIZE"] = "500",
            ["SINK_BATCH_TIMEOUT_MS"] = "20",
            ["SINK_MAX_IN_FLIGHT"] = "4",
        });
        Assert.Equal(("redis.local", 6380, "p", "u", 3), (all.Redis!.Redis.Host, all.Redis.Redis.Port, all.Redis.Redis.Password, all.Redis.Redis.Username, all.Redis.Redis.Database));
        Assert.Equal((true, "/etc/lowlatency/redis-ca.pem"), (all.Redis.Redis.Tls, all.Redis.Redis.TlsCaFile));
        Assert.Equal(("/var/lib/lowlatency/cold", LowLatency.Parquet.Format.CompressionCodec.Gzip, 5_000L, 60.0),
            (all.Parquet!.Directory, all.Parquet.Codec, all.Parquet.RollRows, all.Parquet.RollInterval.TotalSeconds));
        Assert.Null(none.Parquet);
        Assert.False(none.Redis?.Redis.Tls ?? false);
        Assert.Equal((30, 2_000L, 100L), (all.Redis.TickerTtlSeconds, all.Redis.TickerWatermarkDelayMs, all.Redis.TickerMaxFutureMs));
        Assert.Equal(("pg.local", "market", 30), (all.Postgres!.Host, all.Postgres.Database, all.Postgres.RetentionDays));
        Assert.Equal((OverflowPolicy.Spill, "/var/lib/lowlatency", 500, 20.0, 4), (all.Sinks.Overflow, all.Sinks.JournalDirectory, all.Sinks.BatchSize, all.Sinks.BatchTimeout.TotalMilliseconds, all.Sinks.MaxInFlightBatches));

        foreach (var (name, value) in new[]
        {
            ("REDIS_PORT", "70000"), ("REDIS_DB", "-1"), ("REDIS_TLS", "yes please"), ("PARQUET_CODEC", "lz4"), ("PARQUET_ROLL_ROWS", "0"), ("TICKER_TTL_SECONDS", "0"), ("POSTGRES_PORT", "x"),
            ("SINK_OVERFLOW", "drop"), ("SINK_BATCH_SIZE", "0"), ("SINK_MAX_IN_FLIGHT", "none"),
        })
        {
            var variables = new System.Collections.Hashtable { ["REDIS_HOST"] = "r", ["POSTGRES_HOST"] = "p", ["PARQUET_DIR"] = "cold", [name] = value };
            Assert.Contains(name, Assert.Throws<FormatException>(() => DaemonOptions.FromVariables(variables)).Message);
        }
    }

    [StoresDataFact]
    public async Task Run_LiveWithRedisAndPostgres_BothStoresHoldTheFileSinksValues()
    {
        await using var exchange = await ExchangeServer.StartAsync(new ExchangeServerOptions
        {
            Feed = RecordedFeeds.BtcUsdtAndEthUsdt,
            Speed = ExchangeServerOptions.AsFastAsPossible,
            StartPaused = true,
        });
        using (var flush = new RedisConnection(new RedisOptions { Host = redis.Server.Host, Port = redis.Server.Port, Database = 7 }))
        {
            flush.Execute("FLUSHDB");
        }

        var output = Path.Combine(_dir, "live");
        var daemon = InProcessDaemon.Start(new DaemonOptions
        {
            Live = new BinanceStreamOptions { Url = exchange.BaseUri, Streams = ["btcusdt@trade", "ethusdt@trade", "btcusdt@bookTicker", "ethusdt@bookTicker"], Redundancy = 2 },
            OutputDirectory = output,
            Intervals = [TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)],
            Shards = 2,
            HttpListen = null,
            Redis = new RedisSinkOptions { Redis = new RedisOptions { Host = redis.Server.Host, Port = redis.Server.Port, Database = 7 }, TickerTtlSeconds = 600 },
            Postgres = new PostgresOptions
            {
                Host = postgres.Host,
                Port = postgres.Port,
                User = PostgresServerFixture.User,
                Password = PostgresServerFixture.Password,
                Database = PostgresServerFixture.Database,
                Schema = "stores_test",
                RetentionDays = 36_500, // the recordings are from 2024
            },
            Sinks = new() { Name = "sink", JournalDirectory = Path.Combine(_dir, "journal") },
        });
        try
        {
            await exchange.WaitForConnectionAsync(2).WaitAsync(TimeSpan.FromSeconds(30));
            Poll.Until(() => exchange.Connections.Count(c => c.Streams.Count == 4) >= 2, "both connections subscribed", TimeSpan.FromSeconds(30), () => daemon.Log);
            exchange.Play();
            await exchange.PlaybackCompleted.WaitAsync(TimeSpan.FromSeconds(90));
            const long Frames = 9_757 + 6_106 + 28_040 + 24_077; // the two recordings' trade and bookTicker frames
            Poll.Until(
                () => exchange.Connections.Where(c => c.Close is null).Sum(c => c.FramesSent) >= 2 * Frames,
                "every frame sent on both connections", TimeSpan.FromSeconds(60), () => daemon.Log);
        }
        finally
        {
            Thread.Sleep(2_000); // what the client has received reaches the ring
            Assert.Equal(0, daemon.Stop());
        }

        var candles = File.ReadLines(Path.Combine(output, "candles.jsonl")).Select(Parse).ToList();
        var tickers = File.ReadLines(Path.Combine(output, "tickers.jsonl")).Select(Parse).ToList();
        var alerts = File.ReadLines(Path.Combine(output, "alerts.jsonl")).Select(Parse).ToList();
        Assert.True(candles.Count > 300 && tickers.Count > 100, $"{candles.Count} candles, {tickers.Count} tickers\n{daemon.Log}");

        // Redis: the last closed candle of every symbol and interval, the last ticker of every symbol, every alert.
        using var check = new RedisConnection(new RedisOptions { Host = redis.Server.Host, Port = redis.Server.Port, Database = 7 });
        foreach (var last in candles.GroupBy(c => (Text(c, "symbol"), Text(c, "interval"))).Select(g => g.MaxBy(c => c.GetProperty("open_time").GetInt64())))
        {
            AssertSameFields(last, check.Execute("HGETALL", $"candle:{Text(last, "symbol")}:{Text(last, "interval")}"));
        }

        foreach (var last in tickers.GroupBy(t => Text(t, "symbol")).Select(g => g.Last()))
        {
            AssertSameFields(last, check.Execute("HGETALL", $"ticker:{Text(last, "symbol")}"));
            Assert.InRange(check.Execute("TTL", $"ticker:{Text(last, "symbol")}").Value, 1, 600);
        }

        Assert.Equal(alerts.Count, check.Execute("XLEN", "alerts").Value);

        // PostgreSQL: every candle and alert, with the exact decimals.
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using (var count = new NpgsqlCommand("SELECT count(*) FROM stores_test.candles", connection))
        {
            Assert.Equal(candles.Count, Convert.ToInt32(await count.ExecuteScalarAsync()));
        }

        await using (var count = new NpgsqlCommand("SELECT count(*) FROM stores_test.alerts", connection))
        {
            Assert.Equal(alerts.Count, Convert.ToInt32(await count.ExecuteScalarAsync()));
        }

        var sample = candles[candles.Count / 2];
        await using var row = new NpgsqlCommand(
            "SELECT close::text, volume::text, trades FROM stores_test.candles WHERE symbol = @s AND interval = @i AND open_time = to_timestamp(@t / 1000.0)", connection);
        row.Parameters.AddWithValue("s", Text(sample, "symbol"));
        row.Parameters.AddWithValue("i", Text(sample, "interval"));
        row.Parameters.AddWithValue("t", sample.GetProperty("open_time").GetInt64());
        await using var reader = await row.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), "the sampled candle is in PostgreSQL");
        Assert.Equal(decimal.Parse(Text(sample, "close"), System.Globalization.CultureInfo.InvariantCulture), decimal.Parse(reader.GetString(0), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(decimal.Parse(Text(sample, "volume"), System.Globalization.CultureInfo.InvariantCulture), decimal.Parse(reader.GetString(1), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(sample.GetProperty("trades").GetInt64(), Convert.ToInt64(reader.GetValue(2)));
    }

    private static JsonElement Parse(string line) => JsonDocument.Parse(line).RootElement.Clone();

    private static string Text(JsonElement e, string name) => e.GetProperty(name).GetString()!;

    private static void AssertSameFields(JsonElement expected, RedisReply hash)
    {
        var actual = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < hash.Elements.Count; i += 2)
        {
            actual[hash.Elements[i].Text!] = hash.Elements[i + 1].Text ?? string.Empty;
        }

        Assert.True(actual.Count > 0, $"no hash for {expected}");
        foreach (var property in expected.EnumerateObject())
        {
            Assert.True(actual.TryGetValue(property.Name, out var value), $"field {property.Name} missing for {expected}");
            switch (property.Value.ValueKind)
            {
                case JsonValueKind.String:
                    Assert.Equal(property.Value.GetString(), value);
                    break;
                case JsonValueKind.Number:
                    Assert.True(
                        double.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var number) && number == property.Value.GetDouble(),
                        $"{property.Name}: '{value}' in Redis, {property.Value} in the file: {expected}");
                    break;
                case JsonValueKind.True or JsonValueKind.False:
                    Assert.Equal(property.Value.GetBoolean() ? "true" : "false", value);
                    break;
                default:
                    Assert.Equal(string.Empty, value);
                    break;
            }
        }
    }
}

/// <summary>A test that needs the recordings, redis-server and PostgreSQL: skipped with the reason when one is missing.</summary>
public sealed class StoresDataFactAttribute : FactAttribute
{
    public StoresDataFactAttribute()
    {
        Skip = !TestData.IsAvailable ? TestData.MissingReason
            : !RedisAvailability.ShouldRun ? RedisAvailability.MissingReason
            : !PostgresAvailability.ShouldRun ? PostgresAvailability.MissingReason
            : null;
    }
}

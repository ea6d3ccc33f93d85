using System.Text.Json;
using LowLatency.Aggregation;
using LowLatency.Market;
using LowLatency.Redis.Sink;
using LowLatency.Sinks;
using LowLatency.Sinks.Batching;
using LowLatency.Telemetry;
using LowLatency.TestSupport.Redis;

namespace LowLatency.Redis.Tests;

/// <summary>
/// The Redis hot tier against a real redis-server, through the sink framework: the layout (ticker hashes with a TTL,
/// last closed candle per symbol and interval, capped alert stream) with exactly the file sink's field values, the
/// late-data rules counted by reason, and idempotent replays.
/// </summary>
public sealed class RedisSinkTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IDisposable
{
    private const long Second = 1_000_000_000;
    private readonly string _journal = Directory.CreateTempSubdirectory("lowlatency-redis-sink-").FullName;

    public void Dispose() => Directory.Delete(_journal, recursive: true);

    [RedisFact]
    public void Write_TickersCandlesAlerts_StoredWithTheFileSinksValuesAndTheTickerTtl()
    {
        var db = Flushed(1);
        var now = WallClock.UnixNanoseconds();
        OutputEvent[] events =
        [
            Ticker("BTCUSDT", now - (3 * Second), 61_000_00000000),
            Candle("BTCUSDT", 60 * Second, openTimeNs: 1_723_161_240L * Second, close: 61_010_12345678),
            Ticker("BTCUSDT", now - (2 * Second), 61_020_50000000), // the newer ticker of the symbol wins
            Candle("BTCUSDT", 60 * Second, openTimeNs: 1_723_161_300L * Second, close: 61_030_00000001), // the last closed candle
            Candle("ETHUSDT", 1 * Second, openTimeNs: 1_723_161_301L * Second, close: 2_680_00000000),
            Ticker("ETHUSDT", now - Second, 2_681_10000000),
            Alert("BTCUSDT", AlertKind.WhaleTrade, tradeId: 77, timeNs: 1_723_161_302L * Second),
            Alert("ETHUSDT", AlertKind.PriceSpike, tradeId: 0, timeNs: 1_723_161_303L * Second),
        ];

        using var writer = new RedisSinkWriter(Options(db));
        Write(writer, events);

        using var check = Connect(db);
        AssertHashEquals(events[2], check.Execute("HGETALL", "ticker:BTCUSDT"));
        AssertHashEquals(events[5], check.Execute("HGETALL", "ticker:ETHUSDT"));
        AssertHashEquals(events[3], check.Execute("HGETALL", "candle:BTCUSDT:1m"));
        AssertHashEquals(events[4], check.Execute("HGETALL", "candle:ETHUSDT:1s"));
        Assert.InRange(check.Execute("TTL", "ticker:BTCUSDT").Value, 1, 60);
        Assert.Equal(-1, check.Execute("TTL", "candle:BTCUSDT:1m").Value); // candles stay
        var stream = check.Execute("XRANGE", "alerts", "-", "+").Elements;
        Assert.Equal(2, stream.Count);
        AssertHashEquals(events[6], stream[0].Elements[1]);
        AssertHashEquals(events[7], stream[1].Elements[1]);
        Assert.Equal((2L, 3L, 2L), writer.Written);
        Assert.Equal(1, writer.Coalesced);
    }

    [RedisFact]
    public void Write_LateTickers_OlderFutureAndStaleRejectedAndCountedByReason()
    {
        var db = Flushed(2);
        var now = WallClock.UnixNanoseconds();
        using var writer = new RedisSinkWriter(Options(db) with { TickerWatermarkDelayMs = 10_000, TickerMaxFutureMs = 5_000 });

        Write(writer, [Ticker("BTCUSDT", now - (2 * Second), 61_000_00000000)]);
        Write(writer, [Ticker("BTCUSDT", now - (3 * Second), 60_000_00000000)]); // older than the stored one
        Write(writer, [Ticker("BTCUSDT", now + (6 * Second), 62_000_00000000)]); // from the future
        Write(writer, [Ticker("ETHUSDT", now - (13 * Second), 2_600_00000000)]); // 11 s behind the newest seen: stale
        Write(writer, [Ticker("ETHUSDT", now - (5 * Second), 2_610_00000000)]); // within the watermark: taken

        using var check = Connect(db);
        Assert.Equal("61000", check.Execute("HGET", "ticker:BTCUSDT", "last_price").Text); // exact decimals, as the files write them
        Assert.Equal("2610", check.Execute("HGET", "ticker:ETHUSDT", "last_price").Text);
        Assert.Equal(1, writer.Rejected(TickerRejection.Older));
        Assert.Equal(1, writer.Rejected(TickerRejection.Future));
        Assert.Equal(1, writer.Rejected(TickerRejection.Stale));

        // Another process (a restart) holds no memory of what was written: Redis itself refuses the older ticker.
        using var restarted = new RedisSinkWriter(Options(db));
        Write(restarted, [Ticker("BTCUSDT", now - (4 * Second), 59_000_00000000)]);
        Assert.Equal("61000", check.Execute("HGET", "ticker:BTCUSDT", "last_price").Text);
        Assert.Equal(1, restarted.Rejected(TickerRejection.Older));
    }

    [RedisFact]
    public void Write_BatchReplayedAfterACrash_NothingDoubledAndNewerCandlesKept()
    {
        var db = Flushed(3);
        OutputEvent[] first =
        [
            Candle("BTCUSDT", 60 * Second, openTimeNs: 1_723_161_300L * Second, close: 61_030_00000000),
            Alert("BTCUSDT", AlertKind.WhaleTrade, tradeId: 5, timeNs: 1_723_161_302L * Second),
        ];
        using (var writer = new RedisSinkWriter(Options(db)))
        {
            Write(writer, first);
            Write(writer, [Candle("BTCUSDT", 60 * Second, openTimeNs: 1_723_161_360L * Second, close: 61_040_00000000)]);
        }

        using var replay = new RedisSinkWriter(Options(db));
        Write(replay, first); // the same batch again, as after a crash or a spill replayed late

        using var check = Connect(db);
        Assert.Equal(1, check.Execute("XLEN", "alerts").Value);
        Assert.Equal("1723161360000", check.Execute("HGET", "candle:BTCUSDT:1m", "open_time").Text);
        Assert.Equal((1L, 1L), replay.Skipped);
    }

    [RedisFact]
    public async Task BatchingSink_RedisRestartsMidRun_BatchesRetriedAndEverythingWritten()
    {
        // Persistent (every write fsync'd to the append-only file), so what was acknowledged before the kill is still there.
        using var server = redis.StartServer("--appendonly", "yes", "--appendfsync", "always");
        var options = new RedisSinkOptions { Redis = new RedisOptions { Host = server.Host, Port = server.Port } };
        using var writer = new RedisSinkWriter(options);
        using var sink = new BatchingSink<RedisSinkWriter>(
            new BatchingSinkOptions { Name = "redis", BatchSize = 10, JournalDirectory = _journal, RetryInitialDelay = TimeSpan.FromMilliseconds(20) },
            writer,
            s_shared);
        await writer.ConnectAsync();

        for (var i = 0; i < 50; i++)
        {
            sink.OnEvent(Candle("SYM" + i, 60 * Second, openTimeNs: 1_723_161_300L * Second, close: 1_00000000 + i), endOfBatch: i % 10 == 9);
            if (i == 24)
            {
                server.Restart();
            }
        }

        Assert.True(sink.Drain(TimeSpan.FromSeconds(30)));
        using var check = new RedisConnection(new RedisOptions { Host = server.Host, Port = server.Port });
        Assert.Equal(50, check.Execute("DBSIZE").Value - (check.Execute("EXISTS", "alerts").Value));
        Assert.True(sink.Counters.Retries >= 1, "the restart was felt and retried");
    }

    private static void AssertHashEquals(in OutputEvent e, RedisReply hash)
    {
        var expected = JsonRecord(e);
        var actual = hash.Type == RespType.Map ? hash.ToDictionary() : PairsOf(hash);
        foreach (var property in expected.RootElement.EnumerateObject())
        {
            Assert.True(actual.TryGetValue(property.Name, out var value), $"field {property.Name} missing");
            var text = value.Text ?? string.Empty;
            switch (property.Value.ValueKind)
            {
                case JsonValueKind.String:
                    Assert.Equal(property.Value.GetString(), text);
                    break;
                case JsonValueKind.Number:
                    Assert.Equal(property.Value.GetDouble(), double.Parse(text, System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case JsonValueKind.True or JsonValueKind.False:
                    Assert.Equal(property.Value.GetBoolean() ? "true" : "false", text);
                    break;
                case JsonValueKind.Null:
                    Assert.Equal(string.Empty, text);
                    break;
            }
        }

        Assert.Equal(expected.RootElement.EnumerateObject().Count(), actual.Count);
    }

    private static Dictionary<string, RedisReply> PairsOf(RedisReply flat)
    {
        var pairs = new Dictionary<string, RedisReply>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < flat.Elements.Count; i += 2)
        {
            pairs[flat.Elements[i].Text!] = flat.Elements[i + 1];
        }

        return pairs;
    }

    private static JsonDocument JsonRecord(in OutputEvent e)
    {
        using var row = new JsonRowWriter();
        new OutputRecords(s_shared).Write(row, e);
        return JsonDocument.Parse(row.Buffer.WrittenMemory);
    }

    private static readonly SymbolTable s_shared = new();

    private static void Write(RedisSinkWriter writer, ReadOnlySpan<OutputEvent> events)
    {
        var batch = new OutputBatch(events.Length, s_shared);
        foreach (var e in events)
        {
            batch.Add(e);
        }

        writer.WriteAsync(batch, CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }

    private RedisSinkOptions Options(int db) => new() { Redis = new RedisOptions { Host = redis.Server.Host, Port = redis.Server.Port, Database = db } };

    private RedisConnection Connect(int db) => new(new RedisOptions { Host = redis.Server.Host, Port = redis.Server.Port, Database = db });

    private int Flushed(int db)
    {
        using var connection = Connect(db);
        connection.Execute("FLUSHDB");
        return db;
    }

    private static OutputEvent Ticker(string symbol, long eventTimeNs, long lastPrice)
    {
        var id = s_shared.GetOrAdd(symbol);
        return new OutputEvent
        {
            Kind = OutputKind.Ticker,
            SymbolId = id,
            Ticker = new LiveTicker
            {
                LastPrice = new Price(lastPrice),
                Open = new Price(lastPrice - 1_00000000),
                High = new Price(lastPrice + 2_00000000),
                Low = new Price(lastPrice - 3_00000000),
                Volume = new Quantity(12_50000000),
                QuoteVolume = new Quantity(763_000_00000000),
                TradeCount = 42,
                BidPrice = new Price(lastPrice - 1_000000),
                AskPrice = new Price(lastPrice + 1_000000),
                EventTimeNs = eventTimeNs,
                UpdatedAtNs = eventTimeNs + 1_000_000,
                Has24h = true,
            },
        };
    }

    private static OutputEvent Candle(string symbol, long intervalNs, long openTimeNs, long close)
    {
        var id = s_shared.GetOrAdd(symbol);
        return new OutputEvent
        {
            Kind = OutputKind.Candle,
            SymbolId = id,
            Candle = new Candle
            {
                SymbolId = id,
                IntervalNs = intervalNs,
                OpenTimeNs = openTimeNs,
                Open = new Price(close - 5_00000000),
                High = new Price(close + 7_00000000),
                Low = new Price(close - 9_00000000),
                Close = new Price(close),
                Volume = new Quantity(3_25000000),
                TradeCount = 17,
                FirstTradeId = 100,
                LastTradeId = 116,
            },
            Metrics = new CandleMetrics(-1.6211133810001082E-05, 31.978571428571428, double.NaN, double.NaN, 0), // the longest shortest-round-trip doubles
        };
    }

    private static OutputEvent Alert(string symbol, AlertKind kind, long tradeId, long timeNs)
    {
        var id = s_shared.GetOrAdd(symbol);
        return new OutputEvent
        {
            Kind = OutputKind.Alert,
            SymbolId = id,
            Alert = new Alert { SymbolId = id, Kind = kind, TradeId = tradeId, TimeNs = timeNs, Price = new Price(61_000_00000000), Value = 1_000_000_00000000, Threshold = 500_000_00000000 },
        };
    }
}

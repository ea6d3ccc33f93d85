using System.Buffers.Binary;
using System.Numerics;
using LowLatency.Aggregation;
using LowLatency.Cassandra.Sink;
using LowLatency.Market;
using LowLatency.Sinks.Batching;
using LowLatency.TestSupport.Cassandra;

using LowLatency.TestSupport;

namespace LowLatency.Cassandra.Tests;

/// <summary>
/// The Cassandra sink against a real Cassandra 2.1: the original consumer's <c>assets</c> table column for column (the
/// Spark job's casts, <c>consumed_at</c> stamped), the candles table with exact decimals, idempotent replays, the
/// clustering order and the configurable compaction.
/// </summary>
[Collection(CassandraCollection.Name)]
public sealed class CassandraSinkTests(CassandraServerFixture fixture)
{
    private static readonly Guid s_recordId = Guid.Parse("aa3afd44-8119-4565-809b-9df75d6ddab0");
    private readonly SymbolTable _symbols = new(64);

    [CassandraFact]
    public async Task WriteAsync_AssetAndCandle_RowsAsTheOriginalConsumerWroteThemAndExactCandles()
    {
        var options = Options("sink_rows");
        await using var writer = await CassandraSinkWriter.OpenAsync(options);
        var batch = new OutputBatch(16, _symbols);
        batch.Add(Asset("BTCUSDT", openMs: 1_723_161_240_000, closed: false, close: "61850.01"));
        batch.Add(Asset("BTCUSDT", openMs: 1_723_161_300_000, closed: true, close: "61900.5"));
        batch.Add(Candle("ETHUSDT", openMs: 1_723_161_240_000));
        await writer.WriteAsync(batch, CancellationToken.None);
        await writer.WriteAsync(batch, CancellationToken.None); // a replay writes the same rows: nothing doubles

        await using var read = Connect();
        using (var rows = await read.QueryAsync(
            $"SELECT id, asset_name, open, high, low, close, volume, quote_volume, trades, is_closed, timestamp, close_time, collected_at, consumed_at FROM {options.Keyspace}.assets WHERE asset_name = 'BTCUSDT'"))
        {
            Assert.Equal(2, rows.Count);
            Assert.Equal(1_723_161_300_000, rows.GetTimestamp(0, 10).ToUnixTimeMilliseconds()); // newest first (clustering order DESC)
            Assert.Equal(s_recordId, rows.GetGuid(1, 0));
            Assert.Equal("BTCUSDT", rows.GetString(1, 1));
            Assert.Equal((61837.63f, 61900f, 61800.5f, 61850.01f), (rows.GetSingle(1, 2), rows.GetSingle(1, 3), rows.GetSingle(1, 4), rows.GetSingle(1, 5)));
            Assert.Equal((12.345f, 763456.789f), (rows.GetSingle(1, 6), rows.GetSingle(1, 7)));
            Assert.Equal(1234, rows.GetInt32(1, 8));
            Assert.False(rows.GetBoolean(1, 9));
            Assert.True(rows.GetBoolean(0, 9));
            Assert.Equal(1_723_161_299_999, rows.GetTimestamp(1, 11).ToUnixTimeMilliseconds());
            Assert.Equal(1_723_161_300_123, rows.GetTimestamp(1, 12).ToUnixTimeMilliseconds());
            Assert.Equal(1_723_161_300_456, rows.GetTimestamp(1, 13).ToUnixTimeMilliseconds());
        }

        using (var candles = await read.QueryAsync(
            $"SELECT symbol, interval, open_time, close_time, open, close, vwap, trades, has_gap, buy_sell_ratio FROM {options.Keyspace}.candles WHERE symbol = 'ETHUSDT' AND interval = '1m'"))
        {
            Assert.Equal(1, candles.Count);
            Assert.Equal(1_723_161_240_000, candles.GetTimestamp(0, 2).ToUnixTimeMilliseconds());
            Assert.Equal(1_723_161_299_999, candles.GetTimestamp(0, 3).ToUnixTimeMilliseconds());
            Assert.Equal(2601.12345678m, DecimalOf(candles.GetBytes(0, 4))); // exact: no float on the way
            Assert.Equal(-0.00000001m, DecimalOf(candles.GetBytes(0, 5)));
            Assert.Equal(7, candles.GetInt64(0, 7));
            Assert.True(candles.GetBoolean(0, 8));
            Assert.True(candles.IsNull(0, 9)); // NaN metrics are absent, as null in the files
        }
    }

    [CassandraFact]
    public async Task OpenAsync_CompactionConfigured_TablesCreatedWithIt()
    {
        var options = Options("sink_compaction") with { Compaction = "LeveledCompactionStrategy" };
        await using (await CassandraSinkWriter.OpenAsync(options))
        {
        }

        await using var read = Connect();
        using var tables = await read.QueryAsync(
            $"SELECT columnfamily_name, compaction_strategy_class FROM system.schema_columnfamilies WHERE keyspace_name = '{options.Keyspace}'");
        Assert.Equal(2, tables.Count);
        for (var row = 0; row < tables.Count; row++)
        {
            Assert.EndsWith("LeveledCompactionStrategy", tables.GetString(row, 1), StringComparison.Ordinal);
        }

        await using (await CassandraSinkWriter.OpenAsync(options)) // a second start finds the schema and keeps it
        {
        }
    }

    [Fact]
    public void FromVariables_OriginalNames_ParsedAndBadValuesNamed()
    {
        var parsed = CassandraSinkOptions.FromVariables(new System.Collections.Hashtable
        {
            ["ASSET_CASSANDRA_HOST"] = "cassandra.local",
            ["ASSET_CASSANDRA_PORT"] = "9043",
            ["ASSET_CASSANDRA_USERNAME"] = "spark",
            ["ASSET_CASSANDRA_PASSWORD"] = "secret",
            ["ASSET_CASSANDRA_KEYSPACE"] = "market",
            ["ASSET_CASSANDRA_TABLE"] = "asset_rows",
            ["ASSET_CASSANDRA_COMPACTION"] = "TimeWindowCompactionStrategy",
        });
        Assert.Equal(("cassandra.local", 9043, "spark", "secret"), (parsed.Cassandra.Host, parsed.Cassandra.Port, parsed.Cassandra.Username, parsed.Cassandra.Password));
        Assert.Equal(("market", "asset_rows", "candles", "TimeWindowCompactionStrategy"), (parsed.Keyspace, parsed.AssetsTable, parsed.CandlesTable, parsed.Compaction));

        foreach (var (name, value) in new[] { ("ASSET_CASSANDRA_PORT", "x"), ("ASSET_CASSANDRA_KEYSPACE", "drop table"), ("ASSET_CASSANDRA_COMPACTION", "Fastest") })
        {
            var error = Assert.Throws<FormatException>(() => CassandraSinkOptions.FromVariables(new System.Collections.Hashtable { [name] = value }));
            Assert.Contains(name, error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(-1L)]
    [InlineData(127L)]
    [InlineData(128L)]
    [InlineData(-128L)]
    [InlineData(-129L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    public void Decimal_Mantissa_ScaleEightAndMinimalTwosComplement(long mantissa)
    {
        using var values = new CqlValues();
        CassandraSinkWriter.Decimal(values, mantissa);
        var encoded = values.Encoded[4..]; // after the value's own length
        Assert.Equal(mantissa / 100_000_000m, DecimalOf(encoded));
        var unscaled = new BigInteger(mantissa).ToByteArray(isUnsigned: false, isBigEndian: true);
        Assert.Equal(4 + unscaled.Length, encoded.Length); // as short as Java's BigInteger.toByteArray
    }

    private static decimal DecimalOf(ReadOnlySpan<byte> cell)
    {
        var scale = BinaryPrimitives.ReadInt32BigEndian(cell);
        var unscaled = new BigInteger(cell[4..], isUnsigned: false, isBigEndian: true);
        return (decimal)unscaled / (decimal)BigInteger.Pow(10, scale);
    }

    private CassandraSinkOptions Options(string keyspace) => new()
    {
        Cassandra = new CassandraOptions { Host = fixture.Server.Host, Port = fixture.Server.Port },
        Keyspace = keyspace,
    };

    private CassandraConnection Connect() => new(new CassandraOptions { Host = fixture.Server.Host, Port = fixture.Server.Port });

    private OutputEvent Asset(string symbol, long openMs, bool closed, string close)
    {
        var e = new OutputEvent { Kind = OutputKind.Kline, SymbolId = _symbols.GetOrAdd(symbol) };
        e.Kline.Data = new KlineData
        {
            OpenTimeNs = openMs * 1_000_000,
            CloseTimeNs = (openMs + 59_999) * 1_000_000,
            Open = Price.Parse("61837.63"),
            High = Price.Parse("61900"),
            Low = Price.Parse("61800.5"),
            Close = Price.Parse(close),
            Volume = Quantity.Parse("12.345"),
            QuoteVolume = Quantity.Parse("763456.789"),
            TradeCount = 1234,
            Interval = KlineInterval.Minute1,
            IsClosed = closed,
            RecordId = s_recordId,
        };
        e.Kline.EventTimeNs = 1_723_161_300_123_000_000;
        e.Kline.ReceiveTimeNs = 1_723_161_300_456_000_000;
        return e;
    }

    private OutputEvent Candle(string symbol, long openMs) => SampleOutputs.Candle(_symbols, symbol, openMs, hasGap: true);
}

using System.Collections;
using LowLatency.Aggregation;
using LowLatency.Market;
using LowLatency.Sinks;
using Npgsql;

namespace LowLatency.Postgres.Tests;

/// <summary>Options from the environment, and rows from the aggregation structs by the output records' conventions (no server).</summary>
public sealed class PostgresOptionsTests
{
    [Fact]
    public void FromVariables_AllSet_ReadsEach()
    {
        var options = PostgresOptions.FromVariables(new Hashtable
        {
            ["POSTGRES_HOST"] = "db.internal",
            ["POSTGRES_PORT"] = "6543",
            ["POSTGRES_USER"] = "writer",
            ["POSTGRES_PASSWORD"] = "secret",
            ["POSTGRES_DB"] = "market",
            ["POSTGRES_SSLMODE"] = "verify-full",
            ["POSTGRES_SCHEMA"] = "warm_tier",
            ["POSTGRES_RETENTION_DAYS"] = "30",
        });

        Assert.Equal(("db.internal", 6543, "writer", "secret", "market", SslMode.VerifyFull, "warm_tier", 30),
            (options.Host, options.Port, options.User, options.Password, options.Database, options.SslMode, options.Schema, options.RetentionDays));
        Assert.DoesNotContain("secret", options.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void FromVariables_NoneSet_UsesTheDefaults()
    {
        var options = PostgresOptions.FromVariables(new Hashtable { ["POSTGRES_PORT"] = "" });

        Assert.Equal(("localhost", 5432, "postgres", null, "postgres", SslMode.Prefer, "lowlatency", 90),
            (options.Host, options.Port, options.User, options.Password, options.Database, options.SslMode, options.Schema, options.RetentionDays));
    }

    [Theory]
    [InlineData("POSTGRES_PORT", "54x32")]
    [InlineData("POSTGRES_PORT", "70000")]
    [InlineData("POSTGRES_SSLMODE", "sometimes")]
    [InlineData("POSTGRES_SCHEMA", "Robert'); DROP TABLE candles;--")]
    [InlineData("POSTGRES_RETENTION_DAYS", "0")]
    public void FromVariables_BadValue_FailsNamingTheVariable(string name, string value)
    {
        var failure = Assert.Throws<FormatException>(() => PostgresOptions.FromVariables(new Hashtable { [name] = value }));

        Assert.StartsWith(name + ":", failure.Message, StringComparison.Ordinal);
        Assert.Contains(value, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rows_FromOutputEvents_FollowTheOutputRecords()
    {
        var symbols = new SymbolTable();
        var btc = symbols.GetOrAdd("BTCUSDT");
        var records = new OutputRecords(symbols);
        var candle = new OutputEvent
        {
            Kind = OutputKind.Candle,
            SymbolId = btc,
            Candle = new Candle
            {
                SymbolId = btc, IntervalNs = 60_000_000_000, OpenTimeNs = 1_723_075_200_000_000_000, Open = new Price(6_500_000_000_000),
                High = new Price(6_600_000_000_000), Low = new Price(6_400_000_000_000), Close = new Price(6_550_000_000_000),
                Volume = new Quantity(200_000_000), QuoteVolumeRaw = (Int128)13_000_000_000_000 * FixedPoint.Scale,
                TakerBuyVolume = new Quantity(50_000_000), TradeCount = 3, FirstTradeId = 10, LastTradeId = 12, LateTrades = 1,
            },
            Metrics = new CandleMetrics(0.77, 0.33, double.NaN, double.NaN, 0),
        };
        var alert = new OutputEvent
        {
            Kind = OutputKind.Alert,
            SymbolId = btc,
            Alert = new Alert { Kind = AlertKind.VolumeSpike, SymbolId = btc, TimeNs = 1_723_075_200_000_000_000, TradeId = 10, Price = new Price(1), Value = 2, Threshold = 3 },
        };
        var batch = new PostgresBatch();

        Assert.True(batch.Add(candle, records));
        Assert.True(batch.Add(alert, records));
        Assert.False(batch.Add(new OutputEvent { Kind = OutputKind.Ticker, SymbolId = btc }, records));

        Assert.Equal(
            new CandleRow("BTCUSDT", "1m", 1_723_075_200_000, 1_723_075_259_999, 6_500_000_000_000, 6_600_000_000_000, 6_400_000_000_000,
                6_550_000_000_000, 200_000_000, 13_000_000_000_000, 50_000_000, 0, 6_500_000_000_000, 3, 10, 12, false, 1, 0.77, 0.33, double.NaN),
            Assert.Single(batch.Candles));
        var key = new System.Buffers.ArrayBufferWriter<byte>();
        records.WriteKey(key, alert);
        Assert.Equal(
            new AlertRow(System.Text.Encoding.UTF8.GetString(key.WrittenSpan), "BTCUSDT", "volume_spike", 1_723_075_200_000, 10, 1, 2, 3),
            Assert.Single(batch.Alerts));
        Assert.Equal("BTCUSDT:volume_spike:1723075200000", batch.Alerts[0].Id);
    }
}

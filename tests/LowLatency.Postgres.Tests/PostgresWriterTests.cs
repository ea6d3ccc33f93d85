using LowLatency.TestSupport.Postgres;
using static LowLatency.Postgres.Tests.PostgresTestRows;

namespace LowLatency.Postgres.Tests;

/// <summary>The writer against a real server: schema, exact values, idempotent replays, retention.</summary>
public sealed class PostgresWriterTests(PostgresServerFixture server) : IClassFixture<PostgresServerFixture>
{
    private const long Minute = 60_000;
    private const long T0 = 1_723_075_200_000; // 2024-08-08T00:00:00Z

    [PostgresFact]
    public async Task MigrateAsync_RunTwice_CreatesTablesOnceThenDoesNothing()
    {
        await using var writer = new PostgresWriter(Options(server));

        Assert.Equal(3, await writer.MigrateAsync(CancellationToken.None));
        Assert.Equal(0, await writer.MigrateAsync(CancellationToken.None));

        var schema = writer.Options.Schema;
        Assert.Equal(
            "alerts,candles,schema_migrations,trades",
            await ScalarAsync<string>(server, $"SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = '{schema}'"));
        Assert.Equal("1,2,3", await ScalarAsync<string>(server, $"SELECT string_agg(version::text, ',' ORDER BY version) FROM {schema}.schema_migrations"));
    }

    [PostgresFact]
    public async Task MigrateAsync_TwoWritersAtOnce_ApplyEachMigrationOnce()
    {
        var options = Options(server);
        await using var a = new PostgresWriter(options);
        await using var b = new PostgresWriter(options);

        var ran = await Task.WhenAll(a.MigrateAsync(CancellationToken.None), b.MigrateAsync(CancellationToken.None));

        Assert.Equal(3, ran.Sum());
        Assert.Equal(3L, await ScalarAsync<long>(server, $"SELECT count(*) FROM {options.Schema}.schema_migrations"));
    }

    [PostgresFact]
    public async Task WriteAsync_CandlesAlertsTrades_ReadBackExactly()
    {
        await using var writer = await MigratedWriterAsync(server);
        var batch = new PostgresBatch();
        batch.Candles.Add(Candle("BTCUSDT", T0, seed: 0));
        batch.Candles.Add(Candle("ETHUSDT", T0, seed: 1) with { Open = 1, Low = 1, Volume = 0, Vwap = 0, PriceChangePercent = double.NaN });

        // The extremes of an 8-decimal long mantissa: 19 significant digits, all kept.
        batch.Candles.Add(Candle("BTCUSDT", T0 + Minute, seed: 2) with { High = long.MaxValue, QuoteVolume = long.MaxValue - 1 });
        batch.Alerts.Add(Alert("BTCUSDT", tradeId: 42, T0 + 1_234, seed: 0));
        batch.Alerts.Add(new AlertRow("ETHUSDT:price_spike:1723075200000", "ETHUSDT", "price_spike", T0, 7, 1, Value: -512_345_678, Threshold: 300_000_000));
        batch.Trades.Add(Trade("BTCUSDT", 42, T0 + 1_234));
        batch.Trades.Add(Trade("BTCUSDT", 43, T0 + 1_235));

        await writer.WriteAsync(batch, CancellationToken.None);

        var schema = writer.Options.Schema;
        Assert.Equal(batch.Candles.OrderBy(c => c.Symbol, StringComparer.Ordinal).ThenBy(c => c.OpenTimeMs), await ReadCandlesAsync(server, schema));
        Assert.Equal(batch.Alerts.OrderBy(a => a.Id, StringComparer.Ordinal), await ReadAlertsAsync(server, schema));
        Assert.Equal(batch.Trades, await ReadTradesAsync(server, schema));
        Assert.Equal("92233720368.54775807", await ScalarAsync<string>(server, $"SELECT high::text FROM {schema}.candles WHERE high = 92233720368.54775807"));
        Assert.Equal("65123.45678901", await ScalarAsync<string>(server, $"SELECT \"open\"::text FROM {schema}.candles WHERE symbol = 'BTCUSDT' AND open_time = '2024-08-08T00:00:00Z'"));
    }

    [PostgresFact]
    public async Task WriteAsync_SameBatchTwice_LeavesOneRowPerKey()
    {
        await using var writer = await MigratedWriterAsync(server);
        var batch = new PostgresBatch();
        for (var i = 0; i < 50; i++)
        {
            batch.Candles.Add(Candle("BTCUSDT", T0 + (i * Minute), seed: i));
            batch.Alerts.Add(Alert("BTCUSDT", tradeId: i, T0 + i, seed: i));
            batch.Trades.Add(Trade("BTCUSDT", i, T0 + i));
        }

        await writer.WriteAsync(batch, CancellationToken.None);
        await writer.WriteAsync(batch, CancellationToken.None);

        var schema = writer.Options.Schema;
        Assert.Equal(batch.Candles, await ReadCandlesAsync(server, schema));
        Assert.Equal(50, (await ReadAlertsAsync(server, schema)).Count);
        Assert.Equal(batch.Trades, await ReadTradesAsync(server, schema));
    }

    [PostgresFact]
    public async Task WriteAsync_ReplayWithNewerValues_KeepsTheLatestValues()
    {
        await using var writer = await MigratedWriterAsync(server);
        var first = new PostgresBatch();
        first.Candles.Add(Candle("BTCUSDT", T0, seed: 0));
        first.Alerts.Add(Alert("BTCUSDT", tradeId: 1, T0, seed: 0));
        await writer.WriteAsync(first, CancellationToken.None);

        var replay = new PostgresBatch();
        replay.Candles.Add(first.Candles[0] with { Close = 1, Trades = 999, HasGap = true, BuySellRatio = double.NaN });
        replay.Alerts.Add(first.Alerts[0] with { Value = 5 });
        await writer.WriteAsync(replay, CancellationToken.None);

        Assert.Equal(replay.Candles, await ReadCandlesAsync(server, writer.Options.Schema));
        Assert.Equal(replay.Alerts, await ReadAlertsAsync(server, writer.Options.Schema));
    }

    [PostgresFact]
    public async Task WriteAsync_PartiallyOverlappingBatch_UpdatesTheOverlapAndAddsTheRest()
    {
        await using var writer = await MigratedWriterAsync(server);
        var first = new PostgresBatch();
        for (var i = 0; i < 10; i++)
        {
            first.Candles.Add(Candle("BTCUSDT", T0 + (i * Minute), seed: i));
        }

        await writer.WriteAsync(first, CancellationToken.None);

        // Minutes 5..14: 5..9 overlap (new values), 10..14 are new.
        var second = new PostgresBatch();
        for (var i = 5; i < 15; i++)
        {
            second.Candles.Add(Candle("BTCUSDT", T0 + (i * Minute), seed: 1000 + i));
        }

        await writer.WriteAsync(second, CancellationToken.None);

        Assert.Equal(first.Candles.Take(5).Concat(second.Candles), await ReadCandlesAsync(server, writer.Options.Schema));
    }

    [PostgresFact]
    public async Task WriteAsync_KeyTwiceInOneBatch_TheLaterRowWins()
    {
        await using var writer = await MigratedWriterAsync(server);
        var batch = new PostgresBatch();
        batch.Candles.Add(Candle("BTCUSDT", T0, seed: 1));
        batch.Candles.Add(Candle("BTCUSDT", T0, seed: 2));
        batch.Alerts.Add(Alert("BTCUSDT", tradeId: 1, T0, seed: 1));
        batch.Alerts.Add(Alert("BTCUSDT", tradeId: 1, T0, seed: 2));

        await writer.WriteAsync(batch, CancellationToken.None);

        Assert.Equal([batch.Candles[1]], await ReadCandlesAsync(server, writer.Options.Schema));
        Assert.Equal([batch.Alerts[1]], await ReadAlertsAsync(server, writer.Options.Schema));
    }

    [PostgresFact]
    public async Task DeleteOlderThanAsync_DeletesOnlyRowsBeforeTheCutoff()
    {
        await using var writer = await MigratedWriterAsync(server);
        var batch = new PostgresBatch();
        for (var i = 0; i < 10; i++)
        {
            batch.Candles.Add(Candle("BTCUSDT", T0 + (i * Minute), seed: i));
            batch.Alerts.Add(Alert("BTCUSDT", tradeId: i, T0 + (i * Minute), seed: i));
            batch.Trades.Add(Trade("BTCUSDT", i, T0 + (i * Minute)));
        }

        await writer.WriteAsync(batch, CancellationToken.None);

        // The cutoff is minute 4 exactly: minutes 0..3 go, minute 4 (not older than the cutoff) stays.
        var deleted = await writer.DeleteOlderThanAsync(DateTimeOffset.FromUnixTimeMilliseconds(T0 + (4 * Minute)), CancellationToken.None);

        Assert.Equal(new RetentionResult(4, 4, 4), deleted);
        var schema = writer.Options.Schema;
        Assert.Equal(batch.Candles.Skip(4), await ReadCandlesAsync(server, schema));
        Assert.Equal(batch.Alerts.Skip(4).OrderBy(a => a.Id, StringComparer.Ordinal), await ReadAlertsAsync(server, schema));
        Assert.Equal(batch.Trades.Skip(4), await ReadTradesAsync(server, schema));
    }

    [PostgresFact]
    public async Task RunRetentionAsync_KeepsRetentionDaysBeforeNow()
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(T0);
        await using var writer = await MigratedWriterAsync(server, new FixedTime(now));
        var day = (long)TimeSpan.FromDays(1).TotalMilliseconds;
        var batch = new PostgresBatch();
        batch.Candles.Add(Candle("BTCUSDT", T0 - (91 * day), seed: 0));
        batch.Candles.Add(Candle("BTCUSDT", T0 - (90 * day) - 1, seed: 1));
        batch.Candles.Add(Candle("BTCUSDT", T0 - (90 * day), seed: 2));
        batch.Candles.Add(Candle("BTCUSDT", T0 - day, seed: 3));
        await writer.WriteAsync(batch, CancellationToken.None);

        Assert.Equal(90, writer.Options.RetentionDays);
        Assert.Equal(new RetentionResult(2, 0, 0), await writer.RunRetentionAsync(CancellationToken.None));
        Assert.Equal(batch.Candles.Skip(2), await ReadCandlesAsync(server, writer.Options.Schema));
        Assert.Equal(new RetentionResult(0, 0, 0), await writer.RunRetentionAsync(CancellationToken.None));
    }

    [PostgresFact]
    public async Task WriteAsync_EmptyBatch_DoesNotConnect()
    {
        // Nothing listens on port 1: any connection attempt would fail.
        await using var writer = new PostgresWriter(new PostgresOptions { Host = "127.0.0.1", Port = 1 });

        await writer.WriteAsync(new PostgresBatch(), CancellationToken.None);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

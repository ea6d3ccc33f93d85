using System.Globalization;
using LowLatency.Market;
using LowLatency.TestSupport.Postgres;
using Npgsql;

namespace LowLatency.Postgres.Tests;

/// <summary>Writers on a schema of their own (tests sharing a server never see each other's rows), sample rows, and reading rows back.</summary>
internal static class PostgresTestRows
{
    private static int s_schema;

    public static PostgresOptions Options(PostgresServerFixture server, string? password = PostgresServerFixture.Password) => new()
    {
        Host = server.Host,
        Port = server.Port,
        User = PostgresServerFixture.User,
        Password = password,
        Database = PostgresServerFixture.Database,
        SslMode = SslMode.Disable,
        Schema = string.Create(CultureInfo.InvariantCulture, $"test_{Environment.ProcessId}_{Interlocked.Increment(ref s_schema)}"),
    };

    public static async Task<PostgresWriter> MigratedWriterAsync(PostgresServerFixture server, TimeProvider? time = null)
    {
        var writer = new PostgresWriter(Options(server), time);
        await writer.MigrateAsync(CancellationToken.None);
        return writer;
    }

    /// <summary>A candle whose every value differs from its neighbours' and uses all 8 decimals.</summary>
    public static CandleRow Candle(string symbol, long openTimeMs, long seed) => new(
        symbol, "1m", openTimeMs, openTimeMs + 59_999,
        Open: 6_512_345_678_901 + seed, High: 6_512_399_999_999 + seed, Low: 6_512_300_000_001 + seed, Close: 6_512_350_000_000 + seed,
        Volume: 123_456_789 + seed, QuoteVolume: 8_040_123_456_789 + seed, TakerBuyVolume: 61_728_394 + seed,
        TakerBuyQuoteVolume: 4_020_061_728_394 + seed, Vwap: 6_512_347_000_000 + seed,
        Trades: 100 + seed, FirstTradeId: 1_000_000 + (seed * 100), LastTradeId: 1_000_099 + (seed * 100), HasGap: seed % 2 == 1,
        LateTrades: (int)(seed % 3), PriceChangePercent: 0.0125 + seed, BuySellRatio: 1.5, Volatility: 0.000321);

    public static AlertRow Alert(string symbol, long tradeId, long timeMs, long seed) => new(
        string.Create(CultureInfo.InvariantCulture, $"{symbol}:whale_trade:{tradeId}"), symbol, "whale_trade", timeMs, tradeId,
        Price: 6_512_345_678_901 + seed, Value: 100_000_012_345_678 + seed, Threshold: 50_000_000_000_000);

    public static TradeRow Trade(string symbol, long tradeId, long timeMs) =>
        new(symbol, tradeId, Price: 6_512_345_678_901 + tradeId, Quantity: 1 + tradeId, timeMs, BuyerIsMaker: tradeId % 2 == 0);

    public static async Task<List<CandleRow>> ReadCandlesAsync(PostgresServerFixture server, string schema)
    {
        var rows = new List<CandleRow>();
        await using var source = NpgsqlDataSource.Create(server.ConnectionString);
        await using var command = source.CreateCommand(
            $"""
            SELECT symbol, "interval", open_time, close_time, "open", high, low, "close", volume, quote_volume, taker_buy_volume,
                   taker_buy_quote_volume, vwap, trades, first_trade_id, last_trade_id, has_gap, late_trades, price_change_pct,
                   buy_sell_ratio, volatility
            FROM {schema}.candles ORDER BY symbol, "interval", open_time
            """);
        await using var r = await command.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            rows.Add(new CandleRow(
                r.GetString(0), r.GetString(1), Ms(r, 2), Ms(r, 3), Mantissa(r, 4), Mantissa(r, 5), Mantissa(r, 6), Mantissa(r, 7),
                Mantissa(r, 8), Mantissa(r, 9), Mantissa(r, 10), Mantissa(r, 11), Mantissa(r, 12), r.GetInt64(13), r.GetInt64(14),
                r.GetInt64(15), r.GetBoolean(16), r.GetInt32(17), Double(r, 18), Double(r, 19), Double(r, 20)));
        }

        return rows;
    }

    public static async Task<List<AlertRow>> ReadAlertsAsync(PostgresServerFixture server, string schema)
    {
        var rows = new List<AlertRow>();
        await using var source = NpgsqlDataSource.Create(server.ConnectionString);
        await using var command = source.CreateCommand(
            $"""SELECT id, symbol, "type", "time", trade_id, price, "value", threshold FROM {schema}.alerts ORDER BY id""");
        await using var r = await command.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            rows.Add(new AlertRow(r.GetString(0), r.GetString(1), r.GetString(2), Ms(r, 3), r.GetInt64(4), Mantissa(r, 5), Mantissa(r, 6), Mantissa(r, 7)));
        }

        return rows;
    }

    public static async Task<List<TradeRow>> ReadTradesAsync(PostgresServerFixture server, string schema)
    {
        var rows = new List<TradeRow>();
        await using var source = NpgsqlDataSource.Create(server.ConnectionString);
        await using var command = source.CreateCommand(
            $"""SELECT symbol, trade_id, price, quantity, "time", buyer_is_maker FROM {schema}.trades ORDER BY symbol, trade_id""");
        await using var r = await command.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            rows.Add(new TradeRow(r.GetString(0), r.GetInt64(1), Mantissa(r, 2), Mantissa(r, 3), Ms(r, 4), r.GetBoolean(5)));
        }

        return rows;
    }

    public static async Task<T> ScalarAsync<T>(PostgresServerFixture server, string sql)
    {
        await using var source = NpgsqlDataSource.Create(server.ConnectionString);
        await using var command = source.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The numeric as an 8-decimal mantissa; fails if the stored value has digits beyond the 8th decimal.</summary>
    private static long Mantissa(NpgsqlDataReader r, int column)
    {
        var scaled = r.GetDecimal(column) * FixedPoint.Scale;
        Assert.Equal(decimal.Truncate(scaled), scaled);
        return (long)scaled;
    }

    private static long Ms(NpgsqlDataReader r, int column) => (r.GetFieldValue<DateTime>(column) - DateTime.UnixEpoch).Ticks / TimeSpan.TicksPerMillisecond;

    private static double Double(NpgsqlDataReader r, int column) => r.IsDBNull(column) ? double.NaN : r.GetDouble(column);
}

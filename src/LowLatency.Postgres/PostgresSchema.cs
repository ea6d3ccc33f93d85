using System.Globalization;
using Npgsql;

namespace LowLatency.Postgres;

/// <summary>
/// The warm tier's tables, created or brought up to date when a writer starts. Each migration has a number and runs
/// once per schema: <c>schema_migrations</c> records the numbers applied, and a transaction-scoped advisory lock keeps
/// two processes starting together from applying one twice. The statements are idempotent as well (IF NOT EXISTS), so a
/// schema created by hand or half-migrated by an older build is completed, not broken. Append migrations; never edit one
/// that has shipped.
/// </summary>
/// <remarks>
/// Prices, quantities and volumes are <c>numeric(19,8)</c>: exact decimals, the way Binance sends them (8 decimals) and
/// the engine holds them (8-decimal <c>long</c> mantissas, whose whole range fits 19 digits), so a value read back is the
/// value received; <c>double precision</c> would round them. Times are <c>timestamptz</c> (instants; the engine's are ms
/// since the Unix epoch, UTC). Derived metrics (ratios, volatility) are doubles: they are computed as doubles.
/// </remarks>
internal static class PostgresSchema
{
    /// <summary>The migrations in order: number and statements (<c>{0}</c> is the schema).</summary>
    public static readonly (int Version, string Sql)[] Migrations =
    [
        (1, """
            CREATE TABLE IF NOT EXISTS {0}.candles (
                symbol text NOT NULL,
                "interval" text NOT NULL,
                open_time timestamptz NOT NULL,
                close_time timestamptz NOT NULL,
                "open" numeric(19,8) NOT NULL,
                high numeric(19,8) NOT NULL,
                low numeric(19,8) NOT NULL,
                "close" numeric(19,8) NOT NULL,
                volume numeric(19,8) NOT NULL,
                quote_volume numeric(19,8) NOT NULL,
                taker_buy_volume numeric(19,8) NOT NULL,
                taker_buy_quote_volume numeric(19,8) NOT NULL,
                vwap numeric(19,8) NOT NULL,
                trades bigint NOT NULL,
                first_trade_id bigint NOT NULL,
                last_trade_id bigint NOT NULL,
                has_gap boolean NOT NULL,
                late_trades integer NOT NULL,
                price_change_pct double precision,
                buy_sell_ratio double precision,
                volatility double precision,
                PRIMARY KEY (symbol, "interval", open_time));
            -- Retention deletes by time across symbols; the key's index starts with the symbol.
            CREATE INDEX IF NOT EXISTS candles_open_time ON {0}.candles (open_time);
            """),
        (2, """
            CREATE TABLE IF NOT EXISTS {0}.alerts (
                id text PRIMARY KEY,
                symbol text NOT NULL,
                "type" text NOT NULL,
                "time" timestamptz NOT NULL,
                trade_id bigint NOT NULL,
                price numeric(19,8) NOT NULL,
                "value" numeric(19,8) NOT NULL,
                threshold numeric(19,8) NOT NULL);
            CREATE INDEX IF NOT EXISTS alerts_time ON {0}.alerts ("time");
            CREATE INDEX IF NOT EXISTS alerts_symbol_time ON {0}.alerts (symbol, "time");
            """),
        (3, """
            CREATE TABLE IF NOT EXISTS {0}.trades (
                symbol text NOT NULL,
                trade_id bigint NOT NULL,
                price numeric(19,8) NOT NULL,
                quantity numeric(19,8) NOT NULL,
                "time" timestamptz NOT NULL,
                buyer_is_maker boolean NOT NULL,
                PRIMARY KEY (symbol, trade_id));
            CREATE INDEX IF NOT EXISTS trades_time ON {0}.trades ("time");
            """),
    ];

    /// <summary>Applies the migrations <paramref name="schema"/> lacks, each in the one transaction; returns how many ran.</summary>
    public static async Task<int> MigrateAsync(NpgsqlConnection connection, string schema, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(
            connection,
            $"""
            SELECT pg_advisory_xact_lock(hashtext('lowlatency schema_migrations {schema}'));
            CREATE SCHEMA IF NOT EXISTS {schema};
            CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                version integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now());
            """,
            cancellationToken).ConfigureAwait(false);

        var applied = new HashSet<int>();
        await using (var select = new NpgsqlCommand($"SELECT version FROM {schema}.schema_migrations", connection))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        var ran = 0;
        foreach (var (version, sql) in Migrations)
        {
            if (applied.Contains(version))
            {
                continue;
            }

            await ExecuteAsync(connection, string.Format(CultureInfo.InvariantCulture, sql, schema), cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(
                connection,
                string.Create(CultureInfo.InvariantCulture, $"INSERT INTO {schema}.schema_migrations (version) VALUES ({version})"),
                cancellationToken).ConfigureAwait(false);
            ran++;
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return ran;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

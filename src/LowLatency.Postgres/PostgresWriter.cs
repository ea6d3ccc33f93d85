using System.Globalization;
using System.Net.Sockets;
using Npgsql;

namespace LowLatency.Postgres;

/// <summary>
/// Writes batches of candles, alerts and trades to the warm tier, idempotently: each table's rows go by binary COPY into
/// a temporary staging table, then <c>INSERT … SELECT … ON CONFLICT (key) DO UPDATE</c> moves them into the table, all
/// in one transaction. Replaying a batch (after a crash, before the source committed past it) therefore leaves one row
/// per key with the latest values, and <see cref="WriteAsync"/> returns only once the transaction has committed: that is
/// the durable flush a sink reports to the commit watermark.
/// </summary>
/// <remarks>
/// One <see cref="NpgsqlDataSource"/> (a connection pool) per writer. Methods may be called concurrently (each takes its
/// own connection), though a sink normally writes one batch at a time. Failures come out as
/// <see cref="PostgresWriterException"/> with a message that says what to check; <see cref="IsTransient"/> tells a
/// retrying sink whether another attempt can succeed.
/// </remarks>
public sealed class PostgresWriter : IAsyncDisposable
{
    private readonly PostgresOptions _options;
    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly TableStatements _candles;
    private readonly TableStatements _alerts;
    private readonly TableStatements _trades;

    /// <summary>Creates the writer and its connection pool; connects only when first used.</summary>
    public PostgresWriter(PostgresOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = time ?? TimeProvider.System;
        _dataSource = NpgsqlDataSource.Create(options.ToConnectionString());
        _candles = TableStatements.For<CandleRow>(options.Schema);
        _alerts = TableStatements.For<AlertRow>(options.Schema);
        _trades = TableStatements.For<TradeRow>(options.Schema);
    }

    /// <summary>The options the writer was created with.</summary>
    public PostgresOptions Options => _options;

    /// <summary>
    /// Creates the schema and tables, or applies the migrations they lack (<c>schema_migrations</c>); call once at start.
    /// Returns how many migrations ran (0 when the schema is up to date).
    /// </summary>
    public Task<int> MigrateAsync(CancellationToken cancellationToken) => RunAsync(
        "migrating the schema",
        async connection => await PostgresSchema.MigrateAsync(connection, _options.Schema, cancellationToken).ConfigureAwait(false),
        cancellationToken);

    /// <summary>
    /// Writes <paramref name="batch"/> in one transaction and returns once it has committed. Within a table, a later row
    /// with the same key overrides an earlier one; across calls, the last write of a key wins.
    /// </summary>
    public Task WriteAsync(PostgresBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return Task.CompletedTask;
        }

        return RunAsync(
            "writing a batch",
            async connection =>
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await UpsertAsync(connection, _candles, batch.Candles, cancellationToken).ConfigureAwait(false);
                await UpsertAsync(connection, _alerts, batch.Alerts, cancellationToken).ConfigureAwait(false);
                await UpsertAsync(connection, _trades, batch.Trades, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return 0;
            },
            cancellationToken);
    }

    /// <summary>
    /// The retention job: deletes candles, alerts and trades older than <see cref="PostgresOptions.RetentionDays"/> days
    /// (by candle open time, alert time and trade time). Meant to be scheduled periodically (hourly is plenty).
    /// </summary>
    public Task<RetentionResult> RunRetentionAsync(CancellationToken cancellationToken) =>
        DeleteOlderThanAsync(_time.GetUtcNow().AddDays(-_options.RetentionDays), cancellationToken);

    /// <summary>Deletes the rows whose time is before <paramref name="cutoff"/>, in one transaction; returns how many per table.</summary>
    public Task<RetentionResult> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => RunAsync(
        "deleting old rows",
        async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var candles = await DeleteAsync(connection, _candles.Retention, cutoff, cancellationToken).ConfigureAwait(false);
            var alerts = await DeleteAsync(connection, _alerts.Retention, cutoff, cancellationToken).ConfigureAwait(false);
            var trades = await DeleteAsync(connection, _trades.Retention, cutoff, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new RetentionResult(candles, alerts, trades);
        },
        cancellationToken);

    /// <summary>
    /// Whether another attempt of the failed operation can succeed without anyone changing anything: the server is
    /// down, restarting or unreachable, the connection broke, a serialization failure or deadlock, the server is out of
    /// resources. False for what needs a person (wrong password, missing database, permissions, bad schema) and for
    /// cancellation.
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresWriterException e => e.IsTransient,
        OperationCanceledException => false,
        PostgresException e => e.IsTransient || e.SqlState.StartsWith("08", StringComparison.Ordinal) || e.SqlState.StartsWith("57P", StringComparison.Ordinal),
        NpgsqlException e => e.IsTransient || e.InnerException is SocketException or IOException or TimeoutException,
        SocketException or IOException or TimeoutException => true,
        _ => false,
    };

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private static async Task UpsertAsync<TRow>(NpgsqlConnection connection, TableStatements table, List<TRow> rows, CancellationToken cancellationToken)
        where TRow : struct, IPostgresRow
    {
        if (rows.Count == 0)
        {
            return;
        }

        await ExecuteAsync(connection, table.CreateStaging, cancellationToken).ConfigureAwait(false);
        var importer = await connection.BeginBinaryImportAsync(table.Copy, cancellationToken).ConfigureAwait(false);
        await using (importer.ConfigureAwait(false))
        {
            for (var i = 0; i < rows.Count; i++)
            {
                await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync((long)i, NpgsqlTypes.NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                await rows[i].WriteAsync(importer, cancellationToken).ConfigureAwait(false);
            }

            await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        await ExecuteAsync(connection, table.Upsert, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<long> DeleteAsync(NpgsqlConnection connection, string sql, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue(cutoff.UtcDateTime);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="operation"/> on a pooled connection and turns failures into a <see cref="PostgresWriterException"/>
    /// that says what to check. After a transient failure the pool's idle connections are dropped: they most likely
    /// point at the server process that went away, and the next attempt should not fail on them first.
    /// </summary>
    private async Task<T> RunAsync<T>(string what, Func<NpgsqlConnection, Task<T>> operation, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return await operation(connection).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or IOException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            var transient = IsTransient(e);
            if (transient)
            {
                _dataSource.Clear();
            }

            throw new PostgresWriterException(Describe(what, e), transient, e);
        }
    }

    private string Describe(string what, Exception e)
    {
        var at = string.Create(CultureInfo.InvariantCulture, $"PostgreSQL at {_options}");
        return e switch
        {
            PostgresException { SqlState: PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification } p =>
                $"{at} rejected the login while {what}: {p.MessageText} ({p.SqlState}). Check POSTGRES_USER and POSTGRES_PASSWORD.",
            PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName } p =>
                $"{at}: the database does not exist ({p.MessageText}). Check POSTGRES_DB, or create the database.",
            PostgresException p =>
                $"{at} failed while {what}: {p.MessageText} ({p.SqlState}).",
            _ when Find<SocketException>(e) is { SocketErrorCode: SocketError.ConnectionRefused } =>
                $"{at} refused the connection while {what}: is the server running and listening there (POSTGRES_HOST, POSTGRES_PORT)?",
            _ when Find<SocketException>(e) is { } s =>
                $"{at} could not be reached while {what}: {s.Message} ({s.SocketErrorCode}).",
            _ => $"{at} failed while {what}: {e.Message}",
        };
    }

    private static T? Find<T>(Exception? e)
        where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>
    /// The statements of one table, spelled once per writer (they depend on the schema). <c>CreateStaging</c>: a staging
    /// table like the target plus <c>ord</c> (the row's index in the batch), created in the transaction and dropped at its
    /// end (ON COMMIT DROP; a rollback drops it too), so nothing is left on a pooled connection. <c>Upsert</c> moves the
    /// staged rows into the table: DISTINCT ON keeps the batch's last row per key (ON CONFLICT may touch a row only once
    /// per statement), and the WHERE skips rows that would not change, so a replay of a written batch leaves no dead row
    /// versions behind.
    /// </summary>
    private sealed record TableStatements(string CreateStaging, string Copy, string Upsert, string Retention)
    {
        public static TableStatements For<TRow>(string schema)
            where TRow : struct, IPostgresRow
        {
            var table = TRow.Table;
            var staging = "stage_" + table.Name;
            var columns = string.Join(", ", table.Columns.Select(Quote));
            var key = string.Join(", ", table.Key.Select(Quote));
            var updated = table.Columns.Except(table.Key).Select(Quote).ToArray();
            var set = string.Join(", ", updated.Select(c => $"{c} = EXCLUDED.{c}"));
            var current = string.Join(", ", updated.Select(c => "t." + c));
            var incoming = string.Join(", ", updated.Select(c => "EXCLUDED." + c));
            return new TableStatements(
                $"CREATE TEMP TABLE {staging} (ord bigint NOT NULL, LIKE {schema}.{table.Name}) ON COMMIT DROP",
                $"COPY {staging} (ord, {columns}) FROM STDIN (FORMAT BINARY)",
                $"""
                INSERT INTO {schema}.{table.Name} AS t ({columns})
                SELECT DISTINCT ON ({key}) {columns} FROM {staging} ORDER BY {key}, ord DESC
                ON CONFLICT ({key}) DO UPDATE SET {set}
                WHERE ({current}) IS DISTINCT FROM ({incoming})
                """,
                $"DELETE FROM {schema}.{table.Name} WHERE {Quote(table.TimeColumn)} < $1");
        }

        /// <summary>Every column name quoted: several (interval, open, close, time, type, value) are SQL keywords.</summary>
        private static string Quote(string column) => "\"" + column + "\"";
    }
}

/// <summary>How many rows the retention job deleted, per table.</summary>
public readonly record struct RetentionResult(long Candles, long Alerts, long Trades);

/// <summary>
/// A failed operation of the <see cref="PostgresWriter"/>: the message says what to check (never the password), the
/// inner exception is Npgsql's, and <see cref="IsTransient"/> says whether retrying can help.
/// </summary>
public sealed class PostgresWriterException : Exception
{
    public PostgresWriterException(string message, bool isTransient, Exception innerException)
        : base(message, innerException) => IsTransient = isTransient;

    /// <summary>Whether another attempt can succeed without a change of configuration (see <see cref="PostgresWriter.IsTransient"/>).</summary>
    public bool IsTransient { get; }
}

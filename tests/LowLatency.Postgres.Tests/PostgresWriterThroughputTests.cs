using System.Diagnostics;
using LowLatency.TestSupport.Postgres;
using Npgsql;
using NpgsqlTypes;
using Xunit.Abstractions;
using static LowLatency.Postgres.Tests.PostgresTestRows;

namespace LowLatency.Postgres.Tests;

/// <summary>
/// The rows/s of a 100k-candle batch (COPY into staging + upsert, in one transaction), beside plain binary COPY of the
/// ENVIRONMENT.md reference shape in the same run. Reports numbers (docs/PERFORMANCE.md); asserts only that every row landed.
/// </summary>
public sealed class PostgresWriterThroughputTests(PostgresServerFixture server, ITestOutputHelper output) : IClassFixture<PostgresServerFixture>
{
    private const int Candles = 100_000;
    private const int ReferenceRows = 1_000_000;

    [PostgresFact]
    public async Task WriteAsync_100kCandles_AllStored()
    {
        await using var writer = await MigratedWriterAsync(server);
        var batch = new PostgresBatch();
        for (var i = 0; i < Candles; i++)
        {
            batch.Candles.Add(Candle("SYM" + (i % 100), 1_723_075_200_000 + ((i / 100) * 60_000L), seed: i));
        }

        var insert = Stopwatch.StartNew();
        await writer.WriteAsync(batch, CancellationToken.None);
        insert.Stop();
        var replay = Stopwatch.StartNew();
        await writer.WriteAsync(batch, CancellationToken.None);
        replay.Stop();
        var reference = await PlainCopyAsync();

        Assert.Equal((long)Candles, await ScalarAsync<long>(server, $"SELECT count(*) FROM {writer.Options.Schema}.candles"));
        output.WriteLine($"PostgresWriter 100k candles, new rows: {Candles / insert.Elapsed.TotalSeconds:N0} rows/s ({insert.Elapsed.TotalMilliseconds:N0} ms)");
        output.WriteLine($"PostgresWriter 100k candles, replay (all keys exist): {Candles / replay.Elapsed.TotalSeconds:N0} rows/s ({replay.Elapsed.TotalMilliseconds:N0} ms)");
        output.WriteLine($"reference: plain binary COPY, 1M rows (text, timestamptz, 5 doubles): {ReferenceRows / reference.TotalSeconds:N0} rows/s");
    }

    /// <summary>ENVIRONMENT.md's measurement: binary COPY of 1M rows of (text, timestamptz, 5 doubles) into a plain table.</summary>
    private async Task<TimeSpan> PlainCopyAsync()
    {
        await using var source = NpgsqlDataSource.Create(server.ConnectionString);
        await using var connection = await source.OpenConnectionAsync();
        await using (var create = new NpgsqlCommand("CREATE TEMP TABLE reference_copy (s text, t timestamptz, a float8, b float8, c float8, d float8, e float8)", connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        var time = Stopwatch.StartNew();
        await using (var importer = await connection.BeginBinaryImportAsync("COPY reference_copy FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < ReferenceRows; i++)
            {
                await importer.StartRowAsync();
                await importer.WriteAsync("BTCUSDT", NpgsqlDbType.Text);
                await importer.WriteAsync(DateTime.UnixEpoch.AddSeconds(i), NpgsqlDbType.TimestampTz);
                await importer.WriteAsync(1.0 * i, NpgsqlDbType.Double);
                await importer.WriteAsync(2.0 * i, NpgsqlDbType.Double);
                await importer.WriteAsync(3.0 * i, NpgsqlDbType.Double);
                await importer.WriteAsync(4.0 * i, NpgsqlDbType.Double);
                await importer.WriteAsync(5.0 * i, NpgsqlDbType.Double);
            }

            await importer.CompleteAsync();
        }

        return time.Elapsed;
    }
}

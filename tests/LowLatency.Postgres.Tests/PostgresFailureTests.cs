using LowLatency.TestSupport.Postgres;
using static LowLatency.Postgres.Tests.PostgresTestRows;

namespace LowLatency.Postgres.Tests;

/// <summary>
/// Failures a sink must tell apart: the server going away (transient: retry) and wrong configuration (permanent:
/// stop and say what to fix). A server of their own, since they stop it.
/// </summary>
public sealed class PostgresFailureTests(PostgresServerFixture server) : IClassFixture<PostgresServerFixture>
{
    private const long T0 = 1_723_075_200_000;

    [PostgresFact]
    public async Task WriteAsync_ServerStopped_FailsTransientlyThenSucceedsAfterRestart()
    {
        await using var writer = await MigratedWriterAsync(server);
        var batch = new PostgresBatch();
        batch.Candles.Add(Candle("BTCUSDT", T0, seed: 0));
        await writer.WriteAsync(batch, CancellationToken.None);

        server.Stop();
        PostgresWriterException failure;
        try
        {
            batch.Candles[0] = Candle("BTCUSDT", T0, seed: 1);
            failure = await Assert.ThrowsAsync<PostgresWriterException>(() => writer.WriteAsync(batch, CancellationToken.None));

            // With the pool emptied by the first failure, the next attempt is a fresh connection, refused outright.
            var refused = await Assert.ThrowsAsync<PostgresWriterException>(() => writer.WriteAsync(batch, CancellationToken.None));
            Assert.True(refused.IsTransient, refused.ToString());
            Assert.Contains("refused the connection", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            server.Start();
        }

        Assert.True(failure.IsTransient, failure.ToString());
        Assert.True(PostgresWriter.IsTransient(failure));
        Assert.True(PostgresWriter.IsTransient(failure.InnerException!), failure.InnerException!.ToString());

        await writer.WriteAsync(batch, CancellationToken.None);

        Assert.Equal(batch.Candles, await ReadCandlesAsync(server, writer.Options.Schema));
    }

    [PostgresFact]
    public async Task MigrateAsync_WrongPassword_FailsPermanentlyNamingTheSettings()
    {
        await using var writer = new PostgresWriter(Options(server, password: "not-the-password"));

        var failure = await Assert.ThrowsAsync<PostgresWriterException>(() => writer.MigrateAsync(CancellationToken.None));

        Assert.False(failure.IsTransient);
        Assert.False(PostgresWriter.IsTransient(failure));
        Assert.Contains("rejected the login", failure.Message, StringComparison.Ordinal);
        Assert.Contains("POSTGRES_PASSWORD", failure.Message, StringComparison.Ordinal);
        Assert.Contains("28P01", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", failure.Message, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task MigrateAsync_NothingListening_FailsTransientlySayingConnectionRefused()
    {
        await using var writer = new PostgresWriter(new PostgresOptions { Host = "127.0.0.1", Port = 1, Password = "x" });

        var failure = await Assert.ThrowsAsync<PostgresWriterException>(() => writer.MigrateAsync(CancellationToken.None));

        Assert.True(failure.IsTransient);
        Assert.Contains("127.0.0.1:1/postgres", failure.Message, StringComparison.Ordinal);
        Assert.Contains("refused the connection", failure.Message, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task MigrateAsync_MissingDatabase_FailsPermanentlyNamingPostgresDb()
    {
        var options = Options(server);
        await using var writer = new PostgresWriter(new PostgresOptions
        {
            Host = options.Host, Port = options.Port, User = options.User, Password = options.Password, SslMode = options.SslMode, Database = "no_such_db",
        });

        var failure = await Assert.ThrowsAsync<PostgresWriterException>(() => writer.MigrateAsync(CancellationToken.None));

        Assert.False(failure.IsTransient);
        Assert.Contains("POSTGRES_DB", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IsTransient_ClassifiesByCause()
    {
        Assert.True(PostgresWriter.IsTransient(new TimeoutException()));
        Assert.True(PostgresWriter.IsTransient(new Npgsql.NpgsqlException("broken", new IOException())));
        Assert.False(PostgresWriter.IsTransient(new OperationCanceledException()));
        Assert.False(PostgresWriter.IsTransient(new InvalidOperationException()));
        Assert.False(PostgresWriter.IsTransient(new PostgresWriterException("x", isTransient: false, new IOException())));
    }
}

namespace LowLatency.TestSupport.Cassandra;

/// <summary>
/// One real Cassandra shared by a test collection (<c>ICollectionFixture&lt;CassandraServerFixture&gt;</c>): each
/// server costs about 830 MB and seconds to start. Tests use keyspaces or tables of their own.
/// </summary>
public class CassandraServerFixture : IDisposable
{
    private readonly CassandraServer? _server;

    /// <summary>Starts a server without authentication, unless Cassandra is absent and the tests will skip.</summary>
    public CassandraServerFixture()
        : this(passwordAuthenticator: false)
    {
    }

    protected CassandraServerFixture(bool passwordAuthenticator) =>
        _server = CassandraAvailability.ShouldRun ? CassandraServer.Start(passwordAuthenticator) : null;

    public CassandraServer Server => _server ?? throw new InvalidOperationException(CassandraAvailability.MissingReason);

    public void Dispose()
    {
        _server?.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A Cassandra that requires logins (PasswordAuthenticator, user cassandra/cassandra), for the authentication tests only.</summary>
public sealed class CassandraAuthServerFixture : CassandraServerFixture
{
    public CassandraAuthServerFixture()
        : base(passwordAuthenticator: true)
    {
    }
}

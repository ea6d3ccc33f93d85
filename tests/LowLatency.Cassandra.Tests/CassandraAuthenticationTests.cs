using LowLatency.TestSupport.Cassandra;
using Xunit.Abstractions;

namespace LowLatency.Cassandra.Tests;

[Collection(CassandraAuthCollection.Name)]
public sealed class CassandraAuthenticationTests(CassandraAuthServerFixture fixture, ITestOutputHelper output)
{
    private CassandraServer Server => fixture.Server;

    [CassandraFact]
    public async Task Connect_GoodCredentials_LogsInAndQueries()
    {
        await using var connection = Connect(CassandraServer.DefaultUser, CassandraServer.DefaultPassword);

        using var rows = await connection.QueryAsync("SELECT release_version FROM system.local");
        Assert.Equal(1, rows.Count);
        Assert.Equal(3, connection.ProtocolVersion);
        output.WriteLine($"Cassandra with PasswordAuthenticator accepted the default login {Server.StartTime.TotalSeconds:0.0} s after start");
    }

    [CassandraFact]
    public async Task Connect_BadPassword_ThrowsAuthenticationException()
    {
        await using var connection = Connect(CassandraServer.DefaultUser, "not-the-password");

        var error = await Assert.ThrowsAsync<CassandraAuthenticationException>(async () => await connection.ConnectAsync());
        Assert.Equal(CassandraErrorCode.AuthenticationError, error.Code);
        Assert.Contains("'cassandra'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", error.Message, StringComparison.Ordinal);
    }

    [CassandraFact]
    public async Task Connect_NoCredentials_ThrowsAuthenticationExceptionNamingTheAuthenticator()
    {
        await using var connection = Connect(null, null);

        var error = await Assert.ThrowsAsync<CassandraAuthenticationException>(async () => await connection.ConnectAsync());
        Assert.Contains("PasswordAuthenticator", error.Message, StringComparison.Ordinal);
    }

    private CassandraConnection Connect(string? user, string? password) =>
        new(new CassandraOptions { Host = Server.Host, Port = Server.Port, Username = user, Password = password });
}

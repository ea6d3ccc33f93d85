using LowLatency.TestSupport.Cassandra;

namespace LowLatency.Cassandra.Tests;

/// <summary>The tests sharing one Cassandra without authentication (a server costs ~830 MB and seconds to start).</summary>
[CollectionDefinition(Name)]
public sealed class CassandraCollection : ICollectionFixture<CassandraServerFixture>
{
    public const string Name = "Cassandra";
}

/// <summary>The tests sharing one Cassandra with PasswordAuthenticator (only the login tests).</summary>
[CollectionDefinition(Name)]
public sealed class CassandraAuthCollection : ICollectionFixture<CassandraAuthServerFixture>
{
    public const string Name = "Cassandra with authentication";
}

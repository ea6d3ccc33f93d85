using LowLatency.TestSupport.Cassandra;

// One collection at a time: the allocation test counts the bytes the whole process allocates per request, and the
// login tests (polling a starting server for its default user) allocated beside it in CI (1,264 B per write seen).
[assembly: CollectionBehavior(DisableTestParallelization = true)]

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

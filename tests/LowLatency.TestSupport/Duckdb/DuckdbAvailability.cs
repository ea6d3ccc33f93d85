namespace LowLatency.TestSupport.Duckdb;

/// <summary>
/// Whether DuckDB's native library is installed (by <c>.ci/duckdb.sh</c>, from npm). The Parquet tests use it as an
/// independent reader: where it is absent they report themselves skipped with the reason and the install command,
/// except where <see cref="RequireVariable"/> is 1 (CI installs it and insists: there they run, and fail if it is missing).
/// </summary>
public static class DuckdbAvailability
{
    /// <summary>Set to 1 to never skip the DuckDB tests (<c>.ci/run</c> does).</summary>
    public const string RequireVariable = "LOWLATENCY_REQUIRE_DUCKDB";

    /// <summary>The library's path, exported by <c>.ci/duckdb.sh</c>.</summary>
    public const string LibraryVariable = "LOWLATENCY_DUCKDB_LIB";

    private static readonly Lazy<string?> s_library = new(Locate);

    /// <summary>Where <c>.ci/duckdb.sh</c> installs the library when <see cref="LibraryVariable"/> is not set.</summary>
    public static string DefaultLibraryPath => Path.Combine(
        TestData.RepositoryRoot, ".ci", ".tools", "duckdb", "node_modules", "@duckdb", "node-bindings-linux-x64", "libduckdb.so");

    /// <summary>The full path of libduckdb.so, or null.</summary>
    public static string? LibraryPath => s_library.Value;

    /// <summary>Whether the DuckDB tests run: the library is installed, or they are required.</summary>
    public static bool ShouldRun => s_library.Value is not null || Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Why they are skipped.</summary>
    public static string MissingReason =>
        "DuckDB (libduckdb.so) is not installed, so the tests that read our Parquet files with DuckDB are skipped: " +
        "`bash .ci/duckdb.sh` installs it (npm install @duckdb/node-api into .ci/.tools/duckdb).";

    private static string? Locate()
    {
        var configured = Environment.GetEnvironmentVariable(LibraryVariable);
        var candidate = string.IsNullOrEmpty(configured) ? DefaultLibraryPath : configured;
        return File.Exists(candidate) ? candidate : null;
    }
}

/// <summary>A fact that needs DuckDB: skipped with the reason where it is absent (never in CI).</summary>
public sealed class DuckdbFactAttribute : Xunit.FactAttribute
{
    public DuckdbFactAttribute()
    {
        if (!DuckdbAvailability.ShouldRun)
        {
            Skip = DuckdbAvailability.MissingReason;
        }
    }
}

/// <summary>A theory that needs DuckDB.</summary>
public sealed class DuckdbTheoryAttribute : Xunit.TheoryAttribute
{
    public DuckdbTheoryAttribute()
    {
        if (!DuckdbAvailability.ShouldRun)
        {
            Skip = DuckdbAvailability.MissingReason;
        }
    }
}

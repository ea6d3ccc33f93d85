namespace LowLatency.TestSupport;

/// <summary>
/// Where the real recordings and interoperability files live: <c>../shared/data</c> beside the repository root, or the
/// directory named by the one setting <c>LOWLATENCY_TEST_DATA</c>. Tests that need it use <see cref="DataFactAttribute"/>
/// so that a clone without the data reports them skipped (with the reason) instead of failing; <c>.ci/run</c> sets
/// <c>LOWLATENCY_REQUIRE_TEST_DATA=1</c>, which turns a missing directory into a failure so they always run in CI.
/// </summary>
public static class TestData
{
    /// <summary>The environment variable that overrides the data directory.</summary>
    public const string DirectoryVariable = "LOWLATENCY_TEST_DATA";

    /// <summary>The environment variable that makes missing data an error (set by CI).</summary>
    public const string RequireVariable = "LOWLATENCY_REQUIRE_TEST_DATA";

    private static readonly Lazy<string?> s_root = new(Locate);

    /// <summary>The data directory, or null if it is not present.</summary>
    public static string? Root => s_root.Value;

    /// <summary>Whether the data directory is present.</summary>
    public static bool IsAvailable => Root is not null;

    /// <summary>Why data tests are skipped here.</summary>
    public static string MissingReason =>
        $"Test data not found: set {DirectoryVariable} or place the shared data at ../shared/data beside the repository.";

    /// <summary>The full path of <paramref name="relativePath"/> inside the data directory; fails the test if absent.</summary>
    public static string PathOf(string relativePath)
    {
        var root = Root ?? throw new InvalidOperationException(MissingReason);
        var path = Path.Combine(root, relativePath);
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            throw new FileNotFoundException($"Test data file missing: {path}", path);
        }

        return path;
    }

    /// <summary>The repository root (the directory holding LowLatency.sln), found from the test binaries upwards.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    private static string? Locate()
    {
        var configured = Environment.GetEnvironmentVariable(DirectoryVariable);
        var candidate = string.IsNullOrEmpty(configured)
            ? Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "data"))
            : Path.GetFullPath(configured);

        if (Directory.Exists(candidate))
        {
            return candidate;
        }

        if (Environment.GetEnvironmentVariable(RequireVariable) == "1")
        {
            throw new InvalidOperationException($"{RequireVariable}=1 but the test data is missing at {candidate}.");
        }

        return null;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LowLatency.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}

/// <summary>A fact that needs <see cref="TestData"/>: skipped with the reason where the data is absent (never in CI).</summary>
public sealed class DataFactAttribute : Xunit.FactAttribute
{
    /// <summary>Skips the test when the data is missing.</summary>
    public DataFactAttribute()
    {
        if (!TestData.IsAvailable)
        {
            Skip = TestData.MissingReason;
        }
    }
}

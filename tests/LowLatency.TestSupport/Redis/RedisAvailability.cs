namespace LowLatency.TestSupport.Redis;

/// <summary>
/// Whether <c>redis-server</c> is installed. Tests against a real Redis need it: where it is absent they report
/// themselves skipped with the reason and the install command, except where <see cref="RequireVariable"/> is 1 (CI
/// installs it and insists: there they run, and fail if it is missing).
/// </summary>
public static class RedisAvailability
{
    /// <summary>Set to 1 to never skip the Redis tests (<c>.ci/run</c> does).</summary>
    public const string RequireVariable = "LOWLATENCY_REQUIRE_REDIS";

    private static readonly Lazy<string?> s_server = new(() => ServerProcess.FindExecutable("redis-server"));

    /// <summary>The full path of redis-server, or null.</summary>
    public static string? ServerPath => s_server.Value;

    /// <summary>Whether the Redis tests run: redis-server is installed, or they are required.</summary>
    public static bool ShouldRun => s_server.Value is not null || Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Why they are skipped.</summary>
    public static string MissingReason =>
        "redis-server is not installed, so the tests against a real Redis are skipped: `sudo bash .ci/redis.sh` " +
        "(or apt-get install redis-server) installs it.";
}

/// <summary>A fact that needs redis-server: skipped with the reason where it is absent (never in CI).</summary>
public sealed class RedisFactAttribute : Xunit.FactAttribute
{
    public RedisFactAttribute()
    {
        if (!RedisAvailability.ShouldRun)
        {
            Skip = RedisAvailability.MissingReason;
        }
    }
}

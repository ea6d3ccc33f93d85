using System.Runtime.InteropServices;

namespace LowLatency.TestSupport.Kafka;

/// <summary>
/// Whether librdkafka (the native library of Confluent.Kafka and of the mock broker) is installed. Tests against the
/// broker need it: where it is absent they report themselves skipped with the reason, as the data tests do, except
/// where <see cref="RequireVariable"/> is 1 (CI installs it and insists: there they run, and fail if it is missing).
/// </summary>
public static class KafkaAvailability
{
    /// <summary>Set to 1 to never skip the Kafka tests (<c>.ci/run</c> does).</summary>
    public const string RequireVariable = "LOWLATENCY_REQUIRE_KAFKA";

    private static readonly Lazy<bool> s_installed = new(() =>
    {
        foreach (var name in (string[])["librdkafka.so", "librdkafka.so.1"])
        {
            if (NativeLibrary.TryLoad(name, out var handle))
            {
                NativeLibrary.Free(handle);
                return true;
            }
        }

        return false;
    });

    /// <summary>Whether the Kafka tests run: librdkafka is installed, or they are required.</summary>
    public static bool ShouldRun => s_installed.Value || Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Why they are skipped.</summary>
    public static string MissingReason =>
        "librdkafka is not installed, so the tests against the Kafka broker are skipped: `sudo bash .ci/kafka.sh` " +
        "(or apt-get install librdkafka1 librdkafka-dev) installs it.";
}

/// <summary>A fact that needs librdkafka: skipped with the reason where it is absent (never in CI).</summary>
public sealed class KafkaFactAttribute : Xunit.FactAttribute
{
    public KafkaFactAttribute()
    {
        if (!KafkaAvailability.ShouldRun)
        {
            Skip = KafkaAvailability.MissingReason;
        }
    }
}

/// <summary>A theory that needs librdkafka: skipped with the reason where it is absent (never in CI).</summary>
public sealed class KafkaTheoryAttribute : Xunit.TheoryAttribute
{
    public KafkaTheoryAttribute()
    {
        if (!KafkaAvailability.ShouldRun)
        {
            Skip = KafkaAvailability.MissingReason;
        }
    }
}

/// <summary>A fact that needs librdkafka and the shared test data: skipped with the first reason that applies.</summary>
public sealed class KafkaDataFactAttribute : Xunit.FactAttribute
{
    public KafkaDataFactAttribute()
    {
        if (!KafkaAvailability.ShouldRun)
        {
            Skip = KafkaAvailability.MissingReason;
        }
        else if (!TestData.IsAvailable)
        {
            Skip = TestData.MissingReason;
        }
    }
}

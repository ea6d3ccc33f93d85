using System.Text.Json;
using System.Text.Json.Serialization;

namespace LowLatency.Perf.Reporting;

/// <summary>
/// Source-generated serialisation of <see cref="PerfReport"/> for <c>--json</c>. Enums as strings so the file reads
/// without the code; named floating-point literals allowed because a spread is infinite when a median is 0.
/// </summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(PerfReport))]
internal sealed partial class PerfJsonContext : JsonSerializerContext
{
    /// <summary>Writes <paramref name="report"/> to <paramref name="path"/>, creating its directory.</summary>
    public static void Write(PerfReport report, string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        using var stream = File.Create(path);
        JsonSerializer.Serialize(stream, report, Default.PerfReport);
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;

namespace LowLatency.Telemetry;

/// <summary>
/// The machine and runtime a measurement was taken on, printed next to every perf number so results from
/// different machines, runtimes or GC modes are never compared by accident.
/// </summary>
public sealed record MachineInfo
{
    /// <summary>Placeholder for a figure the platform does not expose.</summary>
    public const string Unknown = "unknown";

    /// <summary>Logical processors available to the process (<see cref="Environment.ProcessorCount"/>).</summary>
    public required int ProcessorCount { get; init; }

    /// <summary>CPU model from /proc/cpuinfo on Linux; <see cref="Unknown"/> elsewhere or when unreadable.</summary>
    public required string CpuModel { get; init; }

    public required string OSDescription { get; init; }

    public required string FrameworkDescription { get; init; }

    public required Architecture ProcessArchitecture { get; init; }

    public required bool IsServerGC { get; init; }

    public required bool IsConcurrentGC { get; init; }

    /// <summary>Memory the GC may use: physical memory or the container limit (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>).</summary>
    public required long TotalAvailableMemoryBytes { get; init; }

    public required bool IsStopwatchHighResolution { get; init; }

    /// <summary>Stopwatch ticks per second: the resolution of every latency we record.</summary>
    public required long StopwatchFrequency { get; init; }

    public required string MachineName { get; init; }

    /// <summary>Describes the current machine and process. Never throws: figures it cannot read are <see cref="Unknown"/>.</summary>
    public static MachineInfo Current() => new()
    {
        ProcessorCount = Environment.ProcessorCount,
        CpuModel = ReadCpuModel(),
        OSDescription = RuntimeInformation.OSDescription,
        FrameworkDescription = RuntimeInformation.FrameworkDescription,
        ProcessArchitecture = RuntimeInformation.ProcessArchitecture,
        IsServerGC = GCSettings.IsServerGC,
        IsConcurrentGC = ReadIsConcurrentGC(),
        TotalAvailableMemoryBytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
        IsStopwatchHighResolution = Stopwatch.IsHighResolution,
        StopwatchFrequency = Stopwatch.Frequency,
        MachineName = ReadMachineName(),
    };

    /// <summary>One line for a report header.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{CpuModel}, {ProcessorCount} logical cores, {TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024):F1} GiB; " +
        $"{OSDescription}; {FrameworkDescription} {ProcessArchitecture}; " +
        $"{(IsServerGC ? "server" : "workstation")} {(IsConcurrentGC ? "concurrent" : "non-concurrent")} GC; " +
        $"Stopwatch {StopwatchFrequency} Hz{(IsStopwatchHighResolution ? "" : " (low resolution)")}; host {MachineName}");

    private static string ReadCpuModel()
    {
        if (!OperatingSystem.IsLinux())
        {
            return Unknown;
        }

        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                // "model name\t: Intel(R) Xeon(R) ..."; ARM kernels may omit the line, which leaves Unknown.
                if (line.StartsWith("model name", StringComparison.Ordinal))
                {
                    int colon = line.IndexOf(':', StringComparison.Ordinal);
                    string model = colon < 0 ? "" : line[(colon + 1)..].Trim();
                    return model.Length == 0 ? Unknown : model;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A sandbox or container without /proc: the report still prints, with Unknown.
        }

        return Unknown;
    }

    private static bool ReadIsConcurrentGC()
    {
        // The GC's own view, which includes DOTNET_gcConcurrent and runtimeconfig settings; GCSettings has no such flag.
        // The latency mode is Batch exactly when concurrent GC is off, unless the app changed it, hence only a fallback.
        return GC.GetConfigurationVariables().TryGetValue("ConcurrentGC", out object? value) && value is bool concurrent
            ? concurrent
            : GCSettings.LatencyMode != GCLatencyMode.Batch;
    }

    private static string ReadMachineName()
    {
        try
        {
            return Environment.MachineName;
        }
        catch (InvalidOperationException)
        {
            // Thrown when the host name cannot be obtained.
            return Unknown;
        }
    }
}

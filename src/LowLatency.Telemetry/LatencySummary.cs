using System.Globalization;

namespace LowLatency.Telemetry;

/// <summary>
/// The figures a latency report prints, taken from a <see cref="LatencyHistogram"/> by
/// <see cref="LatencyHistogram.Summarize"/>. Values are in the unit that was recorded (nanoseconds in the perf
/// harness); percentiles are upper bounds within the histogram's precision, Min, Mean and Max are exact.
/// </summary>
public readonly record struct LatencySummary(
    long Count,
    long Min,
    double Mean,
    long P50,
    long P90,
    long P99,
    long P999,
    long P9999,
    long Max)
{
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"count {Count}, min {Min}, mean {Mean:F1}, p50 {P50}, p90 {P90}, p99 {P99}, p99.9 {P999}, p99.99 {P9999}, max {Max}");
}

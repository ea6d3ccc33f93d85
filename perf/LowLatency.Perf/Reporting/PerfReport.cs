using LowLatency.Perf.Harness;
using LowLatency.Perf.Scenarios;
using LowLatency.Telemetry;

namespace LowLatency.Perf.Reporting;

/// <summary>Everything one invocation of the harness measured: what <c>--json</c> writes and the text report prints.</summary>
internal sealed record PerfReport
{
    public string Tool => "LowLatency.Perf";

    public required DateTimeOffset StartedAt { get; init; }

    public required DateTimeOffset FinishedAt { get; init; }

    /// <summary>The arguments the harness was started with.</summary>
    public required IReadOnlyList<string> Arguments { get; init; }

    /// <summary>"Release" or "Debug": numbers from a Debug build are not comparable.</summary>
    public required string BuildConfiguration { get; init; }

    public required MachineInfo Machine { get; init; }

    /// <summary>The machine's noise floor, probed before the scenarios ran (see <see cref="PlatformJitter"/>).</summary>
    public required IReadOnlyList<CpuJitter> PlatformJitter { get; init; }

    public required PerfOptions Options { get; init; }

    public required IReadOnlyList<ScenarioReport> Scenarios { get; init; }

    /// <summary>Scenario / baseline ratios of median events/s, for every pair that both succeeded.</summary>
    public IReadOnlyList<RatioReport> Ratios => [.. Scenarios
        .Where(s => s.Baseline is not null && s.Summary is not null)
        .Select(s => (Scenario: s, Baseline: Scenarios.FirstOrDefault(b => b.Name == s.Baseline && b.Summary is not null)))
        .Where(pair => pair.Baseline is not null)
        .Select(pair => new RatioReport(pair.Scenario.Name, pair.Baseline!.Name,
            pair.Scenario.Summary!.EventsPerSecond.Median / pair.Baseline.Summary!.EventsPerSecond.Median))];

    /// <summary>Whether every selected scenario completed all its runs and passed its verification.</summary>
    public bool Succeeded => Scenarios.All(s => s.Succeeded);
}

/// <summary>The runs of one scenario and their summary.</summary>
internal sealed record ScenarioReport
{
    public required string Name { get; init; }

    public required ScenarioKind Kind { get; init; }

    public required string Category { get; init; }

    public required string Description { get; init; }

    public string? Baseline { get; init; }

    /// <summary>Warm-up runs completed (their figures are not kept).</summary>
    public required int WarmupRuns { get; init; }

    /// <summary>The measured runs, in order.</summary>
    public required IReadOnlyList<ScenarioRunResult> Runs { get; init; }

    /// <summary>Null when the scenario failed.</summary>
    public ScenarioSummary? Summary { get; init; }

    /// <summary>Why the scenario failed (verification, time-out, exception); null when it succeeded.</summary>
    public string? Failure { get; init; }

    public bool Succeeded => Failure is null;

    /// <summary>
    /// CPU time used by other processes and the hypervisor (steal) while the scenario ran, warm-ups included, in percent
    /// of the whole machine; null where unknown (not Linux). A few percent is a quiet machine; more means the numbers
    /// were measured beside something else.
    /// </summary>
    public double? OtherCpuPercent { get; init; }
}

/// <summary>A scenario's runs summarised: medians and spreads, allocation and GC totals.</summary>
internal sealed record ScenarioSummary
{
    /// <summary>Events (or round trips) per second over the measured part of each run.</summary>
    public required RunStatistics EventsPerSecond { get; init; }

    /// <summary><see cref="ScenarioRunResult.OtherRates"/> over the runs, by name (the names every run reported).</summary>
    public required IReadOnlyDictionary<string, RunStatistics> OtherRates { get; init; }

    /// <summary>Each latency figure's statistics over the runs, in ns (latency scenarios only).</summary>
    public LatencyStatistics? Latency { get; init; }

    /// <summary><see cref="ScenarioRunResult.OtherLatencies"/> over the runs, by name (the names every run reported).</summary>
    public required IReadOnlyDictionary<string, LatencyStatistics> OtherLatencies { get; init; }

    public required RunStatistics BytesPerEvent { get; init; }

    /// <summary>The largest process-wide allocation of any measured run.</summary>
    public required long MaxAllocatedBytes { get; init; }

    /// <summary>The most any measured run's own threads allocated: must be 0 for the hot path.</summary>
    public required long MaxHotThreadAllocatedBytes { get; init; }

    /// <summary>Collections summed over the measured runs.</summary>
    public required GcCounts TotalGc { get; init; }

    /// <summary>How the consumers waited (from the runs).</summary>
    public required string WaitStrategy { get; init; }

    public required int RingSize { get; init; }

    /// <summary>The threads of the last run and what pinning achieved.</summary>
    public required IReadOnlyList<ThreadReport> Threads { get; init; }

    /// <summary>Summarises <paramref name="runs"/> (at least one).</summary>
    public static ScenarioSummary Of(IReadOnlyList<ScenarioRunResult> runs)
    {
        ArgumentOutOfRangeException.ThrowIfZero(runs.Count);
        var latencies = runs.Where(r => r.Latency is not null).Select(r => r.Latency!.Value).ToArray();
        return new ScenarioSummary
        {
            EventsPerSecond = Statistics(runs, r => r.EventsPerSecond),
            OtherRates = runs[0].OtherRates.Keys
                .Where(name => runs.All(r => r.OtherRates.ContainsKey(name)))
                .ToDictionary(name => name, name => Statistics(runs, r => r.OtherRates[name]), StringComparer.Ordinal),
            Latency = latencies.Length == runs.Count ? LatencyStatistics.Of(latencies) : null,
            OtherLatencies = runs[0].OtherLatencies.Keys
                .Where(name => runs.All(r => r.OtherLatencies.ContainsKey(name)))
                .ToDictionary(name => name, name => LatencyStatistics.Of([.. runs.Select(r => r.OtherLatencies[name])]), StringComparer.Ordinal),
            BytesPerEvent = Statistics(runs, r => r.BytesPerEvent),
            MaxAllocatedBytes = runs.Max(r => r.AllocatedBytes),
            MaxHotThreadAllocatedBytes = runs.Max(r => r.HotThreadAllocatedBytes),
            TotalGc = runs.Aggregate(default(GcCounts), (total, r) => new GcCounts(total.Gen0 + r.Gc.Gen0, total.Gen1 + r.Gc.Gen1, total.Gen2 + r.Gc.Gen2)),
            WaitStrategy = runs[^1].WaitStrategy,
            RingSize = runs[^1].RingSize,
            Threads = runs[^1].Threads,
        };
    }

    private static RunStatistics Statistics<T>(IReadOnlyList<T> runs, Func<T, double> figure) => RunStatistics.Of([.. runs.Select(figure)]);
}

/// <summary>Latency figures over several runs: the sample count's and each percentile's median, min and max across the runs (ns).</summary>
internal sealed record LatencyStatistics(
    RunStatistics Count,
    RunStatistics Mean,
    RunStatistics P50,
    RunStatistics P90,
    RunStatistics P99,
    RunStatistics P999,
    RunStatistics P9999,
    RunStatistics Max)
{
    public static LatencyStatistics Of(IReadOnlyList<LatencySummary> runs) => new(
        Statistics(runs, r => r.Count),
        Statistics(runs, r => r.Mean),
        Statistics(runs, r => r.P50),
        Statistics(runs, r => r.P90),
        Statistics(runs, r => r.P99),
        Statistics(runs, r => r.P999),
        Statistics(runs, r => r.P9999),
        Statistics(runs, r => r.Max));

    private static RunStatistics Statistics(IReadOnlyList<LatencySummary> runs, Func<LatencySummary, double> figure) =>
        RunStatistics.Of([.. runs.Select(figure)]);
}

/// <summary>How many times faster <see cref="Scenario"/> ran than <see cref="Baseline"/> (ratio of median events/s).</summary>
internal sealed record RatioReport(string Scenario, string Baseline, double Ratio);

using System.Globalization;
using LowLatency.Perf.Reporting;
using LowLatency.Perf.Scenarios;

namespace LowLatency.Perf.Harness;

/// <summary>
/// Runs a scenario's warm-ups and measured runs (Disruptor-net PerfTests): a full collection before each run so garbage
/// from the previous one is not collected inside the next window, warm-up figures thrown away, and the first failure
/// ending the scenario.
/// </summary>
internal sealed class ScenarioRunner(PerfOptions options, ProgressLine progress, TextWriter errors)
{
    /// <summary>Set when a run was aborted: its threads may still be spinning, so nothing after it would measure anything.</summary>
    public bool Aborted { get; private set; }

    public ScenarioReport Run(IScenario scenario, int index, int count)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var prefix = string.Create(CultureInfo.InvariantCulture, $"[{index}/{count}] {scenario.Name}");
        var runs = new List<ScenarioRunResult>(options.Runs);
        var warmups = 0;
        string? failure = null;
        var total = options.WarmupRuns + options.Runs;
        var cpuBefore = CpuUsage.Capture();
        for (var i = 0; i < total && failure is null; i++)
        {
            var isWarmup = i < options.WarmupRuns;
            var runNumber = isWarmup ? i + 1 : i - options.WarmupRuns + 1;
            var label = isWarmup
                ? string.Create(CultureInfo.InvariantCulture, $"warm-up {runNumber}/{options.WarmupRuns}")
                : string.Create(CultureInfo.InvariantCulture, $"run {runNumber}/{options.Runs}");
            progress.UpdateTransient($"{prefix}: {label} ...");

            PrepareRun();
            try
            {
                var result = scenario.Run(new ScenarioContext(options, isWarmup, runNumber));
                progress.Update($"{prefix}: {label} {TextReport.FormatRun(scenario.Kind, result)}");
                if (isWarmup)
                {
                    warmups++;
                }
                else
                {
                    runs.Add(result);
                }
            }
            catch (Exception ex) when (ex is VerificationException or RunAbortedException)
            {
                failure = $"{label}: {ex.Message}";
                Aborted = ex is RunAbortedException;
            }
#pragma warning disable CA1031 // Any exception fails the scenario and the harness's exit code; the others still run.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failure = $"{label}: {ex.GetType().Name}: {ex.Message}";
            }
        }

        var othersPercent = CpuUsage.OthersPercent(cpuBefore, CpuUsage.Capture());
        if (failure is not null)
        {
            progress.Clear();
            errors.WriteLine($"FAILED {scenario.Name} {failure}");
        }

        var report = new ScenarioReport
        {
            Name = scenario.Name,
            Kind = scenario.Kind,
            Category = scenario.Category,
            Description = scenario.Description,
            Baseline = scenario.Baseline,
            WarmupRuns = warmups,
            Runs = runs,
            Summary = failure is null && runs.Count > 0 ? ScenarioSummary.Of(runs) : null,
            Failure = failure,
            OtherCpuPercent = othersPercent,
        };

        if (report.Summary is { } summary)
        {
            progress.WriteLine($"{prefix}: {TextReport.FormatSummary(scenario.Kind, summary)}");
        }

        return report;
    }

    /// <summary>Collects everything the previous run left behind, so the next window starts with an empty gen 0.</summary>
    private static void PrepareRun()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}

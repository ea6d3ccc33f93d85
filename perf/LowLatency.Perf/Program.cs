using System.Diagnostics;
using LowLatency.Perf;
using LowLatency.Perf.Harness;
using LowLatency.Perf.Reporting;
using LowLatency.Perf.Scenarios;
using LowLatency.Telemetry;

// Entry point of the perf harness: parse, run the selected scenarios, report, and exit 0 (all passed), 1 (a scenario
// failed its verification or timed out) or 2 (bad command line).
var registry = ScenarioRegistry.CreateDefault();
PerfOptions options;
IReadOnlyList<IScenario> scenarios;
try
{
    options = PerfOptions.Parse(args);
    if (options.Help)
    {
        Console.WriteLine(PerfOptions.Usage(registry.Scenarios.Select(s => s.Name), registry.Groups));
        return 0;
    }

    if (options.List)
    {
        TextReport.WriteList(registry, Console.Out);
        return 0;
    }

    scenarios = registry.Select(options.Selection);
}
catch (UsageException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine("Run with --help for the usage.");
    return 2;
}

#if DEBUG
const string BuildConfiguration = "Debug";
#else
const string BuildConfiguration = "Release";
#endif

var startedAt = DateTimeOffset.UtcNow;
var machine = MachineInfo.Current();
Console.WriteLine($"LowLatency perf harness: {scenarios.Count} scenario(s), {options.WarmupRuns} warm-up + {options.Runs} measured run(s) each");
Console.WriteLine($"machine  {machine}");
if (BuildConfiguration == "Debug" || Debugger.IsAttached)
{
    Console.WriteLine("warning  Debug build or debugger attached: the numbers are not representative (use -c Release).");
}

// Let the build that `dotnet run` just ran wind down, then probe the noise floor, so the reader knows how far into the
// latency tails the machine itself reaches.
var (settled, othersPercent) = CpuUsage.WaitForQuiet(TimeSpan.FromMilliseconds(250), thresholdPercent: 5, limit: TimeSpan.FromSeconds(15));
if (othersPercent is { } others)
{
    Console.WriteLine(others < 5
        ? $"settle   other processes quiet ({others:F0}% of the CPUs) after {settled.TotalSeconds:F1} s"
        : $"settle   other processes still use {others:F0}% of the CPUs after {settled.TotalSeconds:F0} s: expect noisy numbers");
}

var jitterProbe = TimeSpan.FromSeconds(1);
var jitter = PlatformJitter.Measure(jitterProbe, options.Pin);
Console.WriteLine($"jitter   {jitterProbe.TotalSeconds:F0} s clock-reading probe per CPU: {string.Join("; ", jitter)}");

var progress = new ProgressLine(Console.Out, interactive: !Console.IsOutputRedirected);
var runner = new ScenarioRunner(options, progress, Console.Error);
var reports = new List<ScenarioReport>(scenarios.Count);
for (var i = 0; i < scenarios.Count; i++)
{
    var scenario = scenarios[i];
    reports.Add(runner.Aborted
        ? new ScenarioReport
        {
            Name = scenario.Name,
            Kind = scenario.Kind,
            Category = scenario.Category,
            Description = scenario.Description,
            Baseline = scenario.Baseline,
            WarmupRuns = 0,
            Runs = [],
            Failure = "not run: an earlier run was aborted and its threads may still be running.",
        }
        : runner.Run(scenario, i + 1, scenarios.Count));
}

progress.Clear();
var report = new PerfReport
{
    StartedAt = startedAt,
    FinishedAt = DateTimeOffset.UtcNow,
    Arguments = args,
    BuildConfiguration = BuildConfiguration,
    Machine = machine,
    PlatformJitter = jitter,
    Options = options,
    Scenarios = reports,
};

TextReport.Write(report, Console.Out);
if (options.JsonPath is { } jsonPath)
{
    PerfJsonContext.Write(report, jsonPath);
    Console.WriteLine($"json     {Path.GetFullPath(jsonPath)}");
}

return report.Succeeded ? 0 : 1;

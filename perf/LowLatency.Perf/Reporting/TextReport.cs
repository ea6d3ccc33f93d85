using System.Globalization;
using System.Text;
using LowLatency.Perf.Harness;
using LowLatency.Perf.Scenarios;
using LowLatency.Telemetry;

namespace LowLatency.Perf.Reporting;

/// <summary>The terminal report: one table per kind, then threads, ratios, failures and the verdict.</summary>
internal static class TextReport
{
    private static readonly CultureInfo s_culture = CultureInfo.InvariantCulture;

    public static void Write(PerfReport report, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(writer);
        var options = report.Options;
        var duration = report.FinishedAt - report.StartedAt;
        writer.WriteLine();
        writer.WriteLine(string.Create(
            s_culture,
            $"LowLatency perf harness, {report.StartedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC, {report.BuildConfiguration} build, took {(int)duration.TotalMinutes}m {duration.Seconds:00}s"));
        writer.WriteLine($"machine  {report.Machine}");
        writer.WriteLine($"jitter   time a pinned clock-reading thread did not run (gaps > {PlatformJitter.GapThresholdNanoseconds / 1000} us): {string.Join("; ", report.PlatformJitter)}");
        writer.WriteLine(string.Create(
            s_culture,
            $"options  {options.Runs} measured runs after {options.WarmupRuns} warm-up; throughput {options.Events:N0} events/run; " +
            $"latency {options.LatencyEvents:N0} events/run, one-way paced every {options.PaceNanoseconds:N0} ns, Kafka offered {options.Rate:N0} msg/s; " +
            $"ring {(options.RingSize is { } size ? size.ToString("N0", s_culture) : $"{PerfOptions.DefaultThroughputRingSize:N0} (throughput) / {PerfOptions.DefaultLatencyRingSize:N0} (latency)")}; " +
            $"wait {(options.WaitStrategy is { } wait ? PerfOptions.CommandLineName(wait) : "per scenario")}; " +
            $"consumer batches {(options.MaxBatchSize is { } batch ? $"<= {batch:N0} events" : "unbounded (ring default)")}; " +
            $"{(options.Pin ? $"threads pinned round-robin over {report.Machine.ProcessorCount} CPUs" : "threads not pinned")}"));

        WriteThroughput(report, writer);
        WriteLatency(report, writer);

        var measured = report.Scenarios.Where(s => s.Summary is not null).ToArray();
        if (measured.Length > 0)
        {
            writer.WriteLine();
            writer.WriteLine("threads (cpu requested, pinning result)");
            foreach (var scenario in measured)
            {
                writer.WriteLine($"  {scenario.Name,-24}{string.Join(", ", scenario.Summary!.Threads)}");
            }
        }

        if (report.Ratios.Count > 0)
        {
            writer.WriteLine();
            writer.WriteLine("ratios (median events/s)  " + string.Join(
                "; ", report.Ratios.Select(r => string.Create(s_culture, $"{r.Scenario} / {r.Baseline} = {r.Ratio:F1}x"))));
        }

        var failed = report.Scenarios.Where(s => !s.Succeeded).ToArray();
        writer.WriteLine();
        writer.WriteLine("columns  B/event: most bytes the process allocated per event in any measured run (GC.GetTotalAllocatedBytes);");
        writer.WriteLine("         hot B: most bytes the run's own producer/consumer threads allocated in any measured run (whole thread life);");
        writer.WriteLine("         GC: collections summed over the measured runs; others: CPU used by other processes and hypervisor steal");
        writer.WriteLine("         while the scenario ran, % of all cores (noise: numbers taken beside a busy neighbour are not comparable).");
        foreach (var scenario in failed)
        {
            writer.WriteLine($"FAILED   {scenario.Name}: {scenario.Failure}");
        }

        if (failed.Length == 0)
        {
            var allocating = measured.Where(s => s.Summary!.MaxAllocatedBytes > 0).Select(s => s.Name).ToArray();
            var hotAllocating = measured.Where(s => s.Summary!.MaxHotThreadAllocatedBytes > 0).Select(s => s.Name).ToArray();
            var allocation = allocating.Length == 0
                ? "no measured run allocated."
                : hotAllocating.Length == 0
                    ? $"the hot threads allocated nothing; the process allocated during measured runs of {string.Join(", ", allocating)}."
                    : $"hot threads allocated in {string.Join(", ", hotAllocating)}.";
            writer.WriteLine(string.Create(s_culture, $"result   all {report.Scenarios.Count} scenarios passed verification; {allocation}"));
        }
        else
        {
            writer.WriteLine(string.Create(s_culture, $"result   FAILED: {failed.Length} of {report.Scenarios.Count} scenarios."));
        }
    }

    private static void WriteThroughput(PerfReport report, TextWriter writer)
    {
        var scenarios = report.Scenarios.Where(s => s.Kind == ScenarioKind.Throughput).ToArray();
        if (scenarios.Length == 0)
        {
            return;
        }

        writer.WriteLine();
        writer.WriteLine(string.Create(
            s_culture,
            $"{$"throughput, M events/s ({report.Options.Runs} runs)",-34}{"median",8}{"min",8}{"max",8}{"spread",9}  {"vs baseline",-22}{"B/event",8}{"hot B",14}{"GC 0/1/2",10}{"others",8}  wait"));
        foreach (var scenario in scenarios)
        {
            if (scenario.Summary is not { } s)
            {
                writer.WriteLine($"{scenario.Name,-34}FAILED");
                continue;
            }

            var ratio = report.Ratios.FirstOrDefault(r => r.Scenario == scenario.Name);
            var vs = ratio is null ? "" : string.Create(s_culture, $"{ratio.Ratio:F1}x {ratio.Baseline}");
            var eps = s.EventsPerSecond;
            writer.WriteLine(string.Create(
                s_culture,
                $"{scenario.Name,-34}{Millions(eps.Median),8}{Millions(eps.Min),8}{Millions(eps.Max),8}{Spread(eps),9}  {vs,-22}{BytesPerEvent(s),8}{s.MaxHotThreadAllocatedBytes,14:N0}{Gc(s.TotalGc),10}{Others(scenario),8}  {s.WaitStrategy}"));
            foreach (var (name, rate) in s.OtherRates)
            {
                // In the "vs baseline" column: the scenario's median over this rate's, e.g. our writer against DuckDB's.
                var versus = string.Create(s_culture, $"{scenario.Name} = {eps.Median / rate.Median:F2}x");
                writer.WriteLine(string.Create(s_culture, $"{"  + " + name,-34}{Millions(rate.Median),8}{Millions(rate.Min),8}{Millions(rate.Max),8}{Spread(rate),9}  {versus}"));
            }
        }
    }

    private static void WriteLatency(PerfReport report, TextWriter writer)
    {
        var scenarios = report.Scenarios.Where(s => s.Kind == ScenarioKind.Latency).ToArray();
        if (scenarios.Length == 0)
        {
            return;
        }

        writer.WriteLine();
        writer.WriteLine(string.Create(
            s_culture,
            $"{$"latency, ns (median of {report.Options.Runs} runs)",-34}{"p50",11}{"p90",12}{"p99",12}{"p99.9",12}{"p99.99",13}{"max",15}{"p50 range",24}{"B/event",10}{"hot B",13}{"GC 0/1/2",10}{"others",8}  wait"));
        foreach (var scenario in scenarios)
        {
            var name = scenario.Name.Contains("pingpong", StringComparison.Ordinal) ? scenario.Name + " (RTT)" : scenario.Name;
            if (scenario.Summary is not { Latency: { } l } s)
            {
                writer.WriteLine($"{name,-34}FAILED");
                continue;
            }

            var range = string.Create(s_culture, $"{l.P50.Min:N0}-{l.P50.Max:N0}");
            writer.WriteLine(string.Create(
                s_culture,
                $"{name,-34}{l.P50.Median,11:N0}{l.P90.Median,12:N0}{l.P99.Median,12:N0}{l.P999.Median,12:N0}{l.P9999.Median,13:N0}{l.Max.Median,15:N0}{range,24}{BytesPerEvent(s),10}{s.MaxHotThreadAllocatedBytes,13:N0}{Gc(s.TotalGc),10}{Others(scenario),8}  {s.WaitStrategy}"));
            foreach (var (otherName, other) in s.OtherLatencies)
            {
                var otherRange = string.Create(s_culture, $"{other.P50.Min:N0}-{other.P50.Max:N0}");
                writer.WriteLine(string.Create(
                    s_culture,
                    $"{"  + " + otherName,-34}{other.P50.Median,11:N0}{other.P90.Median,12:N0}{other.P99.Median,12:N0}{other.P999.Median,12:N0}{other.P9999.Median,13:N0}{other.Max.Median,15:N0}{otherRange,24}"));
            }
        }
    }

    /// <summary>One run, for the progress line.</summary>
    public static string FormatRun(ScenarioKind kind, ScenarioRunResult run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var common = string.Create(s_culture, $"{run.AllocatedBytes:N0} B allocated, GC {Gc(run.Gc)}");
        return kind == ScenarioKind.Latency && run.Latency is { } l
            ? string.Create(s_culture, $"{Percentiles(l)}{OtherLatencies(run.OtherLatencies, Percentiles)}; {common}")
            : string.Create(s_culture, $"{Millions(run.EventsPerSecond)} M events/s in {run.ElapsedSeconds:F3} s{OtherRates(run.OtherRates, r => r)}; {common}");
    }

    /// <summary>A scenario's summary, for the line printed when it finishes.</summary>
    public static string FormatSummary(ScenarioKind kind, ScenarioSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var eps = summary.EventsPerSecond;
        return kind == ScenarioKind.Latency && summary.Latency is { } l
            ? string.Create(s_culture, $"p50 {l.P50.Median:N0} ns, p99 {l.P99.Median:N0} ns, p99.9 {l.P999.Median:N0} ns, p99.99 {l.P9999.Median:N0} ns (medians of {l.P50.Runs} runs){OtherLatencies(summary.OtherLatencies, o => string.Create(s_culture, $"p50 {o.P50.Median:N0} ns, p99 {o.P99.Median:N0} ns"))}")
            : string.Create(s_culture, $"median {Millions(eps.Median)} M events/s (min {Millions(eps.Min)}, max {Millions(eps.Max)}, spread {Spread(eps)}){OtherRates(summary.OtherRates, r => r.Median)}");
    }

    /// <summary>Events/s in millions with three significant digits below 10 M (Kafka runs at fractions of a million,
    /// Cassandra writes at hundredths), one decimal above.</summary>
    private static string Millions(double eventsPerSecond)
    {
        var millions = eventsPerSecond / 1e6;
        return millions.ToString(millions >= 10 ? "F1" : millions >= 1 ? "F2" : millions >= 0.1 ? "F3" : "F4", s_culture);
    }

    /// <summary>" (produce 0.312 M/s)" for a run's or a summary's other rates; empty when there are none.</summary>
    private static string OtherRates<T>(IReadOnlyDictionary<string, T> rates, Func<T, double> perSecond) =>
        rates.Count == 0 ? "" : $" ({string.Join(", ", rates.Select(r => $"{r.Key} {Millions(perSecond(r.Value))} M/s"))})";

    /// <summary>One run's latency figures for the progress line: the sample count first, because a tail percentile of a
    /// few hundred samples (the Kafka candle latency) is only its few largest values.</summary>
    private static string Percentiles(LatencySummary l) =>
        string.Create(s_culture, $"n {l.Count:N0}, p50 {l.P50:N0} ns, p90 {l.P90:N0} ns, p99 {l.P99:N0} ns, p99.9 {l.P999:N0} ns, p99.99 {l.P9999:N0} ns, max {l.Max:N0} ns");

    /// <summary>" (+ bare: p50 …)" for a run's or a summary's other latencies; empty when there are none.</summary>
    private static string OtherLatencies<T>(IReadOnlyDictionary<string, T> latencies, Func<T, string> format) =>
        latencies.Count == 0 ? "" : $" ({string.Join("; ", latencies.Select(l => $"+ {l.Key}: {format(l.Value)}"))})";

    /// <summary>Lists the scenarios for <c>--list</c>.</summary>
    public static void WriteList(ScenarioRegistry registry, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(writer);
        var builder = new StringBuilder();
        foreach (var scenario in registry.Scenarios)
        {
            builder.Append(s_culture, $"{scenario.Name,-24}{scenario.Kind.ToString().ToLowerInvariant(),-12}{scenario.Category}").AppendLine();
            builder.Append("    ").AppendLine(scenario.Description);
        }

        builder.Append("groups: ").AppendJoin(", ", registry.Groups).Append(s_culture, $" (default: {ScenarioRegistry.DefaultGroup})").AppendLine();
        writer.Write(builder.ToString());
    }

    /// <summary>The spread as ± half the range relative to the median, as <see cref="RunStatistics"/> prints it.</summary>
    private static string Spread(RunStatistics statistics) =>
        double.IsFinite(statistics.SpreadPercent) ? string.Create(s_culture, $"±{statistics.SpreadPercent / 2:F1}%") : "n/a";

    /// <summary>The worst (largest) bytes per event of any run: the figure that must be 0.</summary>
    private static string BytesPerEvent(ScenarioSummary summary) =>
        summary.BytesPerEvent.Max == 0 ? "0" : string.Create(s_culture, $"{summary.BytesPerEvent.Max:F3}");

    /// <summary>CPU used by other processes while the scenario ran: the noise behind its numbers.</summary>
    private static string Others(ScenarioReport scenario) =>
        scenario.OtherCpuPercent is { } percent ? string.Create(s_culture, $"{percent:F0}%") : "?";

    private static string Gc(GcCounts gc) => string.Create(s_culture, $"{gc.Gen0}/{gc.Gen1}/{gc.Gen2}");
}

namespace LowLatency.Perf.Scenarios;

/// <summary>What a scenario measures, which decides how its runs are summarised and reported.</summary>
internal enum ScenarioKind
{
    /// <summary>Events per second through the pipeline, median over runs.</summary>
    Throughput,

    /// <summary>A latency histogram per run (in ns); each percentile is the median over runs.</summary>
    Latency,
}

/// <summary>
/// One load or latency experiment. The runner calls <see cref="Run"/> once per warm-up and once per measured run, each
/// time with a fresh <see cref="ScenarioContext"/>; the scenario builds everything it needs (rings, threads, handlers),
/// measures only the part between its start gate and its last event, tears everything down and returns the run's figures.
/// </summary>
/// <remarks>
/// A scenario must verify what it measured (a sum, a count, an order) and throw <see cref="VerificationException"/> when it
/// is wrong: a fast wrong answer is a failure, not a result.
/// </remarks>
internal interface IScenario
{
    /// <summary>The name used on the command line and in reports, e.g. <c>ring-1p1c</c>.</summary>
    public string Name { get; }

    /// <summary>Throughput or latency.</summary>
    public ScenarioKind Kind { get; }

    /// <summary>The group the scenario belongs to on the command line (e.g. <c>ring</c>); also its folder under Scenarios/.</summary>
    public string Category { get; }

    /// <summary>One or two sentences: the topology, the threads, and what is verified.</summary>
    public string Description { get; }

    /// <summary>The scenario this one is compared with (report shows the ratio of medians when both ran), or null.</summary>
    public string? Baseline { get; }

    /// <summary>Runs the scenario once. Throws <see cref="VerificationException"/> on a wrong result and
    /// <see cref="RunAbortedException"/> when the run could not finish (a thread threw, or the deadline passed).</summary>
    public ScenarioRunResult Run(ScenarioContext context);
}

/// <summary>A scenario's result was wrong. The run counts as failed and the harness exits with code 1.</summary>
internal sealed class VerificationException(string message) : Exception(message);

/// <summary>
/// A run could not finish: a producer or consumer threw, or the deadline passed. Its other threads may be stuck (a
/// producer blocked on a full ring cannot be stopped), so they would disturb every later measurement: the harness
/// reports the failure and runs nothing after it.
/// </summary>
internal sealed class RunAbortedException(string message) : Exception(message);

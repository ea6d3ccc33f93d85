using LowLatency.Perf.Scenarios.Ring;

namespace LowLatency.Perf.Scenarios;

/// <summary>
/// Every scenario the harness knows, and the groups that select several at once: <c>all</c>, each scenario's
/// <see cref="IScenario.Category"/> (e.g. <c>ring</c>), and each kind (<c>throughput</c>, <c>latency</c>). Later
/// scenario families register here with a category of their own.
/// </summary>
internal sealed class ScenarioRegistry
{
    /// <summary>Selects every scenario.</summary>
    public const string AllGroup = "all";

    /// <summary>What runs without arguments: the ring scenarios (the project's main perf job until market-data scenarios land).</summary>
    public const string DefaultGroup = RingScenarios.Category;

    private readonly List<IScenario> _scenarios = [];

    /// <summary>The registry with every built-in scenario.</summary>
    public static ScenarioRegistry CreateDefault()
    {
        var registry = new ScenarioRegistry();
        foreach (var scenario in RingScenarios.All().Concat(Replay.ReplayScenarios.All()).Concat(Kafka.KafkaScenarios.All()).Concat(Binance.BinanceScenarios.All()).Concat(Cassandra.CassandraScenarios.All()).Concat(Parquet.ParquetScenarios.All()))
        {
            registry.Add(scenario);
        }

        return registry;
    }

    /// <summary>The scenarios, in registration (and report) order.</summary>
    public IReadOnlyList<IScenario> Scenarios => _scenarios;

    /// <summary>The group names, <c>all</c> first.</summary>
    public IEnumerable<string> Groups =>
    [
        AllGroup,
        .. _scenarios.Select(s => s.Category).Distinct(StringComparer.Ordinal),
        KindGroup(ScenarioKind.Throughput),
        KindGroup(ScenarioKind.Latency),
    ];

    /// <summary>Adds a scenario; names must be unique and must not clash with a group.</summary>
    public void Add(IScenario scenario)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        if (Find(scenario.Name) is not null || IsGroup(scenario.Name))
        {
            throw new ArgumentException($"A scenario or group named '{scenario.Name}' already exists.", nameof(scenario));
        }

        _scenarios.Add(scenario);
    }

    /// <summary>The scenario named <paramref name="name"/>, or null.</summary>
    public IScenario? Find(string name) => _scenarios.Find(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The scenarios selected by names and groups, in registry order and without duplicates; the default group when
    /// <paramref name="selection"/> is empty. Throws <see cref="UsageException"/> naming the valid choices on an unknown name.
    /// </summary>
    public IReadOnlyList<IScenario> Select(IReadOnlyList<string> selection)
    {
        ArgumentNullException.ThrowIfNull(selection);
        var selected = new HashSet<IScenario>();
        foreach (var name in selection.Count == 0 ? [DefaultGroup] : selection)
        {
            if (Find(name) is { } scenario)
            {
                selected.Add(scenario);
            }
            else if (IsGroup(name))
            {
                selected.UnionWith(_scenarios.Where(s => InGroup(s, name)));
            }
            else
            {
                throw new UsageException(
                    $"Unknown scenario or group '{name}'.{Environment.NewLine}" +
                    $"Scenarios: {string.Join(", ", _scenarios.Select(s => s.Name))}{Environment.NewLine}" +
                    $"Groups: {string.Join(", ", Groups)}");
            }
        }

        return [.. _scenarios.Where(selected.Contains)];
    }

    private bool IsGroup(string name) => Groups.Contains(name, StringComparer.OrdinalIgnoreCase);

    private static bool InGroup(IScenario scenario, string group) =>
        string.Equals(group, AllGroup, StringComparison.OrdinalIgnoreCase)
        || string.Equals(group, scenario.Category, StringComparison.OrdinalIgnoreCase)
        || string.Equals(group, KindGroup(scenario.Kind), StringComparison.OrdinalIgnoreCase);

    private static string KindGroup(ScenarioKind kind) => kind == ScenarioKind.Throughput ? "throughput" : "latency";
}

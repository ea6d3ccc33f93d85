namespace LowLatency.Perf.Scenarios.Ring;

/// <summary>The ring buffer's scenarios, in report order: throughput first, the channel baseline, then latency.</summary>
internal static class RingScenarios
{
    /// <summary>The group name on the command line; also the default selection.</summary>
    public const string Category = "ring";

    public static IEnumerable<IScenario> All() =>
    [
        new OneToOneThroughputScenario(batched: false),
        new OneToOneThroughputScenario(batched: true),
        new ThreeToOneThroughputScenario(),
        new PipelineThroughputScenario(),
        new DiamondThroughputScenario(),
        new ChannelThroughputScenario(),
        new OneWayLatencyScenario(),
        new PingPongLatencyScenario(),
    ];
}

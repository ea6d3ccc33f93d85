using System.Globalization;
using System.Text.Json.Serialization;

namespace LowLatency.Perf;

/// <summary>How consumers of the ring wait for events (the <c>--wait</c> option).</summary>
internal enum WaitStrategyKind
{
    /// <summary><see cref="Ring.BusySpinWaitStrategy"/> (<c>busy</c>).</summary>
    BusySpin,

    /// <summary><see cref="Ring.YieldingWaitStrategy"/> (<c>yield</c>).</summary>
    Yielding,

    /// <summary><see cref="Ring.SleepingWaitStrategy"/> (<c>sleep</c>).</summary>
    Sleeping,

    /// <summary><see cref="Ring.BlockingWaitStrategy"/> (<c>block</c>).</summary>
    Blocking,
}

/// <summary>
/// The harness's command line, parsed by hand (no packages). Every default is documented where it is declared; the
/// defaults keep a full default run (every ring scenario, 1 warm-up + 5 measured runs each) at about two minutes on a
/// 2-core machine.
/// </summary>
internal sealed record PerfOptions
{
    /// <summary>Default <see cref="Runs"/>: 5 measured runs, enough for a median and a spread.</summary>
    public const int DefaultRuns = 5;

    /// <summary>Default <see cref="WarmupRuns"/>: 1, which JIT-compiles every hot loop and touches every ring slot once.</summary>
    public const int DefaultWarmupRuns = 1;

    /// <summary>
    /// Default <see cref="Events"/>: 30 million per throughput run. That is 0.1–0.2 s for the one-producer ring, a second
    /// or two for three producers time-sharing two cores, and 6–8 s for the channel baseline, which keeps a default run
    /// (every ring scenario, 6 runs each) at about a minute and a half on a quiet 2-core machine.
    /// </summary>
    public const long DefaultEvents = 30_000_000;

    /// <summary>Default <see cref="LatencyEvents"/>: 1 million per latency run: 100 samples above p99.99 per run.</summary>
    public const long DefaultLatencyEvents = 1_000_000;

    /// <summary>
    /// Default <see cref="PaceNanoseconds"/>: one event every 1,000 ns (1 M events/s, the order of a busy exchange
    /// feed's bursts). The ring sustains a hundred times more, so no queue builds up and the one-way histogram measures
    /// the hand-off between two cores rather than queueing.
    /// </summary>
    public const long DefaultPaceNanoseconds = 1_000;

    /// <summary>
    /// Default <see cref="Rate"/>: 10,000 messages/s, the load issue 4 sets for the produce-to-candle latency target
    /// (p99 ≤ 5 ms); about 4 % of what the daemon sustains, so the figure is latency, not queueing.
    /// </summary>
    public const long DefaultRate = 10_000;

    /// <summary>Default ring size of throughput scenarios: 65,536 slots, the size Disruptor-net's throughput tests use.</summary>
    public const int DefaultThroughputRingSize = 65_536;

    /// <summary>
    /// Default ring size of latency scenarios: 1,024 slots. Latency runs never have more than a handful of events in
    /// flight, so a small ring keeps every slot in the caches and out of the way of the histogram.
    /// </summary>
    public const int DefaultLatencyRingSize = 1_024;

    /// <summary>The smallest ring the harness accepts (the batch scenario claims 10 slots at a time).</summary>
    public const int MinRingSize = 16;

    /// <summary>The largest ring the harness accepts (2^28 slots; enough for any experiment on a 24 GiB machine).</summary>
    public const int MaxRingSize = 1 << 28;

    /// <summary>Scenario names and groups as given on the command line; empty means the default group.</summary>
    public IReadOnlyList<string> Selection { get; init; } = [];

    /// <summary>Measured runs per scenario. Default <see cref="DefaultRuns"/>.</summary>
    public int Runs { get; init; } = DefaultRuns;

    /// <summary>Warm-up runs per scenario, excluded from the results. Default <see cref="DefaultWarmupRuns"/>.</summary>
    public int WarmupRuns { get; init; } = DefaultWarmupRuns;

    /// <summary>Events per throughput run. Default <see cref="DefaultEvents"/>.</summary>
    public long Events { get; init; } = DefaultEvents;

    /// <summary>Events (one-way) or round trips (ping-pong) per latency run. Default <see cref="DefaultLatencyEvents"/>.</summary>
    public long LatencyEvents { get; init; } = DefaultLatencyEvents;

    /// <summary>Interval between two events of the paced latency producer; 0 publishes back to back. Default <see cref="DefaultPaceNanoseconds"/>.</summary>
    public long PaceNanoseconds { get; init; } = DefaultPaceNanoseconds;

    /// <summary>Messages per second the paced Kafka producer (<c>kafka-latency</c>) or the local exchange's timeline (<c>binance-latency</c>) offers. Default <see cref="DefaultRate"/>.</summary>
    public long Rate { get; init; } = DefaultRate;

    /// <summary>Ring size for every scenario; null (the default) lets each scenario use its kind's default
    /// (<see cref="DefaultThroughputRingSize"/> or <see cref="DefaultLatencyRingSize"/>).</summary>
    public int? RingSize { get; init; }

    /// <summary>Wait strategy for every ring consumer; null (the default) means busy-spin when every busy thread has a core
    /// of its own and yielding otherwise (see <see cref="Scenarios.ScenarioContext.ResolveWaitStrategy"/>).</summary>
    public WaitStrategyKind? WaitStrategy { get; init; }

    /// <summary>
    /// The most events a <see cref="Ring.BatchEventProcessor{T, THandler}"/> handles before publishing its sequence
    /// (<see cref="Ring.EventProcessorOptions.MaxBatchSize"/>). Default null: no limit, the ring's own default, so the
    /// harness measures the ring as a user gets it. A limit (e.g. 1,024) makes a consumer free slots while it works
    /// through a full ring, so a producer waiting for room waits less.
    /// </summary>
    public int? MaxBatchSize { get; init; }

    /// <summary>Whether hot threads are pinned to CPUs (round-robin). Default true; <c>--no-pin</c> turns it off.</summary>
    public bool Pin { get; init; } = true;

    /// <summary>Where to write the JSON result set; null (the default) writes none.</summary>
    public string? JsonPath { get; init; }

    /// <summary><c>--list</c>: print the scenarios and exit.</summary>
    [JsonIgnore]
    public bool List { get; init; }

    /// <summary><c>--help</c>: print the usage and exit.</summary>
    [JsonIgnore]
    public bool Help { get; init; }

    private static readonly string[] s_optionNames =
    [
        "--runs", "--warmup", "--events", "--latency-events", "--pace-ns", "--rate", "--ring-size", "--wait", "--max-batch", "--no-pin",
        "--json", "--list", "--help",
    ];

    /// <summary>The usage text for <c>--help</c>.</summary>
    public static string Usage(IEnumerable<string> scenarioNames, IEnumerable<string> groupNames) => string.Create(
        CultureInfo.InvariantCulture,
        $"""
        Usage: dotnet run -c Release --project perf/LowLatency.Perf -- [scenario ...|group ...] [options]

        Scenarios: {string.Join(", ", scenarioNames)}
        Groups:    {string.Join(", ", groupNames)} (default: ring)

        Options:
          --runs N            measured runs per scenario (default {DefaultRuns})
          --warmup N          warm-up runs per scenario, not reported (default {DefaultWarmupRuns})
          --events N          events per throughput run (default {DefaultEvents:N0}); accepts 20_000_000, 20M, 500k
          --latency-events N  events (one-way) or round trips (ping-pong) per latency run (default {DefaultLatencyEvents:N0})
          --pace-ns N         one-way latency: publish one event every N ns, 0 = back to back (default {DefaultPaceNanoseconds})
          --rate N            kafka-latency, binance-latency: messages/s offered (default {DefaultRate:N0})
          --ring-size N       ring slots, a power of two (default {DefaultThroughputRingSize} throughput, {DefaultLatencyRingSize} latency)
          --wait busy|yield|sleep|block
                              ring consumers' wait strategy (default: busy when each busy thread has a core, else yield)
          --max-batch N       events a consumer handles before publishing its sequence (default 0: no limit,
                              the ring's own default)
          --no-pin            do not pin threads to CPUs (default: round-robin over the {Environment.ProcessorCount} CPUs)
          --json PATH         also write every run and summary as indented JSON
          --list              list the scenarios and exit
          --help              show this text and exit

        Exit codes: 0 success, 1 a scenario failed its verification (or timed out), 2 bad command line.
        """);

    /// <summary>Parses <paramref name="args"/>; throws <see cref="UsageException"/> with a message for the user on any error.</summary>
    public static PerfOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new PerfOptions();
        var selection = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith('-'))
            {
                selection.Add(arg);
                continue;
            }

            // Both "--runs 3" and "--runs=3".
            string name = arg;
            string? inlineValue = null;
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                name = arg[..equals];
                inlineValue = arg[(equals + 1)..];
            }

            switch (name)
            {
                case "--runs":
                    options = options with { Runs = (int)ParseCount(name, Value(ref i), min: 1, max: 1_000) };
                    break;
                case "--warmup":
                    options = options with { WarmupRuns = (int)ParseCount(name, Value(ref i), min: 0, max: 1_000) };
                    break;
                case "--events":
                    options = options with { Events = ParseCount(name, Value(ref i), min: 1, max: 1L << 40) };
                    break;
                case "--latency-events":
                    options = options with { LatencyEvents = ParseCount(name, Value(ref i), min: 1, max: 1L << 40) };
                    break;
                case "--pace-ns":
                    options = options with { PaceNanoseconds = ParseCount(name, Value(ref i), min: 0, max: 1_000_000_000) };
                    break;
                case "--rate":
                    options = options with { Rate = ParseCount(name, Value(ref i), min: 1, max: 1_000_000) };
                    break;
                case "--ring-size":
                    var ringSize = ParseCount(name, Value(ref i), min: MinRingSize, max: MaxRingSize);
                    if (!long.IsPow2(ringSize))
                    {
                        throw new UsageException($"--ring-size must be a power of two between {MinRingSize} and {MaxRingSize}; got {ringSize}.");
                    }

                    options = options with { RingSize = (int)ringSize };
                    break;
                case "--wait":
                    options = options with { WaitStrategy = ParseWaitStrategy(Value(ref i)) };
                    break;
                case "--max-batch":
                    var maxBatch = ParseCount(name, Value(ref i), min: 0, max: int.MaxValue);
                    options = options with { MaxBatchSize = maxBatch == 0 ? null : (int)maxBatch };
                    break;
                case "--no-pin":
                    options = options with { Pin = false };
                    break;
                case "--json":
                    var path = Value(ref i);
                    if (path.Length == 0)
                    {
                        throw new UsageException("--json needs a file path.");
                    }

                    options = options with { JsonPath = path };
                    break;
                case "--list":
                    options = options with { List = true };
                    break;
                case "--help" or "-h" or "-?":
                    options = options with { Help = true };
                    break;
                default:
                    throw new UsageException($"Unknown option '{arg}'. Valid options: {string.Join(", ", s_optionNames)}.");
            }

            if (inlineValue is not null && name is "--no-pin" or "--list" or "--help" or "-h" or "-?")
            {
                throw new UsageException($"{name} takes no value.");
            }

            string Value(ref int index)
            {
                if (inlineValue is not null)
                {
                    return inlineValue;
                }

                if (index + 1 >= args.Count || args[index + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new UsageException($"{name} needs a value.");
                }

                return args[++index];
            }
        }

        return options with { Selection = selection };
    }

    /// <summary>The name <c>--wait</c> uses for <paramref name="kind"/>.</summary>
    public static string CommandLineName(WaitStrategyKind kind) => kind switch
    {
        WaitStrategyKind.BusySpin => "busy",
        WaitStrategyKind.Yielding => "yield",
        WaitStrategyKind.Sleeping => "sleep",
        WaitStrategyKind.Blocking => "block",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    private static WaitStrategyKind ParseWaitStrategy(string value) => value.ToLowerInvariant() switch
    {
        "busy" or "busy-spin" or "busyspin" => WaitStrategyKind.BusySpin,
        "yield" or "yielding" => WaitStrategyKind.Yielding,
        "sleep" or "sleeping" => WaitStrategyKind.Sleeping,
        "block" or "blocking" => WaitStrategyKind.Blocking,
        _ => throw new UsageException($"--wait must be one of busy, yield, sleep, block; got '{value}'."),
    };

    /// <summary>A non-negative integer with optional '_' or ',' separators and an optional k, M or G suffix (×10^3, 10^6, 10^9).</summary>
    private static long ParseCount(string option, string text, long min, long max)
    {
        var digits = text.Replace("_", "", StringComparison.Ordinal).Replace(",", "", StringComparison.Ordinal);
        long multiplier = 1;
        if (digits.Length > 1)
        {
            multiplier = char.ToUpperInvariant(digits[^1]) switch
            {
                'K' => 1_000,
                'M' => 1_000_000,
                'G' => 1_000_000_000,
                _ => 1,
            };
            if (multiplier != 1)
            {
                digits = digits[..^1];
            }
        }

        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            || value > max / multiplier
            || value * multiplier < min)
        {
            throw new UsageException(string.Create(
                CultureInfo.InvariantCulture,
                $"{option} must be a whole number between {min:N0} and {max:N0}; got '{text}'."));
        }

        return value * multiplier;
    }
}

/// <summary>A command-line error: the message is for the user, and the process exits with code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

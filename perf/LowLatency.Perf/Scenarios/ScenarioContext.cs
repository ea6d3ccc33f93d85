using System.Diagnostics;
using LowLatency.Perf.Harness;
using LowLatency.Ring;
using LowLatency.Telemetry;

namespace LowLatency.Perf.Scenarios;

/// <summary>A wait strategy chosen for one run, with the words the report uses for it.</summary>
/// <param name="Kind">The strategy.</param>
/// <param name="Description">E.g. "busy-spin" or "yielding (4 threads > 2 cores)".</param>
internal readonly record struct ResolvedWaitStrategy(WaitStrategyKind Kind, string Description)
{
    /// <summary>A new instance of the strategy (each ring gets its own).</summary>
    public IWaitStrategy Create() => Kind switch
    {
        WaitStrategyKind.BusySpin => new BusySpinWaitStrategy(),
        WaitStrategyKind.Yielding => new YieldingWaitStrategy(),
        WaitStrategyKind.Sleeping => new SleepingWaitStrategy(),
        WaitStrategyKind.Blocking => new BlockingWaitStrategy(),
        _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, null),
    };

    /// <summary>The report's word for <paramref name="kind"/>.</summary>
    public static string Name(WaitStrategyKind kind) => kind switch
    {
        WaitStrategyKind.BusySpin => "busy-spin",
        WaitStrategyKind.Yielding => "yielding",
        WaitStrategyKind.Sleeping => "sleeping",
        WaitStrategyKind.Blocking => "blocking",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}

/// <summary>
/// What a scenario gets for one run: the options, a CPU for each hot thread (round-robin), the wait strategy, and the
/// bookkeeping of the threads it starts so the report can show where each ran.
/// </summary>
internal sealed class ScenarioContext
{
    /// <summary>A run that has not finished this long after its expected duration is considered stuck.</summary>
    private static readonly TimeSpan s_timeoutSlack = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan s_joinSlice = TimeSpan.FromSeconds(1);

    private readonly List<DedicatedThread> _threads = [];
    private readonly List<Task> _consumerCompletions = [];
    private Task<Task>? _anyConsumerStopped;
    private int _nextCpu;

    /// <remarks>The first exception a thread of the run threw, as a message; written by that thread, read by the main
    /// thread while it waits (volatile accesses).</remarks>
    private string? _threadFailure;

    public ScenarioContext(PerfOptions options, bool isWarmup, int runNumber)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        IsWarmup = isWarmup;
        RunNumber = runNumber;
    }

    public PerfOptions Options { get; }

    /// <summary>Whether this run is a warm-up (its result is discarded).</summary>
    public bool IsWarmup { get; }

    /// <summary>1-based number of the run among the warm-ups or among the measured runs.</summary>
    public int RunNumber { get; }

    /// <summary>The threads started so far in this run.</summary>
    public IReadOnlyList<ThreadReport> Threads => [.. _threads.Select(t => new ThreadReport(t.Name, t.Cpu, t.Affinity))];

    /// <summary>
    /// The CPU for the next hot thread, or null with <c>--no-pin</c>. Scenarios ask in a fixed order (producers, then
    /// consumers in pipeline order), so on 2 CPUs a one-producer, one-consumer run gets CPU 0 and CPU 1.
    /// </summary>
    public int? NextCpu() => Options.Pin ? _nextCpu++ % Environment.ProcessorCount : null;

    /// <summary>The ring size for a scenario of <paramref name="kind"/>: <c>--ring-size</c> or the kind's default.</summary>
    public int RingSize(ScenarioKind kind) =>
        Options.RingSize ?? (kind == ScenarioKind.Latency ? PerfOptions.DefaultLatencyRingSize : PerfOptions.DefaultThroughputRingSize);

    /// <summary>
    /// The wait strategy for a run with <paramref name="busyThreads"/> hot threads: <c>--wait</c> if given; otherwise
    /// busy-spin when every hot thread has a core of its own, and yielding when there are more hot threads than cores (a
    /// busy-spinning consumer would then hold the core its producer needs until the scheduler preempts it).
    /// </summary>
    public ResolvedWaitStrategy ResolveWaitStrategy(int busyThreads)
    {
        var cores = Environment.ProcessorCount;
        var oversubscribed = busyThreads > cores;
        if (Options.WaitStrategy is { } forced)
        {
            var name = ResolvedWaitStrategy.Name(forced);
            return new(forced, oversubscribed && forced == WaitStrategyKind.BusySpin
                ? $"{name} (--wait; {busyThreads} threads > {cores} cores)"
                : $"{name} (--wait)");
        }

        return oversubscribed
            ? new(WaitStrategyKind.Yielding, $"yielding ({busyThreads} threads > {cores} cores)")
            : new(WaitStrategyKind.BusySpin, "busy-spin");
    }

    /// <summary>What the run's own threads allocate (producers through <see cref="StartThread"/>, consumers through
    /// <see cref="TrackedConsumers.AddConsumer{T, THandler}(ValueDisruptor{T}, ScenarioContext, string, int?, THandler)"/>).</summary>
    public HotThreadAllocations HotThreadAllocations { get; } = new();

    /// <summary>Options of a consumer's processor: its thread's name and CPU, and <c>--max-batch</c>.</summary>
    public EventProcessorOptions ProcessorOptions(string threadName, int? cpu) => new()
    {
        ThreadName = threadName,
        Cpu = cpu,
        MaxBatchSize = Options.MaxBatchSize ?? int.MaxValue,
    };

    /// <summary>Starts <paramref name="body"/> on a dedicated thread pinned to <paramref name="cpu"/>, counting what it
    /// allocates, and records it. An exception in <paramref name="body"/> aborts the run (see <see cref="AwaitCompletion"/>).</summary>
    public DedicatedThread StartThread(string name, int? cpu, Action body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var tracked = HotThreadAllocations.Track(body);
        var thread = DedicatedThread.Start(name, cpu, () =>
        {
            try
            {
                tracked();
            }
#pragma warning disable CA1031 // An exception must not kill the process: it fails the run, through AwaitCompletion.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Interlocked.CompareExchange(ref _threadFailure, $"{name} threw {ex.GetType().Name}: {ex.Message}", null);
            }
        });
        _threads.Add(thread);
        return thread;
    }

    /// <summary>Records threads started elsewhere (a disruptor's consumers).</summary>
    public void Track(IEnumerable<DedicatedThread> threads) => _threads.AddRange(threads);

    /// <summary>Builds the run's result from its measurement and the threads recorded so far; call it once every thread
    /// of the run has ended (after <c>Halt</c>), so their allocations are all counted.</summary>
    public ScenarioRunResult CreateResult(long events, Measurement measurement, string waitStrategy, int ringSize, LatencySummary? latency = null) => new()
    {
        Events = events,
        ElapsedSeconds = measurement.Elapsed.TotalSeconds,
        Latency = latency,
        AllocatedBytes = measurement.AllocatedBytes,
        HotThreadAllocatedBytes = HotThreadAllocations.Bytes,
        Gc = measurement.Gc,
        WaitStrategy = waitStrategy,
        RingSize = ringSize,
        Threads = Threads,
    };

    /// <summary>How long a run of <paramref name="events"/> may take at <paramref name="nanosecondsPerEvent"/> before it is considered stuck.</summary>
    public static TimeSpan Timeout(long events, double nanosecondsPerEvent) =>
        s_timeoutSlack + TimeSpan.FromMilliseconds(events * nanosecondsPerEvent / 1e6);

    /// <summary>
    /// Opens the measured window: call it after every thread has started and right before opening the start gate. It
    /// prepares what <see cref="AwaitCompletion"/> watches (so that allocates nothing inside the window) and takes the
    /// "before" snapshot.
    /// </summary>
    public MeasuredWindow BeginMeasurement()
    {
        _anyConsumerStopped = _consumerCompletions.Count == 0 ? null : Task.WhenAny(_consumerCompletions);
        return MeasuredWindow.Begin();
    }

    /// <summary>
    /// Waits for the producers to finish and then for <paramref name="signal"/>. The main thread blocks in
    /// <see cref="Thread.Join(TimeSpan)"/>, waking once a second, rather than polling: every wake-up preempts a pinned
    /// thread (and shows in the latency tails), and every code path it runs for the first time is JIT-compiled inside the
    /// measured window. Allocates nothing (the producers come as a span). Throws <see cref="RunAbortedException"/> as
    /// soon as a thread of the run has thrown or a consumer has stopped, and when the deadline passes.
    /// </summary>
    /// <param name="signal">Set by the last consumer on the last event.</param>
    /// <param name="timeout">From <see cref="Timeout"/>.</param>
    /// <param name="progress">The last consumer's sequence, quoted if the run fails.</param>
    /// <param name="producers">The producer threads, which end by themselves after their last event.</param>
    public void AwaitCompletion(CompletionSignal signal, TimeSpan timeout, Sequence? progress, params ReadOnlySpan<DedicatedThread> producers)
    {
        ArgumentNullException.ThrowIfNull(signal);
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        foreach (var producer in producers)
        {
            // One wake-up a second: negligible for the pinned threads, and a failed run is reported within a second.
            while (!producer.Join(s_joinSlice))
            {
                ThrowIfAborted(deadline, timeout, progress, $"{producer.Name} did not finish");
            }
        }

        // The producers are done: unless one threw, the consumers are at most a ring behind, so this wait is short.
        while (!signal.Wait(Math.Min(deadline, Stopwatch.GetTimestamp() + Stopwatch.Frequency)))
        {
            ThrowIfAborted(deadline, timeout, progress, "the last consumer did not finish");
        }
    }

    /// <summary>Called by a consumer's wrapper when it is added, so a consumer that stops early aborts the run.</summary>
    public void TrackConsumer(IEventProcessor processor)
    {
        ArgumentNullException.ThrowIfNull(processor);
        _consumerCompletions.Add(processor.Completion);
    }

    private void ThrowIfAborted(long deadline, TimeSpan timeout, Sequence? progress, string what)
    {
        var where = progress is null ? "" : $" (last consumer at sequence {progress.Value})";
        if (Volatile.Read(ref _threadFailure) is { } failure)
        {
            throw new RunAbortedException($"{failure}{where}");
        }

        if (_anyConsumerStopped is { IsCompleted: true } stopped)
        {
            var reason = stopped.Result.Exception?.InnerException?.Message ?? "it was halted";
            throw new RunAbortedException($"a consumer stopped before the last event{where}: {reason}");
        }

        if (Stopwatch.GetTimestamp() > deadline)
        {
            throw new RunAbortedException($"{what} within {timeout.TotalSeconds:F0} s{where}.");
        }
    }
}

using System.Diagnostics;
using LowLatency.Connectors.Binance;
using LowLatency.Engine;
using LowLatency.LocalExchange;
using LowLatency.Market;
using LowLatency.Perf.Harness;
using LowLatency.Telemetry;

namespace LowLatency.Perf.Scenarios.Binance;

/// <summary>
/// The Binance WebSocket scenarios (issue 5): the local exchange (<c>tests/LowLatency.LocalExchange</c>, its command run as
/// a child process: <see cref="ExchangeProcess"/>)
/// serving generated frames shaped like the real sessions (50 symbols, their trade, bookTicker and depth streams, 150 in
/// all, in the recorded mix), received by a plain socket, a plain <c>ClientWebSocket</c>, or our
/// <see cref="BinanceStreamClient{THandler}"/>, with or without the pipeline behind it.
/// </summary>
internal static class BinanceScenarios
{
    /// <summary>The group name on the command line.</summary>
    public const string Category = "binance";

    /// <summary>The baseline of the throughput scenarios: what the server can send (<see cref="BinanceDrainScenario"/>, raw socket).</summary>
    public const string CeilingName = "binance-server-ceiling";

    public static IEnumerable<IScenario> All() =>
    [
        new BinanceDrainScenario(rawSocket: true),
        new BinanceDrainScenario(rawSocket: false),
        new BinanceThroughputScenario(redundancy: 1, intoRing: false),
        new BinanceThroughputScenario(redundancy: 1, intoRing: true),
        new BinanceThroughputScenario(redundancy: 1, intoRing: true, BinanceWebSocketTransport.ClientWebSocket),
        new BinanceThroughputScenario(redundancy: 2, intoRing: true),
        new BinanceLatencyScenario(),
        new BinanceLatencyScenario(BinanceWebSocketTransport.ClientWebSocket),
    ];

    /// <summary>Runs an asynchronous step of a scenario (a drain, stopping the client) to its end, or aborts the run.</summary>
    internal static void Wait(Task task, TimeSpan timeout, string what)
    {
        if (!task.Wait(timeout))
        {
            throw new RunAbortedException($"{what} did not finish within {timeout.TotalSeconds:0} s.");
        }
    }

    /// <summary>Runs an asynchronous step that returns a result (see <see cref="Wait(Task, TimeSpan, string)"/>).</summary>
    internal static T Wait<T>(Task<T> task, TimeSpan timeout, string what)
    {
        Wait((Task)task, timeout, what);
        return task.Result;
    }
}

/// <summary>
/// Generated frames as the exchange serves them, built once per process and size: <see cref="ExchangeFeed.FromGenerator"/>
/// with the generator's defaults, and how many of them are trades (what the shards must have seen).
/// </summary>
internal sealed class GeneratedFeed
{
    private static GeneratedFeed? s_cached;

    private GeneratedFeed(ExchangeFeed feed)
    {
        Feed = feed;
        for (var i = 0; i < feed.Count; i++)
        {
            Trades += feed.StreamOf(i).EndsWith("@trade", StringComparison.Ordinal) ? 1 : 0;
        }
    }

    public ExchangeFeed Feed { get; }

    /// <summary>Frames of the <c>@trade</c> streams.</summary>
    public long Trades { get; }

    /// <summary>The feed of <paramref name="frames"/> frames (the last one asked for is kept: runs of a scenario share it).</summary>
    public static GeneratedFeed Get(long frames)
    {
        if (s_cached is { } cached && cached.Feed.Count == frames)
        {
            return cached;
        }

        s_cached = null; // the previous feed (up to ~300 MB) is garbage before the next is built
        return s_cached = new GeneratedFeed(ExchangeFeed.FromGenerator(checked((int)frames)));
    }
}

/// <summary>
/// Counts what a run's handler receives, opens the measured window after the in-run warm-up, completes the run on the
/// last frame, and samples what the delivering threads allocate. Every method is called under the client's delivery
/// lock (or by a drain's single receive loop), one call at a time.
/// </summary>
/// <remarks>
/// The delivering threads are the thread pool's (ClientWebSocket completes its reads there), so the harness's per-thread
/// count (<see cref="HotThreadAllocations.Track"/>) cannot wrap them. Instead each delivery inside the window reads
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> (a few ns) and keeps, per managed thread id, the first and the last
/// value: their differences, summed, are the bytes the delivering threads allocated between their first and last
/// delivery of the window (receive loop, arbitration, decode, publish, and anything else the pool ran on them meanwhile).
/// </remarks>
internal sealed class DeliveryProbe
{
    private const int MaxThreadId = 4096;

    private readonly long _warmUpFrames;
    private readonly long _totalFrames;
    private readonly Action _measuringStarted;
    private readonly long[] _firstBytes = new long[MaxThreadId];
    private readonly long[] _lastBytes = new long[MaxThreadId];
    private readonly bool[] _seen = new bool[MaxThreadId];
    private readonly LatencyHistogram? _receivedToHandler;
    private readonly LatencyHistogram? _firstOfRead;
    private long _lastReceiveTimeNs;
    private bool _measuring;

    /// <param name="warmUpFrames">Frames before the window opens (0: it opens before the first).</param>
    /// <param name="totalFrames">Frames of the run; the last one completes <see cref="Done"/>.</param>
    /// <param name="measuringStarted">Opens the window (called on the delivering thread, which holds the delivery lock
    /// meanwhile, so nothing is delivered while the harness takes its snapshot).</param>
    /// <param name="timeReceivedToHandler">Whether to record, per frame, the client's receive time to the end of the handler's work.</param>
    public DeliveryProbe(long warmUpFrames, long totalFrames, Action measuringStarted, bool timeReceivedToHandler = false)
    {
        _warmUpFrames = warmUpFrames;
        _totalFrames = totalFrames;
        _measuringStarted = measuringStarted;
        _measuring = warmUpFrames == 0;
        _receivedToHandler = timeReceivedToHandler ? new LatencyHistogram(highestTrackableValue: 60_000_000_000) : null;
        _firstOfRead = timeReceivedToHandler ? new LatencyHistogram(highestTrackableValue: 60_000_000_000) : null;
    }

    /// <summary>Frames seen; read after the run (or under the delivery lock).</summary>
    public long Frames { get; private set; }

    /// <summary>Gaps the client reported.</summary>
    public long Gaps { get; private set; }

    /// <summary>Set on the last frame, with its time.</summary>
    public CompletionSignal Done { get; } = new();

    /// <summary>The client's receive time to the end of the handler's work (the publish into the ring), ns, per frame in the window (when asked for).</summary>
    public LatencyHistogram? ReceivedToHandlerNs => _receivedToHandler;

    /// <summary>
    /// As <see cref="ReceivedToHandlerNs"/>, for the first frame of each read only (frames of one read share its receive
    /// time): the wake-up and the first frame's work, without the wait behind the others of a burst.
    /// </summary>
    public LatencyHistogram? FirstOfReadNs => _firstOfRead;

    /// <summary>Reads that delivered frames inside the window (distinct receive times).</summary>
    public long Reads { get; private set; }

    /// <summary>Bytes the delivering threads allocated inside the window (see the remarks).</summary>
    public long DeliveringThreadBytes
    {
        get
        {
            long total = 0;
            for (var i = 0; i < MaxThreadId; i++)
            {
                total += _seen[i] ? _lastBytes[i] - _firstBytes[i] : 0;
            }

            return total;
        }
    }

    /// <summary>One frame handled (after the handler's own work).</summary>
    public void OnFrame(long receiveTimeNs)
    {
        if (_measuring)
        {
            Sample();
            if (_receivedToHandler is not null)
            {
                var latency = WallClock.UnixNanoseconds() - receiveTimeNs;
                _receivedToHandler.Record(latency);
                if (receiveTimeNs != _lastReceiveTimeNs)
                {
                    _firstOfRead!.Record(latency);
                    Reads++;
                }
            }

            _lastReceiveTimeNs = receiveTimeNs;
        }

        var frames = ++Frames;
        if (frames == _warmUpFrames)
        {
            _measuringStarted();
            _measuring = true;
            Sample();
        }

        if (frames == _totalFrames)
        {
            Done.Complete(Stopwatch.GetTimestamp());
        }
    }

    public void OnGap() => Gaps++;

    private void Sample()
    {
        var bytes = GC.GetAllocatedBytesForCurrentThread();
        var id = Environment.CurrentManagedThreadId;
        if (id >= MaxThreadId)
        {
            return;
        }

        if (!_seen[id])
        {
            _seen[id] = true;
            _firstBytes[id] = bytes;
        }

        _lastBytes[id] = bytes;
    }
}

/// <summary>
/// What the live daemon's handler does (<c>PipelineFrameHandler</c> in the host: each frame decoded in place into the
/// input ring), except that the frame's receive time is its ingest timestamp, so the shard's ingest-to-aggregated
/// histogram measures from the socket read; with no pipeline, a no-op handler (the client alone). Then the probe.
/// </summary>
internal readonly struct ProbedFrameHandler(MarketDataPipeline? pipeline, DeliveryProbe probe) : IBinanceFrameHandler
{
    public void OnFrame(ReadOnlySpan<byte> frame, long receiveTimeNs)
    {
        pipeline?.Publish(frame, receiveTimeNs, SourcePosition.None, WallClock.ToTimestamp(receiveTimeNs));
        probe.OnFrame(receiveTimeNs);
    }

    public void OnGap(in StreamGap gap) => probe.OnGap();
}

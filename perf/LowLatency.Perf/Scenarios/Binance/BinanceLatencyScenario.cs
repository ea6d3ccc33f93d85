using System.Diagnostics;
using LowLatency.Connectors.Binance;
using LowLatency.Engine;
using LowLatency.Market;
using LowLatency.Perf.Harness;
using LowLatency.Telemetry;

namespace LowLatency.Perf.Scenarios.Binance;

/// <summary>
/// Issue 5's latency target, "p99 frame-received → aggregated ≤ 50 µs at 10 k msg/s": the local exchange (a child process)
/// plays generated frames (150 streams) on its live timeline at <c>--rate</c> frames/s (default 10,000) to
/// <see cref="BinanceStreamClient{THandler}"/> (Redundancy 1), whose handler decodes them into the input ring of a
/// <see cref="MarketDataPipeline"/> with one shard, yielding as live mode runs it (<c>lowlatency run</c> leaves
/// <see cref="MarketDataPipelineOptions.BusySpin"/> off). Measured: the
/// client's receive timestamp (taken when the read that completed the frame returned) to the shard having aggregated the event,
/// for one event in <see cref="Aggregation.MarketDataShard{TOutput}.LatencySampleEvery"/> (the shard's own histogram,
/// the frame's receive time being its ingest timestamp); and, as <c>+ handler</c>, the receive timestamp to the end of
/// the handler's publish, every frame (the client's arbitration and lock, the decode into the ring). min(--latency-events, 60,000) frames per run, after the
/// harness's warm-up runs.
/// </summary>
/// <remarks>
/// <para>
/// Yielding by default, as live mode runs (<c>--wait busy|sleep</c> for the other shard waits). With the exchange paced
/// as below, alternating runs on the 2-core VM (2026-11-22, 2 × 5 runs each) gave the same p99 yielding and
/// busy-spinning (35 and 37 µs, against 34 and 35 µs); before, with the exchange's bursts and its pool threads spinning,
/// busy-spinning was the worse (p99 17 and 23 ms, against 2.7 and 1.4 ms).
/// </para>
/// <para>
/// The exchange's timeline sleeps to each frame's time on a thread of its own (to within 20 µs: frames due closer
/// together go out together), so at 10 k/s a read carries about 1.1 frames. Every frame carries the time of the read that
/// completed it: a frame behind others in the same read is measured from when its bytes were read. (ClientWebSocket
/// stamps each message as its <c>ReceiveAsync</c> returns it, so there the wait behind the others is not measured.) Until
/// 2026-11-22 the timeline woke on <see cref="Task.Delay(TimeSpan)"/>, about every 4 ms, and sent ~40 frames at once:
/// that measured the exchange's timer (p50 33 µs, most of it waiting behind the burst), not the client.
/// </para>
/// <para>
/// The exchange runs with its thread pool's spinning off (<c>DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0</c>): woken
/// 10 k times a second, its pool threads otherwise spun for about 70% of a core that the client needs.
/// </para>
/// </remarks>
internal sealed class BinanceLatencyScenario(BinanceWebSocketTransport transport = BinanceWebSocketTransport.Framed) : IScenario
{
    private const long MaxFrames = 60_000;

    public string Name => transport == BinanceWebSocketTransport.ClientWebSocket ? "binance-latency-cws" : "binance-latency";

    public ScenarioKind Kind => ScenarioKind.Latency;

    public string Category => BinanceScenarios.Category;

    public string Description =>
        $"Local exchange playing generated frames (150 streams) at --rate frames/s (default 10,000) -> BinanceStreamClient (Redundancy 1, {transport} transport) " +
        "-> decode into the input ring -> 1 shard, yielding as live mode does unless --wait says otherwise: client receive time -> aggregated, 1 event in 8; + handler: receive -> published into the ring; " +
        $"min(--latency-events, {MaxFrames:N0}) frames per run.";

    public string? Baseline => null;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var wait = context.Options.WaitStrategy ?? WaitStrategyKind.Yielding; // live mode's default (SHARD_WAIT=yield)
        if (wait == WaitStrategyKind.Blocking)
        {
            throw new RunAbortedException("--wait block: the pipeline's shards spin, yield or sleep (SHARD_WAIT); use busy, yield or sleep.");
        }

        var rate = context.Options.Rate;
        var feed = GeneratedFeed.Get(Math.Min(context.Options.LatencyEvents, MaxFrames));
        var total = (long)feed.Feed.Count;

        // The generator's frames are spread over their event times (50 k/s): this speed plays them at the rate asked for.
        var speed = rate * (feed.Feed.DurationNs / 1e9) / Math.Max(1, total - 1);
        using var exchange = ExchangeProcess.Timeline(total, speed);
        var pipeline = new MarketDataPipeline(new SymbolTable(4096), new MarketDataPipelineOptions
        {
            Pin = context.Options.Pin,
            Shards = 1,
            BusySpin = wait == WaitStrategyKind.BusySpin,
            SleepWhenIdle = wait == WaitStrategyKind.Sleeping,
        });

        BinanceStreamClient<ProbedFrameHandler>? client = null;
        try
        {
            pipeline.Output.HandleEventsWith(new Replay.ReplayThroughputScenario.CountingHandler(new long[4]), context.ProcessorOptions("sink-counter", cpu: null));
            pipeline.Start();

            var probe = new DeliveryProbe(warmUpFrames: 0, total, measuringStarted: () => { }, timeReceivedToHandler: true);
            client = new BinanceStreamClient<ProbedFrameHandler>(
                BinanceThroughputScenario.ClientOptions(exchange.BaseUri, feed.Feed.Streams, redundancy: 1) with { Transport = transport }, new ProbedFrameHandler(pipeline, probe));

            // The timeline plays from the first connection on (subscribed at its handshake: the streams are in its URL). The
            // window opens once it is open, so connecting (URL, TLS-less upgrade, buffers) is not counted in the allocations;
            // every frame is timed, those before the window too.
            client.Start();
            var timeout = ScenarioContext.Timeout(total, nanosecondsPerEvent: 1e9 / rate);
            var connectDeadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            while (client.Counters.OpenConnections == 0)
            {
                if (Stopwatch.GetTimestamp() > connectDeadline)
                {
                    throw new RunAbortedException("the client did not connect.");
                }

                Thread.Sleep(1);
            }

            var window = context.BeginMeasurement();
            var deliveredBefore = client.Counters.Delivered;
            context.AwaitCompletion(probe.Done, timeout, progress: null);
            var drained = pipeline.Complete(TimeSpan.FromMinutes(1));
            var measurement = window.End(Stopwatch.GetTimestamp());
            context.HotThreadAllocations.Add(probe.DeliveringThreadBytes);
            var counters = client.Counters;
            BinanceScenarios.Wait(client.DisposeAsync().AsTask(), TimeSpan.FromSeconds(30), "stopping the client");
            client = null;

            if (!drained || probe.Frames != total || counters.Delivered != total || probe.Gaps != 0 || pipeline.Messages != total || pipeline.Failures != 0)
            {
                throw new VerificationException(
                    $"delivered {counters.Delivered:N0} of {total:N0} frames, {probe.Gaps} gaps; published {pipeline.Messages:N0}, {pipeline.Failures} rejected; drained: {drained}.");
            }

            var latency = new LatencyHistogram(highestTrackableValue: 60_000_000_000);
            foreach (var shard in pipeline.Shards)
            {
                latency.Add(shard.Handler.Counters.IngestToAggregatedNs);
            }

            var framesPerRead = probe.Reads == 0 ? 0 : (double)probe.ReceivedToHandlerNs!.TotalCount / probe.Reads;
            return context.CreateResult(
                total - deliveredBefore, measurement, $"{ResolvedWaitStrategy.Name(wait)} shard, exchange timeline at {rate:N0} frames/s, {framesPerRead:0.0} frames per read", pipeline.Options.RingSize, latency.Summarize()) with
            {
                OtherLatencies = new Dictionary<string, LatencySummary>
                {
                    ["handler"] = probe.ReceivedToHandlerNs!.Summarize(),
                    ["1st of read"] = probe.FirstOfReadNs!.Summarize(),
                },
            };
        }
        finally
        {
            if (client is not null)
            {
                BinanceScenarios.Wait(client.DisposeAsync().AsTask(), TimeSpan.FromSeconds(30), "stopping the client");
            }

            pipeline.Dispose();
        }
    }
}

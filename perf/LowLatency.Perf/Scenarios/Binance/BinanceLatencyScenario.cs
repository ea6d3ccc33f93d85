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
/// Why yielding, unlike <c>replay-latency-paced</c>'s busy-spinning shard: here the receive loop, the output consumer and
/// the exchange need the two cores too, and a shard spinning on one of them only gives it up when the scheduler
/// preempts it. Measured in alternating pairs on the loaded 2-core VM (2026-11-22, 3 runs each): p99 17 and 23 ms
/// busy-spinning, 2.7 and 1.4 ms yielding.
/// </para>
/// <para>
/// The exchange's timeline wakes about once a millisecond (<see cref="Task.Delay(TimeSpan)"/>) and sends the frames that
/// fell due meanwhile together, about ten at 10 k/s, as Binance's own 100 ms depth and batched sends do. With our
/// framed transport one read usually takes the whole burst, and every frame of it carries that read's time: a frame
/// waiting behind the others of its burst is measured from when its bytes were read. (ClientWebSocket stamps each
/// message as its <c>ReceiveAsync</c> returns it, so there the wait behind the burst is not measured.)
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
        "-> decode into the input ring -> 1 yielding shard (as live mode): client receive time -> aggregated, 1 event in 8; + handler: receive -> published into the ring; " +
        $"min(--latency-events, {MaxFrames:N0}) frames per run.";

    public string? Baseline => null;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var rate = context.Options.Rate;
        var feed = GeneratedFeed.Get(Math.Min(context.Options.LatencyEvents, MaxFrames));
        var total = (long)feed.Feed.Count;

        // The generator's frames are spread over their event times (50 k/s): this speed plays them at the rate asked for.
        var speed = rate * (feed.Feed.DurationNs / 1e9) / Math.Max(1, total - 1);
        using var exchange = ExchangeProcess.Timeline(total, speed);
        var pipeline = new MarketDataPipeline(new SymbolTable(4096), new MarketDataPipelineOptions { Pin = context.Options.Pin, Shards = 1 });
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
                total - deliveredBefore, measurement, $"yielding shard, exchange timeline at {rate:N0} frames/s, {framesPerRead:0.0} frames per read", pipeline.Options.RingSize, latency.Summarize()) with
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

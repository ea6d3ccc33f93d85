using System.Diagnostics;
using LowLatency.Connectors.Binance;
using LowLatency.Engine;
using LowLatency.Market;
using LowLatency.Perf.Harness;

namespace LowLatency.Perf.Scenarios.Binance;

/// <summary>
/// Issue 5's throughput target, "≥ 1 M msg/s from the local server into the ring with zero allocation per message":
/// the local exchange (a child process) serves a feed of generated frames (50 symbols, trade, bookTicker and depth streams,
/// 150 in all) per connection, as fast as the client takes it, over the combined endpoint, to
/// <see cref="BinanceStreamClient{THandler}"/> with <see cref="BinanceStreamOptions.Redundancy"/> 1 or 2; its handler
/// decodes each delivered frame into the <see cref="MarketDataPipeline"/>'s input ring (shards = cores - 1, yielding, as
/// <c>replay-generated</c>), or does nothing (<c>binance-client-noop</c>: the client alone). Measured: frames/s from the
/// end of the in-run warm-up (the first quarter of the feed) until the last frame is delivered and, into the ring, the
/// pipeline is drained; B/msg of this process (client, rings, shards; the exchange is another process) and the bytes
/// the delivering threads allocated in the window (hot-thread bytes); and, in the report's last column, the CPU time per
/// message of each thread (by name) and of the exchange (<see cref="ThreadCpu"/>): where the time goes. Verified: every frame delivered once, no gap, nothing
/// rejected, and the shards saw exactly the feed's trades.
/// </summary>
internal sealed class BinanceThroughputScenario(int redundancy, bool intoRing, BinanceWebSocketTransport transport = BinanceWebSocketTransport.Framed) : IScenario
{
    /// <summary>Measured frames per run at most (the feed is a quarter larger, ~270 B each, held by the exchange).</summary>
    private const long MaxFrames = 1_000_000;

    public string Name => (intoRing, redundancy) switch
    {
        (false, 1) => "binance-client-noop",
        (false, _) => $"binance-client-noop-r{redundancy}",
        (true, 1) => "binance-ring",
        (true, _) => $"binance-ring-r{redundancy}",
    } + (transport == BinanceWebSocketTransport.ClientWebSocket ? "-cws" : string.Empty);

    public ScenarioKind Kind => ScenarioKind.Throughput;

    public string Category => BinanceScenarios.Category;

    public string Description => intoRing
        ? $"Local exchange (per-connection feed, 150 streams, as fast as taken) -> BinanceStreamClient (Redundancy {redundancy}, {transport} transport) -> " +
          "decode into the input ring -> shards (cores - 1) -> output ring -> counter; min(--events, 1,000,000) frames after a quarter as many of warm-up."
        : $"Same feed -> BinanceStreamClient (Redundancy {redundancy}, {transport} transport) -> handler that only counts: the client alone.";

    public string? Baseline => BinanceScenarios.CeilingName;

    /// <summary>Measured frames (min(--events, 1 M)) and the in-run warm-up before them (a quarter as many, at least 1).</summary>
    internal static (long Measured, long WarmUp) FrameCounts(ScenarioContext context)
    {
        var measured = Math.Min(context.Options.Events, MaxFrames);
        return (measured, Math.Max(1, measured / 4));
    }

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var (measured, warmUp) = FrameCounts(context);
        var feed = GeneratedFeed.Get(warmUp + measured);
        var total = (long)feed.Feed.Count;
        var exchange = ExchangeProcess.PerConnection(total);
        var pipeline = intoRing ? new MarketDataPipeline(new SymbolTable(4096), new MarketDataPipelineOptions { Pin = context.Options.Pin, RingSize = context.Options.RingSize ?? new MarketDataPipelineOptions().RingSize }) : null;
        BinanceStreamClient<ProbedFrameHandler>? client = null;
        try
        {
            pipeline?.Output.HandleEventsWith(new Replay.ReplayThroughputScenario.CountingHandler(new long[4]), context.ProcessorOptions("sink-counter", cpu: null));
            pipeline?.Start();

            MeasuredWindow? window = null;
            ThreadCpu? cpuStart = null;
            var probe = new DeliveryProbe(warmUp, total, () =>
            {
                window = context.BeginMeasurement();
                cpuStart = ThreadCpu.Capture(exchange.Id);
            });
            client = new BinanceStreamClient<ProbedFrameHandler>(
                ClientOptions(exchange.BaseUri, feed.Feed.Streams, redundancy) with { Transport = transport }, new ProbedFrameHandler(pipeline, probe));
            client.Start();
            context.AwaitCompletion(probe.Done, ScenarioContext.Timeout(total, nanosecondsPerEvent: 20_000), progress: null);

            // Into the ring, the window closes when the shards have handled the last frame (and the output ring is drained).
            // The CPU snapshot is taken before: the shards' threads end when the pipeline completes.
            var cpuEnd = ThreadCpu.Capture(exchange.Id);
            var drained = pipeline?.Complete(TimeSpan.FromMinutes(1)) ?? true;
            var measurement = window!.Value.End(pipeline is null ? probe.Done.EndTimestamp : Stopwatch.GetTimestamp());
            var cpu = ThreadCpu.PerMessage(cpuStart!, cpuEnd, total - warmUp);
            measurement = measurement with { AllocatedBytes = measurement.AllocatedBytes - cpuStart!.AllocatedBytes - cpuEnd.AllocatedBytes };
            context.HotThreadAllocations.Add(probe.DeliveringThreadBytes);
            var counters = client.Counters;
            BinanceScenarios.Wait(client.DisposeAsync().AsTask(), TimeSpan.FromSeconds(30), "stopping the client");
            client = null;

            if (!drained)
            {
                throw new RunAbortedException("the pipeline did not drain within a minute.");
            }

            var trades = pipeline?.Shards.Sum(s => s.Handler.Counters.EventsByKind[(int)MarketEventKind.Trade]) ?? feed.Trades;
            if (probe.Frames != total || counters.Delivered != total || probe.Gaps != 0 || counters.Malformed != 0
                || (pipeline is not null && (pipeline.Messages != total || pipeline.Failures != 0)) || trades != feed.Trades)
            {
                throw new VerificationException(
                    $"delivered {counters.Delivered:N0} (handler saw {probe.Frames:N0}) of {total:N0} frames, {probe.Gaps} gaps, {counters.Malformed} malformed; " +
                    $"published {pipeline?.Messages ?? 0:N0}, {pipeline?.Failures ?? 0} rejected; shards saw {trades:N0} trades of {feed.Trades:N0}.");
            }

            var what = $"{transport}, Redundancy {redundancy}, {counters.Duplicates:N0} duplicates dropped" +
                (pipeline is null ? ", no-op handler" : $", {pipeline.Options.Shards} shard(s), {(pipeline.Options.BusySpin ? "busy-spin" : "yielding")}") + $"; {cpu}";
            return context.CreateResult(total - warmUp, measurement, what, pipeline?.Options.RingSize ?? 0);
        }
        finally
        {
            if (client is not null)
            {
                BinanceScenarios.Wait(client.DisposeAsync().AsTask(), TimeSpan.FromSeconds(30), "stopping the client");
            }

            pipeline?.Dispose();
        }
    }

    /// <summary>The client's options for an exchange at <paramref name="url"/>: every stream, in the URL, the defaults otherwise.</summary>
    internal static BinanceStreamOptions ClientOptions(Uri url, IReadOnlyList<string> streams, int redundancy) => new()
    {
        Url = url,
        Streams = streams,
        Redundancy = redundancy,
        MaxUrlLength = 8_000, // all 150 streams in the URL, so no frame arrives before its SUBSCRIBE is answered
    };
}

using System.Diagnostics;
using LowLatency.Aggregation;
using LowLatency.Connectors.Binance;
using LowLatency.Engine;
using LowLatency.Market;
using LowLatency.Ring;
using LowLatency.Sinks.Files;
using LowLatency.Telemetry;
using Microsoft.Extensions.Logging;

namespace LowLatency.Host.Daemon;

/// <summary>
/// Live mode of <c>lowlatency run</c> (no Kafka configured): Binance's WebSocket streams, through the A/B-redundant
/// client, decoded straight into the input ring, aggregated, written to the local file sink. Nothing is committed (a
/// WebSocket cannot be replayed), so at SIGTERM/SIGINT the open candles are closed and written as the replay path does
/// at its end.
/// </summary>
public static partial class RunCommand
{
    private static int RunLive(DaemonOptions options, BinanceStreamOptions live, ILoggerFactory loggers, CancellationToken stop, Action<Uri>? httpStarted)
    {
        var log = loggers.CreateLogger("lowlatency");
        using var linked = StopSignals.Register(stop, signal => LogSignal(log, signal));

        var symbols = new SymbolTable(options.SymbolCapacity);
        using var pipeline = new MarketDataPipeline(symbols, new MarketDataPipelineOptions
        {
            Shards = options.Shards,
            RingSize = options.RingSize,
            BusySpin = options.ShardWait == ShardWait.Spin,
            SleepWhenIdle = options.ShardWait == ShardWait.Sleep,
            PassTrades = options.Parquet?.Trades == true,
            Candles = new CandleAggregatorOptions { Intervals = options.Intervals, AllowedLateness = options.Lateness, SymbolCapacity = options.SymbolCapacity },
        });
        using var files = options.OutputDirectory is null ? null : new OutputFileWriter(options.OutputDirectory, symbols, options.OutputFormat);
        IEventProcessor? filesThread = null;
        if (files is not null)
        {
            filesThread = pipeline.Output.HandleEventsWith(new OutputFileHandler(files), new EventProcessorOptions { ThreadName = "sink-files" });
        }

        StoreSinks stores;
        try
        {
            stores = StoreSinks.Start(options, symbols, commitMarks: null, loggers);
        }
        catch (Exception e)
        {
            LogStoreFailed(log, e.Message);
            return 1;
        }

        using var storesScope = stores;
        stores.Attach(pipeline.Output);

        var gaps = new LiveGaps(loggers.CreateLogger<LiveGaps>());
        var client = new BinanceStreamClient<PipelineFrameHandler>(live, new PipelineFrameHandler(pipeline, gaps), loggers.CreateLogger("LowLatency.Binance"));
        pipeline.Start();
        LogLiveStarted(log, live.Url, live.Streams.Count, live.Redundancy, options.Shards);

        using var metrics = new EngineMetrics(client.Counters, pipeline);
        metrics.AddSinks(stores.Sinks);
        using var http = StartHttp(options, metrics, () => LiveComponents(client, pipeline, files, filesThread, stores), loggers, log, httpStarted);

        client.Start();
        var started = Stopwatch.GetTimestamp();
        var lastFrames = 0L;
        while (!linked.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(10)))
        {
            var frames = client.Counters.Delivered;
            LogLiveProgress(log, frames, (frames - lastFrames) / 10.0, client.Counters.Duplicates, client.Counters.Gaps, client.Counters.OpenConnections, pipeline.InputOccupancy);
            lastFrames = frames;
        }

        // Intake first (no frame is published after this), then the rings drain and the open candles are written.
        client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        var drained = pipeline.Complete(TimeSpan.FromSeconds(30));
        LogLiveStopped(log, client.Counters.Delivered, Stopwatch.GetElapsedTime(started).TotalSeconds, pipeline.Failures, client.Counters.Gaps, drained);
        return drained ? 0 : 1;
    }

    private static Dictionary<string, ComponentHealth> LiveComponents(
        BinanceStreamClient<PipelineFrameHandler> client, MarketDataPipeline pipeline, OutputFileWriter? files, IEventProcessor? filesThread, StoreSinks stores)
    {
        var components = new Dictionary<string, ComponentHealth>(StringComparer.Ordinal)
        {
            ["binance"] = new(client.Counters.OpenConnections > 0, new Dictionary<string, object?>
            {
                ["connections"] = client.Counters.OpenConnections,
                ["delivered"] = client.Counters.Delivered,
                ["duplicates"] = client.Counters.Duplicates,
                ["gaps"] = client.Counters.Gaps,
                ["reconnects"] = client.Counters.Reconnects,
            }),
        };
        AddEngineHealth(components, pipeline, files, filesThread, stores);
        return components;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "started live: Binance {Url}, {Streams} stream(s), {Redundancy} connection(s) per stream group, {Shards} shard(s)")]
    private static partial void LogLiveStarted(ILogger log, Uri url, int streams, int redundancy, int shards);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Frames} frames ({Rate:F0}/s), {Duplicates} duplicates dropped, {Gaps} gaps, {Connections} connection(s), input ring {Occupancy:P0} full")]
    private static partial void LogLiveProgress(ILogger log, long frames, double rate, long duplicates, long gaps, long connections, double occupancy);

    [LoggerMessage(Level = LogLevel.Information, Message = "stopped: {Frames} frames in {Seconds:F1} s, {Rejected} rejected, {Gaps} gaps, drained: {Drained}")]
    private static partial void LogLiveStopped(ILogger log, long frames, double seconds, long rejected, long gaps, bool drained);
}

/// <summary>
/// The live source's frames into the pipeline: each frame is decoded in place into the input ring. The client calls
/// one handler at a time (under its delivery lock), so the pipeline keeps a single publisher at any moment; a full ring
/// blocks that call, which is the backpressure on the sockets.
/// </summary>
public readonly struct PipelineFrameHandler(MarketDataPipeline pipeline, LiveGaps gaps) : IBinanceFrameHandler
{
    /// <inheritdoc />
    /// <remarks>
    /// The ingest stamp is the socket read's time, not the moment of publishing, so the daemon's ingest→aggregated
    /// latency includes the client's own part (arbitration, a reorder-buffer wait).
    /// </remarks>
    public void OnFrame(ReadOnlySpan<byte> frame, long receiveTimeNs) =>
        pipeline.Publish(frame, receiveTimeNs, SourcePosition.None, WallClock.ToTimestamp(receiveTimeNs));

    /// <inheritdoc />
    public void OnGap(in StreamGap gap) => gaps.Report(gap);
}

/// <summary>Gaps the exchange left in a stream, logged with the missing range (a later issue backfills them over REST).</summary>
public sealed partial class LiveGaps(ILogger log)
{
    /// <summary>Logs <paramref name="gap"/> (called by the client, one at a time; counted by the client).</summary>
    public void Report(in StreamGap gap)
    {
        LogGap(log, gap.Stream, gap.FirstMissing, gap.LastMissing, gap.Count);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "gap in {Stream}: ids {First}..{Last} missing ({Count}); the candles are marked has_gap")]
    private static partial void LogGap(ILogger log, string stream, long first, long last, long count);
}

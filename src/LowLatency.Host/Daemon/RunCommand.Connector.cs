using System.Diagnostics;
using LowLatency.Connectors.Binance;
using LowLatency.Kafka.Connector;
using Microsoft.Extensions.Logging;

namespace LowLatency.Host.Daemon;

/// <summary>
/// The connector role of <c>lowlatency run</c> (<c>LOWLATENCY_ROLE=connector</c>), the seed pipeline's Binance→Kafka
/// connector: the A/B-redundant WebSocket client's frames, each once, produced to the raw topics keyed by symbol with
/// the receive time. SIGTERM/SIGINT stops intake, then flushes every buffered frame before exiting 0.
/// </summary>
public static partial class RunCommand
{
    private static readonly TimeSpan s_connectorFlushTimeout = TimeSpan.FromSeconds(60);

    private static int RunConnector(DaemonOptions options, BinanceStreamOptions live, ILoggerFactory loggers, CancellationToken stop, Action<Uri>? httpStarted)
    {
        var log = loggers.CreateLogger("lowlatency");
        using var linked = StopSignals.Register(stop, signal => LogSignal(log, signal));

        using var producer = new RawTopicProducer(
            new RawTopicProducerOptions
            {
                BootstrapServers = options.BootstrapServers ?? throw new InvalidOperationException("The connector role needs KAFKA_BOOTSTRAP_SERVERS."),
                TradesTopic = options.RawTopics.Trades,
                KlinesTopic = options.RawTopics.Klines,
                TickersTopic = options.RawTopics.Tickers,
                Acks = options.Acks,
                Compression = options.Compression,
                BatchSize = options.BatchSize,
                BatchTimeoutMs = options.BatchTimeoutMs,
            },
            loggers.CreateLogger<RawTopicProducer>());
        var gaps = new LiveGaps(loggers.CreateLogger<LiveGaps>());
        var client = new BinanceStreamClient<KafkaFrameHandler>(live, new KafkaFrameHandler(producer, gaps), loggers.CreateLogger("LowLatency.Binance"));
        LogConnectorStarted(log, live.Url, live.Streams.Count, options.BootstrapServers, options.RawTopics.Trades, options.RawTopics.Klines, options.RawTopics.Tickers);

        using var metrics = new EngineMetrics(client.Counters, producer);
        using var http = StartHttp(options, metrics, () => ConnectorComponents(client, producer), loggers, log, httpStarted);

        client.Start();
        var started = Stopwatch.GetTimestamp();
        while (!linked.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(10)))
        {
            LogConnectorProgress(log, client.Counters.Delivered, producer.Delivered, producer.InFlight, producer.Failed, client.Counters.Gaps, client.Counters.OpenConnections);
        }

        // Intake first: after the client is disposed no frame is produced, so the flush covers every frame received.
        client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        var flushed = producer.Flush(s_connectorFlushTimeout);
        LogConnectorStopped(log, producer.Produced, Stopwatch.GetElapsedTime(started).TotalSeconds, producer.Delivered, producer.Failed, flushed);
        return flushed && producer.Failed == 0 ? 0 : 1;
    }

    private static Dictionary<string, ComponentHealth> ConnectorComponents(BinanceStreamClient<KafkaFrameHandler> client, RawTopicProducer producer) => new(StringComparer.Ordinal)
    {
        ["binance"] = new(client.Counters.OpenConnections > 0, new Dictionary<string, object?>
        {
            ["connections"] = client.Counters.OpenConnections,
            ["delivered"] = client.Counters.Delivered,
            ["duplicates"] = client.Counters.Duplicates,
            ["gaps"] = client.Counters.Gaps,
            ["reconnects"] = client.Counters.Reconnects,
        }),
        ["kafka_producer"] = new(producer.Failed == 0, new Dictionary<string, object?>
        {
            ["produced"] = producer.Produced,
            ["delivered"] = producer.Delivered,
            ["in_flight"] = producer.InFlight,
            ["failed"] = producer.Failed,
            ["unrouted"] = producer.Unrouted,
        }),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "started connector: Binance {Url}, {Streams} stream(s) → Kafka {Bootstrap}: {Trades}, {Klines}, {Tickers}")]
    private static partial void LogConnectorStarted(ILogger log, Uri url, int streams, string? bootstrap, string trades, string klines, string tickers);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Frames} frames received once, {Delivered} delivered to Kafka, {InFlight} buffered, {Failed} failed, {Gaps} gaps, {Connections} connection(s)")]
    private static partial void LogConnectorProgress(ILogger log, long frames, long delivered, long inFlight, long failed, long gaps, long connections);

    [LoggerMessage(Level = LogLevel.Information, Message = "stopped: {Produced} frames produced in {Seconds:F1} s, {Delivered} delivered, {Failed} failed, flushed: {Flushed}")]
    private static partial void LogConnectorStopped(ILogger log, long produced, double seconds, long delivered, long failed, bool flushed);
}

/// <summary>The connector role's frames into the raw topics (one call at a time: the client's delivery lock).</summary>
public readonly struct KafkaFrameHandler(RawTopicProducer producer, LiveGaps gaps) : IBinanceFrameHandler
{
    /// <inheritdoc />
    public void OnFrame(ReadOnlySpan<byte> frame, long receiveTimeNs) => producer.Produce(frame, receiveTimeNs);

    /// <inheritdoc />
    public void OnGap(in StreamGap gap) => gaps.Report(gap);
}

using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using LowLatency.Aggregation;
using LowLatency.Codecs.Avro;
using LowLatency.Engine;
using LowLatency.Kafka.Sink;
using LowLatency.Kafka.Source;
using LowLatency.Market;
using LowLatency.Ring;
using LowLatency.Sinks.Files;
using Microsoft.Extensions.Logging;

namespace LowLatency.Host.Daemon;

/// <summary>
/// <c>lowlatency run</c>: the headless daemon. Consumes the configured Kafka topics in a consumer group, aggregates,
/// writes candles, alerts and tickers to the derived Kafka topics (and the local file sink), and commits offsets only
/// for what every sink has durably written. SIGTERM or SIGINT drains: intake stops, a last commit mark goes through,
/// its offsets are committed, the consumer leaves the group, and the process exits 0. Open candles are not written at
/// shutdown: the committed offsets lie before their first trades, so whoever resumes the partitions rebuilds them whole.
/// </summary>
public static partial class RunCommand
{
    /// <summary>Runs the daemon with <paramref name="options"/> until <paramref name="stop"/> (or SIGTERM/SIGINT) fires.</summary>
    /// <param name="options">The configuration.</param>
    /// <param name="loggers">Where logs go.</param>
    /// <param name="stop">Stops the daemon as SIGTERM would.</param>
    /// <param name="httpStarted">Called with the bound address of the health and metrics endpoints once they listen.</param>
    public static int Run(DaemonOptions options, ILoggerFactory loggers, CancellationToken stop = default, Action<Uri>? httpStarted = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Role == DaemonRole.Connector)
        {
            return RunConnector(options, options.Live ?? new Connectors.Binance.BinanceStreamOptions(), loggers, stop, httpStarted);
        }

        if (options.BootstrapServers is not { } bootstrap)
        {
            return RunLive(options, options.Live ?? new Connectors.Binance.BinanceStreamOptions(), loggers, stop, httpStarted);
        }

        var log = loggers.CreateLogger("lowlatency");
        using var linked = StopSignals.Register(stop, signal => LogSignal(log, signal));

        var symbols = new SymbolTable(options.SymbolCapacity);
        var durableSinks = (options.OutputDirectory is null ? 1 : 2) + StoreSinks.CountEnabled(options);
        var watermark = new CommitWatermark(options.Shards, durableSinks, partitionCapacity: 1024);
        using var pipeline = new MarketDataPipeline(symbols, new MarketDataPipelineOptions
        {
            Shards = options.Shards,
            RingSize = options.RingSize,
            BusySpin = options.ShardWait == ShardWait.Spin,
            SleepWhenIdle = options.ShardWait == ShardWait.Sleep,
            PassTrades = options.Parquet?.Trades == true,
            CommitMarks = watermark,
            PartitionCapacity = watermark.PartitionCapacity,
            FlushOpenCandlesOnShutdown = false,
            AssetPriceDecoder = table => AssetDecoder(table, options),
            Candles = new CandleAggregatorOptions { Intervals = options.Intervals, AllowedLateness = options.Lateness, SymbolCapacity = options.SymbolCapacity },
        });

        StoreSinks stores;
        try
        {
            stores = StoreSinks.Start(options, symbols, watermark, loggers);
        }
        catch (Exception e)
        {
            LogStoreFailed(log, e.Message);
            return 1;
        }

        using var storesScope = stores;
        stores.Attach(pipeline.Output);

        using var kafkaSink = new KafkaSink(
            new KafkaSinkOptions
            {
                BootstrapServers = bootstrap,
                CandlesTopic = options.CandlesTopic,
                AlertsTopic = options.AlertsTopic,
                TickersTopic = options.TickersTopic,
                Acks = options.Acks,
                Compression = options.Compression,
                BatchSize = options.BatchSize,
                BatchTimeoutMs = options.BatchTimeoutMs,
                Encoding = options.OutputEncoding,
                SchemaIds = options.OutputSchemaIds,
            },
            symbols,
            watermark,
            loggers.CreateLogger<KafkaSink>());
        var kafkaSinkThread = pipeline.Output.HandleEventsWith(new KafkaSinkHandler(kafkaSink), new EventProcessorOptions { ThreadName = "sink-kafka" });

        using var files = options.OutputDirectory is null ? null : new OutputFileWriter(options.OutputDirectory, symbols, options.OutputFormat);
        IEventProcessor? filesThread = null;
        if (files is not null)
        {
            filesThread = pipeline.Output.HandleEventsWith(new OutputFileHandler(files, watermark), new EventProcessorOptions { ThreadName = "sink-files" });
        }

        using var source = new KafkaSource(
            new KafkaSourceOptions
            {
                BootstrapServers = bootstrap,
                GroupId = options.GroupId,
                Topics = options.InputTopics,
                CommitInterval = options.CommitInterval,
                DeadLetterTopic = options.DeadLetterTopic,
            },
            pipeline,
            watermark,
            loggers.CreateLogger<KafkaSource>());

        pipeline.Start();
        LogStarted(log, bootstrap, string.Join(", ", options.InputTopics.Select(t => $"{t.Key} ({t.Value})")), options.GroupId, options.Shards);

        Exception? failure = null;
        var sourceThread = new Thread(() =>
        {
            try
            {
                source.Run(linked.Token);
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        {
            Name = "source-kafka",
            IsBackground = false,
        };

        // Declared after the source, so disposed before it: no scrape reads a disposed source. Started before the source
        // thread, so that a port already in use fails the start before anything is consumed.
        using var metrics = new EngineMetrics(source, pipeline, kafkaSink);
        metrics.AddSinks(stores.Sinks);
        using var http = StartHttp(options, metrics, () => Components(source, sourceThread, pipeline, kafkaSink, kafkaSinkThread, files, filesThread, stores), loggers, log, httpStarted);

        sourceThread.Start();

        var started = Stopwatch.GetTimestamp();
        var lastMessages = 0L;
        while (!sourceThread.Join(TimeSpan.FromSeconds(10)))
        {
            var messages = source.Messages;
            LogProgress(log, messages, (messages - lastMessages) / 10.0, source.Rejected, source.Commits, source.Pauses, kafkaSink.Delivered, pipeline.InputOccupancy);
            lastMessages = messages;
        }

        var drained = pipeline.Complete(TimeSpan.FromSeconds(30));
        if (failure is not null)
        {
            LogFailed(log, failure);
            return 1;
        }

        LogStopped(log, source.Messages, Stopwatch.GetElapsedTime(started).TotalSeconds, source.Rejected, source.DeadLettered, source.Commits, kafkaSink.Delivered, drained);
        return drained ? 0 : 1;
    }

    /// <summary>The command: options from the environment, console logging; exit 2 on a configuration error.</summary>
    public static int FromEnvironment(TextWriter error)
    {
        DaemonOptions options;
        try
        {
            options = DaemonOptions.FromEnvironment();
        }
        catch (FormatException e)
        {
            error.WriteLine($"lowlatency run: configuration error: {e.Message}");
            return 2;
        }

        using var loggers = LoggerFactory.Create(builder => builder
            .SetMinimumLevel(options.LogLevel)
            .AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                console.UseUtcTimestamp = true;
            }));
        return Run(options, loggers);
    }

    /// <summary>The components <c>/health</c> reports; read on a request thread from fields their owners publish.</summary>
    private static Dictionary<string, ComponentHealth> Components(
        KafkaSource source, Thread sourceThread, MarketDataPipeline pipeline, KafkaSink kafkaSink, IEventProcessor kafkaSinkThread, OutputFileWriter? files, IEventProcessor? filesThread, StoreSinks stores)
    {
        var sincePoll = TimeSpan.FromMilliseconds(Environment.TickCount64 - source.LastPollTicks);
        var components = new Dictionary<string, ComponentHealth>(StringComparer.Ordinal)
        {
            ["kafka_source"] = new(sourceThread.IsAlive && sincePoll < TimeSpan.FromSeconds(30), new Dictionary<string, object?>
            {
                ["running"] = sourceThread.IsAlive,
                ["assigned_partitions"] = source.AssignedPartitions,
                ["paused"] = source.IsPaused,
                ["last_poll"] = DateTimeOffset.UtcNow - sincePoll,
                ["messages"] = source.Messages,
            }),
            ["kafka_sink"] = new(kafkaSinkThread.IsRunning && kafkaSink.Failed == 0, new Dictionary<string, object?>
            {
                ["running"] = kafkaSinkThread.IsRunning,
                ["produced"] = kafkaSink.Produced,
                ["delivered"] = kafkaSink.Delivered,
                ["failed"] = kafkaSink.Failed,
            }),
        };
        AddEngineHealth(components, pipeline, files, filesThread, stores);
        return components;
    }

    /// <summary>The components both engine modes report: the pipeline, the file sink, the store sinks.</summary>
    private static void AddEngineHealth(
        Dictionary<string, ComponentHealth> components, MarketDataPipeline pipeline, OutputFileWriter? files, IEventProcessor? filesThread, StoreSinks stores)
    {
        var shardsRunning = pipeline.Shards.Count(s => s.IsRunning);
        components["pipeline"] = new(shardsRunning == pipeline.Shards.Count, new Dictionary<string, object?>
        {
            ["shards"] = pipeline.Shards.Count,
            ["shards_running"] = shardsRunning,
            ["input_ring_usage"] = pipeline.InputOccupancy,
        });
        if (files is not null && filesThread is not null)
        {
            var (candles, alerts, tickers) = files.Lines;
            components["file_sink"] = new(filesThread.IsRunning, new Dictionary<string, object?>
            {
                ["running"] = filesThread.IsRunning,
                ["lines"] = candles + alerts + tickers,
            });
        }

        stores.AddHealth(components);
    }

    private static AssetPriceDecoder AssetDecoder(SymbolTable symbols, DaemonOptions options)
    {
        var schema = options.AssetSchemaLocation is null ? null : AvroSchema.Parse(File.ReadAllText(options.AssetSchemaLocation));
        return new AssetPriceDecoder(symbols, AvroFraming.Confluent, schema, options.AssetSchemaId);
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "a store could not be opened: {Reason}")]
    private static partial void LogStoreFailed(ILogger log, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "started: Kafka {Bootstrap}, topics {Topics}, group {Group}, {Shards} shard(s)")]
    private static partial void LogStarted(ILogger log, string bootstrap, string topics, string group, int shards);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Messages} messages ({Rate:F0}/s), {Rejected} rejected, {Commits} commits, {Pauses} pauses, {Delivered} outputs delivered, input ring {Occupancy:P0} full")]
    private static partial void LogProgress(ILogger log, long messages, double rate, long rejected, long commits, long pauses, long delivered, double occupancy);

    /// <summary>Starts <c>/health</c> and <c>/metrics</c> where <see cref="DaemonOptions.HttpListen"/> says (null: none), and logs where.</summary>
    private static HealthEndpoint? StartHttp(
        DaemonOptions options, EngineMetrics metrics, Func<IReadOnlyDictionary<string, ComponentHealth>> components, ILoggerFactory loggers, ILogger log, Action<Uri>? httpStarted)
    {
        if (options.HttpListen is null)
        {
            return null;
        }

        var http = HealthEndpoint.Start(options.HttpListen, metrics.Exporter, components, loggers);
        LogHttp(log, http.Address);
        httpStarted?.Invoke(http.Address);
        return http;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "health and metrics on {Address} (/health, /health/live, /health/ready, /metrics)")]
    private static partial void LogHttp(ILogger log, Uri address);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Signal}: draining (intake stopped; a last commit follows)")]
    private static partial void LogSignal(ILogger log, PosixSignal signal);

    [LoggerMessage(Level = LogLevel.Information, Message = "stopped: {Messages} messages in {Seconds:F1} s, {Rejected} rejected ({DeadLettered} dead-lettered), {Commits} commits, {Delivered} outputs delivered, drained: {Drained}")]
    private static partial void LogStopped(ILogger log, long messages, double seconds, long rejected, long deadLettered, long commits, long delivered, bool drained);

    [LoggerMessage(Level = LogLevel.Critical, Message = "the Kafka source failed")]
    private static partial void LogFailed(ILogger log, Exception exception);
}

/// <summary>
/// The daemon's stop request: the caller's token, SIGTERM or SIGINT, as one token. A signal is taken over (the process
/// does not die from it): the daemon drains and exits by itself.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _signals = new();
    private readonly CancellationTokenSource _linked;
    private readonly PosixSignalRegistration _sigterm;
    private readonly PosixSignalRegistration _sigint;
    private readonly Action<PosixSignal> _onSignal;

    private StopSignals(CancellationToken stop, Action<PosixSignal> onSignal)
    {
        _onSignal = onSignal;
        _linked = CancellationTokenSource.CreateLinkedTokenSource(stop, _signals.Token);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
    }

    /// <summary>Fires on the caller's token, SIGTERM or SIGINT.</summary>
    public CancellationToken Token => _linked.Token;

    /// <summary>Registers the signal handlers; <paramref name="onSignal"/> is told which signal came (to log it).</summary>
    public static StopSignals Register(CancellationToken stop, Action<PosixSignal> onSignal) => new(stop, onSignal);

    /// <inheritdoc />
    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
        _linked.Dispose();
        _signals.Dispose();
    }

    private void Stop(PosixSignalContext context)
    {
        context.Cancel = true; // we exit ourselves, after draining
        _onSignal(context.Signal);
        _signals.Cancel();
    }
}

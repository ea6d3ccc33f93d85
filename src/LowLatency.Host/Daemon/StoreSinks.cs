using LowLatency.Aggregation;
using LowLatency.Cassandra.Sink;
using LowLatency.Parquet.Sink;
using LowLatency.Market;
using LowLatency.Postgres;
using LowLatency.Redis.Sink;
using LowLatency.Ring;
using LowLatency.Sinks.Batching;
using Microsoft.Extensions.Logging;

namespace LowLatency.Host.Daemon;

/// <summary>
/// The store sinks the configuration enables (Redis with <c>REDIS_HOST</c>, PostgreSQL with <c>POSTGRES_HOST</c>,
/// Cassandra with <c>ASSET_CASSANDRA_HOST</c>), each a <see cref="BatchingSink{TWriter}"/>
/// on its own output-ring thread with the <c>SINK_*</c> settings: created, connected (bad credentials fail the start),
/// recovered from their spill journals, attached to the output ring, drained at shutdown.
/// </summary>
internal sealed class StoreSinks : IDisposable
{
    private readonly List<IBatchingSink> _sinks = [];
    private readonly List<IDisposable> _writers = [];
    private readonly List<IAsyncDisposable> _asyncWriters = [];
    private Timer? _retention;
    private (ParquetSinkWriter Writer, ILogger Log)? _parquet;
    private readonly List<(string Name, IEventProcessor Thread)> _threads = [];

    private StoreSinks()
    {
    }

    /// <summary>The sinks, in the order they were added.</summary>
    public IReadOnlyList<IBatchingSink> Sinks => _sinks;

    /// <summary>Their ring threads (health).</summary>
    public IReadOnlyList<(string Name, IEventProcessor Thread)> Threads => _threads;

    /// <summary>
    /// Creates the enabled sinks, connects their writers and replays what a previous run spilled. Throws (with the
    /// store's message) if a store refuses the connection or the credentials.
    /// </summary>
    public static StoreSinks Start(DaemonOptions options, SymbolTable symbols, ICommitMarks? commitMarks, ILoggerFactory loggers)
    {
        var stores = new StoreSinks();
        try
        {
            if (options.Redis is { } redis)
            {
                var writer = new RedisSinkWriter(redis);
                stores._writers.Add(writer);
                writer.ConnectAsync().GetAwaiter().GetResult();
                stores.Add(new BatchingSink<RedisSinkWriter>(options.Sinks with { Name = "redis" }, writer, symbols, commitMarks, loggers.CreateLogger("LowLatency.Sinks.Redis")));
            }

            if (options.Postgres is { } postgres)
            {
                var writer = new PostgresWriter(postgres);
                stores._asyncWriters.Add(writer);
                writer.MigrateAsync(CancellationToken.None).GetAwaiter().GetResult(); // also proves the credentials
                stores.Add(new BatchingSink<PostgresBatchWriter>(options.Sinks with { Name = "postgres" }, new PostgresBatchWriter(writer), symbols, commitMarks, loggers.CreateLogger("LowLatency.Sinks.Postgres")));
                var log = loggers.CreateLogger("LowLatency.Sinks.Postgres");
                stores._retention = new Timer(_ => RunRetention(writer, log), null, TimeSpan.Zero, TimeSpan.FromHours(6));
            }

            if (options.Cassandra is { } cassandra)
            {
                var writer = CassandraSinkWriter.OpenAsync(cassandra).GetAwaiter().GetResult(); // creates the schema; proves the credentials
                stores._asyncWriters.Add(writer);
                stores.Add(new BatchingSink<CassandraSinkWriter>(options.Sinks with { Name = "cassandra" }, writer, symbols, commitMarks, loggers.CreateLogger("LowLatency.Sinks.Cassandra")));
            }

            if (options.Parquet is { } parquet)
            {
                var writer = new ParquetSinkWriter(parquet);
                stores._writers.Add(writer);
                var log = loggers.CreateLogger("LowLatency.Sinks.Parquet");
                stores._parquet = (writer, log);
                stores.Add(new BatchingSink<ParquetSinkWriter>(options.Sinks with { Name = "parquet", MaxInFlightBatches = 1 }, writer, symbols, commitMarks, log));
            }

            foreach (var sink in stores._sinks)
            {
                sink.RecoverAsync().GetAwaiter().GetResult();
            }

            return stores;
        }
        catch
        {
            stores.Dispose();
            throw;
        }
    }

    /// <summary>How many store sinks <paramref name="options"/> enable (the commit watermark counts them before they exist).</summary>
    public static int CountEnabled(DaemonOptions options) =>
        (options.Redis is null ? 0 : 1) + (options.Postgres is null ? 0 : 1) + (options.Cassandra is null ? 0 : 1) + (options.Parquet is null ? 0 : 1);

    /// <summary>Adds each sink to <c>/health</c>: healthy while its thread runs and no batch is being retried.</summary>
    public void AddHealth(Dictionary<string, ComponentHealth> components)
    {
        foreach (var (name, thread) in _threads)
        {
            var counters = _sinks.First(s => s.Name == name).Counters;
            components[name + "_sink"] = new(thread.IsRunning && counters.Retrying == 0, new Dictionary<string, object?>
            {
                ["running"] = thread.IsRunning,
                ["events_written"] = counters.EventsWritten,
                ["events_in_flight"] = counters.EventsInFlight,
                ["retrying"] = counters.Retrying,
                ["retries"] = counters.Retries,
                ["failures"] = counters.Failures,
                ["spilled_bytes"] = counters.Spilled.Bytes,
            });
        }
    }

    /// <summary>Writes what the sinks hold and waits for their writes (shutdown, after the rings drained).</summary>
    public bool Drain(TimeSpan timeout)
    {
        var drained = true;
        foreach (var sink in _sinks)
        {
            drained &= sink.Drain(timeout);
        }


        return drained;
    }

    /// <summary>Adds every sink's handler to the output ring (before it starts).</summary>
    public void Attach(ValueDisruptor<OutputEvent> output)
    {
        foreach (var sink in _sinks)
        {
            _threads.Add((sink.Name, sink.Attach(output)));
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _retention?.Dispose();
        if (_parquet is { } parquet)
        {
            parquet.Log.LogInformation(
                "Parquet: {Files} files written; {Dropped} rows not written again because closed files held them (input read again after a restart)",
                parquet.Writer.FilesWritten,
                parquet.Writer.RowsDropped);
        }

        foreach (var sink in _sinks)
        {
            sink.Dispose();
        }

        foreach (var writer in _writers)
        {
            writer.Dispose();
        }

        foreach (var writer in _asyncWriters)
        {
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>The retention job: deletes what is older than POSTGRES_RETENTION_DAYS; a failure is logged and tried again next time.</summary>
    private static void RunRetention(PostgresWriter writer, ILogger log)
    {
        try
        {
            var deleted = writer.RunRetentionAsync(CancellationToken.None).GetAwaiter().GetResult();
            log.LogInformation("PostgreSQL retention ({Days} days): deleted {Candles} candles, {Alerts} alerts, {Trades} trades", writer.Options.RetentionDays, deleted.Candles, deleted.Alerts, deleted.Trades);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "PostgreSQL retention failed; it runs again in 6 h");
        }
    }

    private void Add(IBatchingSink sink) => _sinks.Add(sink);
}

using System.Collections;
using System.Globalization;
using System.Net;
using LowLatency.Connectors.Binance;
using LowLatency.Engine;
using LowLatency.Host.Replay;
using LowLatency.Kafka.Sink;
using LowLatency.Cassandra.Sink;
using LowLatency.Parquet.Sink;
using LowLatency.Postgres;
using LowLatency.Redis;
using LowLatency.Redis.Sink;
using LowLatency.Sinks.Avro;
using LowLatency.Sinks.Batching;
using LowLatency.Sinks.Files;
using Microsoft.Extensions.Logging;

namespace LowLatency.Host.Daemon;

/// <summary>
/// The daemon's configuration, from environment variables with the names the original pipelines used. Every variable,
/// its default and its meaning is in <see cref="Variables"/> (the README's table is generated from the same list).
/// Invalid values fail at start with a message naming the variable.
/// </summary>
public sealed record DaemonOptions
{
    /// <summary>Every variable the daemon reads: name, default, meaning.</summary>
    public static readonly IReadOnlyList<(string Name, string Default, string Meaning)> Variables =
    [
        ("KAFKA_BOOTSTRAP_SERVERS", "(none)", "Kafka brokers, host:port[,...]; REDPANDA_BROKERS is read when this is unset. Unset: `run` ingests Binance live over WebSocket (BINANCE_*) into the file sink."),
        ("LOWLATENCY_ROLE", "engine", "engine: aggregate (from Kafka, or live without it); connector: Binance over WebSocket to the raw topics (TOPIC_RAW_*), nothing else."),
        ("BINANCE_WS_URL", "wss://stream.binance.com:9443", "Live mode: Binance's WebSocket base URL (combined streams at /stream)."),
        ("BINANCE_STREAMS", DefaultStreams, "Live mode: streams, comma-separated; more than 1,024 are split over connections."),
        ("WS_REDUNDANCY", "2", "Live mode: connections per group of streams, deduplicated by id, so a dropped one loses nothing while its twin is up; 1 to 4."),
        ("PING_INTERVAL_SECONDS", "20", "Live mode: the client's keep-alive ping interval."),
        ("RECONNECT_MAX_DELAY_SECONDS", "30", "Live mode: longest wait between reconnect attempts (exponential backoff with jitter)."),
        ("WS_CONNECTION_TIMEOUT", "10", "Live mode: seconds to open a connection."),
        ("BINANCE_WS_TRANSPORT", "framed", "Live mode: framed (ours: RFC 6455 over a socket read by its own thread, about half the CPU per message) or clientwebsocket (the BCL's, which honours HTTPS_PROXY)."),
        ("KAFKA_GROUP_ID", "lowlatency", "Consumer group: instances in one group split the partitions."),
        ("TOPIC_RAW_TRADES", "raw_trades", "Binance JSON trades (raw or combined-stream wrapper); empty to skip."),
        ("TOPIC_RAW_KLINES", "raw_klines", "Binance JSON klines; empty to skip."),
        ("TOPIC_RAW_TICKERS", "raw_tickers", "Binance JSON 24h/mini/book tickers; empty to skip."),
        ("ASSET_PRICES_TOPIC", "data.asset_prices", "Avro `assets` records (Confluent framing); empty to skip."),
        ("ASSET_SCHEMA_LOCATION", "(embedded)", "Writer schema (.avsc) of ASSET_PRICES_TOPIC, registered under ASSET_SCHEMA_ID."),
        ("ASSET_SCHEMA_ID", "1", "Confluent schema id of that writer schema; other ids are dead-lettered."),
        ("DEBEZIUM_TOPICS", "(empty)", "Comma-separated topics of Debezium JSON change events of a kline table (e.g. cap_stock.public.kline_data); deletes and tombstones are counted, not dead-lettered."),
        ("TOPIC_PROCESSED_AGGS", "processed_aggs", "Derived topic: closed candles (keyed by symbol, like the other derived topics)."),
        ("TOPIC_ALERTS", "alerts", "Derived topic: alerts."),
        ("TOPIC_TICKERS", "tickers", "Derived topic: ticker snapshots."),
        ("DEAD_LETTER_TOPIC", "lowlatency.dead_letter", "Rejected input with the reason in headers; empty to only count them."),
        ("KAFKA_OUTPUT_ENCODING", "json", "Values of the derived topics: json (the JSON records) or avro (schemas io.lowlatency.Candle, Alert, Ticker in src/LowLatency.Sinks/Avro)."),
        ("AVRO_SCHEMA_ID_CANDLES", "(none)", "With avro: schema registry id of candle.avsc. Set all three AVRO_SCHEMA_ID_* for the Confluent wire format, none for bare Avro bodies."),
        ("AVRO_SCHEMA_ID_ALERTS", "(none)", "With avro: schema registry id of alert.avsc."),
        ("AVRO_SCHEMA_ID_TICKERS", "(none)", "With avro: schema registry id of ticker.avsc."),
        ("KAFKA_ACKS", "all", "Producer acks for the derived topics: 0, 1 or all."),
        ("KAFKA_COMPRESSION", "none", "Producer compression: none, gzip, snappy, lz4, zstd."),
        ("BATCH_SIZE", "10000", "Producer batch.num.messages."),
        ("BATCH_TIMEOUT_MS", "5", "Producer linger.ms."),
        ("COMMIT_INTERVAL_MS", "1000", "How often a commit mark goes through the pipeline."),
        ("OUTPUT_DIR", "out", "Local file sink directory; empty to disable the file sink."),
        ("OUTPUT_FORMAT", "jsonl", "Local files as jsonl or csv."),
        ("REDIS_HOST", "(none)", "Redis hot tier: set to enable it (ticker:{SYMBOL} hashes, candle:{SYMBOL}:{interval} last closed candles, the alerts stream)."),
        ("REDIS_PORT", "6379", "Redis port."),
        ("REDIS_PASSWORD", "(none)", "Redis password (AUTH)."),
        ("REDIS_USERNAME", "(none)", "Redis ACL user (AUTH username password)."),
        ("REDIS_DB", "0", "Redis database (SELECT)."),
        ("REDIS_TLS", "false", "true to speak TLS to Redis (a server built with TLS, or a TLS proxy)."),
        ("REDIS_TLS_CA_FILE", "(system trust store)", "PEM file of the authorities that sign the Redis server's certificate, trusted instead of the system's."),
        ("TICKER_TTL_SECONDS", "60", "TTL of the ticker:{SYMBOL} hashes."),
        ("TICKER_WATERMARK_DELAY_MS", "10000", "Tickers further behind the newest event time seen are stale and not written (counted)."),
        ("TICKER_MAX_FUTURE_MS", "5000", "Tickers further ahead of the wall clock are not written (counted)."),
        ("POSTGRES_HOST", "(none)", "PostgreSQL warm tier: set to enable it (candles and alerts tables, schema migrated at start)."),
        ("POSTGRES_PORT", "5432", "PostgreSQL port."),
        ("POSTGRES_USER", "postgres", "PostgreSQL user."),
        ("POSTGRES_PASSWORD", "(none)", "PostgreSQL password."),
        ("POSTGRES_DB", "postgres", "PostgreSQL database."),
        ("POSTGRES_SSLMODE", "prefer", "disable, allow, prefer, require, verify-ca or verify-full."),
        ("POSTGRES_SCHEMA", "lowlatency", "Schema of the tables."),
        ("POSTGRES_RETENTION_DAYS", "90", "Candles, alerts and trades older than this are deleted (at start, then every 6 h)."),
        ("ASSET_CASSANDRA_HOST", "(none)", "Cassandra analytics tier: set to enable it (the original consumer's assets table, and candles; schema created at start)."),
        ("ASSET_CASSANDRA_PORT", "9042", "Cassandra native-protocol port."),
        ("ASSET_CASSANDRA_USERNAME", "(none)", "Cassandra user (PasswordAuthenticator)."),
        ("ASSET_CASSANDRA_PASSWORD", "(none)", "Cassandra password."),
        ("ASSET_CASSANDRA_KEYSPACE", "assets", "Keyspace (created with SimpleStrategy if missing)."),
        ("ASSET_CASSANDRA_TABLE", "assets", "Table of the asset rows (data.asset_prices records and other klines)."),
        ("ASSET_CASSANDRA_CANDLES_TABLE", "candles", "Table of the closed candles, by (symbol, interval) and open time."),
        ("ASSET_CASSANDRA_REPLICATION_FACTOR", "1", "Replication factor of a keyspace created at start."),
        ("ASSET_CASSANDRA_COMPACTION", "SizeTieredCompactionStrategy", "Compaction of the tables: SizeTiered, Leveled, DateTiered or TimeWindow (…CompactionStrategy; TimeWindow needs Cassandra 3.8+)."),
        ("PARQUET_DIR", "(none)", "Parquet cold tier: set to a directory to enable it (candles/ and alerts/, partitioned symbol=…/date=…/)."),
        ("PARQUET_CODEC", "snappy", "Codec of the Parquet files: snappy, gzip or none."),
        ("PARQUET_ROLL_ROWS", "1000000", "The open Parquet files are closed (and their rows committed) once they hold this many rows…"),
        ("PARQUET_ROLL_SECONDS", "300", "…or once the oldest has been open this long."),
        ("PARQUET_TRADES", "false", "true to keep the raw trades too, in trades/ (one row per trade of the trade stream; replayable with lowlatency replay)."),
        ("SINK_OVERFLOW", "backpressure", "What the store sinks (Redis, PostgreSQL, Cassandra) do when a store is slow or down and their buffer is full: backpressure (the source pauses, nothing lost) or spill (to a local journal, replayed when the store is back)."),
        ("SINK_JOURNAL_DIR", "journal", "Where the store sinks keep their spill journals and failed batches."),
        ("SINK_BATCH_SIZE", "1000", "Events per batch written to a store at most."),
        ("SINK_BATCH_TIMEOUT_MS", "100", "Longest an event waits in a store sink's batch while output keeps coming."),
        ("SINK_MAX_IN_FLIGHT", "2", "Batches written to a store at once, per sink."),
        ("CANDLE_INTERVALS", "1s,1m,5m,15m,1h", "Candle intervals."),
        ("ALLOWED_LATENESS_MS", "2000", "How late a trade may arrive and still update its candle."),
        ("SHARDS", "cores - 1 (at least 1)", "Aggregation shards (pinned threads)."),
        ("SHARD_WAIT", "yield", "How idle shards wait: yield (microseconds to pick up an event; a core per shard stays busy even with no input), spin (lowest latency, a dedicated core each) or sleep (almost no CPU when idle; up to ~1 ms after an idle spell)."),
        ("RING_SIZE", "16384", "Slots of the input and output rings (a power of two)."),
        ("SYMBOL_CAPACITY", "4096", "Most distinct symbols."),
        ("LOG_LEVEL", "Information", "Trace, Debug, Information, Warning, Error or Critical."),
        ("HTTP_LISTEN", "127.0.0.1:8080", "ip:port of /health, /health/live, /health/ready and /metrics (Prometheus); port 0 picks one; empty disables."),
    ];

    private static readonly TimeSpan[] s_defaultIntervals =
        [TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), TimeSpan.FromHours(1)];

    public string? BootstrapServers { get; init; }

    /// <summary>
    /// The Binance WebSocket source of live mode (the daemon without Kafka: no <see cref="BootstrapServers"/>); null when
    /// Kafka is the source.
    /// </summary>
    public BinanceStreamOptions? Live { get; init; }

    /// <summary>What the daemon does (<c>LOWLATENCY_ROLE</c>). Default <see cref="DaemonRole.Engine"/>.</summary>
    public DaemonRole Role { get; init; } = DaemonRole.Engine;

    /// <summary>Raw topics of the connector role: trades, klines, tickers (<c>TOPIC_RAW_*</c>; defaults raw_trades, raw_klines, raw_tickers).</summary>
    public (string Trades, string Klines, string Tickers) RawTopics { get; init; } = ("raw_trades", "raw_klines", "raw_tickers");

    public string GroupId { get; init; } = "lowlatency";

    public IReadOnlyDictionary<string, FrameFormat> InputTopics { get; init; } = new Dictionary<string, FrameFormat>();

    public string? AssetSchemaLocation { get; init; }

    public int AssetSchemaId { get; init; } = 1;

    public string CandlesTopic { get; init; } = "processed_aggs";

    public string AlertsTopic { get; init; } = "alerts";

    public string TickersTopic { get; init; } = "tickers";

    public string? DeadLetterTopic { get; init; } = "lowlatency.dead_letter";

    /// <summary>How the derived topics' values are encoded. Default JSON.</summary>
    public OutputEncoding OutputEncoding { get; init; } = OutputEncoding.Json;

    /// <summary>With Avro: the registry ids for the Confluent wire format; null (default) for bare Avro bodies.</summary>
    public OutputSchemaIds? OutputSchemaIds { get; init; }

    public string Acks { get; init; } = "all";

    public string Compression { get; init; } = "none";

    public int BatchSize { get; init; } = 10_000;

    public int BatchTimeoutMs { get; init; } = 5;

    public TimeSpan CommitInterval { get; init; } = TimeSpan.FromSeconds(1);

    public string? OutputDirectory { get; init; } = "out";

    public OutputFileFormat OutputFormat { get; init; } = OutputFileFormat.JsonLines;

    public IReadOnlyList<TimeSpan> Intervals { get; init; } = s_defaultIntervals;

    /// <summary>The Redis hot tier, or null when <c>REDIS_HOST</c> is unset.</summary>
    public RedisSinkOptions? Redis { get; init; }

    /// <summary>The PostgreSQL warm tier, or null when <c>POSTGRES_HOST</c> is unset.</summary>
    public PostgresOptions? Postgres { get; init; }

    /// <summary>The Cassandra analytics tier, or null when <c>ASSET_CASSANDRA_HOST</c> is unset.</summary>
    public CassandraSinkOptions? Cassandra { get; init; }

    /// <summary>The Parquet cold tier, or null when <c>PARQUET_DIR</c> is unset.</summary>
    public ParquetSinkOptions? Parquet { get; init; }

    /// <summary>The store sinks' batching, in-flight, retry and overflow settings (each sink takes its own name).</summary>
    public BatchingSinkOptions Sinks { get; init; } = new() { Name = "sink" };

    public TimeSpan Lateness { get; init; } = TimeSpan.FromSeconds(2);

    public int Shards { get; init; } = Math.Max(1, Environment.ProcessorCount - 1);

    public int RingSize { get; init; } = 16_384;

    /// <summary>How idle shards wait (<c>SHARD_WAIT</c>).</summary>
    public ShardWait ShardWait { get; init; } = ShardWait.Yield;

    public int SymbolCapacity { get; init; } = 4096;

    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>Where the health and metrics endpoints listen; null disables them. Default 127.0.0.1:8080.</summary>
    public IPEndPoint? HttpListen { get; init; } = new(IPAddress.Loopback, 8080);

    /// <summary>Reads the process environment.</summary>
    public static DaemonOptions FromEnvironment() => FromVariables(Environment.GetEnvironmentVariables());

    /// <summary>Reads <paramref name="variables"/>; throws <see cref="FormatException"/> naming the first bad variable.</summary>
    public static DaemonOptions FromVariables(IDictionary variables)
    {
        string? Get(string name) => variables.Contains(name) ? variables[name] as string : null;
        string Text(string name, string fallback) => Get(name) ?? fallback;
        bool Flag(string name, bool fallback) => Text(name, fallback ? "true" : "false") switch
        {
            "true" or "1" => true,
            "false" or "0" => false,
            var other => throw new FormatException($"{name}: '{other}' is not true or false."),
        };
        string? Optional(string name, string? fallback) => Get(name) is { } v ? (v.Length == 0 ? null : v) : fallback;
        int Int(string name, int fallback, int minimum) => Get(name) is not { } v ? fallback
            : int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= minimum ? n
            : throw new FormatException($"{name}: '{v}' is not an integer >= {minimum}.");

        var bootstrap = Get("KAFKA_BOOTSTRAP_SERVERS") is { Length: > 0 } k ? k : Get("REDPANDA_BROKERS");
        if (string.IsNullOrWhiteSpace(bootstrap))
        {
            bootstrap = null; // live mode: Binance over WebSocket
        }

        var role = Text("LOWLATENCY_ROLE", "engine") switch
        {
            "engine" => DaemonRole.Engine,
            "connector" => DaemonRole.Connector,
            var other => throw new FormatException($"LOWLATENCY_ROLE: '{other}' is not engine or connector."),
        };
        if (role == DaemonRole.Connector && bootstrap is null)
        {
            throw new FormatException("KAFKA_BOOTSTRAP_SERVERS: not set (nor REDPANDA_BROKERS); the connector role produces to Kafka.");
        }

        var topics = new Dictionary<string, FrameFormat>(StringComparer.Ordinal);
        foreach (var (name, fallback, format) in new[]
        {
            ("TOPIC_RAW_TRADES", "raw_trades", FrameFormat.BinanceJson),
            ("TOPIC_RAW_KLINES", "raw_klines", FrameFormat.BinanceJson),
            ("TOPIC_RAW_TICKERS", "raw_tickers", FrameFormat.BinanceJson),
            ("ASSET_PRICES_TOPIC", "data.asset_prices", FrameFormat.AssetPriceAvro),
        })
        {
            if (Optional(name, fallback) is { } topic && !topics.TryAdd(topic, format) && topics[topic] != format)
            {
                throw new FormatException($"{name}: topic '{topic}' is already consumed in another format.");
            }
        }

        foreach (var topic in Text("DEBEZIUM_TOPICS", "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!topics.TryAdd(topic, FrameFormat.DebeziumKlineJson) && topics[topic] != FrameFormat.DebeziumKlineJson)
            {
                throw new FormatException($"DEBEZIUM_TOPICS: topic '{topic}' is already consumed in another format.");
            }
        }

        if (topics.Count == 0 && bootstrap is not null)
        {
            throw new FormatException("TOPIC_RAW_TRADES, TOPIC_RAW_KLINES, TOPIC_RAW_TICKERS, ASSET_PRICES_TOPIC, DEBEZIUM_TOPICS: all empty, nothing to consume.");
        }

        var schemaLocation = Optional("ASSET_SCHEMA_LOCATION", null);
        if (schemaLocation is not null && !File.Exists(schemaLocation))
        {
            throw new FormatException($"ASSET_SCHEMA_LOCATION: file '{schemaLocation}' does not exist.");
        }

        var acks = Text("KAFKA_ACKS", "all");
        if (acks is not ("0" or "1" or "all" or "-1"))
        {
            throw new FormatException($"KAFKA_ACKS: '{acks}' is not 0, 1 or all.");
        }

        var compression = Text("KAFKA_COMPRESSION", "none");
        if (compression is not ("none" or "gzip" or "snappy" or "lz4" or "zstd"))
        {
            throw new FormatException($"KAFKA_COMPRESSION: '{compression}' is not none, gzip, snappy, lz4 or zstd.");
        }

        var encoding = Text("KAFKA_OUTPUT_ENCODING", "json") switch
        {
            "json" => OutputEncoding.Json,
            "avro" => OutputEncoding.Avro,
            var other => throw new FormatException($"KAFKA_OUTPUT_ENCODING: '{other}' is not json or avro."),
        };
        var schemaIds = OutputSchemaIdsFrom(Optional, encoding);

        var ringSize = Int("RING_SIZE", 16_384, 2);
        if (!int.IsPow2(ringSize))
        {
            throw new FormatException($"RING_SIZE: {ringSize} is not a power of two.");
        }

        return new DaemonOptions
        {
            BootstrapServers = bootstrap,
            Live = bootstrap is null || role == DaemonRole.Connector ? LiveFrom(Text, Int) : null,
            Role = role,
            RawTopics = (Text("TOPIC_RAW_TRADES", "raw_trades"), Text("TOPIC_RAW_KLINES", "raw_klines"), Text("TOPIC_RAW_TICKERS", "raw_tickers")),
            GroupId = Text("KAFKA_GROUP_ID", "lowlatency"),
            InputTopics = topics,
            AssetSchemaLocation = schemaLocation,
            AssetSchemaId = Int("ASSET_SCHEMA_ID", 1, 0),
            CandlesTopic = Text("TOPIC_PROCESSED_AGGS", "processed_aggs"),
            AlertsTopic = Text("TOPIC_ALERTS", "alerts"),
            TickersTopic = Text("TOPIC_TICKERS", "tickers"),
            DeadLetterTopic = Optional("DEAD_LETTER_TOPIC", "lowlatency.dead_letter"),
            OutputEncoding = encoding,
            OutputSchemaIds = schemaIds,
            Acks = acks,
            Compression = compression,
            BatchSize = Int("BATCH_SIZE", 10_000, 1),
            BatchTimeoutMs = Int("BATCH_TIMEOUT_MS", 5, 0),
            CommitInterval = TimeSpan.FromMilliseconds(Int("COMMIT_INTERVAL_MS", 1_000, 10)),
            OutputDirectory = Optional("OUTPUT_DIR", "out"),
            OutputFormat = Text("OUTPUT_FORMAT", "jsonl") switch
            {
                "jsonl" => OutputFileFormat.JsonLines,
                "csv" => OutputFileFormat.Csv,
                var other => throw new FormatException($"OUTPUT_FORMAT: '{other}' is not jsonl or csv."),
            },
            Intervals = Get("CANDLE_INTERVALS") is { } intervals
                ? Wrap("CANDLE_INTERVALS", () => (IReadOnlyList<TimeSpan>)[.. intervals.Split(',').Select(ReplayCommandOptions.ParseDuration)])
                : s_defaultIntervals,
            Lateness = TimeSpan.FromMilliseconds(Int("ALLOWED_LATENESS_MS", 2_000, 0)),
            Redis = Optional("REDIS_HOST", null) is not { } redisHost ? null : new RedisSinkOptions
            {
                Redis = new RedisOptions
                {
                    Host = redisHost,
                    Port = Int("REDIS_PORT", 6379, 1) is var port && port <= 65_535 ? port : throw new FormatException($"REDIS_PORT: {Get("REDIS_PORT")} is not a port."),
                    Password = Optional("REDIS_PASSWORD", null),
                    Username = Optional("REDIS_USERNAME", null),
                    Database = Int("REDIS_DB", 0, 0),
                    Tls = Flag("REDIS_TLS", false),
                    TlsCaFile = Optional("REDIS_TLS_CA_FILE", null),
                    ClientName = "lowlatency",
                },
                TickerTtlSeconds = Int("TICKER_TTL_SECONDS", 60, 1),
                TickerWatermarkDelayMs = Int("TICKER_WATERMARK_DELAY_MS", 10_000, 0),
                TickerMaxFutureMs = Int("TICKER_MAX_FUTURE_MS", 5_000, 0),
            },
            Postgres = Optional("POSTGRES_HOST", null) is null ? null : PostgresOptions.FromVariables(variables),
            Cassandra = Optional("ASSET_CASSANDRA_HOST", null) is null ? null : CassandraSinkOptions.FromVariables(variables),
            Parquet = Optional("PARQUET_DIR", null) is not { } parquetDir ? null : new ParquetSinkOptions
            {
                Directory = parquetDir,
                Codec = Text("PARQUET_CODEC", "snappy") switch
                {
                    "snappy" => LowLatency.Parquet.Format.CompressionCodec.Snappy,
                    "gzip" => LowLatency.Parquet.Format.CompressionCodec.Gzip,
                    "none" => LowLatency.Parquet.Format.CompressionCodec.Uncompressed,
                    var other => throw new FormatException($"PARQUET_CODEC: '{other}' is not snappy, gzip or none."),
                },
                RollRows = Int("PARQUET_ROLL_ROWS", 1_000_000, 1),
                RollInterval = TimeSpan.FromSeconds(Int("PARQUET_ROLL_SECONDS", 300, 1)),
                Trades = Flag("PARQUET_TRADES", false),
            },
            Sinks = new BatchingSinkOptions
            {
                Name = "sink",
                Overflow = Text("SINK_OVERFLOW", "backpressure") switch
                {
                    "backpressure" => OverflowPolicy.Backpressure,
                    "spill" => OverflowPolicy.Spill,
                    var other => throw new FormatException($"SINK_OVERFLOW: '{other}' is not backpressure or spill."),
                },
                JournalDirectory = Optional("SINK_JOURNAL_DIR", "journal") ?? throw new FormatException("SINK_JOURNAL_DIR: empty; the store sinks need a directory for their journals."),
                BatchSize = Int("SINK_BATCH_SIZE", 1_000, 1),
                BatchTimeout = TimeSpan.FromMilliseconds(Int("SINK_BATCH_TIMEOUT_MS", 100, 1)),
                MaxInFlightBatches = Int("SINK_MAX_IN_FLIGHT", 2, 1),
            },
            Shards = Int("SHARDS", Math.Max(1, Environment.ProcessorCount - 1), 1),
            RingSize = ringSize,
            ShardWait = Text("SHARD_WAIT", "yield").ToLowerInvariant() switch
            {
                "yield" => ShardWait.Yield,
                "spin" => ShardWait.Spin,
                "sleep" => ShardWait.Sleep,
                var other => throw new FormatException($"SHARD_WAIT: '{other}' is not yield, spin or sleep."),
            },
            SymbolCapacity = Int("SYMBOL_CAPACITY", 4096, 1),
            LogLevel = Enum.TryParse<LogLevel>(Text("LOG_LEVEL", "Information"), ignoreCase: true, out var level) && Enum.IsDefined(level) ? level
                : throw new FormatException($"LOG_LEVEL: '{Get("LOG_LEVEL")}' is not Trace, Debug, Information, Warning, Error or Critical."),
            HttpListen = Optional("HTTP_LISTEN", "127.0.0.1:8080") is not { } listen ? null
                : ParseEndPoint(listen) ?? throw new FormatException($"HTTP_LISTEN: '{listen}' is not ip:port (e.g. 127.0.0.1:8080, 0.0.0.0:9100, [::1]:8080)."),
        };
    }

    /// <summary>Most connections per stream group in live mode (<c>WS_REDUNDANCY</c>): Binance limits connections per IP.</summary>
    public const int MaxRedundancy = 4;

    /// <summary>The streams of the original Binance→Kafka connector.</summary>
    public const string DefaultStreams = "btcusdt@trade,ethusdt@trade,bnbusdt@trade,btcusdt@kline_1m,ethusdt@kline_1m,btcusdt@ticker";

    private static BinanceStreamOptions LiveFrom(Func<string, string, string> text, Func<string, int, int, int> integer)
    {
        var url = text("BINANCE_WS_URL", "wss://stream.binance.com:9443");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("ws" or "wss"))
        {
            throw new FormatException($"BINANCE_WS_URL: '{url}' is not a ws:// or wss:// URL.");
        }

        IReadOnlyList<string> streams;
        try
        {
            streams = BinanceStreamOptions.ParseStreams(text("BINANCE_STREAMS", DefaultStreams));
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"BINANCE_STREAMS: {e.Message}", e);
        }

        if (streams.Count == 0)
        {
            throw new FormatException("BINANCE_STREAMS: empty, nothing to ingest.");
        }

        var redundancy = integer("WS_REDUNDANCY", 2, 1);
        if (redundancy > MaxRedundancy)
        {
            throw new FormatException($"WS_REDUNDANCY: {redundancy} is more than {MaxRedundancy} (each is a connection per stream group; Binance limits connections per IP).");
        }

        var transport = text("BINANCE_WS_TRANSPORT", "framed").ToLowerInvariant() switch
        {
            "framed" => BinanceWebSocketTransport.Framed,
            "clientwebsocket" => BinanceWebSocketTransport.ClientWebSocket,
            var other => throw new FormatException($"BINANCE_WS_TRANSPORT: '{other}' is not framed or clientwebsocket."),
        };
        var options = new BinanceStreamOptions
        {
            Url = uri,
            Transport = transport,
            Streams = streams,
            Redundancy = redundancy,
            KeepAliveInterval = TimeSpan.FromSeconds(integer("PING_INTERVAL_SECONDS", 20, 1)),
            ReconnectMaxDelay = TimeSpan.FromSeconds(integer("RECONNECT_MAX_DELAY_SECONDS", 30, 1)),
            ConnectTimeout = TimeSpan.FromSeconds(integer("WS_CONNECTION_TIMEOUT", 10, 1)),
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"BINANCE_STREAMS, WS_REDUNDANCY, PING_INTERVAL_SECONDS, RECONNECT_MAX_DELAY_SECONDS, WS_CONNECTION_TIMEOUT: {e.Message}", e);
        }

        return options;
    }

    /// <summary>The three AVRO_SCHEMA_ID_* variables: all set (Confluent framing) or none (bare Avro), and only with Avro.</summary>
    private static OutputSchemaIds? OutputSchemaIdsFrom(Func<string, string?, string?> optional, OutputEncoding encoding)
    {
        string[] names = ["AVRO_SCHEMA_ID_CANDLES", "AVRO_SCHEMA_ID_ALERTS", "AVRO_SCHEMA_ID_TICKERS"];
        var ids = new int?[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            if (optional(names[i], null) is not { } text)
            {
                continue;
            }

            if (encoding != OutputEncoding.Avro)
            {
                throw new FormatException($"{names[i]}: set, but KAFKA_OUTPUT_ENCODING is not avro.");
            }

            ids[i] = int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) && id >= 0 ? id
                : throw new FormatException($"{names[i]}: '{text}' is not an integer >= 0.");
        }

        if (Array.FindIndex(ids, id => id is null) is var missing and >= 0 && Array.FindIndex(ids, id => id is not null) is var set and >= 0)
        {
            throw new FormatException($"{names[missing]}: not set, but {names[set]} is; the Confluent wire format needs all three schema ids (or none, for bare Avro).");
        }

        return ids[0] is { } candles ? new OutputSchemaIds(candles, ids[1]!.Value, ids[2]!.Value) : null;
    }

    /// <summary>An IP literal and an explicit port (IPEndPoint.TryParse alone would take a missing port as 0).</summary>
    private static IPEndPoint? ParseEndPoint(string text) =>
        text.LastIndexOf(':') is var colon and > 0 && colon > text.LastIndexOf(']') && colon < text.Length - 1
            && (text.StartsWith('[') || text.IndexOf(':', StringComparison.Ordinal) == colon) // IPv6 in brackets
            && text[(colon + 1)..].All(char.IsAsciiDigit) && IPEndPoint.TryParse(text, out var endPoint) ? endPoint : null;

    private static T Wrap<T>(string name, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (FormatException e)
        {
            throw new FormatException($"{name}: {e.Message}", e);
        }
    }
}

/// <summary>How idle shards wait for events (<c>SHARD_WAIT</c>).</summary>
public enum ShardWait
{
    /// <summary>Spin briefly, then yield the core between checks.</summary>
    Yield,

    /// <summary>Spin: a dedicated core per shard.</summary>
    Spin,

    /// <summary>Spin, yield, then sleep 1 ms between checks.</summary>
    Sleep,
}

/// <summary>What <c>lowlatency run</c> does.</summary>
public enum DaemonRole
{
    /// <summary>Aggregates: consumes Kafka (or Binance live when no Kafka is configured) into candles, tickers and alerts.</summary>
    Engine,

    /// <summary>The seed pipeline's Binance→Kafka connector: WebSocket frames produced to the raw topics, keyed by symbol.</summary>
    Connector,
}

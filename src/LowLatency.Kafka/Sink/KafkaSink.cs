using System.Buffers;
using Confluent.Kafka;
using LowLatency.Aggregation;
using LowLatency.Codecs.Avro;
using LowLatency.Market;
using LowLatency.Ring;
using LowLatency.Sinks;
using LowLatency.Sinks.Avro;
using Microsoft.Extensions.Logging;

namespace LowLatency.Kafka.Sink;

/// <summary>Options of a <see cref="KafkaSink"/>; defaults are the original pipelines' topic names and settings.</summary>
public sealed record KafkaSinkOptions
{
    /// <summary><c>bootstrap.servers</c>. Required.</summary>
    public required string BootstrapServers { get; init; }

    /// <summary>Closed candles. Default <c>processed_aggs</c>.</summary>
    public string CandlesTopic { get; init; } = "processed_aggs";

    /// <summary>Alerts. Default <c>alerts</c>.</summary>
    public string AlertsTopic { get; init; } = "alerts";

    /// <summary>Ticker snapshots. Default <c>tickers</c>.</summary>
    public string TickersTopic { get; init; } = "tickers";

    /// <summary><c>acks</c>: <c>all</c> (default), <c>1</c> or <c>0</c>. Anything but <c>all</c> weakens "durably written".</summary>
    public string Acks { get; init; } = "all";

    /// <summary><c>compression.type</c>: none (default), gzip, snappy, lz4, zstd.</summary>
    public string Compression { get; init; } = "none";

    /// <summary><c>batch.num.messages</c>: messages per produce request at most. Default 10,000.</summary>
    public int BatchSize { get; init; } = 10_000;

    /// <summary><c>linger.ms</c>: how long the producer waits to fill a batch. Default 5 ms.</summary>
    public int BatchTimeoutMs { get; init; } = 5;

    /// <summary>Further librdkafka producer settings, e.g. security.</summary>
    public IReadOnlyDictionary<string, string> Config { get; init; } = new Dictionary<string, string>();

    /// <summary>How message values are encoded. Default <see cref="OutputEncoding.Json"/>.</summary>
    public OutputEncoding Encoding { get; init; } = OutputEncoding.Json;

    /// <summary>
    /// With <see cref="OutputEncoding.Avro"/>: the Schema Registry ids under which <see cref="OutputSchemas"/> are
    /// registered. Set, each value is in the Confluent wire format (magic byte 0, the 4-byte big-endian id, the body);
    /// null (default), each value is the bare Avro body and readers take the schema from src/LowLatency.Sinks/Avro.
    /// </summary>
    public OutputSchemaIds? SchemaIds { get; init; }
}

/// <summary>How the Kafka sink encodes message values.</summary>
public enum OutputEncoding : byte
{
    /// <summary>One JSON object per message (the records of <see cref="OutputRecords"/>, without the line feed).</summary>
    Json,

    /// <summary>One Avro record per message, schemas <see cref="OutputSchemas"/>; framed as <see cref="KafkaSinkOptions.SchemaIds"/> says.</summary>
    Avro,
}

/// <summary>
/// Produces the output ring's closed candles, alerts and tickers to their derived topics as JSON or Avro (the records of
/// <see cref="OutputRecords"/>: the file sink's fields; <see cref="KafkaSinkOptions.Encoding"/>), keyed by symbol, with the record's deterministic key in the
/// <c>lowlatency.key</c> header, batched by the producer; the producer's delivery reports acknowledge commit marks.
/// </summary>
/// <remarks>
/// A mark is acknowledged once every message produced before it has been delivered (acknowledged by the brokers as
/// <see cref="KafkaSinkOptions.Acks"/> says): the sink flushes the producer at the mark. Counting delivery reports
/// would not do, because reports of different partitions arrive in any order; a flush a second (the marks' pace) costs
/// one round trip while the output ring buffers. A delivery that fails for good (librdkafka has retried until
/// <c>delivery.timeout.ms</c>) stops all further acknowledgements: the source then commits nothing more, the failure
/// is logged and counted, and a restart replays from the last commit, so the lost message is produced again. When
/// the producer's queue is full, the sink waits (the output ring fills, the shards wait, the source pauses): nothing
/// is dropped and memory stays bounded.
/// </remarks>
public sealed partial class KafkaSink : IDisposable
{
    private readonly KafkaSinkOptions _options;
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly OutputRecords _records;
    private readonly RowWriter _row;
    private readonly int _rowEnd; // bytes after each record: JSON's line feed, nothing after Avro
    private readonly ArrayBufferWriter<byte> _key = new(128);
    private readonly ICommitMarks? _commitMarks;
    private readonly ILogger _log;
    private readonly Action<DeliveryReport<byte[], byte[]>> _onDelivery;
    private long _produced;
    private long _delivered;
    private long _failed;

    /// <summary>Creates the producer.</summary>
    public KafkaSink(KafkaSinkOptions options, SymbolTable symbols, ICommitMarks? commitMarks = null, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(symbols);
        _options = options;
        _records = new OutputRecords(symbols);
        (_row, _rowEnd) = options.Encoding switch
        {
            OutputEncoding.Json => ((RowWriter)new JsonRowWriter(), 1),
            OutputEncoding.Avro => (options.SchemaIds is { } ids ? new AvroRowWriter(AvroFraming.Confluent, ids) : new AvroRowWriter(), 0),
            _ => throw new ArgumentException($"Encoding must be Json or Avro, not '{options.Encoding}'.", nameof(options)),
        };
        _commitMarks = commitMarks;
        _log = log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _onDelivery = OnDelivery;
        LibRdKafka.EnsureResolvable();
        var config = ProducerSettings.Create(options.BootstrapServers, options.Acks, options.Compression, options.BatchSize, options.BatchTimeoutMs, options.Config);
        _producer = new ProducerBuilder<byte[], byte[]>(config)
            .SetErrorHandler((_, error) => LogProducerError(error.Code, error.Reason))
            .Build();
    }

    /// <summary>Messages handed to the producer.</summary>
    public long Produced => Volatile.Read(ref _produced); // written by the sink thread only

    /// <summary>Messages the brokers acknowledged.</summary>
    public long Delivered => Volatile.Read(ref _delivered);

    /// <summary>Messages whose delivery failed for good (after that, no mark is acknowledged).</summary>
    public long Failed => Volatile.Read(ref _failed);

    /// <summary>Produces one output event (sink thread).</summary>
    public void Write(in OutputEvent e)
    {
        if (e.Kind == OutputKind.Mark)
        {
            // Everything before the mark must be delivered; a message that failed for good blocks every later mark.
            while (_producer.Flush(TimeSpan.FromSeconds(1)) > 0)
            {
            }

            if (Volatile.Read(ref _failed) == 0)
            {
                _commitMarks?.OnDurable(e.MarkId);
            }

            return;
        }

        var topic = e.Kind switch
        {
            OutputKind.Candle => _options.CandlesTopic,
            OutputKind.Alert => _options.AlertsTopic,
            OutputKind.Ticker => _options.TickersTopic,
            _ => null,
        };
        if (topic is null)
        {
            return;
        }

        _row.Clear();
        _records.Write(_row, e);
        var value = _row.Buffer.WrittenSpan[..^_rowEnd].ToArray(); // without JSON's line feed
        _key.ResetWrittenCount();
        _records.WriteKey(_key, e);
        var symbolId = e.Kind == OutputKind.Candle ? e.Candle.SymbolId : e.SymbolId;
        var message = new Message<byte[], byte[]>
        {
            Key = _records.Symbols.GetUtf8(symbolId).ToArray(),
            Value = value,
            Headers = [new Header("lowlatency.key", _key.WrittenSpan.ToArray())],
        };

        while (true)
        {
            try
            {
                _producer.Produce(topic, message, _onDelivery);
                break;
            }
            catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                _producer.Poll(TimeSpan.FromMilliseconds(10)); // backpressure: wait for deliveries to make room
            }
        }

        _produced++;
    }

    /// <summary>Waits up to <paramref name="timeout"/> for every produced message to be delivered.</summary>
    public bool Flush(TimeSpan timeout) => _producer.Flush(timeout) == 0;

    /// <inheritdoc />
    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
        _row.Dispose();
    }

    private void OnDelivery(DeliveryReport<byte[], byte[]> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.Increment(ref _failed);
            LogDeliveryFailed(report.Topic, report.Error.Code, report.Error.Reason);
            return;
        }

        Interlocked.Increment(ref _delivered);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka sink: {Code}: {Reason}; librdkafka retries with backoff")]
    private partial void LogProducerError(ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Kafka sink: delivery to {Topic} failed for good: {Code}: {Reason}. No more commits until a restart replays it")]
    private partial void LogDeliveryFailed(string topic, ErrorCode code, string reason);
}

/// <summary>The output ring's Kafka handler (on the sink's own thread).</summary>
public readonly struct KafkaSinkHandler(KafkaSink sink) : IValueEventHandler<OutputEvent>
{
    /// <inheritdoc />
    public void OnEvent(ref OutputEvent data, long sequence, bool endOfBatch) => sink.Write(data);

    /// <inheritdoc />
    public void OnShutdown() => sink.Flush(TimeSpan.FromSeconds(30));
}

using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace LowLatency.Kafka.Connector;

/// <summary>Options of a <see cref="RawTopicProducer"/>; the defaults are the original Binance→Kafka connector's.</summary>
public sealed record RawTopicProducerOptions
{
    /// <summary>Kafka brokers, host:port[,...].</summary>
    public required string BootstrapServers { get; init; }

    /// <summary>Topic of trade and aggTrade frames (<c>TOPIC_RAW_TRADES</c>). Default <c>raw_trades</c>.</summary>
    public string TradesTopic { get; init; } = "raw_trades";

    /// <summary>Topic of kline frames (<c>TOPIC_RAW_KLINES</c>). Default <c>raw_klines</c>.</summary>
    public string KlinesTopic { get; init; } = "raw_klines";

    /// <summary>Topic of 24 h ticker, mini ticker and book ticker frames (<c>TOPIC_RAW_TICKERS</c>). Default <c>raw_tickers</c>.</summary>
    public string TickersTopic { get; init; } = "raw_tickers";

    /// <summary>Producer acks: 0, 1 or all (<c>KAFKA_ACKS</c>). Default all, with idempotence.</summary>
    public string Acks { get; init; } = "all";

    /// <summary>Compression: none, gzip, snappy, lz4, zstd (<c>KAFKA_COMPRESSION</c>). Default none.</summary>
    public string Compression { get; init; } = "none";

    /// <summary>Most messages per batch (<c>BATCH_SIZE</c>, librdkafka's batch.num.messages). Default 10,000.</summary>
    public int BatchSize { get; init; } = 10_000;

    /// <summary>How long a batch waits to fill (<c>BATCH_TIMEOUT_MS</c>, linger.ms). Default 5.</summary>
    public int BatchTimeoutMs { get; init; } = 5;

    /// <summary>
    /// Most messages buffered while the brokers do not take them (queue.buffering.max.messages); past it,
    /// <see cref="RawTopicProducer.Produce"/> waits, which holds the WebSocket readers. Default 100,000.
    /// </summary>
    public int MaxBufferedMessages { get; init; } = 100_000;
}

/// <summary>
/// The connector role: Binance combined-stream frames produced to the raw topics the original pipelines read
/// (<c>raw_trades</c>, <c>raw_klines</c>, <c>raw_tickers</c>), keyed by symbol, batched by librdkafka, with the receive
/// time as the message timestamp and in the header <c>lowlatency.receive_ns</c>. A frame of another stream (depth) is
/// counted as unrouted. Buffering is bounded (<see cref="RawTopicProducerOptions.MaxBufferedMessages"/>); when it is
/// full, <see cref="Produce"/> waits for deliveries to make room: backpressure on the socket readers, never unbounded
/// memory. One thread produces at a time (the WebSocket client's delivery lock).
/// </summary>
public sealed partial class RawTopicProducer : IDisposable
{
    private const string ReceiveHeader = "lowlatency.receive_ns";
    private readonly RawTopicProducerOptions _options;
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly ILogger _log;
    private readonly Action<DeliveryReport<byte[], byte[]>> _onDelivery;
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal); // symbol → key bytes, one allocation per symbol
    private long _produced;
    private long _delivered;
    private long _failed;
    private long _unrouted;
    private long _waits;
    private long _rejected;

    /// <summary>Creates the producer (nothing is sent until the first frame).</summary>
    public RawTopicProducer(RawTopicProducerOptions options, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _log = log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _onDelivery = OnDelivery;
        LibRdKafka.EnsureResolvable();
        var config = ProducerSettings.Create(options.BootstrapServers, options.Acks, options.Compression, options.BatchSize, options.BatchTimeoutMs);
        config.QueueBufferingMaxMessages = options.MaxBufferedMessages;
        _producer = new ProducerBuilder<byte[], byte[]>(config)
            .SetErrorHandler((_, error) => LogProducerError(error.Code, error.Reason))
            .Build();
    }

    /// <summary>Frames handed to the producer.</summary>
    public long Produced => Volatile.Read(ref _produced);

    /// <summary>Frames the brokers acknowledged.</summary>
    public long Delivered => Volatile.Read(ref _delivered);

    /// <summary>Frames whose delivery failed for good (after librdkafka's retries).</summary>
    public long Failed => Volatile.Read(ref _failed);

    /// <summary>
    /// Frames the producer refused at once (larger than <c>message.max.bytes</c>, an unknown topic…): counted, logged,
    /// never produced.
    /// </summary>
    public long Rejected => Volatile.Read(ref _rejected);

    /// <summary>Frames of streams no raw topic takes (depth).</summary>
    public long Unrouted => Volatile.Read(ref _unrouted);

    /// <summary>Times <see cref="Produce"/> waited because the buffer was full.</summary>
    public long Waits => Volatile.Read(ref _waits);

    /// <summary>Messages buffered, not yet acknowledged.</summary>
    public long InFlight => Produced - Delivered - Failed;

    /// <summary>Produces one combined-stream frame (<c>{"stream":"btcusdt@trade","data":…}</c>) received at <paramref name="receiveTimeNs"/>.</summary>
    public void Produce(ReadOnlySpan<byte> frame, long receiveTimeNs)
    {
        if (!TryRoute(frame, out var topic, out var symbol))
        {
            Interlocked.Increment(ref _unrouted);
            return;
        }

        var message = new Message<byte[], byte[]>
        {
            Key = KeyOf(symbol),
            Value = frame.ToArray(),
            Timestamp = new Timestamp(receiveTimeNs / 1_000_000, TimestampType.CreateTime),
            Headers = [new Header(ReceiveHeader, Encoding.ASCII.GetBytes(receiveTimeNs.ToString(System.Globalization.CultureInfo.InvariantCulture)))],
        };
        while (true)
        {
            try
            {
                _producer.Produce(topic, message, _onDelivery);
                break;
            }
            catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                Interlocked.Increment(ref _waits);
                _producer.Poll(TimeSpan.FromMilliseconds(10)); // bounded: wait for deliveries to make room
            }
            catch (ProduceException<byte[], byte[]> e)
            {
                // Refused for good (no retry can help): the connector's failure to count and log, not the WebSocket
                // client's handler failure, and never a reason to stop reading the other frames.
                Interlocked.Increment(ref _rejected);
                LogRejected(topic, frame.Length, e.Error.Code, e.Error.Reason);
                return;
            }
        }

        Interlocked.Increment(ref _produced);
    }

    /// <summary>Waits until every buffered frame is acknowledged (or failed); false if some are still pending after <paramref name="timeout"/>.</summary>
    public bool Flush(TimeSpan timeout) => _producer.Flush(timeout) == 0;

    /// <inheritdoc />
    public void Dispose() => _producer.Dispose();

    /// <summary>The raw topic and the symbol (upper case) of a combined-stream frame; false for other streams.</summary>
    internal bool TryRoute(ReadOnlySpan<byte> frame, out string topic, out ReadOnlySpan<byte> symbol)
    {
        topic = string.Empty;
        symbol = default;
        var prefix = "{\"stream\":\""u8;
        if (!frame.StartsWith(prefix))
        {
            return false;
        }

        var rest = frame[prefix.Length..];
        var end = rest.IndexOf((byte)'"');
        var at = end < 0 ? -1 : rest[..end].IndexOf((byte)'@');
        if (at <= 0)
        {
            return false;
        }

        symbol = rest[..at];
        var kind = rest[(at + 1)..end];
        if (kind.SequenceEqual("trade"u8) || kind.SequenceEqual("aggTrade"u8))
        {
            topic = _options.TradesTopic;
        }
        else if (kind.StartsWith("kline_"u8))
        {
            topic = _options.KlinesTopic;
        }
        else if (kind.StartsWith("ticker"u8) || kind.SequenceEqual("miniTicker"u8) || kind.SequenceEqual("bookTicker"u8))
        {
            topic = _options.TickersTopic;
        }

        return topic.Length > 0;
    }

    private byte[] KeyOf(ReadOnlySpan<byte> lowerSymbol)
    {
        Span<char> upper = stackalloc char[Math.Min(lowerSymbol.Length, 64)];
        var length = 0;
        foreach (var b in lowerSymbol[..upper.Length])
        {
            upper[length++] = char.ToUpperInvariant((char)b);
        }

        var lookup = _keys.GetAlternateLookup<ReadOnlySpan<char>>();
        if (!lookup.TryGetValue(upper[..length], out var key))
        {
            var symbol = new string(upper[..length]);
            key = Encoding.ASCII.GetBytes(symbol);
            _keys[symbol] = key;
        }

        return key;
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka connector: {Code}: {Reason}; librdkafka retries with backoff, frames wait in the bounded buffer")]
    private partial void LogProducerError(ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Kafka connector: a {Bytes}-byte frame for {Topic} was refused: {Code}: {Reason}")]
    private partial void LogRejected(string topic, int bytes, ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Kafka connector: a frame for {Topic} could not be delivered: {Code}: {Reason}")]
    private partial void LogDeliveryFailed(string topic, ErrorCode code, string reason);
}

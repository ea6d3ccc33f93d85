using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using LowLatency.Aggregation;
using LowLatency.Codecs.Avro;
using LowLatency.Codecs.Binance;
using LowLatency.Codecs.Debezium;
using LowLatency.Market;
using LowLatency.Ring;

namespace LowLatency.Engine;

/// <summary>Options of a <see cref="MarketDataPipeline"/>.</summary>
public sealed record MarketDataPipelineOptions
{
    /// <summary>Aggregation shards, each on its own thread. Default: cores - 1, at least 1.</summary>
    public int Shards { get; init; } = Math.Max(1, Environment.ProcessorCount - 1);

    /// <summary>Slots of the input and the output ring (a power of two). Default 16,384.</summary>
    public int RingSize { get; init; } = 16_384;

    /// <summary>Depth levels per input slot; bigger depth messages become several chunk events. Default 64.</summary>
    public int LevelsPerEvent { get; init; } = 64;

    /// <summary>Whether shards spin (lowest latency, a core each) or yield (fits more threads than cores). Default false.</summary>
    public bool BusySpin { get; init; }

    /// <summary>
    /// Whether idle shards back off to 1 ms sleeps (<see cref="SleepingWaitStrategy"/>): almost no CPU when idle, up to
    /// about a millisecond before the first event after an idle spell is handled. Default false: they yield, which
    /// keeps a core busy per shard even with no input. Not with <see cref="BusySpin"/>.
    /// </summary>
    public bool SleepWhenIdle { get; init; }

    /// <summary>Pin shard k to CPU (k + 1) mod cores. Default true.</summary>
    public bool Pin { get; init; } = true;

    /// <summary>Candle intervals, lateness and symbol capacity.</summary>
    public CandleAggregatorOptions Candles { get; init; } = new();

    /// <summary>Alert thresholds.</summary>
    public AlertOptions Alerts { get; init; } = new();

    /// <summary>Where the shards report commit marks (a <see cref="CommitWatermark"/>); null (default) when no source commits.</summary>
    public ICommitMarks? CommitMarks { get; init; }

    /// <summary>Source partition indexes the commit marks cover, 0 to this - 1. Default 1,024.</summary>
    public int PartitionCapacity { get; init; } = 1024;

    /// <summary>Whether the shards pass every trade (of the trade stream) on to the output ring (<see cref="OutputKind.Trade"/>), for a sink that stores trades. Default false.</summary>
    public bool PassTrades { get; init; }

    /// <summary>
    /// Decoder of <see cref="FrameFormat.AssetPriceAvro"/> frames: Confluent-framed <c>assets</c> records whose writer
    /// schemas are registered on it. Null (default): a decoder for the embedded schema under schema id 1.
    /// </summary>
    public Func<SymbolTable, AssetPriceDecoder>? AssetPriceDecoder { get; init; }

    /// <summary>
    /// Whether <see cref="MarketDataPipeline.Complete"/> closes and emits the candles still open (default true: the end
    /// of a replay is the end of the data). A daemon that commits its source turns it off: its open candles are
    /// rebuilt from the committed offset after a restart, and emitting them now would write incomplete candles.
    /// </summary>
    public bool FlushOpenCandlesOnShutdown { get; init; } = true;
}

/// <summary>
/// The engine's market-data path, wired: frames are decoded in place into the input ring, N pinned
/// <see cref="MarketDataShard{TOutput}"/>s aggregate them, and what they derive goes to the output ring, whose
/// handlers (files, console, counters) the caller adds to <see cref="Output"/> before <see cref="Start"/>. One thread
/// publishes (<see cref="Publish(FrameFormat, ReadOnlySpan{byte}, long, long)"/>); <see cref="Complete"/> drains everything in order.
/// </summary>
public sealed class MarketDataPipeline : IDisposable
{
    private readonly BinanceDecoder _decoder;
    private readonly AssetPriceDecoder _assetDecoder;
    private readonly KlineChangeDecoder _changeDecoder;
    private readonly ValueDisruptor<MarketEvent> _input;
    private readonly ValueRingBuffer<MarketEvent> _ring;
    private readonly Dictionary<string, int> _reasonIndex = new(StringComparer.Ordinal); // publisher thread only
    private Rejection[] _rejections = new Rejection[16];
    private int _rejectionCount;

    /// <summary>Wires the rings and shards (nothing runs until <see cref="Start"/>).</summary>
    public MarketDataPipeline(SymbolTable symbols, MarketDataPipelineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        Options = options ?? new MarketDataPipelineOptions();
        Symbols = symbols;
        _decoder = new BinanceDecoder(symbols);
        _assetDecoder = Options.AssetPriceDecoder?.Invoke(symbols) ?? new AssetPriceDecoder(symbols);
        _changeDecoder = new KlineChangeDecoder(symbols);
        var cores = Environment.ProcessorCount;

        // The output ring's handlers (sinks) have work only when candles close, tickers change or alerts fire, and they
        // batch for milliseconds anyway: they back off to 1 ms sleeps when idle (SleepingWaitStrategy) instead of
        // yielding in a loop. Yielding kept a sink thread at half a core on an idle daemon (measured with top: shard and
        // sink-files together at 94% of a core with no input) and took that CPU from the receive thread and the shards
        // on a 2-core machine. The cost is up to ~1 ms before the first output after an idle spell reaches a sink.
        Output = new ValueDisruptor<OutputEvent>(Options.RingSize, ProducerType.Multi, new SleepingWaitStrategy());
        _input = new ValueDisruptor<MarketEvent>(
            Options.RingSize,
            ProducerType.Single,
            Options.BusySpin ? new BusySpinWaitStrategy() : Options.SleepWhenIdle ? new SleepingWaitStrategy() : new YieldingWaitStrategy(),
            () => MarketEvent.Create(Options.LevelsPerEvent));
        _ring = _input.RingBuffer;

        var shards = new BatchEventProcessor<MarketEvent, MarketDataShard<RingShardOutput>>[Options.Shards];
        for (var i = 0; i < shards.Length; i++)
        {
            shards[i] = _input.HandleEventsWith(
                new MarketDataShard<RingShardOutput>(
                    i, shards.Length, new RingShardOutput(Output.RingBuffer), Options.Candles, Options.Alerts, Options.CommitMarks, Options.PartitionCapacity, Options.PassTrades)
                {
                    FlushOnShutdown = Options.FlushOpenCandlesOnShutdown,
                },
                new EventProcessorOptions { ThreadName = $"shard-{i}", Cpu = Options.Pin ? (i + 1) % cores : null });
        }

        Shards = shards;
    }

    /// <summary>The options in force.</summary>
    public MarketDataPipelineOptions Options { get; }

    /// <summary>The symbol table frames are interned into.</summary>
    public SymbolTable Symbols { get; }

    /// <summary>The output ring: add its handlers before <see cref="Start"/>.</summary>
    public ValueDisruptor<OutputEvent> Output { get; }

    /// <summary>The shard processors (their handlers hold the counters and state).</summary>
    public IReadOnlyList<BatchEventProcessor<MarketEvent, MarketDataShard<RingShardOutput>>> Shards { get; }

    /// <summary>Frames published.</summary>
    public long Messages { get; private set; }

    /// <summary>Input ring events published (chunked depth messages take several).</summary>
    public long Events { get; private set; }

    /// <summary>Frames the decoder rejected (published as <see cref="MarketEventKind.Invalid"/>).</summary>
    public long Failures { get; private set; }

    /// <summary>How full the output ring is, 0 to 1 (any thread).</summary>
    public double OutputOccupancy => (double)(Output.RingBuffer.BufferSize - Output.RingBuffer.RemainingCapacity()) / Output.RingBuffer.BufferSize;

    /// <summary>
    /// The rejections so far, one per distinct reason, with their counts; any thread may read (metrics).
    /// </summary>
    /// <remarks>
    /// The publisher appends a reason (rare: reasons are static strings) by writing the entry, then the array (when it
    /// grew), then the count, each with release semantics; a reader loads the count, then the array, with acquire, so
    /// every entry below the count is complete. The counts themselves are plain 64-bit fields of one writer.
    /// </remarks>
    public ReadOnlySpan<Rejection> Rejections
    {
        get
        {
            var count = Volatile.Read(ref _rejectionCount);
            return Volatile.Read(ref _rejections).AsSpan(0, count);
        }
    }

    /// <summary>How full the input ring is, 0 to 1.</summary>
    public double InputOccupancy => (double)(_ring.BufferSize - _ring.RemainingCapacity()) / _ring.BufferSize;

    /// <summary>Starts the output handlers, then the shards.</summary>
    public void Start()
    {
        Output.Start();
        _input.Start();
    }

    /// <summary>
    /// Decodes one Binance JSON frame into the input ring (several slots for a chunked depth message) and publishes it.
    /// A frame the decoder rejects is published as <see cref="MarketEventKind.Invalid"/> (counted by the shards) and
    /// its result returned, so a source can dead-letter it.
    /// </summary>
    public DecodeResult Publish(ReadOnlySpan<byte> json, long receiveTimeNs, long position) =>
        Publish(FrameFormat.BinanceJson, json, receiveTimeNs, position);

    /// <summary>
    /// Decodes one Binance JSON frame into the input ring as <see cref="Publish(ReadOnlySpan{byte}, long, long)"/> does,
    /// with <paramref name="ingestTimestamp"/> (a <see cref="Stopwatch.GetTimestamp"/> value, e.g. the receive time of a
    /// socket read) as every event's <see cref="MarketEvent.IngestTimestamp"/> instead of the time of this call, so the
    /// shards' ingest-to-aggregated latency starts where the source says the frame arrived.
    /// </summary>
    public DecodeResult Publish(ReadOnlySpan<byte> json, long receiveTimeNs, long position, long ingestTimestamp) =>
        Publish(FrameFormat.BinanceJson, json, receiveTimeNs, position, ingestTimestamp);

    /// <summary>Decodes one frame of <paramref name="format"/> into the input ring and publishes it (see the overload above).</summary>
    public DecodeResult Publish(FrameFormat format, ReadOnlySpan<byte> frame, long receiveTimeNs, long position) =>
        Publish(format, frame, receiveTimeNs, position, ingestTimestamp: 0);

    // ingestTimestamp 0: each event is stamped as its slot is claimed.
    private DecodeResult Publish(FrameFormat format, ReadOnlySpan<byte> frame, long receiveTimeNs, long position, long ingestTimestamp)
    {
        if (format is FrameFormat.AssetPriceAvro or FrameFormat.DebeziumKlineJson)
        {
            var sequence = _ring.Next();
            ref var evt = ref _ring[sequence];
            evt.ReceiveTimeNs = receiveTimeNs;
            evt.SourcePosition = position;
            evt.IngestTimestamp = ingestTimestamp != 0 ? ingestTimestamp : Stopwatch.GetTimestamp();
            var decoded = format == FrameFormat.AssetPriceAvro ? _assetDecoder.Decode(frame, ref evt) : _changeDecoder.Decode(frame, ref evt);
            _ring.Publish(sequence);
            Events++;
            return Count(decoded);
        }

        var json = frame;
        var cursor = default(DepthCursor);
        DecodeResult result;
        do
        {
            var sequence = _ring.Next();
            ref var evt = ref _ring[sequence];
            evt.ReceiveTimeNs = receiveTimeNs;
            evt.SourcePosition = position;
            evt.IngestTimestamp = ingestTimestamp != 0 ? ingestTimestamp : Stopwatch.GetTimestamp();
            result = _decoder.Decode(json, ref evt, ref cursor);
            _ring.Publish(sequence);
            Events++;
        }
        while (result.Status == DecodeStatus.MoreChunks);

        return Count(result);
    }

    private DecodeResult Count(DecodeResult result)
    {
        if (!result.IsSuccess)
        {
            Failures++;
            if (_reasonIndex.TryGetValue(result.Reason, out var index))
            {
                _rejections[index].Count++;
            }
            else
            {
                AddRejection(result); // reasons are static strings: this runs once per distinct reason
            }
        }

        Messages++;
        return result;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AddRejection(DecodeResult result)
    {
        var rejections = _rejections;
        if (_rejectionCount == rejections.Length)
        {
            rejections = [.. rejections, .. new Rejection[rejections.Length]];
        }

        rejections[_rejectionCount] = new Rejection(result.Status, result.Reason) { Count = 1 };
        Volatile.Write(ref _rejections, rejections);
        _reasonIndex.Add(result.Reason, _rejectionCount);
        Volatile.Write(ref _rejectionCount, _rejectionCount + 1);
    }

    /// <summary>
    /// Publishes a source control event that every shard handles: a commit mark (<see cref="ControlKind.CommitMark"/>,
    /// <paramref name="value"/> = the mark's id) or a revoked partition (<see cref="ControlKind.PartitionRevoked"/>,
    /// <paramref name="value"/> = its index). Same thread as <see cref="Publish(FrameFormat, ReadOnlySpan{byte}, long, long)"/>.
    /// </summary>
    public void PublishControl(ControlKind kind, long value) => PublishControl(kind, value, 0);

    /// <summary>
    /// Publishes a source control event with a time: <see cref="ControlKind.PartitionClock"/>, <paramref name="value"/> =
    /// the partition's index, <paramref name="timeNs"/> = its clock at the committed offset. Same thread as the other
    /// publishes, before the partition's first message.
    /// </summary>
    public void PublishControl(ControlKind kind, long value, long timeNs)
    {
        if (kind < ControlKind.CommitMark)
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Only source control events are published this way.");
        }

        var sequence = _ring.Next();
        ref var evt = ref _ring[sequence];
        evt.Kind = MarketEventKind.Control;
        evt.SymbolId = -1;
        evt.EventTimeNs = 0;
        evt.ReceiveTimeNs = 0;
        evt.IngestTimestamp = 0;
        evt.SourcePosition = SourcePosition.None;
        evt.Payload.Control = new ControlData { ControlKind = kind, RequestId = value, TimeNs = timeNs };
        _ring.Publish(sequence);
    }

    /// <summary>
    /// Waits until the shards have handled everything published, halts them (they flush their open candles into the
    /// output ring), then drains and halts the output handlers. False if either did not drain within <paramref name="timeout"/>.
    /// </summary>
    public bool Complete(TimeSpan timeout) => _input.Shutdown(timeout) & Output.Shutdown(timeout);

    /// <summary>The most frequent rejection reasons, for a summary.</summary>
    public string DescribeFailures() => _rejectionCount == 0 ? string.Empty
        : " (" + string.Join("; ", Rejections.ToArray().OrderByDescending(r => r.Count).Take(5).Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Count:N0} × {r.Reason}"))) + ")";

    /// <inheritdoc />
    public void Dispose()
    {
        _input.Dispose();
        Output.Dispose();
    }
}

/// <summary>Frames rejected for one reason (the decoder's static reason string) and the status it came with.</summary>
public sealed class Rejection(DecodeStatus status, string reason)
{
    /// <summary>The decoder's status.</summary>
    public DecodeStatus Status { get; } = status;

    /// <summary>Why (a static string of the decoder).</summary>
    public string Reason { get; } = reason;

    /// <summary>Frames rejected so far; written by the publisher thread only.</summary>
    public long Count { get; internal set; }
}

using System.Diagnostics;
using System.Runtime.CompilerServices;
using LowLatency.Market;
using LowLatency.Ring;
using LowLatency.Telemetry;

namespace LowLatency.Aggregation;

/// <summary>Where a shard's results go (the output ring, a file, a test); implement on a struct holding only references.</summary>
public interface IShardOutput
{
    /// <summary>A candle closed, with its derived metrics.</summary>
    void OnCandle(in Candle candle, in CandleMetrics metrics);

    /// <summary>An anomaly was detected.</summary>
    void OnAlert(in Alert alert);

    /// <summary>A ticker snapshot: emitted when the symbol's finest candle closes (at most once per such interval).</summary>
    void OnTicker(int symbolId, in LiveTicker ticker);

    /// <summary>A commit mark passed on (see <see cref="ICommitMarks"/>): everything the shard emitted before it is ahead of it.</summary>
    void OnMark(long markId, int shardIndex)
    {
    }

    /// <summary>A kline arrived: passed through as it is (see <see cref="OutputKind.Kline"/>).</summary>
    void OnKline(int symbolId, in KlineData kline, long eventTimeNs, long receiveTimeNs)
    {
    }

    /// <summary>A trade arrived and the shard passes trades through (see <see cref="OutputKind.Trade"/>).</summary>
    void OnTrade(int symbolId, in TradeData trade, long receiveTimeNs)
    {
    }
}

/// <summary>
/// What one shard has seen. Written only by the shard's thread; read by others while it runs (metrics, progress: plain
/// 64-bit reads, each value current or slightly stale, never torn) and after it stops (summaries, exact).
/// </summary>
public sealed class ShardCounters
{
    /// <summary>Events of symbols this shard owns, by kind (indexed by <see cref="MarketEventKind"/>).</summary>
    public long[] EventsByKind { get; } = new long[Enum.GetValues<MarketEventKind>().Length];

    /// <summary>Events skipped because another shard owns their symbol.</summary>
    public long NotOwned { get; internal set; }

    /// <summary>Trades that arrived too late for their candle (see <see cref="CandleAggregatorOptions.AllowedLateness"/>).</summary>
    public long TooLateTrades { get; internal set; }

    /// <summary>Candles closed.</summary>
    public long CandlesClosed { get; internal set; }

    /// <summary>Alerts raised.</summary>
    public long Alerts { get; internal set; }

    /// <summary>
    /// Times a symbol's trades came from another source partition than before. Commit marks assume a symbol stays on
    /// one partition (Kafka keyed by symbol); a count here means that assumption is broken by the topic layout.
    /// </summary>
    public long PartitionChanges { get; internal set; }

    /// <summary>
    /// Ingest (the source took the frame) to aggregated (this shard finished the event), ns, for one event in
    /// <see cref="MarketDataShard{TOutput}.LatencySampleEvery"/> of those carrying an ingest timestamp.
    /// </summary>
    public LatencyHistogram IngestToAggregatedNs { get; } = new(highestTrackableValue: 60_000_000_000);
}

/// <summary>
/// One shard of the per-symbol aggregation: a ring handler that owns the symbols with <c>id % shardCount == shardIndex</c>
/// and feeds their trades, book tickers and 24 h tickers to its own <see cref="CandleAggregator"/>,
/// <see cref="LiveTickers"/>, <see cref="CandleMetricsCalculator"/> and <see cref="AlertDetector"/>. All state has one
/// writer (this shard's thread), so nothing is locked; all of it is preallocated, so nothing is allocated per event.
/// On shutdown the open candles are flushed to the output.
/// </summary>
public struct MarketDataShard<TOutput> : IValueEventHandler<MarketEvent>
    where TOutput : struct, IShardOutput
{
    private readonly int _shardIndex;
    private readonly int _shardCount;
    /// <summary>One event in this many is timed (reading the clock costs about as much as aggregating a trade).</summary>
    public const int LatencySampleEvery = 8;

    private static readonly double s_nsPerTick = 1e9 / Stopwatch.Frequency;

    private readonly CandleAggregator _candles;
    private readonly LiveTickers _tickers;
    private readonly ICommitMarks? _commitMarks;
    private readonly int[] _symbolPartition;   // [symbol]: partition of the symbol's last trade, -1 before the first
    private readonly int[] _tradedSymbols;     // the owned symbols that have traded, _tradedCount of them
    private readonly long[] _oldestOpenOffsets; // [partition]: scratch for commit marks
    private readonly long[] _partitionClockNs;  // [partition]: newest trade time seen from it, the same in every shard
    private int _tradedCount;
    private readonly bool _passTrades;
    private Router _router;

    /// <summary>Creates shard <paramref name="shardIndex"/> of <paramref name="shardCount"/>.</summary>
    /// <param name="shardIndex">This shard: it owns the symbols with <c>id % shardCount == shardIndex</c>.</param>
    /// <param name="shardCount">Shards in all.</param>
    /// <param name="output">Where closed candles, alerts, tickers and marks go.</param>
    /// <param name="candles">Intervals, lateness and symbol capacity.</param>
    /// <param name="alerts">Alert thresholds.</param>
    /// <param name="commitMarks">Where commit marks are reported (a Kafka source's watermark); null when nobody commits.</param>
    /// <param name="partitionCapacity">Source partition indexes the marks cover, 0 to this - 1 (default 1,024).</param>
    /// <param name="passTrades">Whether every trade of the trade stream also goes to <paramref name="output"/> (<see cref="IShardOutput.OnTrade"/>).</param>
    public MarketDataShard(
        int shardIndex,
        int shardCount,
        TOutput output,
        CandleAggregatorOptions? candles = null,
        AlertOptions? alerts = null,
        ICommitMarks? commitMarks = null,
        int partitionCapacity = 1024,
        bool passTrades = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shardCount, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(shardIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(shardIndex, shardCount);
        candles ??= new CandleAggregatorOptions();
        _shardIndex = shardIndex;
        _shardCount = shardCount;
        _candles = new CandleAggregator(candles);
        _tickers = new LiveTickers(candles.SymbolCapacity);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(partitionCapacity, SourcePosition.MaxPartitions);
        _commitMarks = commitMarks;
        _passTrades = passTrades;
        _symbolPartition = new int[candles.SymbolCapacity];
        _symbolPartition.AsSpan().Fill(-1);
        _tradedSymbols = new int[candles.SymbolCapacity];
        _oldestOpenOffsets = new long[partitionCapacity];
        _partitionClockNs = new long[partitionCapacity];
        _partitionClockNs.AsSpan().Fill(long.MinValue);
        Counters = new ShardCounters();
        _router = new Router
        {
            Output = output,
            Metrics = new CandleMetricsCalculator(candles.SymbolCapacity, candles.Intervals.Count),
            Alerts = new AlertDetector(alerts),
            Tickers = _tickers,
            Counters = Counters,
        };
    }

    /// <summary>This shard's counters.</summary>
    public ShardCounters Counters { get; }

    /// <summary>The candle aggregator (per-symbol too-late and gap counts).</summary>
    public readonly CandleAggregator Candles => _candles;

    /// <summary>The live tickers of the symbols this shard owns.</summary>
    public readonly LiveTickers Tickers => _tickers;

    /// <inheritdoc />
    public void OnEvent(ref MarketEvent data, long sequence, bool endOfBatch)
    {
        var symbolId = data.SymbolId;
        if (data.Kind == MarketEventKind.Control && data.Payload.Control.ControlKind >= ControlKind.CommitMark)
        {
            OnSourceControl(ref data.Payload.Control);
            return;
        }

        if (data.Kind is MarketEventKind.Trade or MarketEventKind.AggTrade && data.SourcePosition != SourcePosition.None)
        {
            // Every shard moves the partition's clock with every trade of the partition, its own symbols' or not, so
            // all shards close a partition's candles at the same event time: at a commit mark, a candle is closed in
            // every shard or in none (see OnSourceControl).
            AdvancePartitionClock(SourcePosition.PartitionOf(data.SourcePosition), data.Payload.Trade.TradeTimeNs);
        }

        if (symbolId < 0 || symbolId % _shardCount != _shardIndex)
        {
            if (data.Kind is MarketEventKind.Invalid or MarketEventKind.Control && _shardIndex == 0)
            {
                Counters.EventsByKind[(int)data.Kind]++; // symbol-less events are counted once, by shard 0
            }
            else
            {
                Counters.NotOwned++;
            }

            return;
        }

        Counters.EventsByKind[(int)data.Kind]++;
        switch (data.Kind)
        {
            case MarketEventKind.Trade:
            case MarketEventKind.AggTrade:
                ref var trade = ref data.Payload.Trade;
                if (data.SourcePosition != SourcePosition.None)
                {
                    // Candles close on the partition's event-time clock (Kafka Streams' stream time), not the symbol's
                    // own: which trades are too late then depends on the partition's order alone, the same in a run
                    // restarted from a commit as in the uninterrupted one.
                    var partition = TrackPartition(symbolId, data.SourcePosition);
                    if ((uint)partition < (uint)_partitionClockNs.Length)
                    {
                        _candles.CloseIdle(symbolId, _partitionClockNs[partition], ref _router);
                    }
                }

                _tickers.OnTrade(symbolId, trade.Price, trade.Quantity, trade.TradeTimeNs, data.ReceiveTimeNs);
                _router.Alerts.OnTrade(symbolId, trade.TradeId, trade.Price, trade.Quantity, trade.TradeTimeNs, ref _router);
                if (!_candles.OnTrade(symbolId, trade.TradeId, trade.Price, trade.Quantity, trade.TradeTimeNs, trade.IsBuyerMaker, data.SourcePosition, ref _router))
                {
                    Counters.TooLateTrades++;
                }

                if (_passTrades && data.Kind == MarketEventKind.Trade)
                {
                    _router.Output.OnTrade(symbolId, in trade, data.ReceiveTimeNs); // raw trades only: aggregate ids are another id space
                }

                break;

            case MarketEventKind.BookTicker:
                ref var book = ref data.Payload.BookTicker;
                _tickers.OnBookTicker(symbolId, book.UpdateId, book.BidPrice, book.BidQuantity, book.AskPrice, book.AskQuantity, data.ReceiveTimeNs);
                if (data.EventTimeNs > 0)
                {
                    _candles.AdvanceTime(symbolId, data.EventTimeNs, ref _router); // spot book tickers carry no event time
                }

                break;

            case MarketEventKind.Ticker:
            case MarketEventKind.MiniTicker:
                ref var ticker = ref data.Payload.Ticker;
                _tickers.On24hTicker(
                    symbolId, ticker.LastPrice, ticker.Open, ticker.High, ticker.Low, ticker.Volume, ticker.QuoteVolume, ticker.TradeCount, data.EventTimeNs, data.ReceiveTimeNs);
                break;

            case MarketEventKind.Kline:
                _router.Output.OnKline(symbolId, data.Payload.Kline, data.EventTimeNs, data.ReceiveTimeNs);
                break;

            default:
                // Depth: counted above; order books are not built yet.
                break;
        }

        if ((sequence & (LatencySampleEvery - 1)) == 0 && data.IngestTimestamp != 0)
        {
            Counters.IngestToAggregatedNs.Record((long)((Stopwatch.GetTimestamp() - data.IngestTimestamp) * s_nsPerTick));
        }
    }

    /// <summary>Closes and emits the open candles when the processor stops (end of a replay), unless <see cref="FlushOnShutdown"/> is off.</summary>
    public void OnShutdown()
    {
        if (FlushOnShutdown)
        {
            _candles.FlushAll(ref _router);
        }
    }

    /// <summary>Whether the open candles are closed and emitted when the processor stops (default true; see the pipeline's option).</summary>
    public bool FlushOnShutdown { get; init; } = true;

    /// <summary>Remembers the partition the symbol's trades come from (a symbol is expected to stay on one); returns it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int TrackPartition(int symbolId, long position)
    {
        ref var partition = ref _symbolPartition[symbolId];
        var current = SourcePosition.PartitionOf(position);
        if (partition != current)
        {
            NewPartition(symbolId, ref partition, current);
        }

        return current;
    }

    /// <summary>Moves the partition's clock to <paramref name="timeNs"/> if that is newer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void AdvancePartitionClock(int partition, long timeNs)
    {
        if ((uint)partition < (uint)_partitionClockNs.Length)
        {
            ref var clock = ref _partitionClockNs[partition];
            if (timeNs > clock)
            {
                clock = timeNs;
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void NewPartition(int symbolId, ref int partition, int current)
    {
        if (partition < 0)
        {
            _tradedSymbols[_tradedCount++] = symbolId;
        }
        else
        {
            Counters.PartitionChanges++;
        }

        partition = current;
    }

    /// <summary>A commit mark or a revoked partition from the source: every shard handles these, whatever the symbol.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void OnSourceControl(ref ControlData control)
    {
        if (control.ControlKind == ControlKind.PartitionRevoked)
        {
            for (var i = 0; i < _tradedCount; i++)
            {
                var symbolId = _tradedSymbols[i];
                if (_symbolPartition[symbolId] == control.RequestId)
                {
                    _candles.ResetSymbol(symbolId);
                }
            }

            if ((ulong)control.RequestId < (ulong)_partitionClockNs.Length)
            {
                _partitionClockNs[control.RequestId] = long.MinValue;
            }

            return;
        }

        if (control.ControlKind == ControlKind.PartitionClock)
        {
            // Before the partition's first message of an assignment: candles that ended behind this clock were closed
            // and written before the commit, so a trade of theirs replayed from the commit is too late, as it was then.
            AdvancePartitionClock((int)Math.Min(control.RequestId, int.MaxValue), control.TimeNs);
            return;
        }

        var oldest = _oldestOpenOffsets.AsSpan();
        oldest.Fill(long.MaxValue);
        for (var i = 0; i < _tradedCount; i++)
        {
            var symbolId = _tradedSymbols[i];
            var symbolPartition = _symbolPartition[symbolId];
            if ((uint)symbolPartition < (uint)_partitionClockNs.Length)
            {
                // Candles of a symbol that stopped trading close on its partition's clock, so they release the commit.
                _candles.CloseIdle(symbolId, _partitionClockNs[symbolPartition], ref _router);
            }

            var open = _candles.OldestOpenPosition(symbolId);
            var partition = SourcePosition.PartitionOf(open);
            if (open != SourcePosition.None && partition < oldest.Length)
            {
                oldest[partition] = Math.Min(oldest[partition], SourcePosition.OffsetOf(open));
            }
        }

        _commitMarks?.OnShardMark(control.RequestId, _shardIndex, oldest, _partitionClockNs);
        _router.Output.OnMark(control.RequestId, _shardIndex);
    }

    /// <summary>Routes closed candles to metrics, spike alerts, ticker snapshots and the output.</summary>
    private struct Router : ICandleSink, IAlertSink
    {
        public TOutput Output;
        public CandleMetricsCalculator Metrics;
        public AlertDetector Alerts;
        public LiveTickers Tickers;
        public ShardCounters Counters;

        public void OnCandleClosed(in Candle candle)
        {
            Counters.CandlesClosed++;
            var metrics = Metrics.OnCandleClosed(candle);
            Output.OnCandle(candle, metrics);
            Alerts.OnCandleClosed(candle, ref this);
            if (candle.IntervalIndex == 0)
            {
                Output.OnTicker(candle.SymbolId, Tickers[candle.SymbolId]);
            }
        }

        public void OnAlert(in Alert alert)
        {
            Counters.Alerts++;
            Output.OnAlert(alert);
        }
    }
}

using System.Buffers;
using System.Globalization;
using LowLatency.Aggregation;
using LowLatency.Market;
using LowLatency.Parquet.Format;
using LowLatency.Parquet.Writing;
using LowLatency.Sinks;
using LowLatency.Sinks.Batching;

namespace LowLatency.Parquet.Sink;

/// <summary>Options of the Parquet cold tier.</summary>
public sealed record ParquetSinkOptions
{
    /// <summary>Where the datasets go: <c>candles/</c> and <c>alerts/</c>, each partitioned <c>symbol=…/date=…/</c>. Required.</summary>
    public required string Directory { get; init; }

    /// <summary>The files' codec. Default SNAPPY.</summary>
    public CompressionCodec Codec { get; init; } = CompressionCodec.Snappy;

    /// <summary>The open files are closed together once they hold this many rows. Default 1,000,000.</summary>
    public long RollRows { get; init; } = 1_000_000;

    /// <summary>… or once the oldest has been open this long. Default 5 minutes.</summary>
    public TimeSpan RollInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Whether to keep the raw trades too, in <c>trades/</c> (the pipeline must pass them on: <c>PassTrades</c>). Default
    /// false: trades outnumber every other output, so they cost a ring slot and a row each.
    /// </summary>
    public bool Trades { get; init; }
}

/// <summary>
/// The Parquet cold tier (issue 7): closed candles and alerts in files partitioned by symbol and UTC date
/// (<c>candles/symbol=BTCUSDT/date=2024-08-08/part-….parquet</c>, the original stream processor's layout), written by our
/// <see cref="ParquetFileWriter"/> under a temporary name and renamed when complete, so a reader never sees half a file.
/// </summary>
/// <remarks>
/// A batch is accepted into the open files and becomes durable only when they close (<see cref="IDeferredBatchWriter"/>):
/// the sink holds the commit marks until then, so Kafka offsets are committed only for rows in closed files. All open
/// files close together, when they hold <see cref="ParquetSinkOptions.RollRows"/> rows, when the oldest is
/// <see cref="ParquetSinkOptions.RollInterval"/> old (a timer), and when the sink drains at shutdown.
/// <para>
/// Crash safety: files are published in two phases with the symbol's high-water marks (<see cref="SymbolPartition"/>),
/// so a crash never leaves a partial file under a <c>*.parquet</c> name, and rows that a restart derives again from
/// input read again since the last commit are dropped if the closed files already hold them (<see cref="RowsDropped"/>).
/// </para>
/// </remarks>
public sealed class ParquetSinkWriter : IDeferredBatchWriter, IDisposable
{
    /// <summary>The candles dataset's columns (the candle record of the other sinks, with decimals of scale 8).</summary>
    public static readonly ParquetSchema CandleSchema = new(
        ParquetColumn.String("symbol", dictionary: true),
        ParquetColumn.String("interval", dictionary: true),
        ParquetColumn.TimestampMillis("open_time"),
        ParquetColumn.TimestampMillis("close_time"),
        ParquetColumn.Decimal("open", 18, FixedPoint.Decimals),
        ParquetColumn.Decimal("high", 18, FixedPoint.Decimals),
        ParquetColumn.Decimal("low", 18, FixedPoint.Decimals),
        ParquetColumn.Decimal("close", 18, FixedPoint.Decimals),
        ParquetColumn.Decimal("volume", 18, FixedPoint.Decimals),
        ParquetColumn.Decimal("quote_volume", 18, FixedPoint.Decimals),
        ParquetColumn.Decimal("vwap", 18, FixedPoint.Decimals),
        ParquetColumn.Int64("trades"),
        ParquetColumn.Int64("first_trade_id"),
        ParquetColumn.Int64("last_trade_id"),
        ParquetColumn.Boolean("has_gap"),
        ParquetColumn.Double("price_change_pct", optional: true),
        ParquetColumn.Double("buy_sell_ratio", optional: true),
        ParquetColumn.Double("volatility", optional: true),
        ParquetColumn.Decimal("taker_buy_volume", 18, FixedPoint.Decimals),
        ParquetColumn.Decimal("taker_buy_quote_volume", 18, FixedPoint.Decimals),
        ParquetColumn.Int64("late_trades"));

    /// <summary>The trades dataset's columns (what <c>lowlatency replay</c> reads back as trades).</summary>
    public static readonly ParquetSchema TradeSchema = new(
        ParquetColumn.String("symbol", dictionary: true),
        ParquetColumn.Int64("trade_id"),
        ParquetColumn.Decimal("price", 18, FixedPoint.Decimals),
        ParquetColumn.Decimal("quantity", 18, FixedPoint.Decimals),
        ParquetColumn.TimestampMillis("time"),
        ParquetColumn.Boolean("is_buyer_maker"),
        ParquetColumn.TimestampMicros("receive_time"));

    /// <summary>The alerts dataset's columns.</summary>
    public static readonly ParquetSchema AlertSchema = new(
        ParquetColumn.String("id"),
        ParquetColumn.String("symbol", dictionary: true),
        ParquetColumn.String("type", dictionary: true),
        ParquetColumn.TimestampMillis("time"),
        ParquetColumn.Int64("trade_id"),
        ParquetColumn.Decimal("price", 18, FixedPoint.Decimals),
        ParquetColumn.Decimal("value", 18, FixedPoint.Decimals),
        ParquetColumn.Decimal("threshold", 18, FixedPoint.Decimals));

    private readonly ParquetSinkOptions _options;
    private readonly ParquetWriterOptions _fileOptions;
    private readonly Lock _lock = new();
    private readonly Dictionary<(OutputKind Kind, int Symbol), SymbolPartition> _partitions = [];
    private readonly List<SymbolPartition> _active = []; // read in this roll period, with or without open files
    private readonly ArrayBufferWriter<byte> _key = new(128);
    private readonly Timer _roller;
    private readonly string _run = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];
    private OutputRecords? _records;
    private long _accepted;
    private long _durableThrough;
    private long _openRows;
    private long _openedAt;
    private int _rolls;
    private string _partName;
    private bool _disposed;
    private Exception? _failure; // a close that failed: the rows it held are lost here, so nothing after them is acknowledged

    public ParquetSinkWriter(ParquetSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RollRows, 1);
        _options = options;
        _fileOptions = new ParquetWriterOptions { Codec = options.Codec };
        System.IO.Directory.CreateDirectory(options.Directory);
        _partName = PartName();
        _roller = new Timer(_ => RollIfOld(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <inheritdoc />
    public bool WantsTrades => _options.Trades;

    /// <inheritdoc />
    public long DurableThrough => Volatile.Read(ref _durableThrough);

    /// <summary>Files completed so far.</summary>
    public int FilesWritten { get; private set; }

    /// <summary>Rows not written because the closed files already hold them (input read again after a restart).</summary>
    public long RowsDropped { get; private set; }

    /// <inheritdoc />
    public ValueTask WriteAsync(OutputBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ThrowIfFailed();
            _records ??= new OutputRecords(batch.Symbols);
            foreach (ref readonly var e in batch.Events)
            {
                switch (e.Kind)
                {
                    case OutputKind.Candle:
                        WriteCandle(batch.Symbols, in e.Candle, in e.Metrics);
                        break;
                    case OutputKind.Alert:
                        WriteAlert(batch.Symbols, in e);
                        break;
                    case OutputKind.Trade:
                        WriteTrade(batch.Symbols, e.SymbolId, in e.Trade);
                        break;
                }
            }

            _accepted = batch.Sequence;
            if (_openRows == 0)
            {
                EndPeriod(); // nothing of it waits in an open file
                Volatile.Write(ref _durableThrough, _accepted);
            }
            else if (_openRows >= _options.RollRows)
            {
                Roll();
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public bool IsTransient(Exception failure) => failure is IOException;

    /// <inheritdoc />
    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Roll();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Closes the open files (shutdown drains the sink first, which closes them) and stops the timer.</summary>
    public void Dispose()
    {
        _roller.Dispose();
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var partition in _active)
            {
                partition.Abandon(); // not completed: the temporary files go, nothing half-written appears
            }

            _active.Clear();
        }
    }

    private void RollIfOld()
    {
        lock (_lock)
        {
            if (!_disposed && _failure is null && _openRows > 0 && Environment.TickCount64 - _openedAt >= (long)_options.RollInterval.TotalMilliseconds)
            {
                try
                {
                    Roll();
                }
                catch (Exception)
                {
                    // Recorded in _failure; the next write reports it (a timer callback must not throw).
                }
            }
        }
    }

    /// <summary>
    /// Completes every open file and publishes it with its symbol's marks (<see cref="SymbolPartition"/>); then everything
    /// accepted is durable. If one cannot be completed (disk full, directory gone), the rows of the unpublished files are
    /// lost here: the writer stops for good, <see cref="DurableThrough"/> stays where it was, so no commit covers those
    /// rows and a restart reads them again from Kafka.
    /// </summary>
    private void Roll()
    {
        ThrowIfFailed();
        try
        {
            foreach (var partition in _active)
            {
                partition.Seal();
            }

            foreach (var partition in _active)
            {
                FilesWritten += partition.Publish();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _failure = e;
            EndPeriod();
            throw new InvalidOperationException($"Parquet files under {_options.Directory} could not be closed; their rows stay uncommitted and a restart reads them again: {e.Message}", e);
        }

        _active.Clear();
        _openRows = 0;
        _rolls++;
        _partName = PartName();
        Volatile.Write(ref _durableThrough, _accepted);
    }

    /// <summary>Ends the roll period: open files are abandoned (their temporary files deleted), and marks are read again on next use.</summary>
    private void EndPeriod()
    {
        foreach (var partition in _active)
        {
            partition.Abandon();
        }

        _active.Clear();
        _openRows = 0;
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw new InvalidOperationException($"Parquet files under {_options.Directory} could not be closed earlier ({failure.Message}); restart the daemon to read the uncommitted input again.", failure);
        }
    }

    /// <summary>A Hive partition value: letters, digits, '-', '_' and '.' as they are (not "." or ".."), anything else as %XX of its UTF-8.</summary>
    public static string PartitionValue(string value)
    {
        var text = new System.Text.StringBuilder(value.Length);
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(value))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_' || (b == (byte)'.' && value is not ("." or "..")))
            {
                text.Append((char)b);
            }
            else
            {
                text.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return text.Length == 0 ? "%00" : text.ToString();
    }

    private string PartName() => string.Create(CultureInfo.InvariantCulture, $"part-{_run}-{_rolls:D5}.parquet");

    /// <summary>The symbol's directory of the dataset, its marks read at the first use in the roll period.</summary>
    private SymbolPartition Partition(OutputKind kind, int symbolId, SymbolTable symbols)
    {
        if (!_partitions.TryGetValue((kind, symbolId), out var partition))
        {
            var dataset = kind switch
            {
                OutputKind.Candle => "candles",
                OutputKind.Trade => "trades",
                _ => "alerts",
            };
            var root = Path.Combine(_options.Directory, dataset, "symbol=" + PartitionValue(symbols.GetName(symbolId)));
            partition = new SymbolPartition(root);
            _partitions.Add((kind, symbolId), partition);
        }

        if (!partition.Loaded)
        {
            try
            {
                partition.Load();
            }
            catch (InvalidDataException e)
            {
                _failure = e;
                throw new InvalidOperationException(e.Message, e);
            }

            _active.Add(partition);
        }

        return partition;
    }

    /// <summary>The open file of the symbol's partition for the row's UTC date.</summary>
    private ParquetFileWriter File(SymbolPartition partition, OutputKind kind, long timeNs)
    {
        if (_openRows == 0)
        {
            _openedAt = Environment.TickCount64;
        }

        _openRows++;
        return partition.File(timeNs / 86_400_000_000_000, _partName, kind switch
        {
            OutputKind.Candle => CandleSchema,
            OutputKind.Trade => TradeSchema,
            _ => AlertSchema,
        }, _fileOptions);
    }

    private void WriteCandle(SymbolTable symbols, in Candle c, in CandleMetrics m)
    {
        var partition = Partition(OutputKind.Candle, c.SymbolId, symbols);
        if (partition.Holds(c.IntervalNs, c.OpenTimeNs, 0))
        {
            RowsDropped++;
            return;
        }

        var f = File(partition, OutputKind.Candle, c.OpenTimeNs);
        f.WriteBytes(0, symbols.GetUtf8(c.SymbolId));
        f.WriteBytes(1, OutputRecords.IntervalName(c.IntervalNs));
        f.WriteInt64(2, c.OpenTimeNs / 1_000_000);
        f.WriteInt64(3, (c.CloseTimeNs / 1_000_000) - 1);
        f.WriteInt64(4, c.Open.Mantissa);
        f.WriteInt64(5, c.High.Mantissa);
        f.WriteInt64(6, c.Low.Mantissa);
        f.WriteInt64(7, c.Close.Mantissa);
        f.WriteInt64(8, c.Volume.Mantissa);
        f.WriteInt64(9, c.QuoteVolume.Mantissa);
        f.WriteInt64(10, c.Vwap.Mantissa);
        f.WriteInt64(11, c.TradeCount);
        f.WriteInt64(12, c.FirstTradeId);
        f.WriteInt64(13, c.LastTradeId);
        f.WriteBoolean(14, c.HasGap);
        Double(f, 15, m.PriceChangePercent);
        Double(f, 16, m.BuySellRatio);
        Double(f, 17, m.RollingVolatility);
        f.WriteInt64(18, c.TakerBuyVolume.Mantissa);
        f.WriteInt64(19, c.TakerBuyQuoteVolume.Mantissa);
        f.WriteInt64(20, c.LateTrades);
        f.EndRow();
        partition.Advance(c.IntervalNs, c.OpenTimeNs, 0); // after the row: a failed write must not mark it as written
    }

    private void WriteAlert(SymbolTable symbols, in OutputEvent e)
    {
        ref readonly var a = ref e.Alert;
        var partition = Partition(OutputKind.Alert, a.SymbolId, symbols);
        if (partition.Holds((long)a.Kind, a.TimeNs, a.TradeId))
        {
            RowsDropped++;
            return;
        }

        var f = File(partition, OutputKind.Alert, a.TimeNs);
        _key.ResetWrittenCount();
        _records!.WriteKey(_key, e);
        f.WriteBytes(0, _key.WrittenSpan);
        f.WriteBytes(1, symbols.GetUtf8(a.SymbolId));
        f.WriteBytes(2, OutputRecords.AlertTypeName(a.Kind));
        f.WriteInt64(3, a.TimeNs / 1_000_000);
        f.WriteInt64(4, a.TradeId);
        f.WriteInt64(5, a.Price.Mantissa);
        f.WriteInt64(6, a.Value);
        f.WriteInt64(7, a.Threshold);
        f.EndRow();
        partition.Advance((long)a.Kind, a.TimeNs, a.TradeId);
    }

    private void WriteTrade(SymbolTable symbols, int symbolId, in TradeRecord t)
    {
        var partition = Partition(OutputKind.Trade, symbolId, symbols);
        if (partition.Holds(0, t.Data.TradeTimeNs, t.Data.TradeId))
        {
            RowsDropped++;
            return;
        }

        var f = File(partition, OutputKind.Trade, t.Data.TradeTimeNs);
        f.WriteBytes(0, symbols.GetUtf8(symbolId));
        f.WriteInt64(1, t.Data.TradeId);
        f.WriteInt64(2, t.Data.Price.Mantissa);
        f.WriteInt64(3, t.Data.Quantity.Mantissa);
        f.WriteInt64(4, t.Data.TradeTimeNs / 1_000_000);
        f.WriteBoolean(5, t.Data.IsBuyerMaker);
        f.WriteInt64(6, t.ReceiveTimeNs / 1_000);
        f.EndRow();
        partition.Advance(0, t.Data.TradeTimeNs, t.Data.TradeId);
    }

    private static void Double(ParquetFileWriter f, int column, double value)
    {
        if (double.IsNaN(value))
        {
            f.WriteNull(column);
        }
        else
        {
            f.WriteDouble(column, value);
        }
    }
}

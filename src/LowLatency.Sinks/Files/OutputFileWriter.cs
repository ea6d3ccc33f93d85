using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text.Json;
using LowLatency.Aggregation;
using LowLatency.Market;
using LowLatency.Ring;

namespace LowLatency.Sinks.Files;

/// <summary>The layout of the local output files.</summary>
public enum OutputFileFormat
{
    /// <summary>One JSON object per line (<c>.jsonl</c>), prices as exact decimal strings (the default).</summary>
    JsonLines,

    /// <summary>RFC 4180 comma-separated values with a header line (<c>.csv</c>), prices as exact decimals.</summary>
    Csv,
}

/// <summary>
/// Writes the output ring to three files in a directory: <c>candles</c>, <c>alerts</c> and <c>tickers</c>, as JSON lines
/// or CSV (<see cref="OutputFileFormat"/>). Each file has one reused buffer; buffers are written out at the end of each
/// ring batch, so the files stay current without a write per event. Prices and volumes are written as exact decimals,
/// the way Binance sends them; both formats carry the same fields in the same order.
/// </summary>
public sealed class OutputFileWriter : IDisposable
{
    private readonly SymbolTable _symbols;
    private readonly RowFile _candles;
    private readonly RowFile _alerts;
    private readonly RowFile _tickers;

    /// <summary>Creates (or truncates) the three files in <paramref name="directory"/>.</summary>
    public OutputFileWriter(string directory, SymbolTable symbols, OutputFileFormat format = OutputFileFormat.JsonLines)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        Directory.CreateDirectory(directory);
        _symbols = symbols;
        Format = format;
        _candles = RowFile.Create(Path.Combine(directory, "candles"), format);
        _alerts = RowFile.Create(Path.Combine(directory, "alerts"), format);
        _tickers = RowFile.Create(Path.Combine(directory, "tickers"), format);
    }

    /// <summary>The files' format.</summary>
    public OutputFileFormat Format { get; }

    /// <summary>The file name extension of <paramref name="format"/>, with its dot.</summary>
    public static string Extension(OutputFileFormat format) => format == OutputFileFormat.Csv ? ".csv" : ".jsonl";

    /// <summary>Data lines written to each file (a CSV header is not counted).</summary>
    public (long Candles, long Alerts, long Tickers) Lines => (_candles.Lines, _alerts.Lines, _tickers.Lines);

    /// <summary>Appends one event to its file's buffer.</summary>
    public void Write(in OutputEvent e)
    {
        switch (e.Kind)
        {
            case OutputKind.Candle:
                WriteCandle(_candles, e.Candle, e.Metrics);
                break;
            case OutputKind.Alert:
                WriteAlert(_alerts, e.Alert);
                break;
            case OutputKind.Ticker:
                WriteTicker(_tickers, e.SymbolId, e.Ticker);
                break;
        }
    }

    /// <summary>Writes the buffered lines to the files (and to disk if <paramref name="durable"/>).</summary>
    public void Flush(bool durable = false)
    {
        _candles.Flush(durable);
        _alerts.Flush(durable);
        _tickers.Flush(durable);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Flush(durable: true);
        _candles.Dispose();
        _alerts.Dispose();
        _tickers.Dispose();
    }

    private void WriteCandle(RowFile f, in Candle c, in CandleMetrics m)
    {
        f.Begin();
        f.String("symbol"u8, _symbols.GetUtf8(c.SymbolId));
        f.String("interval"u8, IntervalName(c.IntervalNs));
        f.Integer("open_time"u8, c.OpenTimeNs / 1_000_000);
        f.Integer("close_time"u8, (c.CloseTimeNs / 1_000_000) - 1);
        f.Decimal("open"u8, c.Open.Mantissa);
        f.Decimal("high"u8, c.High.Mantissa);
        f.Decimal("low"u8, c.Low.Mantissa);
        f.Decimal("close"u8, c.Close.Mantissa);
        f.Decimal("volume"u8, c.Volume.Mantissa);
        f.Decimal("quote_volume"u8, c.QuoteVolume.Mantissa);
        f.Decimal("taker_buy_volume"u8, c.TakerBuyVolume.Mantissa);
        f.Decimal("taker_buy_quote_volume"u8, c.TakerBuyQuoteVolume.Mantissa);
        f.Decimal("vwap"u8, c.Vwap.Mantissa);
        f.Integer("trades"u8, c.TradeCount);
        f.Integer("first_trade_id"u8, c.FirstTradeId);
        f.Integer("last_trade_id"u8, c.LastTradeId);
        f.Boolean("has_gap"u8, c.HasGap);
        f.Integer("late_trades"u8, c.LateTrades);
        f.Double("price_change_pct"u8, m.PriceChangePercent);
        f.Double("buy_sell_ratio"u8, m.BuySellRatio);
        f.Double("volatility"u8, m.RollingVolatility);
        f.End();
    }

    private void WriteAlert(RowFile f, in Alert a)
    {
        Span<byte> id = stackalloc byte[32];
        a.Id.TryFormat(id, out _, "x32", CultureInfo.InvariantCulture);
        f.Begin();
        f.String("id"u8, id);
        f.String("symbol"u8, _symbols.GetUtf8(a.SymbolId));
        f.String("type"u8, a.Kind switch
        {
            AlertKind.WhaleTrade => "whale_trade"u8,
            AlertKind.VolumeSpike => "volume_spike"u8,
            _ => "price_spike"u8,
        });
        f.Integer("time"u8, a.TimeNs / 1_000_000);
        f.Integer("trade_id"u8, a.TradeId);
        f.Decimal("price"u8, a.Price.Mantissa);
        f.Decimal("value"u8, a.Value);
        f.Decimal("threshold"u8, a.Threshold);
        f.End();
    }

    private void WriteTicker(RowFile f, int symbolId, in LiveTicker k)
    {
        f.Begin();
        f.String("symbol"u8, _symbols.GetUtf8(symbolId));
        f.Decimal("last_price"u8, k.LastPrice.Mantissa);
        f.Decimal("price_change"u8, k.PriceChange.Mantissa);
        f.Decimal("price_change_pct"u8, k.PriceChangePercent);
        f.Decimal("open"u8, k.Open.Mantissa);
        f.Decimal("high"u8, k.High.Mantissa);
        f.Decimal("low"u8, k.Low.Mantissa);
        f.Decimal("volume"u8, k.Volume.Mantissa);
        f.Decimal("quote_volume"u8, k.QuoteVolume.Mantissa);
        f.Integer("trades_count"u8, k.TradeCount);
        f.Decimal("bid"u8, k.BidPrice.Mantissa);
        f.Decimal("ask"u8, k.AskPrice.Mantissa);
        f.Integer("event_time"u8, k.EventTimeNs / 1_000_000);
        f.Integer("updated_at"u8, k.UpdatedAtNs / 1_000_000);
        f.End();
    }

    private static ReadOnlySpan<byte> IntervalName(long ns) => ns switch
    {
        1_000_000_000 => "1s"u8,
        60_000_000_000 => "1m"u8,
        300_000_000_000 => "5m"u8,
        900_000_000_000 => "15m"u8,
        3_600_000_000_000 => "1h"u8,
        14_400_000_000_000 => "4h"u8,
        86_400_000_000_000 => "1d"u8,
        _ => "custom"u8,
    };

    /// <summary>
    /// One output file: rows of named fields into a reused buffer, written to the file on <see cref="Flush"/>. The
    /// format decides how a row is spelled; the field order is the writer's.
    /// </summary>
    private abstract class RowFile : IDisposable
    {
        private readonly FileStream _file;

        protected RowFile(string path)
        {
            _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 1 << 16);
        }

        public long Lines { get; private set; }

        protected ArrayBufferWriter<byte> Buffer { get; } = new(1 << 16);

        public static RowFile Create(string pathWithoutExtension, OutputFileFormat format)
        {
            var path = pathWithoutExtension + Extension(format);
            return format == OutputFileFormat.Csv ? new CsvFile(path) : new JsonLinesFile(path);
        }

        public abstract void Begin();

        public abstract void String(ReadOnlySpan<byte> name, ReadOnlySpan<byte> utf8);

        public abstract void Integer(ReadOnlySpan<byte> name, long value);

        public abstract void Boolean(ReadOnlySpan<byte> name, bool value);

        /// <summary>An 8-decimal fixed-point value, exact.</summary>
        public abstract void Decimal(ReadOnlySpan<byte> name, long mantissa);

        /// <summary>A double; NaN and infinities are written as null (JSON) or an empty field (CSV).</summary>
        public abstract void Double(ReadOnlySpan<byte> name, double value);

        public virtual void End()
        {
            Buffer.Write("\n"u8);
            Lines++;
        }

        public virtual void Flush(bool durable)
        {
            if (Buffer.WrittenCount > 0)
            {
                _file.Write(Buffer.WrittenSpan);
                Buffer.ResetWrittenCount();
            }

            _file.Flush(durable);
        }

        public virtual void Dispose() => _file.Dispose();
    }

    private sealed class JsonLinesFile : RowFile
    {
        private readonly Utf8JsonWriter _writer;
        private readonly byte[] _number = new byte[FixedPoint.MaxFormattedLength];

        public JsonLinesFile(string path)
            : base(path)
        {
            _writer = new Utf8JsonWriter(Buffer, new JsonWriterOptions { SkipValidation = true });
        }

        public override void Begin() => _writer.WriteStartObject();

        public override void String(ReadOnlySpan<byte> name, ReadOnlySpan<byte> utf8) => _writer.WriteString(name, utf8);

        public override void Integer(ReadOnlySpan<byte> name, long value) => _writer.WriteNumber(name, value);

        public override void Boolean(ReadOnlySpan<byte> name, bool value) => _writer.WriteBoolean(name, value);

        public override void Decimal(ReadOnlySpan<byte> name, long mantissa)
        {
            FixedPoint.TryFormat(mantissa, _number, out var written);
            _writer.WriteString(name, _number.AsSpan(0, written));
        }

        public override void Double(ReadOnlySpan<byte> name, double value)
        {
            if (double.IsFinite(value))
            {
                _writer.WriteNumber(name, value);
            }
            else
            {
                _writer.WriteNull(name);
            }
        }

        public override void End()
        {
            _writer.WriteEndObject();
            _writer.Flush();
            _writer.Reset(Buffer);
            base.End();
        }

        public override void Flush(bool durable)
        {
            base.Flush(durable);
            _writer.Reset(Buffer);
        }

        public override void Dispose()
        {
            _writer.Dispose();
            base.Dispose();
        }
    }

    /// <summary>
    /// RFC 4180: the header (the first row's field names) before the first row, fields separated by commas, a string
    /// quoted (and its quotes doubled) only when it holds a comma, a quote or a line break.
    /// </summary>
    private sealed class CsvFile(string path) : RowFile(path)
    {
        private readonly ArrayBufferWriter<byte> _header = new(512);
        private bool _headerWritten;
        private bool _firstField;

        public override void Begin() => _firstField = true;

        public override void String(ReadOnlySpan<byte> name, ReadOnlySpan<byte> utf8)
        {
            Separator(name);
            if (utf8.IndexOfAny((byte)',', (byte)'"', (byte)'\n') < 0 && utf8.IndexOf((byte)'\r') < 0)
            {
                Buffer.Write(utf8);
                return;
            }

            Buffer.Write("\""u8);
            foreach (var b in utf8)
            {
                if (b == (byte)'"')
                {
                    Buffer.Write("\"\""u8);
                }
                else
                {
                    Buffer.GetSpan(1)[0] = b;
                    Buffer.Advance(1);
                }
            }

            Buffer.Write("\""u8);
        }

        public override void Integer(ReadOnlySpan<byte> name, long value)
        {
            Separator(name);
            Utf8Formatter.TryFormat(value, Buffer.GetSpan(20), out var written);
            Buffer.Advance(written);
        }

        public override void Boolean(ReadOnlySpan<byte> name, bool value)
        {
            Separator(name);
            Buffer.Write(value ? "true"u8 : "false"u8);
        }

        public override void Decimal(ReadOnlySpan<byte> name, long mantissa)
        {
            Separator(name);
            FixedPoint.TryFormat(mantissa, Buffer.GetSpan(FixedPoint.MaxFormattedLength), out var written);
            Buffer.Advance(written);
        }

        public override void Double(ReadOnlySpan<byte> name, double value)
        {
            Separator(name);
            if (double.IsFinite(value))
            {
                value.TryFormat(Buffer.GetSpan(32), out var written, "R", CultureInfo.InvariantCulture);
                Buffer.Advance(written);
            }
        }

        public override void End()
        {
            if (!_headerWritten)
            {
                // The header goes in front of the first row, which is still in the buffer (nothing is flushed mid-row).
                _header.Write("\n"u8);
                var row = Buffer.WrittenSpan.ToArray();
                Buffer.ResetWrittenCount();
                Buffer.Write(_header.WrittenSpan);
                Buffer.Write(row);
                _headerWritten = true;
            }

            base.End();
        }

        private void Separator(ReadOnlySpan<byte> name)
        {
            if (!_firstField)
            {
                Buffer.Write(","u8);
            }

            if (!_headerWritten)
            {
                if (!_firstField)
                {
                    _header.Write(","u8);
                }

                _header.Write(name);
            }

            _firstField = false;
        }
    }
}

/// <summary>
/// The output ring's file handler: writes every event and flushes the files at the end of each batch. A commit mark
/// (<see cref="OutputKind.Mark"/>) is acknowledged to <paramref name="commitMarks"/> once the files are flushed to
/// disk (fsync), so a Kafka source commits only what survives a crash of the process or the machine.
/// </summary>
public readonly struct OutputFileHandler(OutputFileWriter writer, ICommitMarks? commitMarks = null) : IValueEventHandler<OutputEvent>
{
    /// <inheritdoc />
    public void OnEvent(ref OutputEvent data, long sequence, bool endOfBatch)
    {
        if (data.Kind == OutputKind.Mark)
        {
            writer.Flush(durable: true);
            commitMarks?.OnDurable(data.MarkId);
            return;
        }

        writer.Write(data);
        if (endOfBatch)
        {
            writer.Flush();
        }
    }

    /// <inheritdoc />
    public void OnShutdown() => writer.Flush(durable: true);
}

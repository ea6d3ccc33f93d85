using System.Buffers;
using System.Globalization;
using System.Text.Json;
using LowLatency.Aggregation;
using LowLatency.Market;
using LowLatency.Ring;

namespace LowLatency.Sinks.Files;

/// <summary>
/// Writes the output ring to three JSON-lines files in a directory: <c>candles.jsonl</c>, <c>alerts.jsonl</c> and
/// <c>tickers.jsonl</c>. One <see cref="Utf8JsonWriter"/> per file over a reused buffer; buffers are written out at the
/// end of each ring batch, so the files stay current without a write per event. Prices and volumes are written as
/// exact decimal strings, the way Binance sends them.
/// </summary>
public sealed class JsonLinesFileWriter : IDisposable
{
    private readonly SymbolTable _symbols;
    private readonly Target _candles;
    private readonly Target _alerts;
    private readonly Target _tickers;
    private readonly byte[] _number = new byte[FixedPoint.MaxFormattedLength + 8];

    /// <summary>Creates (or truncates) the three files in <paramref name="directory"/>.</summary>
    public JsonLinesFileWriter(string directory, SymbolTable symbols)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        Directory.CreateDirectory(directory);
        _symbols = symbols;
        _candles = new Target(Path.Combine(directory, "candles.jsonl"));
        _alerts = new Target(Path.Combine(directory, "alerts.jsonl"));
        _tickers = new Target(Path.Combine(directory, "tickers.jsonl"));
    }

    /// <summary>Lines written to each file.</summary>
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

    private void WriteCandle(Target t, in Candle c, in CandleMetrics m)
    {
        var w = t.Begin();
        w.WriteString("symbol"u8, _symbols.GetUtf8(c.SymbolId));
        w.WriteString("interval"u8, IntervalName(c.IntervalNs));
        w.WriteNumber("open_time"u8, c.OpenTimeNs / 1_000_000);
        w.WriteNumber("close_time"u8, (c.CloseTimeNs / 1_000_000) - 1);
        Decimal(w, "open"u8, c.Open.Mantissa);
        Decimal(w, "high"u8, c.High.Mantissa);
        Decimal(w, "low"u8, c.Low.Mantissa);
        Decimal(w, "close"u8, c.Close.Mantissa);
        Decimal(w, "volume"u8, c.Volume.Mantissa);
        Decimal(w, "quote_volume"u8, c.QuoteVolume.Mantissa);
        Decimal(w, "taker_buy_volume"u8, c.TakerBuyVolume.Mantissa);
        Decimal(w, "taker_buy_quote_volume"u8, c.TakerBuyQuoteVolume.Mantissa);
        Decimal(w, "vwap"u8, c.Vwap.Mantissa);
        w.WriteNumber("trades"u8, c.TradeCount);
        w.WriteNumber("first_trade_id"u8, c.FirstTradeId);
        w.WriteNumber("last_trade_id"u8, c.LastTradeId);
        w.WriteBoolean("has_gap"u8, c.HasGap);
        w.WriteNumber("late_trades"u8, c.LateTrades);
        Double(w, "price_change_pct"u8, m.PriceChangePercent);
        Double(w, "buy_sell_ratio"u8, m.BuySellRatio);
        Double(w, "volatility"u8, m.RollingVolatility);
        t.End();
    }

    private void WriteAlert(Target t, in Alert a)
    {
        var w = t.Begin();
        w.WriteString("id"u8, a.Id.ToString("x32", CultureInfo.InvariantCulture));
        w.WriteString("symbol"u8, _symbols.GetUtf8(a.SymbolId));
        w.WriteString("type"u8, a.Kind switch
        {
            AlertKind.WhaleTrade => "whale_trade"u8,
            AlertKind.VolumeSpike => "volume_spike"u8,
            _ => "price_spike"u8,
        });
        w.WriteNumber("time"u8, a.TimeNs / 1_000_000);
        w.WriteNumber("trade_id"u8, a.TradeId);
        Decimal(w, "price"u8, a.Price.Mantissa);
        Decimal(w, "value"u8, a.Value);
        Decimal(w, "threshold"u8, a.Threshold);
        t.End();
    }

    private void WriteTicker(Target t, int symbolId, in LiveTicker k)
    {
        var w = t.Begin();
        w.WriteString("symbol"u8, _symbols.GetUtf8(symbolId));
        Decimal(w, "last_price"u8, k.LastPrice.Mantissa);
        Decimal(w, "price_change"u8, k.PriceChange.Mantissa);
        Decimal(w, "price_change_pct"u8, k.PriceChangePercent);
        Decimal(w, "open"u8, k.Open.Mantissa);
        Decimal(w, "high"u8, k.High.Mantissa);
        Decimal(w, "low"u8, k.Low.Mantissa);
        Decimal(w, "volume"u8, k.Volume.Mantissa);
        Decimal(w, "quote_volume"u8, k.QuoteVolume.Mantissa);
        w.WriteNumber("trades_count"u8, k.TradeCount);
        Decimal(w, "bid"u8, k.BidPrice.Mantissa);
        Decimal(w, "ask"u8, k.AskPrice.Mantissa);
        w.WriteNumber("event_time"u8, k.EventTimeNs / 1_000_000);
        w.WriteNumber("updated_at"u8, k.UpdatedAtNs / 1_000_000);
        t.End();
    }

    private void Decimal(Utf8JsonWriter w, ReadOnlySpan<byte> name, long mantissa)
    {
        FixedPoint.TryFormat(mantissa, _number, out var written);
        w.WriteString(name, _number.AsSpan(0, written));
    }

    private static void Double(Utf8JsonWriter w, ReadOnlySpan<byte> name, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumber(name, value);
        }
        else
        {
            w.WriteNull(name);
        }
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

    /// <summary>One file: a buffer writer reused for every line, and the stream it is written to.</summary>
    private sealed class Target : IDisposable
    {
        private readonly FileStream _file;
        private readonly ArrayBufferWriter<byte> _buffer = new(1 << 16);
        private readonly Utf8JsonWriter _writer;

        public Target(string path)
        {
            _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 1 << 16);
            _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions { SkipValidation = true });
        }

        public long Lines { get; private set; }

        public Utf8JsonWriter Begin()
        {
            _writer.WriteStartObject();
            return _writer;
        }

        public void End()
        {
            _writer.WriteEndObject();
            _writer.Flush();
            _buffer.Write("\n"u8);
            _writer.Reset(_buffer);
            Lines++;
        }

        public void Flush(bool durable)
        {
            if (_buffer.WrittenCount > 0)
            {
                _file.Write(_buffer.WrittenSpan);
                _buffer.ResetWrittenCount();
                _writer.Reset(_buffer);
            }

            _file.Flush(durable);
        }

        public void Dispose()
        {
            _writer.Dispose();
            _file.Dispose();
        }
    }
}

/// <summary>The output ring's file handler: writes every event and flushes the files at the end of each batch.</summary>
public readonly struct JsonLinesFileHandler(JsonLinesFileWriter writer) : IValueEventHandler<OutputEvent>
{
    /// <inheritdoc />
    public void OnEvent(ref OutputEvent data, long sequence, bool endOfBatch)
    {
        writer.Write(data);
        if (endOfBatch)
        {
            writer.Flush();
        }
    }

    /// <inheritdoc />
    public void OnShutdown() => writer.Flush(durable: true);
}

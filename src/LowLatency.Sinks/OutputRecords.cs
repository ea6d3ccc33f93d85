using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text.Json;
using LowLatency.Aggregation;
using LowLatency.Market;

namespace LowLatency.Sinks;

/// <summary>
/// The records every sink writes for an <see cref="OutputEvent"/>: the fields of a candle, an alert and a ticker, in one
/// order, spelled by a <see cref="RowWriter"/> (JSON object, CSV row, Avro record). Prices and volumes are exact decimals, the way
/// Binance sends them. Files, Kafka topics and later stores share these field lists, so they agree by construction.
/// One instance per sink thread (it reuses a buffer).
/// </summary>
public sealed class OutputRecords(SymbolTable symbols)
{
    private readonly ArrayBufferWriter<byte> _alertId = new(64);

    /// <summary>The table the records' symbol names come from.</summary>
    public SymbolTable Symbols => symbols;

    /// <summary>
    /// The record's deterministic key, the same every time the same output is derived (a replay after a crash writes
    /// the same keys): <c>SYMBOL:interval:open_time_ms</c> for a candle, <c>SYMBOL:type:trade_id</c> (whale trade) or
    /// <c>SYMBOL:type:open_time_ms</c> (spikes, per candle) for an alert, <c>SYMBOL</c> for a ticker. Built from
    /// names, never from the process's dense symbol ids, which depend on the order symbols were first seen.
    /// </summary>
    public void WriteKey(IBufferWriter<byte> key, in OutputEvent e)
    {
        switch (e.Kind)
        {
            case OutputKind.Candle:
                key.Write(symbols.GetUtf8(e.Candle.SymbolId));
                key.Write(":"u8);
                key.Write(IntervalName(e.Candle.IntervalNs));
                key.Write(":"u8);
                Utf8Formatter.TryFormat(e.Candle.OpenTimeNs / 1_000_000, key.GetSpan(20), out var written);
                key.Advance(written);
                break;
            case OutputKind.Alert:
                WriteAlertKey(key, e.Alert);
                break;
            case OutputKind.Ticker:
                key.Write(symbols.GetUtf8(e.SymbolId));
                break;
        }
    }

    /// <summary>Writes the event's record as one row (nothing for marks and empty slots).</summary>
    public void Write(RowWriter row, in OutputEvent e)
    {
        switch (e.Kind)
        {
            case OutputKind.Candle:
                WriteCandle(row, e.Candle, e.Metrics);
                break;
            case OutputKind.Alert:
                WriteAlert(row, e.Alert);
                break;
            case OutputKind.Ticker:
                WriteTicker(row, e.SymbolId, e.Ticker);
                break;
        }
    }

    private void WriteAlertKey(IBufferWriter<byte> key, in Alert a)
    {
        key.Write(symbols.GetUtf8(a.SymbolId));
        key.Write(":"u8);
        key.Write(AlertTypeName(a.Kind));
        key.Write(":"u8);
        Utf8Formatter.TryFormat(a.Kind == AlertKind.WhaleTrade ? a.TradeId : a.TimeNs / 1_000_000, key.GetSpan(20), out var written);
        key.Advance(written);
    }

    public static ReadOnlySpan<byte> AlertTypeName(AlertKind kind) => kind switch
    {
        AlertKind.WhaleTrade => "whale_trade"u8,
        AlertKind.VolumeSpike => "volume_spike"u8,
        _ => "price_spike"u8,
    };

    /// <summary>The interval's name: 1s, 1m, 5m, 15m, 1h, 4h, 1d, or <c>custom</c>.</summary>
    public static ReadOnlySpan<byte> IntervalName(long ns) => ns switch
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

    private void WriteCandle(RowWriter f, in Candle c, in CandleMetrics m)
    {
        f.Begin(OutputKind.Candle);
        f.String("symbol"u8, symbols.GetUtf8(c.SymbolId));
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

    private void WriteAlert(RowWriter f, in Alert a)
    {
        _alertId.ResetWrittenCount();
        WriteAlertKey(_alertId, a);
        f.Begin(OutputKind.Alert);
        f.String("id"u8, _alertId.WrittenSpan);
        f.String("symbol"u8, symbols.GetUtf8(a.SymbolId));
        f.String("type"u8, AlertTypeName(a.Kind));
        f.Integer("time"u8, a.TimeNs / 1_000_000);
        f.Integer("trade_id"u8, a.TradeId);
        f.Decimal("price"u8, a.Price.Mantissa);
        f.Decimal("value"u8, a.Value);
        f.Decimal("threshold"u8, a.Threshold);
        f.End();
    }

    private void WriteTicker(RowWriter f, int symbolId, in LiveTicker k)
    {
        f.Begin(OutputKind.Ticker);
        f.String("symbol"u8, symbols.GetUtf8(symbolId));
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
}

/// <summary>
/// Spells rows of named fields into a reused buffer (<see cref="Buffer"/>): one row per <see cref="Begin"/> ...
/// <see cref="End"/>, each ended by a line feed in the text formats. The caller takes the bytes and calls <see cref="Clear"/>.
/// </summary>
public abstract class RowWriter : IDisposable
{
    /// <summary>The rows written since the last <see cref="Clear"/>.</summary>
    public ArrayBufferWriter<byte> Buffer { get; } = new(1 << 16);

    /// <summary>Starts a row of a <paramref name="record"/> (a binary format picks its schema by it; text formats need not).</summary>
    public abstract void Begin(OutputKind record);

    /// <summary>A UTF-8 string field.</summary>
    public abstract void String(ReadOnlySpan<byte> name, ReadOnlySpan<byte> utf8);

    /// <summary>An integer field.</summary>
    public abstract void Integer(ReadOnlySpan<byte> name, long value);

    /// <summary>A boolean field.</summary>
    public abstract void Boolean(ReadOnlySpan<byte> name, bool value);

    /// <summary>An 8-decimal fixed-point value, exact.</summary>
    public abstract void Decimal(ReadOnlySpan<byte> name, long mantissa);

    /// <summary>A double; NaN and infinities are written as null (JSON) or an empty field (CSV).</summary>
    public abstract void Double(ReadOnlySpan<byte> name, double value);

    /// <summary>Ends the row (text formats: with a line feed).</summary>
    public virtual void End() => Buffer.Write("\n"u8);

    /// <summary>Forgets the rows written (after the caller has taken them).</summary>
    public virtual void Clear() => Buffer.ResetWrittenCount();

    /// <inheritdoc />
    public virtual void Dispose()
    {
    }
}

/// <summary>Rows as JSON objects, one per line.</summary>
public sealed class JsonRowWriter : RowWriter
{
    private readonly Utf8JsonWriter _writer;
    private readonly byte[] _number = new byte[FixedPoint.MaxFormattedLength];

    /// <summary>Creates the writer over <see cref="RowWriter.Buffer"/>.</summary>
    public JsonRowWriter() => _writer = new Utf8JsonWriter(Buffer, new JsonWriterOptions { SkipValidation = true });

    /// <inheritdoc />
    public override void Begin(OutputKind record) => _writer.WriteStartObject();

    /// <inheritdoc />
    public override void String(ReadOnlySpan<byte> name, ReadOnlySpan<byte> utf8) => _writer.WriteString(name, utf8);

    /// <inheritdoc />
    public override void Integer(ReadOnlySpan<byte> name, long value) => _writer.WriteNumber(name, value);

    /// <inheritdoc />
    public override void Boolean(ReadOnlySpan<byte> name, bool value) => _writer.WriteBoolean(name, value);

    /// <inheritdoc />
    public override void Decimal(ReadOnlySpan<byte> name, long mantissa)
    {
        FixedPoint.TryFormat(mantissa, _number, out var written);
        _writer.WriteString(name, _number.AsSpan(0, written));
    }

    /// <inheritdoc />
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

    /// <inheritdoc />
    public override void End()
    {
        _writer.WriteEndObject();
        _writer.Flush();
        _writer.Reset(Buffer);
        base.End();
    }

    /// <inheritdoc />
    public override void Clear()
    {
        base.Clear();
        _writer.Reset(Buffer);
    }

    /// <inheritdoc />
    public override void Dispose() => _writer.Dispose();
}

/// <summary>
/// Rows as RFC 4180 CSV: the header (the first row's field names) before the first row, fields separated by commas, a
/// string quoted (its quotes doubled) only when it holds a comma, a quote or a line break.
/// </summary>
public sealed class CsvRowWriter : RowWriter
{
    private readonly ArrayBufferWriter<byte> _header = new(512);
    private bool _headerWritten;
    private bool _firstField;

    /// <inheritdoc />
    public override void Begin(OutputKind record) => _firstField = true;

    /// <inheritdoc />
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

    /// <inheritdoc />
    public override void Integer(ReadOnlySpan<byte> name, long value)
    {
        Separator(name);
        Utf8Formatter.TryFormat(value, Buffer.GetSpan(20), out var written);
        Buffer.Advance(written);
    }

    /// <inheritdoc />
    public override void Boolean(ReadOnlySpan<byte> name, bool value)
    {
        Separator(name);
        Buffer.Write(value ? "true"u8 : "false"u8);
    }

    /// <inheritdoc />
    public override void Decimal(ReadOnlySpan<byte> name, long mantissa)
    {
        Separator(name);
        FixedPoint.TryFormat(mantissa, Buffer.GetSpan(FixedPoint.MaxFormattedLength), out var written);
        Buffer.Advance(written);
    }

    /// <inheritdoc />
    public override void Double(ReadOnlySpan<byte> name, double value)
    {
        Separator(name);
        if (double.IsFinite(value))
        {
            value.TryFormat(Buffer.GetSpan(32), out var written, "R", CultureInfo.InvariantCulture);
            Buffer.Advance(written);
        }
    }

    /// <inheritdoc />
    public override void End()
    {
        if (!_headerWritten)
        {
            // The header goes in front of the first row, which is still in the buffer (nothing is taken mid-row).
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

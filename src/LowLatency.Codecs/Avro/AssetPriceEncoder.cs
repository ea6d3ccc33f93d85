using System.Buffers;
using System.Buffers.Text;
using LowLatency.Market;

namespace LowLatency.Codecs.Avro;

/// <summary>How <see cref="AssetPriceEncoder"/> writes the time fields.</summary>
public enum AssetPriceTimeFormat : byte
{
    /// <summary>Milliseconds since the epoch as integer text (<c>1723161255343</c>; sub-millisecond parts are dropped).</summary>
    EpochMilliseconds,

    /// <summary>ISO-8601 UTC (<c>2024-08-08T23:54:15.343Z</c>), exact to the nanosecond.</summary>
    Iso8601,
}

/// <summary>
/// Writes <c>data.asset_prices</c> records (<see cref="AssetPriceSchema"/>) from kline <see cref="MarketEvent"/>s: the
/// inverse of <see cref="AssetPriceDecoder"/>, for tests and for the perf harness's load. Zero allocation: into a span,
/// or into an <see cref="IBufferWriter{T}"/>.
/// </summary>
/// <remarks>
/// Field by field with <see cref="AvroWriter"/>, in the schema's order: <c>id</c> from the caller's <see cref="Guid"/>,
/// <c>asset_name</c> from the symbol table, prices and volumes as canonical decimal text, <c>trades</c> as integer text,
/// <c>is_closed</c> as <c>true</c>/<c>false</c>, <c>timestamp</c>/<c>close_time</c>/<c>collected_at</c> from the open,
/// close and event times.
/// </remarks>
public sealed class AssetPriceEncoder
{
    /// <summary>The most bytes one framed record takes (header, a 64-byte symbol, 21-character decimals, 30-character times).</summary>
    public const int MaxEncodedLength = SingleObjectFraming.HeaderLength + (1 + 36) + (1 + SymbolTable.MaxSymbolBytes)
        + (6 * (1 + FixedPoint.MaxFormattedLength)) + (1 + 20) + (1 + 5) + (3 * (2 + AssetPriceText.MaxIso8601Length));

    private readonly SymbolTable _symbols;
    private readonly ulong _fingerprint;

    /// <summary>Creates an encoder.</summary>
    /// <param name="symbols">Where the events' symbol ids are resolved to names.</param>
    /// <param name="framing">The framing written before each body (default Confluent).</param>
    /// <param name="schemaId">The Confluent schema id written in the header (default 1).</param>
    /// <param name="timeFormat">How times are written (default ms since the epoch).</param>
    public AssetPriceEncoder(SymbolTable symbols, AvroFraming framing = AvroFraming.Confluent, int schemaId = 1, AssetPriceTimeFormat timeFormat = AssetPriceTimeFormat.EpochMilliseconds)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        _symbols = symbols;
        Framing = framing;
        SchemaId = schemaId;
        TimeFormat = timeFormat;
        _fingerprint = AssetPriceSchema.Schema.Fingerprint;
    }

    /// <summary>The framing written.</summary>
    public AvroFraming Framing { get; }

    /// <summary>The Confluent schema id written.</summary>
    public int SchemaId { get; }

    /// <summary>How times are written.</summary>
    public AssetPriceTimeFormat TimeFormat { get; }

    /// <summary>Encodes a kline event; false if <paramref name="destination"/> is too small (<see cref="MaxEncodedLength"/> always suffices) or the event is not a kline with a known symbol.</summary>
    public bool TryEncode(in MarketEvent evt, Guid id, Span<byte> destination, out int written)
    {
        written = 0;
        if (evt.Kind != MarketEventKind.Kline || (uint)evt.SymbolId >= (uint)_symbols.Count)
        {
            return false;
        }

        var header = Framing switch
        {
            AvroFraming.Confluent => ConfluentFraming.TryWriteHeader(destination, SchemaId) ? ConfluentFraming.HeaderLength : -1,
            AvroFraming.SingleObject => SingleObjectFraming.TryWriteHeader(destination, _fingerprint) ? SingleObjectFraming.HeaderLength : -1,
            _ => 0,
        };
        if (header < 0)
        {
            return false;
        }

        ref readonly var k = ref evt.Payload.Kline;
        var w = new AvroWriter(destination[header..]);
        Span<byte> text = stackalloc byte[40];
        Utf8Formatter.TryFormat(id, text, out var idLength);
        w.WriteString(text[..idLength]);
        w.WriteString(_symbols.GetUtf8(evt.SymbolId));
        w.WriteDecimalString(k.Open.Mantissa);
        w.WriteDecimalString(k.High.Mantissa);
        w.WriteDecimalString(k.Low.Mantissa);
        w.WriteDecimalString(k.Close.Mantissa);
        w.WriteDecimalString(k.Volume.Mantissa);
        w.WriteDecimalString(k.QuoteVolume.Mantissa);
        w.WriteIntegerString(k.TradeCount);
        w.WriteString(k.IsClosed ? "true"u8 : "false"u8);
        WriteTime(ref w, k.OpenTimeNs, text);
        WriteTime(ref w, k.CloseTimeNs, text);
        WriteTime(ref w, evt.EventTimeNs, text);
        if (w.Overflowed)
        {
            return false;
        }

        written = header + w.Position;
        return true;
    }

    /// <summary>Encodes a kline event into <paramref name="output"/>; returns the bytes written (throws if the event is not an encodable kline).</summary>
    public int Encode(in MarketEvent evt, Guid id, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!TryEncode(in evt, id, output.GetSpan(MaxEncodedLength), out var written))
        {
            throw new ArgumentException("Only kline events whose symbol id is in the symbol table can be encoded.", nameof(evt));
        }

        output.Advance(written);
        return written;
    }

    private void WriteTime(ref AvroWriter w, long ns, scoped Span<byte> text)
    {
        if (TimeFormat == AssetPriceTimeFormat.Iso8601)
        {
            AssetPriceText.TryFormatIso8601(ns, text, out var length);
            w.WriteString(text[..length]);
        }
        else
        {
            w.WriteIntegerString(Math.DivRem(ns, 1_000_000, out var rest) - (rest < 0 ? 1 : 0)); // floor: ms containing ns
        }
    }
}

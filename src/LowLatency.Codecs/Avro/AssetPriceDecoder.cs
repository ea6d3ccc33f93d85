using System.Runtime.CompilerServices;
using LowLatency.Codecs.Binance;
using LowLatency.Market;

namespace LowLatency.Codecs.Avro;

/// <summary>
/// Decodes <c>data.asset_prices</c> records (<see cref="AssetPriceSchema"/>) straight into a <see cref="MarketEvent"/>
/// of kind <see cref="MarketEventKind.Kline"/>: symbol interned in the <see cref="SymbolTable"/>, prices and volumes
/// parsed from their decimal text into fixed point, times into ns. Nothing is allocated per message and nothing
/// throws: failures are a <see cref="DecodeResult"/> with a static reason, as for <see cref="BinanceDecoder"/>.
/// </summary>
/// <remarks>
/// <para>
/// Writer schemas are resolved by field name (<see cref="AvroRecordProjection"/>), compiled once when registered: a
/// writer with the fields in another order, with extra fields (skipped), with <c>bytes</c> or <c>["null","string"]</c>
/// instead of <c>string</c>, or without the optional fields is read correctly. Framing is fixed per decoder: bare body
/// (the default writer schema), Confluent (schema id → registered writer; the default schema is registered under
/// <c>defaultSchemaId</c>, and an id never registered is rejected as <see cref="DecodeStatus.Unsupported"/>, so a
/// message of another schema is dead-lettered rather than misread), or
/// single-object (fingerprint → registered writer; the default schema's fingerprint is registered).
/// </para>
/// <para>
/// Mapping: <c>timestamp</c> → <see cref="KlineData.OpenTimeNs"/>, <c>close_time</c> → <see cref="KlineData.CloseTimeNs"/>,
/// <c>collected_at</c> → <see cref="MarketEvent.EventTimeNs"/> (the close time when absent or empty), <c>trades</c> →
/// <see cref="KlineData.TradeCount"/>, the interval inferred from close − open + 1 ms (Binance's close time is the last
/// millisecond of the candle), trade ids -1 and taker volumes 0 (the record has none). Register writer schemas before
/// decoding starts; decoding itself is safe on several threads.
/// </para>
/// </remarks>
public sealed class AssetPriceDecoder
{
    private readonly SymbolTable _symbols;
    private readonly Dictionary<int, AvroRecordProjection> _bySchemaId = [];
    private readonly Dictionary<ulong, AvroRecordProjection> _byFingerprint = [];
    private readonly AvroRecordProjection _default;

    /// <summary>
    /// Creates a decoder for <paramref name="framing"/>, reading writers of <paramref name="writerSchema"/> by default
    /// (<see cref="AssetPriceSchema.Schema"/> when null), registered under Confluent schema id
    /// <paramref name="defaultSchemaId"/> (default 1, what <see cref="AssetPriceEncoder"/> writes by default).
    /// </summary>
    public AssetPriceDecoder(SymbolTable symbols, AvroFraming framing = AvroFraming.Confluent, AvroSchema? writerSchema = null, int defaultSchemaId = 1)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        _symbols = symbols;
        Framing = framing;
        _default = AvroRecordProjection.Create(writerSchema ?? AssetPriceSchema.Schema, AssetPriceSchema.Schema);
        _byFingerprint[_default.WriterPlan.Fingerprint] = _default;
        _bySchemaId[defaultSchemaId] = _default;
    }

    /// <summary>How incoming payloads are framed.</summary>
    public AvroFraming Framing { get; }

    /// <summary>
    /// Registers a writer schema under its Confluent schema id (and its fingerprint, for single-object payloads);
    /// throws <see cref="AvroException"/> if it cannot be resolved against <see cref="AssetPriceSchema"/>.
    /// </summary>
    public void RegisterWriterSchema(int schemaId, AvroSchema writerSchema)
    {
        var projection = AvroRecordProjection.Create(writerSchema, AssetPriceSchema.Schema);
        _bySchemaId[schemaId] = projection;
        _byFingerprint[projection.WriterPlan.Fingerprint] = projection;
    }

    /// <summary>Decodes one payload into <paramref name="evt"/>; on failure <paramref name="evt"/>'s kind becomes <see cref="MarketEventKind.Invalid"/>.</summary>
    /// <remarks>The source sets <see cref="MarketEvent.ReceiveTimeNs"/> and <see cref="MarketEvent.SourcePosition"/>; the decoder never touches them.</remarks>
    public DecodeResult Decode(ReadOnlySpan<byte> payload, ref MarketEvent evt)
    {
        var result = DecodeCore(payload, ref evt);
        if (result.Status != DecodeStatus.Ok)
        {
            evt.Kind = MarketEventKind.Invalid;
        }

        return result;
    }

    private DecodeResult DecodeCore(ReadOnlySpan<byte> payload, ref MarketEvent evt)
    {
        var projection = _default;
        ReadOnlySpan<byte> body;
        AvroStatus status;
        switch (Framing)
        {
            case AvroFraming.Confluent:
                if ((status = ConfluentFraming.TryRead(payload, out var schemaId, out body)) != AvroStatus.Ok)
                {
                    return status == AvroStatus.Truncated ? Reasons.ShortConfluent : Reasons.BadMagic;
                }

                if (!_bySchemaId.TryGetValue(schemaId, out projection!))
                {
                    return Reasons.UnknownSchemaId;
                }

                break;
            case AvroFraming.SingleObject:
                if ((status = SingleObjectFraming.TryRead(payload, out var fingerprint, out body)) != AvroStatus.Ok)
                {
                    return status == AvroStatus.Truncated ? Reasons.ShortSingleObject : Reasons.BadMarker;
                }

                if (!_byFingerprint.TryGetValue(fingerprint, out projection!))
                {
                    return Reasons.UnknownFingerprint;
                }

                break;
            default:
                body = payload;
                break;
        }

        Span<AvroValue> values = stackalloc AvroValue[AssetPriceSchema.FieldCount];
        status = projection.Read(body, values);
        if (status != AvroStatus.Ok)
        {
            return Reasons.Avro(status);
        }

        // Every value below is validated before the event is written: a failure leaves no half-filled payload.
        int field;
        DecodeStatus s;
        if ((s = Text(body, values, field = AssetPriceSchema.AssetName, out var symbol)) != DecodeStatus.Ok ||
            (s = Text(body, values, field = AssetPriceSchema.Id, out var id)) != DecodeStatus.Ok ||
            (s = Uuid(id, out var recordId)) != DecodeStatus.Ok ||
            (s = Decimal(body, values, field = AssetPriceSchema.Open, out var open)) != DecodeStatus.Ok ||
            (s = Decimal(body, values, field = AssetPriceSchema.High, out var high)) != DecodeStatus.Ok ||
            (s = Decimal(body, values, field = AssetPriceSchema.Low, out var low)) != DecodeStatus.Ok ||
            (s = Decimal(body, values, field = AssetPriceSchema.Close, out var close)) != DecodeStatus.Ok ||
            (s = Decimal(body, values, field = AssetPriceSchema.Volume, out var volume)) != DecodeStatus.Ok ||
            (s = Decimal(body, values, field = AssetPriceSchema.QuoteVolume, out var quoteVolume)) != DecodeStatus.Ok ||
            (s = Integer(body, values, field = AssetPriceSchema.Trades, out var trades)) != DecodeStatus.Ok ||
            (s = Boolean(body, values, field = AssetPriceSchema.IsClosed, out var isClosed)) != DecodeStatus.Ok ||
            (s = Time(body, values, field = AssetPriceSchema.Timestamp, out var openTime)) != DecodeStatus.Ok ||
            (s = Time(body, values, field = AssetPriceSchema.CloseTime, out var closeTime)) != DecodeStatus.Ok ||
            (s = Time(body, values, field = AssetPriceSchema.CollectedAt, out var collectedAt)) != DecodeStatus.Ok)
        {
            return Reasons.Field(s, field);
        }

        var symbolId = _symbols.GetOrAdd(symbol);
        if (symbolId < 0)
        {
            return Reasons.SymbolRejected;
        }

        new KlineRow
        {
            SymbolId = symbolId,
            EventTimeNs = collectedAt == long.MinValue ? closeTime : collectedAt,
            OpenTimeNs = openTime,
            CloseTimeNs = closeTime,
            Open = open,
            High = high,
            Low = low,
            Close = close,
            Volume = volume,
            QuoteVolume = quoteVolume,
            Trades = trades,
            Interval = InferInterval(closeTime - openTime),
            IsClosed = isClosed,
            RecordId = recordId,
        }.WriteTo(ref evt);
        return DecodeResult.Success;
    }

    /// <summary>
    /// A field's text. Absent (the writer has no such field), null (a union's null branch) and empty all read as empty
    /// text: the default for the optional fields, <see cref="DecodeStatus.MissingField"/> for the required ones.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeStatus Text(ReadOnlySpan<byte> body, ReadOnlySpan<AvroValue> values, int field, out ReadOnlySpan<byte> text)
    {
        ref readonly var v = ref values[field];
        text = v.IsText ? v.Slice(body) : default;
        if (!text.IsEmpty)
        {
            return DecodeStatus.Ok;
        }

        if (!v.IsText && v.Kind is not (AvroValueKind.Absent or AvroValueKind.Null))
        {
            return DecodeStatus.WrongType;
        }

        return field is AssetPriceSchema.Id or AssetPriceSchema.QuoteVolume or AssetPriceSchema.Trades or AssetPriceSchema.IsClosed or AssetPriceSchema.CollectedAt
            ? DecodeStatus.Ok
            : DecodeStatus.MissingField;
    }

    private static DecodeStatus Decimal(ReadOnlySpan<byte> body, ReadOnlySpan<AvroValue> values, int field, out long mantissa)
    {
        mantissa = 0;
        var s = Text(body, values, field, out var text);
        if (s != DecodeStatus.Ok || text.IsEmpty)
        {
            return s;
        }

        return FixedPoint.TryParse(text, out mantissa) switch
        {
            FixedPointStatus.Ok => DecodeStatus.Ok,
            FixedPointStatus.PrecisionLoss => DecodeStatus.PrecisionLoss,
            FixedPointStatus.Overflow => DecodeStatus.Overflow,
            _ => DecodeStatus.WrongType,
        };
    }

    private static DecodeStatus Integer(ReadOnlySpan<byte> body, ReadOnlySpan<AvroValue> values, int field, out long value)
    {
        value = 0;
        var s = Text(body, values, field, out var text);
        return s != DecodeStatus.Ok || text.IsEmpty ? s : AssetPriceText.TryParseInteger(text, out value);
    }

    private static DecodeStatus Boolean(ReadOnlySpan<byte> body, ReadOnlySpan<AvroValue> values, int field, out bool value)
    {
        value = false;
        var s = Text(body, values, field, out var text);
        return s != DecodeStatus.Ok || text.IsEmpty ? s : AssetPriceText.TryParseBoolean(text, out value);
    }

    /// <summary>A time in ns; <see cref="long.MinValue"/> for an absent or empty optional time.</summary>
    private static DecodeStatus Time(ReadOnlySpan<byte> body, ReadOnlySpan<AvroValue> values, int field, out long ns)
    {
        ns = long.MinValue;
        var s = Text(body, values, field, out var text);
        return s != DecodeStatus.Ok || text.IsEmpty ? s : AssetPriceText.TryParseTime(text, out ns);
    }

    /// <summary>The record's UUID in its 8-4-4-4-12 text form, or <see cref="Guid.Empty"/> when the writer gave none.</summary>
    private static DecodeStatus Uuid(ReadOnlySpan<byte> id, out Guid value)
    {
        value = Guid.Empty;
        if (id.IsEmpty)
        {
            return DecodeStatus.Ok;
        }

        return AssetPriceText.IsUuid(id) && System.Buffers.Text.Utf8Parser.TryParse(id, out value, out var consumed, 'D') && consumed == id.Length
            ? DecodeStatus.Ok
            : DecodeStatus.WrongType;
    }

    /// <summary>The interval of a candle from its close − open time in ns (Binance closes a candle on its last millisecond).</summary>
    internal static KlineInterval InferInterval(long durationNs)
    {
        const long Ms = 1_000_000;
        const long Minute = 60_000 * Ms;
        return (durationNs + Ms) switch
        {
            1_000 * Ms => KlineInterval.Second1,
            Minute => KlineInterval.Minute1,
            3 * Minute => KlineInterval.Minute3,
            5 * Minute => KlineInterval.Minute5,
            15 * Minute => KlineInterval.Minute15,
            30 * Minute => KlineInterval.Minute30,
            60 * Minute => KlineInterval.Hour1,
            120 * Minute => KlineInterval.Hour2,
            240 * Minute => KlineInterval.Hour4,
            360 * Minute => KlineInterval.Hour6,
            480 * Minute => KlineInterval.Hour8,
            720 * Minute => KlineInterval.Hour12,
            1_440 * Minute => KlineInterval.Day1,
            4_320 * Minute => KlineInterval.Day3,
            10_080 * Minute => KlineInterval.Week1,
            _ => KlineInterval.None,
        };
    }

    /// <summary>Every reason is built once: a failure allocates nothing.</summary>
    private static class Reasons
    {
        public static readonly DecodeResult ShortConfluent = new(DecodeStatus.Malformed, "assets: shorter than the Confluent header");
        public static readonly DecodeResult BadMagic = new(DecodeStatus.Malformed, "assets: Confluent magic byte is not 0");
        public static readonly DecodeResult ShortSingleObject = new(DecodeStatus.Malformed, "assets: shorter than the single-object header");
        public static readonly DecodeResult BadMarker = new(DecodeStatus.Malformed, "assets: no single-object marker C3 01");
        public static readonly DecodeResult UnknownSchemaId = new(DecodeStatus.Unsupported, "assets: Confluent schema id not registered");
        public static readonly DecodeResult UnknownFingerprint = new(DecodeStatus.Unsupported, "assets: writer schema fingerprint not registered");
        public static readonly DecodeResult SymbolRejected = new(DecodeStatus.SymbolRejected, "assets: symbol rejected by the symbol table");

        private static readonly DecodeResult[] s_avro = Enum.GetValues<AvroStatus>()
            .Select(s => new DecodeResult(DecodeStatus.Malformed, $"assets: Avro body {s}")).ToArray();

        private static readonly string[] s_names =
            ["id", "asset_name", "open", "high", "low", "close", "volume", "quote_volume", "trades", "is_closed", "timestamp", "close_time", "collected_at"];

        private static readonly DecodeResult[][] s_field = s_names
            .Select(name => Enum.GetValues<DecodeStatus>().Select(status => new DecodeResult(status, status switch
            {
                DecodeStatus.MissingField => $"assets: field '{name}' missing",
                DecodeStatus.Overflow => $"assets: field '{name}' overflows",
                DecodeStatus.PrecisionLoss => $"assets: field '{name}' has more than 8 decimals",
                _ => $"assets: field '{name}' has the wrong type or form",
            })).ToArray()).ToArray();

        public static DecodeResult Avro(AvroStatus status) => s_avro[(int)status];

        public static DecodeResult Field(DecodeStatus status, int field) => s_field[field][(int)status];
    }
}

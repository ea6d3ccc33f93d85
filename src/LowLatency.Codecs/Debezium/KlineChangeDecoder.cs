using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using LowLatency.Codecs.Avro;
using LowLatency.Codecs.Binance;
using LowLatency.Market;

namespace LowLatency.Codecs.Debezium;

/// <summary>
/// Decodes Debezium change events of a kline table (PostgreSQL connector, JSON converter; topic such as
/// <c>cap_stock.public.kline_data</c>) straight into a <see cref="MarketEvent"/> of kind <see cref="MarketEventKind.Kline"/>.
/// Nothing is allocated per message and nothing throws: failures are a <see cref="DecodeResult"/> with a static reason,
/// as for <see cref="BinanceDecoder"/> and <see cref="AssetPriceDecoder"/>.
/// </summary>
/// <remarks>
/// <para>
/// Accepted shapes: the converter's envelope <c>{"schema":{…},"payload":{"before":…,"after":…,"source":…,"op":…,"ts_ms":…}}</c>
/// (<c>schemas.enable=true</c>) and the bare payload <c>{"before":…,"after":…,"op":…,"ts_ms":…}</c>. The whole message is
/// validated as JSON; <c>before</c>, <c>source</c>, <c>transaction</c> and unknown fields or columns are skipped.
/// </para>
/// <para>
/// Ops <c>c</c>, <c>u</c>, <c>r</c> give a kline from <c>after</c> with <see cref="MarketEvent.EventTimeNs"/> = the payload's
/// <c>ts_ms</c> (the close time when absent). Op <c>d</c> and tombstones (an empty value, <c>null</c>, or
/// <c>{"schema":null,"payload":null}</c>) return <see cref="Skipped"/>: status <see cref="DecodeStatus.Unsupported"/>
/// ("well-formed, but not a message this decoder turns into an event"), so every consumer that only checks
/// <see cref="DecodeResult.IsSuccess"/> keeps working, and a caller tells a skip from a rejection with
/// <see cref="IsSkipped"/> (the reason's reference). No new <see cref="DecodeStatus"/> member: the status is shared by all
/// decoders and indexes the pipeline's failure counters, and a skip is a kind of Unsupported, not a new outcome.
/// </para>
/// <para>
/// Columns of <c>after</c> (names as in the table; unknown columns are ignored):
/// <list type="bullet">
/// <item><c>symbol</c> (text, required) → <see cref="MarketEvent.SymbolId"/>.</item>
/// <item><c>interval</c> (text <c>1s</c>…<c>1M</c>, optional) → <see cref="KlineData.Interval"/>; inferred from close − open + 1 ms when absent or null.</item>
/// <item><c>open_time</c>, <c>close_time</c> (required) → <see cref="KlineData.OpenTimeNs"/>, <see cref="KlineData.CloseTimeNs"/>.
/// Integers are read in the unit the schema names: <c>io.debezium.time.Timestamp</c> and
/// <c>org.apache.kafka.connect.data.Timestamp</c> ms, <c>io.debezium.time.MicroTimestamp</c> µs,
/// <c>io.debezium.time.NanoTimestamp</c> ns. Without a schema, or a plain <c>int64</c> column (bigint), by magnitude:
/// |v| ≥ 1e17 ns, ≥ 1e14 µs, else ms. Strings (<c>io.debezium.time.ZonedTimestamp</c>) are ISO-8601, or ms digits.</item>
/// <item><c>open</c>, <c>high</c>, <c>low</c>, <c>close</c>, <c>volume</c> (required), <c>quote_volume</c> (optional, 0) →
/// 8-decimal fixed point, exactly or not at all (<see cref="DecodeStatus.PrecisionLoss"/>, <see cref="DecodeStatus.Overflow"/>):
/// JSON numbers from their text (exponents too: doubles come as <c>1.0E-5</c>), decimal strings
/// (<c>decimal.handling.mode=string</c>), and with the schema, base64 <c>bytes</c> of
/// <c>org.apache.kafka.connect.data.Decimal</c> (<c>decimal.handling.mode=precise</c>) scaled by the schema's
/// <c>scale</c> parameter. <c>io.debezium.data.VariableScaleDecimal</c> (numeric without scale) is
/// <see cref="DecodeStatus.Unsupported"/>.</item>
/// <item><c>trades</c> or <c>number_of_trades</c> (integer, optional, 0) → <see cref="KlineData.TradeCount"/>.</item>
/// <item><c>is_closed</c> (bool, optional, false) → <see cref="KlineData.IsClosed"/>.</item>
/// </list>
/// Trade ids are -1 and taker volumes 0 (the row has none), as for <see cref="AssetPriceDecoder"/>. Safe on several threads.
/// </para>
/// </remarks>
public sealed class KlineChangeDecoder
{
    /// <summary>
    /// The result of a delete (op <c>d</c>) or a tombstone: status <see cref="DecodeStatus.Unsupported"/>, reason
    /// <c>debezium: delete: skipped</c>. Count it, do not dead-letter it; recognise it with <see cref="IsSkipped"/>.
    /// </summary>
    public static readonly DecodeResult Skipped = new(DecodeStatus.Unsupported, "debezium: delete: skipped");

    private const long NsPerMs = 1_000_000;

    private readonly SymbolTable _symbols;

    /// <summary>Creates a decoder interning symbols into <paramref name="symbols"/>.</summary>
    public KlineChangeDecoder(SymbolTable symbols)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        _symbols = symbols;
    }

    /// <summary>Whether <paramref name="result"/> is <see cref="Skipped"/> (a delete or tombstone, not a rejected message).</summary>
    public static bool IsSkipped(in DecodeResult result) => ReferenceEquals(result.Reason, Skipped.Reason);

    /// <summary>Decodes one change event into <paramref name="evt"/>; on any other outcome than Ok its kind becomes <see cref="MarketEventKind.Invalid"/>.</summary>
    /// <remarks>The source sets <see cref="MarketEvent.ReceiveTimeNs"/> and <see cref="MarketEvent.SourcePosition"/>; the decoder never touches them.</remarks>
    public DecodeResult Decode(ReadOnlySpan<byte> json, ref MarketEvent evt)
    {
        var result = DecodeCore(json, ref evt);
        if (result.Status != DecodeStatus.Ok)
        {
            evt.Kind = MarketEventKind.Invalid;
        }

        return result;
    }

    private DecodeResult DecodeCore(ReadOnlySpan<byte> json, ref MarketEvent evt)
    {
        var scanner = new Utf8JsonScanner(json);
        var first = scanner.Peek();
        if (first == Utf8JsonScanner.End)
        {
            return Skipped; // an empty value: a tombstone
        }

        var envelope = default(Envelope);
        if (first == 'n')
        {
            return scanner.SkipValue(0) && scanner.Peek() == Utf8JsonScanner.End ? Skipped : Reasons.Malformed;
        }

        if (first != '{')
        {
            return Reasons.NotAnObject;
        }

        if (!ReadEnvelope(json, ref scanner, ref envelope, depth: 0, outermost: true) || scanner.Peek() != Utf8JsonScanner.End)
        {
            return Reasons.Malformed;
        }

        if (envelope.NullPayload)
        {
            return Skipped; // {"schema":null,"payload":null}: the converter's tombstone with schemas enabled
        }

        if (envelope.OpStart == 0)
        {
            return Reasons.MissingOp;
        }

        var op = json[envelope.OpStart..envelope.OpEnd];
        if (op.Length != 1 || op[0] is not ((byte)'c' or (byte)'u' or (byte)'r' or (byte)'d'))
        {
            return Reasons.UnknownOp;
        }

        if (op[0] == 'd')
        {
            return Skipped;
        }

        if (!envelope.HasAfter)
        {
            return Reasons.MissingAfter;
        }

        ref var row = ref envelope.Row;
        if (envelope.SchemaStart != 0)
        {
            ReadSchema(json, envelope.SchemaStart, ref row);
        }

        long eventTime = long.MinValue;
        if (envelope.TsStart != 0 && !TryInteger(json[envelope.TsStart..envelope.TsEnd], out eventTime))
        {
            return Reasons.BadTsMs;
        }

        int column;
        DecodeStatus s;
        if ((s = Symbol(json, in row, column = Column.Symbol, out var symbol)) != DecodeStatus.Ok ||
            (s = Interval(json, in row, column = Column.Interval, out var interval)) != DecodeStatus.Ok ||
            (s = Time(json, in row, column = Column.OpenTime, out var openTime)) != DecodeStatus.Ok ||
            (s = Time(json, in row, column = Column.CloseTime, out var closeTime)) != DecodeStatus.Ok ||
            (s = Decimal(json, in row, column = Column.Open, out var open)) != DecodeStatus.Ok ||
            (s = Decimal(json, in row, column = Column.High, out var high)) != DecodeStatus.Ok ||
            (s = Decimal(json, in row, column = Column.Low, out var low)) != DecodeStatus.Ok ||
            (s = Decimal(json, in row, column = Column.Close, out var close)) != DecodeStatus.Ok ||
            (s = Decimal(json, in row, column = Column.Volume, out var volume)) != DecodeStatus.Ok ||
            (s = Decimal(json, in row, column = Column.QuoteVolume, out var quoteVolume)) != DecodeStatus.Ok ||
            (s = Trades(json, in row, column = Column.Trades, out var trades)) != DecodeStatus.Ok ||
            (s = Boolean(json, in row, column = Column.IsClosed, out var isClosed)) != DecodeStatus.Ok)
        {
            return s == DecodeStatus.Unsupported ? Reasons.VariableScaleDecimal : Reasons.Field(s, column);
        }

        if (eventTime != long.MinValue && (eventTime > long.MaxValue / NsPerMs || eventTime < long.MinValue / NsPerMs))
        {
            return Reasons.BadTsMs;
        }

        var symbolId = _symbols.GetOrAdd(symbol);
        if (symbolId < 0)
        {
            return Reasons.SymbolRejected;
        }

        new KlineRow
        {
            SymbolId = symbolId,
            EventTimeNs = eventTime == long.MinValue ? closeTime : eventTime * NsPerMs,
            OpenTimeNs = openTime,
            CloseTimeNs = closeTime,
            Open = open,
            High = high,
            Low = low,
            Close = close,
            Volume = volume,
            QuoteVolume = quoteVolume,
            Trades = trades,
            Interval = interval != KlineInterval.None ? interval : AssetPriceDecoder.InferInterval(closeTime - openTime),
            IsClosed = isClosed,
        }.WriteTo(ref evt);
        return DecodeResult.Success;
    }

    /// <summary>
    /// Reads the members of the outer object (the envelope, or a bare payload) and, for <c>payload</c>, of the payload:
    /// records where <c>schema</c>, <c>op</c> and <c>ts_ms</c> are and reads <c>after</c>'s columns in the same pass.
    /// </summary>
    private static bool ReadEnvelope(ReadOnlySpan<byte> json, ref Utf8JsonScanner scanner, ref Envelope envelope, int depth, bool outermost)
    {
        scanner.Position++; // the '{'
        var firstMember = true;
        while (true)
        {
            var next = NextMember(ref scanner, ref firstMember, out var nameStart, out var nameEnd);
            if (next <= 0)
            {
                return next == 0;
            }

            var name = json[nameStart..nameEnd];
            var c = scanner.Peek();
            var valueStart = scanner.Position;
            if (outermost && name.SequenceEqual("payload"u8))
            {
                if (c == '{')
                {
                    if (!ReadEnvelope(json, ref scanner, ref envelope, depth + 1, outermost: false))
                    {
                        return false;
                    }

                    continue;
                }

                envelope.NullPayload = c == 'n';
            }
            else if (outermost && name.SequenceEqual("schema"u8) && c == '{')
            {
                envelope.SchemaStart = valueStart;
            }
            else if (name.SequenceEqual("after"u8) && c == '{')
            {
                envelope.HasAfter = true;
                if (!ReadColumns(json, ref scanner, ref envelope.Row, depth + 1))
                {
                    return false;
                }

                continue;
            }
            else if (name.SequenceEqual("op"u8) && c == '"')
            {
                if (!scanner.ScanString(out envelope.OpStart, out envelope.OpEnd))
                {
                    return false;
                }

                continue;
            }

            if (!scanner.SkipValue(depth + 1))
            {
                return false;
            }

            if (name.SequenceEqual("ts_ms"u8))
            {
                (envelope.TsStart, envelope.TsEnd) = (valueStart, scanner.Position);
            }
        }
    }

    /// <summary>Reads the columns of a row object: where each known column's raw value starts and ends.</summary>
    private static bool ReadColumns(ReadOnlySpan<byte> json, ref Utf8JsonScanner scanner, ref Row row, int depth)
    {
        if (depth >= Utf8JsonScanner.MaxDepth)
        {
            return false;
        }

        scanner.Position++; // the '{'
        var firstMember = true;
        while (true)
        {
            var next = NextMember(ref scanner, ref firstMember, out var nameStart, out var nameEnd);
            if (next <= 0)
            {
                return next == 0;
            }

            var column = Column.Of(json[nameStart..nameEnd]);
            scanner.Peek();
            var valueStart = scanner.Position;
            if (!scanner.SkipValue(depth + 1))
            {
                return false;
            }

            if (column >= 0 && json[valueStart] != (byte)'n')
            {
                row.Set(column, valueStart, scanner.Position); // a null column reads as absent
            }
        }
    }

    /// <summary>
    /// Reads the units and scales of the row's columns from the envelope's schema (already validated):
    /// <c>schema.fields[field = "after"].fields[*]</c> with each column's <c>field</c>, <c>name</c> and <c>parameters.scale</c>.
    /// A schema of another shape leaves the types unknown (values are then read by their JSON form alone).
    /// </summary>
    private static void ReadSchema(ReadOnlySpan<byte> json, int start, ref Row row)
    {
        var scanner = new Utf8JsonScanner(json, start);
        if (!FindMember(json, ref scanner, "fields"u8) || scanner.Peek() != '[')
        {
            return;
        }

        // The envelope's fields: the converter writes "field" after "fields", so remember where each "fields" is.
        scanner.Position++;
        while (scanner.Peek() == '{')
        {
            scanner.Position++;
            var firstMember = true;
            int columns = 0;
            var isAfter = false;
            while (NextMember(ref scanner, ref firstMember, out var nameStart, out var nameEnd) > 0)
            {
                var name = json[nameStart..nameEnd];
                var c = scanner.Peek();
                if (name.SequenceEqual("fields"u8) && c == '[')
                {
                    columns = scanner.Position;
                }
                else if (name.SequenceEqual("field"u8) && c == '"' && scanner.ScanString(out var s, out var e))
                {
                    isAfter = json[s..e].SequenceEqual("after"u8);
                    continue;
                }

                scanner.SkipValue(1);
            }

            if (isAfter && columns != 0)
            {
                ReadColumnTypes(json, columns, ref row);
                return;
            }

            if (scanner.Peek() == ',')
            {
                scanner.Position++;
            }
        }
    }

    private static void ReadColumnTypes(ReadOnlySpan<byte> json, int arrayStart, ref Row row)
    {
        var scanner = new Utf8JsonScanner(json, arrayStart + 1);
        while (scanner.Peek() == '{')
        {
            scanner.Position++;
            var firstMember = true;
            ReadOnlySpan<byte> field = default, typeName = default;
            var scale = -1;
            while (NextMember(ref scanner, ref firstMember, out var nameStart, out var nameEnd) > 0)
            {
                var name = json[nameStart..nameEnd];
                var c = scanner.Peek();
                if (c == '"' && (name.SequenceEqual("field"u8) || name.SequenceEqual("name"u8)) && scanner.ScanString(out var s, out var e))
                {
                    if (name[0] == 'f')
                    {
                        field = json[s..e];
                    }
                    else
                    {
                        typeName = json[s..e];
                    }

                    continue;
                }

                if (c == '{' && name.SequenceEqual("parameters"u8))
                {
                    var parameters = new Utf8JsonScanner(json, scanner.Position);
                    if (FindMember(json, ref parameters, "scale"u8))
                    {
                        var valueStart = parameters.Position;
                        parameters.SkipValue(2);
                        scale = ReadScale(Unquote(json[valueStart..parameters.Position]));
                    }
                }

                scanner.SkipValue(2);
            }

            var column = Column.Of(field);
            if (column >= 0)
            {
                row.Type[column] = (byte)TypeOf(typeName);
                row.Scale[column] = scale;
            }

            if (scanner.Peek() == ',')
            {
                scanner.Position++;
            }
        }
    }

    private static ColumnType TypeOf(ReadOnlySpan<byte> name) => name switch
    {
        _ when name.SequenceEqual("io.debezium.time.MicroTimestamp"u8) => ColumnType.Micros,
        _ when name.SequenceEqual("io.debezium.time.Timestamp"u8) || name.SequenceEqual("org.apache.kafka.connect.data.Timestamp"u8) => ColumnType.Millis,
        _ when name.SequenceEqual("io.debezium.time.NanoTimestamp"u8) => ColumnType.Nanos,
        _ when name.SequenceEqual("org.apache.kafka.connect.data.Decimal"u8) => ColumnType.Decimal,
        _ when name.SequenceEqual("io.debezium.data.VariableScaleDecimal"u8) => ColumnType.VariableScaleDecimal,
        _ => ColumnType.Unknown,
    };

    /// <summary>A scale parameter (the converter writes it as a string, <c>"8"</c>); -1 if it is not 0 to 99.</summary>
    private static int ReadScale(ReadOnlySpan<byte> text) =>
        text.Length is 1 or 2 && text.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0
            ? text.Length == 1 ? text[0] - '0' : ((text[0] - '0') * 10) + text[1] - '0'
            : -1;

    /// <summary>Positions the scanner at the value of member <paramref name="wanted"/> of the object at its position.</summary>
    private static bool FindMember(ReadOnlySpan<byte> json, ref Utf8JsonScanner scanner, ReadOnlySpan<byte> wanted)
    {
        if (scanner.Peek() != '{')
        {
            return false;
        }

        scanner.Position++;
        var firstMember = true;
        while (NextMember(ref scanner, ref firstMember, out var nameStart, out var nameEnd) > 0)
        {
            if (json[nameStart..nameEnd].SequenceEqual(wanted))
            {
                scanner.Peek();
                return true;
            }

            if (!scanner.SkipValue(1))
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>
    /// Steps to the next member of an object whose '{' is consumed: 1 with the scanner at the member's value, 0 after the
    /// closing '}', -1 on malformed input.
    /// </summary>
    private static int NextMember(ref Utf8JsonScanner scanner, ref bool first, out int nameStart, out int nameEnd)
    {
        nameStart = nameEnd = 0;
        var c = scanner.Peek();
        if (c == '}')
        {
            scanner.Position++;
            return 0; // "{}", or the end after a member (a ',' before '}' fails below: it is not followed by a name)
        }

        if (!first)
        {
            if (c != ',')
            {
                return -1;
            }

            scanner.Position++;
            c = scanner.Peek();
        }

        first = false;
        if (c != '"' || !scanner.ScanString(out nameStart, out nameEnd) || scanner.Peek() != ':')
        {
            return -1;
        }

        scanner.Position++;
        return 1;
    }

    private static ReadOnlySpan<byte> Unquote(ReadOnlySpan<byte> raw) =>
        raw.Length >= 2 && raw[0] == (byte)'"' ? raw[1..^1] : raw;

    private static DecodeStatus Symbol(ReadOnlySpan<byte> json, in Row row, int column, out ReadOnlySpan<byte> symbol)
    {
        symbol = default;
        if (!row.Has(column))
        {
            return DecodeStatus.MissingField;
        }

        var raw = row.Raw(json, column);
        if (raw[0] != (byte)'"')
        {
            return DecodeStatus.WrongType;
        }

        symbol = raw[1..^1];
        return symbol.IsEmpty || symbol.Contains((byte)'\\') ? DecodeStatus.SymbolRejected : DecodeStatus.Ok;
    }

    private static DecodeStatus Interval(ReadOnlySpan<byte> json, in Row row, int column, out KlineInterval interval)
    {
        interval = KlineInterval.None;
        if (!row.Has(column))
        {
            return DecodeStatus.Ok;
        }

        var raw = row.Raw(json, column);
        interval = raw[0] == (byte)'"' ? BinanceDecoder.ParseInterval(raw[1..^1]) : KlineInterval.None;
        return interval == KlineInterval.None ? DecodeStatus.WrongType : DecodeStatus.Ok;
    }

    private static DecodeStatus Time(ReadOnlySpan<byte> json, in Row row, int column, out long ns)
    {
        ns = 0;
        if (!row.Has(column))
        {
            return DecodeStatus.MissingField;
        }

        var raw = row.Raw(json, column);
        if (raw[0] == (byte)'"')
        {
            return AssetPriceText.TryParseTime(raw[1..^1], out ns);
        }

        var status = AssetPriceText.TryParseInteger(raw, out var value);
        if (status != DecodeStatus.Ok)
        {
            return status;
        }

        var perUnit = (ColumnType)row.Type[column] switch
        {
            ColumnType.Millis => NsPerMs,
            ColumnType.Micros => 1_000,
            ColumnType.Nanos => 1,
            _ => Math.Abs(value) >= 100_000_000_000_000_000 ? 1 : Math.Abs(value) >= 100_000_000_000_000 ? 1_000 : NsPerMs,
        };
        if (value > long.MaxValue / perUnit || value < long.MinValue / perUnit)
        {
            return DecodeStatus.Overflow;
        }

        ns = value * perUnit;
        return DecodeStatus.Ok;
    }

    /// <summary>A decimal column; absent is 0 for <c>quote_volume</c> and missing for the others.</summary>
    private static DecodeStatus Decimal(ReadOnlySpan<byte> json, in Row row, int column, out long mantissa)
    {
        mantissa = 0;
        if (!row.Has(column))
        {
            return column == Column.QuoteVolume ? DecodeStatus.Ok : DecodeStatus.MissingField;
        }

        var raw = row.Raw(json, column);
        var type = (ColumnType)row.Type[column];
        if (type == ColumnType.VariableScaleDecimal || raw[0] == (byte)'{')
        {
            return type == ColumnType.VariableScaleDecimal ? DecodeStatus.Unsupported : DecodeStatus.WrongType;
        }

        if (raw[0] == (byte)'"')
        {
            return type == ColumnType.Decimal ? ScaledBytes(raw[1..^1], row.Scale[column], out mantissa) : DecimalText(raw[1..^1], out mantissa);
        }

        return raw[0] is (byte)'-' or (>= (byte)'0' and <= (byte)'9') ? DecimalText(raw, out mantissa) : DecodeStatus.WrongType;
    }

    /// <summary>
    /// Decimal text into fixed point through <see cref="FixedPoint.TryParse"/>; with an exponent (<c>1.0E-5</c>, as Java
    /// writes doubles), the digits are shifted exactly: no double is ever formed.
    /// </summary>
    internal static DecodeStatus DecimalText(ReadOnlySpan<byte> text, out long mantissa)
    {
        mantissa = 0;
        var e = text.IndexOfAny((byte)'e', (byte)'E');
        if (e < 0)
        {
            return FromFixedPoint(FixedPoint.TryParse(text, out mantissa));
        }

        // Exponent: -?[0-9]{1,4} (anything larger is an overflow or an underflow to a precision loss below).
        var exponentText = text[(e + 1)..];
        var exponentSign = 1;
        if (exponentText.Length > 0 && exponentText[0] is (byte)'+' or (byte)'-')
        {
            exponentSign = exponentText[0] == (byte)'-' ? -1 : 1;
            exponentText = exponentText[1..];
        }

        if (exponentText.IsEmpty || exponentText.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
        {
            return DecodeStatus.WrongType;
        }

        exponentText = exponentText.TrimStart((byte)'0');
        var exponent = 0;
        if (exponentText.Length > 4)
        {
            exponent = 10_000;
        }
        else
        {
            foreach (var d in exponentText)
            {
                exponent = (exponent * 10) + d - '0';
            }
        }

        // The significand's digits without the point, the point's place as a power of ten.
        var significand = text[..e];
        var negative = significand.Length > 0 && significand[0] == (byte)'-';
        if (negative)
        {
            significand = significand[1..];
        }

        var point = significand.IndexOf((byte)'.');
        var integerDigits = point < 0 ? significand : significand[..point];
        var fractionDigits = point < 0 ? default : significand[(point + 1)..];
        if ((integerDigits.IsEmpty && fractionDigits.IsEmpty) ||
            integerDigits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0 || fractionDigits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
        {
            return DecodeStatus.WrongType;
        }

        // value = digits × 10^shift, digits = integerDigits ++ fractionDigits with zeros trimmed at both ends.
        var shift = FixedPoint.Decimals + (exponentSign * exponent) - fractionDigits.Length;
        ulong digits = 0;
        var pending = 0; // zeros after the last non-zero digit, not yet multiplied in
        var any = false;
        for (var i = 0; i < integerDigits.Length + fractionDigits.Length; i++)
        {
            var d = (uint)((i < integerDigits.Length ? integerDigits[i] : fractionDigits[i - integerDigits.Length]) - '0');
            if (d == 0)
            {
                pending += any ? 1 : 0; // leading zeros count for nothing
                continue;
            }

            // Any exact result fits in a long, and so do its significant digits: beyond that is an overflow.
            for (; pending > 0; pending--)
            {
                if (digits > (ulong)long.MaxValue / 10)
                {
                    return DecodeStatus.Overflow;
                }

                digits *= 10;
            }

            if (digits > (long.MaxValue - (ulong)d) / 10)
            {
                return DecodeStatus.Overflow;
            }

            digits = (digits * 10) + d;
            any = true;
        }

        shift += pending;
        if (!any)
        {
            return DecodeStatus.Ok; // zero, whatever the exponent
        }

        if (shift < 0)
        {
            return DecodeStatus.PrecisionLoss; // the last digit is non-zero and falls beyond the 8th decimal
        }

        for (; shift > 0; shift--)
        {
            if (digits > long.MaxValue / 10)
            {
                return DecodeStatus.Overflow;
            }

            digits *= 10;
        }

        if (digits > long.MaxValue)
        {
            return DecodeStatus.Overflow;
        }

        mantissa = negative ? -(long)digits : (long)digits;
        return DecodeStatus.Ok;
    }

    /// <summary>
    /// Connect's <c>Decimal</c>: base64 of the unscaled value's big-endian two's complement (at most 16 bytes here), and
    /// the schema's scale.
    /// </summary>
    internal static DecodeStatus ScaledBytes(ReadOnlySpan<byte> base64, int scale, out long mantissa)
    {
        mantissa = 0;
        Span<byte> bytes = stackalloc byte[18]; // every byte is written before it is read: SkipLocalsInit is safe
        if (scale < 0 || base64.IsEmpty || base64.Length > 24 ||
            Base64.DecodeFromUtf8(base64, bytes, out var consumed, out var written) != OperationStatus.Done || consumed != base64.Length)
        {
            return DecodeStatus.WrongType;
        }

        if (written > 16)
        {
            return DecodeStatus.Overflow;
        }

        Int128 unscaled = (sbyte)bytes[0] < 0 ? -1 : 0; // sign extension
        for (var i = 0; i < written; i++)
        {
            unscaled = (unscaled << 8) | bytes[i];
        }

        if (scale > FixedPoint.Decimals)
        {
            if (scale - FixedPoint.Decimals > 38)
            {
                // |unscaled| < 2^127 < 10^39: only zero divides exactly (and 10^39 would not fit an Int128).
                return unscaled == 0 ? DecodeStatus.Ok : DecodeStatus.PrecisionLoss;
            }

            var divisor = Int128.One;
            for (var k = FixedPoint.Decimals; k < scale; k++)
            {
                divisor *= 10;
            }

            if (unscaled % divisor != 0)
            {
                return DecodeStatus.PrecisionLoss;
            }

            unscaled /= divisor;
        }
        else
        {
            if (unscaled > long.MaxValue || unscaled < long.MinValue)
            {
                return DecodeStatus.Overflow;
            }

            for (var k = scale; k < FixedPoint.Decimals; k++)
            {
                unscaled *= 10; // |unscaled| < 2^63 × 10^8 < 2^127: no wrap
            }
        }

        if (unscaled > long.MaxValue || unscaled < long.MinValue)
        {
            return DecodeStatus.Overflow;
        }

        mantissa = (long)unscaled;
        return DecodeStatus.Ok;
    }

    private static DecodeStatus FromFixedPoint(FixedPointStatus status) => status switch
    {
        FixedPointStatus.Ok => DecodeStatus.Ok,
        FixedPointStatus.PrecisionLoss => DecodeStatus.PrecisionLoss,
        FixedPointStatus.Overflow => DecodeStatus.Overflow,
        _ => DecodeStatus.WrongType,
    };

    private static DecodeStatus Trades(ReadOnlySpan<byte> json, in Row row, int column, out long trades)
    {
        trades = 0;
        var raw = row.Has(column) ? row.Raw(json, column) : row.Has(Column.NumberOfTrades) ? row.Raw(json, Column.NumberOfTrades) : default;
        return raw.IsEmpty ? DecodeStatus.Ok : AssetPriceText.TryParseInteger(Unquote(raw), out trades);
    }

    private static DecodeStatus Boolean(ReadOnlySpan<byte> json, in Row row, int column, out bool value)
    {
        value = false;
        return row.Has(column) ? AssetPriceText.TryParseBoolean(Unquote(row.Raw(json, column)), out value) : DecodeStatus.Ok;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryInteger(ReadOnlySpan<byte> raw, out long value) =>
        AssetPriceText.TryParseInteger(raw, out value) == DecodeStatus.Ok;

    /// <summary>The row columns read, as dense slots.</summary>
    private static class Column
    {
        public const int Symbol = 0;
        public const int Interval = 1;
        public const int OpenTime = 2;
        public const int CloseTime = 3;
        public const int Open = 4;
        public const int High = 5;
        public const int Low = 6;
        public const int Close = 7;
        public const int Volume = 8;
        public const int QuoteVolume = 9;
        public const int Trades = 10;
        public const int IsClosed = 11;
        public const int NumberOfTrades = 12;
        public const int Count = 13;

        public static readonly string[] Names =
            ["symbol", "interval", "open_time", "close_time", "open", "high", "low", "close", "volume", "quote_volume", "trades", "is_closed", "number_of_trades"];

        public static int Of(ReadOnlySpan<byte> name) => name.Length switch
        {
            3 when name.SequenceEqual("low"u8) => Low,
            4 when name.SequenceEqual("open"u8) => Open,
            4 when name.SequenceEqual("high"u8) => High,
            5 when name.SequenceEqual("close"u8) => Close,
            6 when name.SequenceEqual("symbol"u8) => Symbol,
            6 when name.SequenceEqual("volume"u8) => Volume,
            6 when name.SequenceEqual("trades"u8) => Trades,
            8 when name.SequenceEqual("interval"u8) => Interval,
            9 when name.SequenceEqual("open_time"u8) => OpenTime,
            9 when name.SequenceEqual("is_closed"u8) => IsClosed,
            10 when name.SequenceEqual("close_time"u8) => CloseTime,
            12 when name.SequenceEqual("quote_volume"u8) => QuoteVolume,
            16 when name.SequenceEqual("number_of_trades"u8) => NumberOfTrades,
            _ => -1,
        };
    }

    /// <summary>What the schema says a column holds (unknown without a schema).</summary>
    private enum ColumnType : byte
    {
        Unknown,
        Millis,
        Micros,
        Nanos,
        Decimal,
        VariableScaleDecimal,
    }

    [InlineArray(Column.Count)]
    private struct ColumnInts
    {
        private int _element0;
    }

    [InlineArray(Column.Count)]
    private struct ColumnBytes
    {
        private byte _element0;
    }

    /// <summary>Where each known column's raw value is in the message, and its type and scale from the schema.</summary>
    /// <remarks>Starts and ends are only read for columns whose bit is set in <see cref="Present"/>.</remarks>
    private struct Row
    {
        public int Present;
        public ColumnInts Start;
        public ColumnInts End;
        public ColumnBytes Type;
        public ColumnInts Scale;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly bool Has(int column) => (Present & (1 << column)) != 0;

        public void Set(int column, int start, int end)
        {
            Start[column] = start;
            End[column] = end;
            Present |= 1 << column;
        }

        public readonly ReadOnlySpan<byte> Raw(ReadOnlySpan<byte> json, int column) => json[Start[column]..End[column]];
    }

    /// <summary>What one pass over the message found; offsets of 0 mean absent (no value can start at offset 0).</summary>
    private struct Envelope
    {
        public int SchemaStart;
        public int OpStart;
        public int OpEnd;
        public int TsStart;
        public int TsEnd;
        public bool HasAfter;
        public bool NullPayload;
        public Row Row;
    }

    /// <summary>Every reason is built once: a failure allocates nothing.</summary>
    private static class Reasons
    {
        public static readonly DecodeResult Malformed = new(DecodeStatus.Malformed, "debezium: not well-formed JSON");
        public static readonly DecodeResult NotAnObject = new(DecodeStatus.Malformed, "debezium: the value is not a JSON object");
        public static readonly DecodeResult MissingOp = new(DecodeStatus.MissingField, "debezium: field 'op' missing");
        public static readonly DecodeResult UnknownOp = new(DecodeStatus.Unsupported, "debezium: op is not c, u, r or d");
        public static readonly DecodeResult MissingAfter = new(DecodeStatus.MissingField, "debezium: op c/u/r without an 'after' row");
        public static readonly DecodeResult BadTsMs = new(DecodeStatus.WrongType, "debezium: 'ts_ms' is not an integer of ms");
        public static readonly DecodeResult VariableScaleDecimal = new(DecodeStatus.Unsupported, "debezium: VariableScaleDecimal columns are not supported");
        public static readonly DecodeResult SymbolRejected = new(DecodeStatus.SymbolRejected, "debezium: symbol rejected by the symbol table");

        private static readonly DecodeResult[][] s_field = Column.Names
            .Select(name => Enum.GetValues<DecodeStatus>().Select(status => new DecodeResult(status, status switch
            {
                DecodeStatus.MissingField => $"debezium: column '{name}' missing",
                DecodeStatus.Overflow => $"debezium: column '{name}' overflows",
                DecodeStatus.PrecisionLoss => $"debezium: column '{name}' has more than 8 decimals",
                DecodeStatus.SymbolRejected => $"debezium: column '{name}' is empty or escaped",
                _ => $"debezium: column '{name}' has the wrong type or form",
            })).ToArray()).ToArray();

        public static DecodeResult Field(DecodeStatus status, int column) => s_field[column][(int)status];
    }
}

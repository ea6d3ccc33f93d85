using System.Buffers;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using LowLatency.Codecs.Avro;
using LowLatency.Codecs.Binance;
using LowLatency.Market;
using LowLatency.TestSupport;

namespace LowLatency.Codecs.Tests.Avro;

/// <summary>The <c>data.asset_prices</c> decoder and encoder: mapping, schema resolution, framings, bad inputs, allocation, round trip.</summary>
public sealed class AssetPriceTests
{
    private const long Ms = 1_000_000;
    private const long OpenMs = 1723161240000;          // 2024-08-08T23:54:00Z
    private static readonly Guid s_id = Guid.Parse("aa3afd44-8119-4565-809b-9df75d6ddab0");

    private readonly SymbolTable _symbols = new(64);

    /// <summary>The fields of one record as text, in <see cref="AssetPriceSchema"/>'s order.</summary>
    private static Dictionary<string, object?> Record(
        string open = "61837.63", string isClosed = "true", string timestamp = "1723161240000", string closeTime = "1723161299999") => new()
    {
        ["id"] = "aa3afd44-8119-4565-809b-9df75d6ddab0",
        ["asset_name"] = "BTCUSDT",
        ["open"] = open,
        ["high"] = "61900.00000000",
        ["low"] = "61800.5",
        ["close"] = "61850.01",
        ["volume"] = "12.34500000",
        ["quote_volume"] = "763456.789",
        ["trades"] = "1234",
        ["is_closed"] = isClosed,
        ["timestamp"] = timestamp,
        ["close_time"] = closeTime,
        ["collected_at"] = "1723161300123",
    };

    private static byte[] Confluent(int schemaId, byte[] body)
    {
        var header = new byte[ConfluentFraming.HeaderLength];
        ConfluentFraming.TryWriteHeader(header, schemaId);
        return [.. header, .. body];
    }

    private static byte[] Body(Dictionary<string, object?> record, AvroSchema? writer = null) =>
        AvroGenericDatum.Write(AvroPlan.Compile(writer ?? AssetPriceSchema.Schema), record);

    private DecodeResult Decode(byte[] payload, out MarketEvent evt, AssetPriceDecoder? decoder = null)
    {
        evt = MarketEvent.Create(1);
        return (decoder ?? new AssetPriceDecoder(_symbols)).Decode(payload, ref evt);
    }

    private static void AssertOk(DecodeResult result) => Assert.True(result.Status == DecodeStatus.Ok, result.ToString());

    private void AssertStandardRecord(in MarketEvent evt)
    {
        Assert.Equal(MarketEventKind.Kline, evt.Kind);
        Assert.Equal("BTCUSDT", _symbols.GetName(evt.SymbolId));
        Assert.Equal(1723161300123 * Ms, evt.EventTimeNs);
        var k = evt.Payload.Kline;
        Assert.Equal(Price.Parse("61837.63"), k.Open);
        Assert.Equal(Price.Parse("61900"), k.High);
        Assert.Equal(Price.Parse("61800.5"), k.Low);
        Assert.Equal(Price.Parse("61850.01"), k.Close);
        Assert.Equal(Quantity.Parse("12.345"), k.Volume);
        Assert.Equal(Quantity.Parse("763456.789"), k.QuoteVolume);
        Assert.Equal(1234, k.TradeCount);
        Assert.True(k.IsClosed);
        Assert.Equal(OpenMs * Ms, k.OpenTimeNs);
        Assert.Equal(((OpenMs + 60_000) * Ms) - Ms, k.CloseTimeNs);
        Assert.Equal(KlineInterval.Minute1, k.Interval);
        Assert.Equal(-1, k.FirstTradeId);
        Assert.Equal(-1, k.LastTradeId);
        Assert.Equal(s_id, k.RecordId); // the producer's id, kept for the stores that write its rows (Cassandra's assets)
    }

    [Fact]
    public void Schema_AssetsRecord_ThirteenStringFieldsInIoBinance()
    {
        var schema = AssetPriceSchema.Schema;
        Assert.Equal("io.binance.assets", schema.FullName);
        Assert.Equal(
            ["id", "asset_name", "open", "high", "low", "close", "volume", "quote_volume", "trades", "is_closed", "timestamp", "close_time", "collected_at"],
            schema.Fields.Select(f => f.Name));
        Assert.All(schema.Fields, f => Assert.Equal(AvroType.String, f.Schema.Type));
        Assert.StartsWith("{\"name\":\"io.binance.assets\",\"type\":\"record\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"}", schema.CanonicalForm, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_ConfluentFramedRecord_FillsKline()
    {
        Assert.Equal(DecodeStatus.Unsupported, Decode(Confluent(42, Body(Record())), out _).Status); // never registered
        AssertOk(Decode(Confluent(42, Body(Record())), out var evt, new AssetPriceDecoder(_symbols, defaultSchemaId: 42)));
        AssertStandardRecord(evt);
    }

    [Fact]
    public void Decode_BareAndSingleObjectFraming_SameEvent()
    {
        var body = Body(Record());
        AssertOk(Decode(body, out var bare, new AssetPriceDecoder(_symbols, AvroFraming.Bare)));
        AssertStandardRecord(bare);

        var header = new byte[SingleObjectFraming.HeaderLength];
        SingleObjectFraming.TryWriteHeader(header, AssetPriceSchema.Schema.Fingerprint);
        var single = new AssetPriceDecoder(_symbols, AvroFraming.SingleObject);
        AssertOk(Decode([.. header, .. body], out var framed, single));
        AssertStandardRecord(framed);

        header[5] ^= 1; // another fingerprint: a writer nobody registered
        var unknown = Decode([.. header, .. body], out var rejected, single);
        Assert.Equal((DecodeStatus.Unsupported, MarketEventKind.Invalid), (unknown.Status, rejected.Kind));
    }

    [Fact]
    public void Decode_WriterWithFieldsReorderedAndExtraFields_ResolvedByName()
    {
        const string writerJson = """
            {"type":"record","name":"assets","namespace":"io.binance.v2","fields":[
              {"name":"collected_at","type":"string"},
              {"name":"extra_long","type":"long"},
              {"name":"close_time","type":"string"},
              {"name":"timestamp","type":"string"},
              {"name":"extra_map","type":{"type":"map","values":{"type":"array","items":"double"}}},
              {"name":"is_closed","type":"string"},
              {"name":"trades","type":"string"},
              {"name":"quote_volume","type":"string"},
              {"name":"volume","type":"string"},
              {"name":"extra_union","type":["null","int",{"type":"record","name":"X","fields":[{"name":"f","type":"fixed_16"}]}]},
              {"name":"close","type":"string"},
              {"name":"low","type":"string"},
              {"name":"high","type":"string"},
              {"name":"open","type":"string"},
              {"name":"asset_name","type":"string"},
              {"name":"id","type":"string"}]}
            """;
        var writer = AvroSchema.Parse(writerJson.Replace("\"fixed_16\"", """{"type":"fixed","name":"F16","size":16}""", StringComparison.Ordinal));
        var record = Record();
        record["extra_long"] = long.MinValue;
        record["extra_map"] = new Dictionary<string, object?> { ["k"] = new List<object?> { 1.0, 2.0 } };
        record["extra_union"] = new Dictionary<string, object?> { ["f"] = new byte[16] };
        var decoder = new AssetPriceDecoder(_symbols);
        decoder.RegisterWriterSchema(7, writer);

        AssertOk(Decode(Confluent(7, Body(record, writer)), out var evt, decoder));
        AssertStandardRecord(evt);
    }

    [Fact]
    public void Decode_WriterWithNullableStringsAndBytes_PromotedAndNullIsMissing()
    {
        const string writerJson = """
            {"type":"record","name":"assets","fields":[
              {"name":"id","type":["null","string"]},{"name":"asset_name","type":"bytes"},
              {"name":"open","type":["null","string"]},{"name":"high","type":"string"},{"name":"low","type":"string"},
              {"name":"close","type":"string"},{"name":"volume","type":"string"},{"name":"quote_volume","type":"string"},
              {"name":"trades","type":"string"},{"name":"is_closed","type":"string"},{"name":"timestamp","type":"string"},
              {"name":"close_time","type":"string"},{"name":"collected_at","type":["null","string"]}]}
            """;
        var writer = AvroSchema.Parse(writerJson);
        var decoder = new AssetPriceDecoder(_symbols);
        decoder.RegisterWriterSchema(3, writer);
        var record = Record();
        record["asset_name"] = "BTCUSDT"u8.ToArray();
        AssertOk(Decode(Confluent(3, Body(record, writer)), out var evt, decoder));
        AssertStandardRecord(evt);

        record["open"] = null;
        var missing = Decode(Confluent(3, Body(record, writer)), out var bad, decoder);
        Assert.Equal((DecodeStatus.MissingField, "assets: field 'open' missing"), (missing.Status, missing.Reason));
        Assert.Equal(MarketEventKind.Invalid, bad.Kind);

        record["open"] = "1";
        record["collected_at"] = null;
        record["id"] = null;
        AssertOk(Decode(Confluent(3, Body(record, writer)), out var noEventTime, decoder));
        Assert.Equal(noEventTime.Payload.Kline.CloseTimeNs, noEventTime.EventTimeNs);
    }

    [Fact]
    public void Decode_WriterLackingOptionalFields_DefaultsApplied()
    {
        var writer = AvroSchema.Parse("""
            {"type":"record","name":"assets","fields":[
              {"name":"asset_name","type":"string"},{"name":"open","type":"string"},{"name":"high","type":"string"},
              {"name":"low","type":"string"},{"name":"close","type":"string"},{"name":"volume","type":"string"},
              {"name":"timestamp","type":"string"},{"name":"close_time","type":"string"}]}
            """);
        var decoder = new AssetPriceDecoder(_symbols, AvroFraming.Bare, writer);
        var record = Record();
        foreach (var optional in new[] { "id", "quote_volume", "trades", "is_closed", "collected_at" })
        {
            record.Remove(optional);
        }

        var evt = MarketEvent.Create(1);
        evt.Payload.Kline.RecordId = s_id; // the slot held an earlier record: an absent id must not inherit its id
        AssertOk(decoder.Decode(Body(record, writer), ref evt));
        var k = evt.Payload.Kline;
        Assert.Equal((0L, 0L, false), (k.QuoteVolume.Mantissa, k.TradeCount, k.IsClosed));
        Assert.Equal(Guid.Empty, k.RecordId);
        Assert.Equal(k.CloseTimeNs, evt.EventTimeNs);
        Assert.Equal(Price.Parse("61837.63"), k.Open);
    }

    [Fact]
    public void RegisterWriterSchema_WriterLackingRequiredFieldOrWrongType_ThrowsSchemaMismatch()
    {
        var decoder = new AssetPriceDecoder(_symbols);
        var lacking = AvroSchema.Parse("""{"type":"record","name":"assets","fields":[{"name":"asset_name","type":"string"}]}""");
        var e = Assert.Throws<AvroException>(() => decoder.RegisterWriterSchema(1, lacking));
        Assert.Equal(AvroStatus.SchemaMismatch, e.Status);
        Assert.Contains("'open'", e.Message, StringComparison.Ordinal);

        var wrongType = AvroSchema.Parse(AssetPriceSchema.Json.Replace("""{"name": "open", "type": "string"}""", """{"name": "open", "type": "double"}""", StringComparison.Ordinal));
        Assert.Contains("'open'", Assert.Throws<AvroException>(() => decoder.RegisterWriterSchema(1, wrongType)).Message, StringComparison.Ordinal);

        var otherRecord = AvroSchema.Parse(AssetPriceSchema.Json.Replace("\"name\": \"assets\"", "\"name\": \"trades\"", StringComparison.Ordinal));
        Assert.Throws<AvroException>(() => decoder.RegisterWriterSchema(1, otherRecord));
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("True", true)]
    [InlineData("TRUE", true)]
    [InlineData("1", true)]
    [InlineData("false", false)]
    [InlineData("False", false)]
    [InlineData("0", false)]
    public void Decode_IsClosedWords_Accepted(string text, bool expected)
    {
        AssertOk(Decode(Confluent(1, Body(Record(isClosed: text))), out var evt));
        Assert.Equal(expected, evt.Payload.Kline.IsClosed);
    }

    [Theory]
    [InlineData("2024-08-08T23:54:00Z", OpenMs * Ms)]
    [InlineData("2024-08-08T23:54:00.000Z", OpenMs * Ms)]
    [InlineData("2024-08-08 23:54:00", OpenMs * Ms)]
    [InlineData("2024-08-08T23:54:00.123456789Z", (OpenMs * Ms) + 123456789)]
    [InlineData("2024-08-08T23:54:00.1234567891Z", (OpenMs * Ms) + 123456789)]
    [InlineData("2024-08-09T01:54:00+02:00", OpenMs * Ms)]
    [InlineData("2024-08-08T21:54:00-0200", OpenMs * Ms)]
    [InlineData("2024-08-09T00:54:00.5+01", (OpenMs * Ms) + 500_000_000)]
    [InlineData("2024-08-08T23:54Z", OpenMs * Ms)]
    [InlineData("2024-08-08", (OpenMs - ((23 * 60) + 54) * 60_000) * Ms)]
    [InlineData("1723161240000", OpenMs * Ms)]
    [InlineData("1969-12-31T23:59:59.999Z", -Ms)]
    [InlineData("-1", -Ms)]
    public void TryParseTime_MillisecondsOrIso8601_Nanoseconds(string text, long expected)
    {
        Assert.Equal(DecodeStatus.Ok, AssetPriceText.TryParseTime(Encoding.ASCII.GetBytes(text), out var ns));
        Assert.Equal(expected, ns);
    }

    [Theory]
    [InlineData("2024-13-01T00:00:00Z", DecodeStatus.WrongType)]
    [InlineData("2024-02-30T00:00:00Z", DecodeStatus.WrongType)]
    [InlineData("2024-08-08T24:00:00Z", DecodeStatus.WrongType)]
    [InlineData("2024-08-08T23:54:00.Z", DecodeStatus.WrongType)]
    [InlineData("2024-08-08T23:54:00+01:", DecodeStatus.WrongType)]
    [InlineData("2024-08-08T23:54:00Zjunk", DecodeStatus.WrongType)]
    [InlineData("2300-01-01T00:00:00Z", DecodeStatus.Overflow)]
    [InlineData("99999999999999", DecodeStatus.Overflow)]
    [InlineData("12.5", DecodeStatus.WrongType)]
    [InlineData("yesterday", DecodeStatus.WrongType)]
    public void TryParseTime_BadText_Status(string text, DecodeStatus expected) =>
        Assert.Equal(expected, AssetPriceText.TryParseTime(Encoding.ASCII.GetBytes(text), out _));

    [Theory]
    [InlineData("0", DecodeStatus.Ok, 0L)]
    [InlineData("-42", DecodeStatus.Ok, -42L)]
    [InlineData("9223372036854775807", DecodeStatus.Ok, long.MaxValue)]
    [InlineData("-9223372036854775808", DecodeStatus.Ok, long.MinValue)]
    [InlineData("9223372036854775808", DecodeStatus.Overflow, 0L)]
    [InlineData("+5", DecodeStatus.WrongType, 0L)]
    [InlineData("-", DecodeStatus.WrongType, 0L)]
    [InlineData("1e3", DecodeStatus.WrongType, 0L)]
    [InlineData(" 1", DecodeStatus.WrongType, 0L)]
    public void TryParseInteger_Text_StatusAndValue(string text, DecodeStatus status, long value)
    {
        Assert.Equal(status, AssetPriceText.TryParseInteger(Encoding.ASCII.GetBytes(text), out var parsed));
        Assert.Equal(value, parsed);
    }

    [Theory]
    [InlineData("aa3afd44-8119-4565-809b-9df75d6ddab0", true)]
    [InlineData("AA3AFD44-8119-4565-809B-9DF75D6DDAB0", true)]
    [InlineData("aa3afd44-8119-4565-809b-9df75d6ddab", false)]
    [InlineData("aa3afd44-8119-4565-809b-9df75d6ddabg", false)]
    [InlineData("aa3afd44-8119-4565-809b-9df75d6dda-0", false)]
    [InlineData("aa3afd4448119-4565-809b-9df75d6ddab0", false)]
    public void IsUuid_Text_HexWithDashesAtTheirPlaces(string text, bool expected) =>
        Assert.Equal(expected, AssetPriceText.IsUuid(Encoding.ASCII.GetBytes(text)));

    [Fact]
    public void TryFormatIso8601_Times_RoundTripExactly()
    {
        var buffer = new byte[AssetPriceText.MaxIso8601Length];
        foreach (var ns in new[] { 0L, OpenMs * Ms, (OpenMs * Ms) + 1, (OpenMs * Ms) + 1000, -1L, -Ms, long.MaxValue - 1_000_000_000, long.MinValue + 1_000_000_000 })
        {
            Assert.True(AssetPriceText.TryFormatIso8601(ns, buffer, out var written));
            Assert.Equal(DecodeStatus.Ok, AssetPriceText.TryParseTime(buffer.AsSpan(0, written), out var parsed));
            Assert.True(ns == parsed, $"{ns} -> {Encoding.ASCII.GetString(buffer, 0, written)} -> {parsed}");
        }

        AssetPriceText.TryFormatIso8601(OpenMs * Ms, buffer, out var length);
        Assert.Equal("2024-08-08T23:54:00Z", Encoding.ASCII.GetString(buffer, 0, length));
    }

    public static TheoryData<string, string, DecodeStatus, string> BadFields => new()
    {
        { "open", "abc", DecodeStatus.WrongType, "assets: field 'open' has the wrong type or form" },
        { "open", "", DecodeStatus.MissingField, "assets: field 'open' missing" },
        { "high", "1.123456789", DecodeStatus.PrecisionLoss, "assets: field 'high' has more than 8 decimals" },
        { "low", "99999999999999999", DecodeStatus.Overflow, "assets: field 'low' overflows" },
        { "trades", "12x", DecodeStatus.WrongType, "assets: field 'trades' has the wrong type or form" },
        { "trades", "99999999999999999999", DecodeStatus.Overflow, "assets: field 'trades' overflows" },
        { "is_closed", "maybe", DecodeStatus.WrongType, "assets: field 'is_closed' has the wrong type or form" },
        { "timestamp", "2024-13-01T00:00:00Z", DecodeStatus.WrongType, "assets: field 'timestamp' has the wrong type or form" },
        { "close_time", "", DecodeStatus.MissingField, "assets: field 'close_time' missing" },
        { "collected_at", "soon", DecodeStatus.WrongType, "assets: field 'collected_at' has the wrong type or form" },
        { "id", "not-a-uuid", DecodeStatus.WrongType, "assets: field 'id' has the wrong type or form" },
        { "asset_name", "", DecodeStatus.MissingField, "assets: field 'asset_name' missing" },
        { "asset_name", new string('X', 65), DecodeStatus.SymbolRejected, "assets: symbol rejected by the symbol table" },
    };

    [Theory]
    [MemberData(nameof(BadFields))]
    public void Decode_BadFieldText_StatusAndStaticReason(string field, string text, DecodeStatus status, string reason)
    {
        var record = Record();
        record[field] = text;
        var result = Decode(Confluent(1, Body(record)), out var evt);
        Assert.Equal((status, reason), (result.Status, result.Reason));
        Assert.Equal(MarketEventKind.Invalid, evt.Kind);
    }

    [Fact]
    public void Decode_EveryTruncationAndByteFlip_StatusNeverException()
    {
        var payload = Confluent(1, Body(Record()));
        var decoder = new AssetPriceDecoder(_symbols);
        var evt = MarketEvent.Create(1);
        for (var cut = 0; cut < payload.Length; cut++)
        {
            var result = decoder.Decode(payload.AsSpan(0, cut), ref evt);
            Assert.True(result.Status == DecodeStatus.Malformed, $"cut {cut}: {result}");
            Assert.Equal(MarketEventKind.Invalid, evt.Kind);
        }

        for (var i = 0; i < payload.Length; i++)
        {
            var corrupt = (byte[])payload.Clone();
            corrupt[i] ^= 0xA5;
            _ = decoder.Decode(corrupt, ref evt); // any status; no exception
        }
    }

    [Theory]
    [InlineData(new byte[] { 1, 0, 0, 0, 1, 0 }, "assets: Confluent magic byte is not 0")]
    [InlineData(new byte[] { 0, 0, 0 }, "assets: shorter than the Confluent header")]
    [InlineData(new byte[] { 0, 0, 0, 0, 1, 0x01 }, "assets: Avro body NegativeLength")]
    [InlineData(new byte[] { 0, 0, 0, 0, 1, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0x41 }, "assets: Avro body LengthTooLarge")]
    [InlineData(new byte[] { 0, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "assets: Avro body InvalidVarint")]
    [InlineData(new byte[] { 0, 0, 0, 0, 1, 0x00 }, "assets: Avro body Truncated")]
    public void Decode_MalformedPayload_MalformedWithReason(byte[] payload, string reason)
    {
        var result = Decode(payload, out var evt);
        Assert.Equal((DecodeStatus.Malformed, reason), (result.Status, result.Reason));
        Assert.Equal(MarketEventKind.Invalid, evt.Kind);
    }

    [Fact]
    public void Decode_TrailingBytesAfterRecord_Malformed()
    {
        var result = Decode(Confluent(1, [.. Body(Record()), 0x00]), out _);
        Assert.Equal((DecodeStatus.Malformed, "assets: Avro body TrailingBytes"), (result.Status, result.Reason));
    }

    [Fact]
    public void Decode_AfterWarmUp_AllocatesNothing()
    {
        var decoder = new AssetPriceDecoder(_symbols);
        var reordered = AvroSchema.Parse(AssetPriceSchema.Json.Replace("""{"name": "id", "type": "string", "doc": "UUID of the record.", "default": ""},""", string.Empty, StringComparison.Ordinal)
            .Replace("""{"name": "collected_at", "type": "string", "doc": "When the collector fetched it (the event time).", "default": ""}""",
                """{"name": "collected_at", "type": "string"}, {"name": "id", "type": "string"}, {"name": "extra", "type": {"type": "array", "items": "long"}}""", StringComparison.Ordinal));
        Assert.Equal("id", reordered.Fields[^2].Name);
        decoder.RegisterWriterSchema(9, reordered);
        var record = Record();
        record["extra"] = new List<object?> { 1L, 2L, 3L };
        var standard = Confluent(1, Body(Record()));
        var resolved = Confluent(9, Body(record, reordered));
        var iso = Confluent(1, Body(Record(timestamp: "2024-08-08T23:54:00.000Z", closeTime: "2024-08-08T23:54:59.999Z")));
        var evt = MarketEvent.Create(1);
        AssertOk(decoder.Decode(resolved, ref evt));
        AssertStandardRecord(evt);
        AssertOk(decoder.Decode(iso, ref evt));
        AssertStandardRecord(evt);

        Allocations.AssertNone(() => decoder.Decode(standard, ref evt), "AssetPriceDecoder.Decode");
        Allocations.AssertNone(() => decoder.Decode(resolved, ref evt), "AssetPriceDecoder.Decode (reordered writer)");
        Allocations.AssertNone(() => decoder.Decode(iso, ref evt), "AssetPriceDecoder.Decode (ISO-8601 times)");
        Allocations.AssertNone(() => decoder.Decode(standard.AsSpan(0, 40), ref evt), "AssetPriceDecoder.Decode (truncated)");
    }

    [Fact]
    public void Encode_KlineEvent_DecodesBackAndAllocatesNothing()
    {
        AssertOk(Decode(Confluent(1, Body(Record())), out var evt));
        var encoder = new AssetPriceEncoder(_symbols, AvroFraming.Confluent, schemaId: 5);
        var buffer = new byte[AssetPriceEncoder.MaxEncodedLength];
        Assert.True(encoder.TryEncode(in evt, s_id, buffer, out var written));
        var canonicalText = Record();
        (canonicalText["high"], canonicalText["volume"]) = ("61900", "12.345"); // the encoder writes canonical decimals
        Assert.Equal(Confluent(5, Body(canonicalText)), buffer[..written]);
        Assert.Equal(AvroStatus.Ok, ConfluentFraming.TryRead(buffer.AsSpan(0, written), out var schemaId, out _));
        Assert.Equal(5, schemaId);

        AssertOk(Decode(buffer[..written], out var back, new AssetPriceDecoder(_symbols, defaultSchemaId: 5)));
        AssertStandardRecord(back);

        var output = new ArrayBufferWriter<byte>(4096);
        Allocations.AssertNone(() => encoder.TryEncode(in evt, s_id, buffer, out _), "AssetPriceEncoder.TryEncode");
        Allocations.AssertNone(
            () =>
            {
                output.ResetWrittenCount();
                encoder.Encode(in evt, s_id, output);
            },
            "AssetPriceEncoder.Encode(IBufferWriter)");
        Assert.False(encoder.TryEncode(in evt, s_id, buffer.AsSpan(0, 20), out _));
    }

    [Fact]
    public void Property_EncodeThenDecode_GivesBackTheKline()
    {
        var symbols = new[] { "BTCUSDT", "ETHUSDT", "币安人生USDT", "X" };
        var mantissa = from hi in Gen.Choose(-50_000, 50_000) from lo in Gen.Choose(0, int.MaxValue) select ((long)hi * int.MaxValue) + lo;
        var time = from ms in Gen.Choose(0, int.MaxValue) from scale in Gen.Choose(1, 1_500) from sub in Gen.Choose(0, 999_999) select ((long)ms * scale * Ms) + sub;
        var cases =
            from symbol in Gen.Elements(symbols)
            from p0 in mantissa
            from p1 in mantissa
            from p2 in mantissa
            from p3 in mantissa
            from p4 in mantissa
            from p5 in mantissa
            from trades in Gen.Choose(0, int.MaxValue)
            from closed in Gen.Elements(true, false)
            from open in time
            from length in Gen.Elements(1_000L, 60_000L, 3_600_000L, 1234L)
            from framing in Gen.Elements(AvroFraming.Bare, AvroFraming.Confluent, AvroFraming.SingleObject)
            from iso in Gen.Elements(true, false)
            select (symbol, prices: new[] { p0, p1, p2, p3, p4, p5 }, trades, closed, open, length, framing, iso);

        var table = new SymbolTable(16);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var evt = MarketEvent.Create(1);
            evt.Kind = MarketEventKind.Kline;
            evt.SymbolId = table.GetOrAdd(c.symbol);
            var openNs = c.iso ? c.open : c.open / Ms * Ms; // ms text carries whole milliseconds
            evt.EventTimeNs = openNs + (c.length * Ms) + (c.iso ? 7 : 0);
            ref var k = ref evt.Payload.Kline;
            (k.Open, k.High, k.Low, k.Close) = (new Price(c.prices[0]), new Price(c.prices[1]), new Price(c.prices[2]), new Price(c.prices[3]));
            (k.Volume, k.QuoteVolume) = (new Quantity(c.prices[4]), new Quantity(c.prices[5]));
            k.TradeCount = c.trades;
            k.IsClosed = c.closed;
            k.OpenTimeNs = openNs;
            k.CloseTimeNs = openNs + (c.length * Ms) - Ms;
            k.FirstTradeId = k.LastTradeId = -1;
            k.Interval = c.length switch { 1_000 => KlineInterval.Second1, 60_000 => KlineInterval.Minute1, 3_600_000 => KlineInterval.Hour1, _ => KlineInterval.None };
            k.RecordId = Guid.NewGuid(); // the record's id comes back with it

            var encoder = new AssetPriceEncoder(table, c.framing, 77, c.iso ? AssetPriceTimeFormat.Iso8601 : AssetPriceTimeFormat.EpochMilliseconds);
            var buffer = new byte[AssetPriceEncoder.MaxEncodedLength];
            if (!encoder.TryEncode(in evt, k.RecordId, buffer, out var written))
            {
                return false;
            }

            var decoded = MarketEvent.Create(1);
            var result = new AssetPriceDecoder(table, c.framing, defaultSchemaId: 77).Decode(buffer.AsSpan(0, written), ref decoded);
            var expectedEventTime = c.iso ? evt.EventTimeNs : evt.EventTimeNs / Ms * Ms;
            return result.Status == DecodeStatus.Ok
                && decoded.Kind == MarketEventKind.Kline
                && decoded.SymbolId == evt.SymbolId
                && decoded.EventTimeNs == expectedEventTime
                && decoded.Payload.Kline.Equals(evt.Payload.Kline);
        }));
    }

    [Fact]
    public void Visit_StructVisitorOverInteropDatum_CountsValuesWithoutAllocating()
    {
        var schema = AvroSchema.Parse("""
            {"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":{"type":"array","items":"string"}},
             {"name":"m","type":{"type":"map","values":["null","double"]}},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"]}},
             {"name":"f","type":{"type":"fixed","name":"F","size":2}}]}
            """);
        var plan = AvroPlan.Compile(schema);
        var bytes = AvroGenericDatum.Write(plan, new Dictionary<string, object?>
        {
            ["a"] = 5,
            ["b"] = new List<object?> { "x", "yy" },
            ["m"] = new Dictionary<string, object?> { ["k"] = 1.5, ["n"] = null },
            ["e"] = "Y",
            ["f"] = new byte[] { 1, 2 },
        });
        var counter = default(CountingVisitor);
        var reader = new AvroReader(bytes);
        Assert.Equal(AvroStatus.Ok, plan.Visit(ref reader, ref counter));
        Assert.Equal((1, 3, 2, 1, 1, 2, 5), (counter.Ints, counter.StringBytes, counter.MapKeys, counter.Doubles, counter.Enums, counter.Branches, counter.Fields));

        Allocations.AssertNone(
            () =>
            {
                var visitor = default(CountingVisitor);
                var r = new AvroReader(bytes);
                plan.Visit(ref r, ref visitor);
            },
            "AvroPlan.Visit");
        var projection = AvroRecordProjection.Create(plan, schema);
        var values = new AvroValue[projection.FieldCount];
        Allocations.AssertNone(() => projection.Read(bytes, values), "AvroRecordProjection.Read");
        Assert.Equal((AvroValueKind.Int, 5L), (values[0].Kind, values[0].Int64));
        Assert.Equal((AvroValueKind.Enum, 1L), (values[3].Kind, values[3].Int64));
        Assert.Equal([1, 2], values[4].Slice(bytes).ToArray());
        Assert.Equal(AvroValueKind.Complex, values[1].Kind);
    }

    private struct CountingVisitor : IAvroVisitor
    {
        public int Ints;
        public int StringBytes;
        public int MapKeys;
        public int Doubles;
        public int Enums;
        public int Branches;
        public int Fields;

        public void Null()
        {
        }

        public void Boolean(bool value)
        {
        }

        public void Int(int value) => Ints++;

        public void Long(long value)
        {
        }

        public void Float(float value)
        {
        }

        public void Double(double value) => Doubles++;

        public void Bytes(ReadOnlySpan<byte> value)
        {
        }

        public void String(ReadOnlySpan<byte> utf8) => StringBytes += utf8.Length;

        public void Fixed(AvroSchema schema, ReadOnlySpan<byte> value)
        {
        }

        public void Enum(AvroSchema schema, int index) => Enums++;

        public void StartRecord(AvroSchema schema)
        {
        }

        public void Field(AvroField field) => Fields++;

        public void EndRecord(AvroSchema schema)
        {
        }

        public void StartArray(AvroSchema schema)
        {
        }

        public void EndArray(AvroSchema schema)
        {
        }

        public void StartMap(AvroSchema schema)
        {
        }

        public void MapKey(ReadOnlySpan<byte> utf8) => MapKeys++;

        public void EndMap(AvroSchema schema)
        {
        }

        public void UnionBranch(AvroSchema union, int index) => Branches++;
    }
}

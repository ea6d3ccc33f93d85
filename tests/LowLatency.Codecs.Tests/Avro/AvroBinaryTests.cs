using System.Text.Json;
using LowLatency.Codecs.Avro;
using LowLatency.TestSupport;

namespace LowLatency.Codecs.Tests.Avro;

/// <summary>The binary encoding against the shared byte vectors: values, varint sizes, malformed inputs, framings.</summary>
public sealed class AvroBinaryTests
{
    [DataFact]
    public void Write_BinaryEncodingVectors_EveryCaseMatchesHexAndReadsBack()
    {
        using var doc = AvroTestData.Json("vectors/avro_binary_encoding_vectors.json");
        var cases = 0;
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var schema = AvroSchema.Parse(c.GetProperty("schema").GetRawText());
            var plan = AvroPlan.Compile(schema);
            var expected = AvroTestData.Hex(c.GetProperty("hex").GetString()!);

            var encoded = AvroGenericDatum.Write(plan, AvroTestData.FromJson(c.GetProperty("value"), schema));
            Assert.True(expected.AsSpan().SequenceEqual(encoded), $"{c.GetProperty("kind")} {c.GetProperty("value")}: {Convert.ToHexString(encoded)}");

            Assert.Equal(AvroStatus.Ok, plan.Validate(expected));
            AvroTestData.AssertEqual(c.GetProperty("value"), AvroGenericDatum.Read(plan, expected));
            cases++;
        }

        Assert.Equal(35, cases);
    }

    [DataFact]
    public void ReadLongAndInt_VarintSizeCases_SizeHexAndValueRoundTrip()
    {
        using var doc = AvroTestData.Json("vectors/csharp_varint_size_cases.json");
        var cases = 0;
        foreach (var kind in new[] { "int", "long" })
        {
            foreach (var c in doc.RootElement.GetProperty(kind).EnumerateArray())
            {
                var value = c.GetProperty("value").GetInt64();
                var bytes = AvroTestData.Hex(c.GetProperty("hex_computed_by_collector").GetString()!);
                Assert.Equal(c.GetProperty("size").GetInt32(), AvroWriter.SizeOfLong(value));
                Assert.Equal(bytes.Length, AvroWriter.SizeOfLong(value));

                var buffer = new byte[AvroWriter.MaxLongBytes];
                var writer = new AvroWriter(buffer);
                if (kind == "int")
                {
                    writer.WriteInt(checked((int)value));
                }
                else
                {
                    writer.WriteLong(value);
                }

                Assert.True(writer.Written.SequenceEqual(bytes), $"{kind} {value}");

                var reader = new AvroReader(bytes);
                if (kind == "int")
                {
                    Assert.Equal(AvroStatus.Ok, reader.ReadInt(out var i));
                    Assert.Equal(value, i);
                }
                else
                {
                    Assert.Equal(AvroStatus.Ok, reader.ReadLong(out var l));
                    Assert.Equal(value, l);
                }

                Assert.True(reader.IsAtEnd);
                cases++;
            }
        }

        Assert.True(cases >= 40, $"{cases} cases");
    }

    [Fact]
    public void ReadLong_Extremes_RoundTripAndTenthByteChecked()
    {
        foreach (var value in new[] { long.MinValue, long.MaxValue, 0L, -1L, int.MinValue, (long)int.MaxValue + 1 })
        {
            var buffer = new byte[10];
            var length = AvroWriter.WriteVarLong(buffer, value);
            var reader = new AvroReader(buffer.AsSpan(0, length));
            Assert.Equal(AvroStatus.Ok, reader.ReadLong(out var read));
            Assert.Equal(value, read);
        }

        // A 10th byte with bits beyond bit 63 does not fit a long.
        var overflow = new AvroReader([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02]);
        Assert.Equal(AvroStatus.InvalidVarint, overflow.ReadLong(out _));
        Assert.Equal(0, overflow.Position);

        // An int whose 5th byte carries more than 4 bits does not fit 32 bits.
        var intOverflow = new AvroReader([0xFF, 0xFF, 0xFF, 0xFF, 0x1F]);
        Assert.Equal(AvroStatus.InvalidVarint, intOverflow.ReadInt(out _));
    }

    public static TheoryData<string, AvroStatus> InvalidCases => new()
    {
        { "badIntEncoding", AvroStatus.InvalidVarint },
        { "badLongEncoding", AvroStatus.InvalidVarint },
        { "intTooShort", AvroStatus.Truncated },
        { "longTooShort", AvroStatus.Truncated },
        { "floatTooShort (test actually calls readInt)", AvroStatus.Truncated },
        { "doubleTooShort (test actually calls readLong)", AvroStatus.Truncated },
        { "longLengthEncoding", AvroStatus.LengthTooLarge },
        { "testStringNegativeLength", AvroStatus.NegativeLength },
        { "testBytesNegativeLength", AvroStatus.NegativeLength },
        { "testStringVmMaxSize", AvroStatus.LengthTooLarge },
        { "testStringLengthExceedsAvailableBytes", AvroStatus.LengthTooLarge },
        { "TestInvalidInputWithMaxIntAsStringLength", AvroStatus.LengthTooLarge },
        { "eof after long", AvroStatus.Truncated },
    };

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void Read_InvalidBinaryInput_ReturnsStatusWithoutMovingOrAllocating(string name, AvroStatus expected)
    {
        if (!TestData.IsAvailable)
        {
            return;
        }

        using var doc = AvroTestData.Json("vectors/avro_invalid_binary_inputs.json");
        var c = doc.RootElement.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var bytes = AvroTestData.Hex(c.GetProperty("hex").GetString()!);
        var read = c.GetProperty("read").GetString()!;

        var status = ReadAs(bytes, read, out var position);
        Assert.Equal(expected, status);
        if (read != "long then int")
        {
            Assert.Equal(0, position); // a failed read leaves the position where it was
        }

        // The same input through a compiled plan: same status, and no allocation (huge lengths allocate nothing).
        if (read is "int" or "long" or "string" or "bytes")
        {
            var plan = AvroPlan.Compile(AvroSchema.Parse($"\"{read}\""));
            Assert.Equal(expected, plan.Validate(bytes));
            Assert.Equal(0, Allocations.Measure(() => plan.Validate(bytes)));
        }
    }

    [DataFact]
    public void Read_InvalidBinaryInputs_FileHasExactlyTheCasesTested()
    {
        using var doc = AvroTestData.Json("vectors/avro_invalid_binary_inputs.json");
        var names = doc.RootElement.GetProperty("cases").EnumerateArray().Select(e => e.GetProperty("name").GetString()!).Order().ToArray();
        Assert.Equal(InvalidCases.Select(row => (string)row[0]).Order().ToArray(), names);
    }

    private static AvroStatus ReadAs(byte[] bytes, string read, out int position)
    {
        var reader = new AvroReader(bytes);
        AvroStatus status;
        switch (read)
        {
            case "int":
                status = reader.ReadInt(out _);
                break;
            case "long":
                status = reader.ReadLong(out _);
                break;
            case "string":
                status = reader.ReadString(out _);
                break;
            case "bytes":
                status = reader.ReadBytes(out _);
                break;
            default: // "long then int": the long is there (2^52), the int is not
                Assert.Equal(AvroStatus.Ok, reader.ReadLong(out var first));
                Assert.Equal(4503599627370496L, first);
                status = reader.ReadInt(out _);
                break;
        }

        position = reader.Position;
        return status;
    }

    [DataFact]
    public void SingleObject_MessageV1_FingerprintHeaderAndBodyMatchGroundTruth()
    {
        using var vector = AvroTestData.Json("vectors/single_object_encoding_vector.json");
        var v = vector.RootElement;
        var schema = AvroSchema.Parse(File.ReadAllText(AvroTestData.PathOf("apache_avro/share/test/data/messageV1/test_schema.avsc")));
        Assert.Equal(v.GetProperty("parsing_canonical_form").GetString(), schema.CanonicalForm);
        Assert.Equal(Convert.ToUInt64(v.GetProperty("crc64_avro_fingerprint_unsigned_hex").GetString(), 16), schema.Fingerprint);
        Assert.Equal(v.GetProperty("crc64_avro_fingerprint_signed_int64").GetInt64(), (long)schema.Fingerprint);

        var message = File.ReadAllBytes(AvroTestData.PathOf("apache_avro/share/test/data/messageV1/test_message.bin"));
        Assert.Equal(AvroTestData.Hex(v.GetProperty("message_hex").GetString()!), message);
        Assert.Equal(AvroStatus.Ok, SingleObjectFraming.TryRead(message, out var fingerprint, out var body));
        Assert.Equal(schema.Fingerprint, fingerprint);
        var plan = AvroPlan.Compile(schema);
        AvroTestData.AssertEqual(v.GetProperty("decoded_value"), AvroGenericDatum.Read(plan, body));

        var rebuilt = new byte[SingleObjectFraming.HeaderLength];
        Assert.True(SingleObjectFraming.TryWriteHeader(rebuilt, plan.Fingerprint));
        var reencoded = rebuilt.Concat(AvroGenericDatum.Write(plan, AvroTestData.FromJson(v.GetProperty("decoded_value"), schema))).ToArray();
        Assert.Equal(message, reencoded);
    }

    [Fact]
    public void SingleObject_WrongMarkerOrShort_BadHeaderOrTruncated()
    {
        Assert.Equal(AvroStatus.BadHeader, SingleObjectFraming.TryRead([0xC3, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0], out _, out _));
        Assert.Equal(AvroStatus.BadHeader, SingleObjectFraming.TryRead([0x00, 0x01, 0], out _, out _));
        Assert.Equal(AvroStatus.Truncated, SingleObjectFraming.TryRead([0xC3, 0x01, 1, 2], out _, out _));
    }

    [DataFact]
    public void Confluent_WireFormatExamples_HeaderSchemaIdAndBodyDecodeToExpected()
    {
        using var doc = AvroTestData.Json("vectors/confluent_wire_format_examples.json");
        var messages = 0;
        foreach (var m in doc.RootElement.GetProperty("messages").EnumerateArray())
        {
            var value = AvroTestData.Hex(m.GetProperty("value_hex").GetString()!);
            Assert.Equal(Convert.FromBase64String(m.GetProperty("value_base64").GetString()!), value);
            Assert.Equal(AvroStatus.Ok, ConfluentFraming.TryRead(value, out var schemaId, out var body));
            Assert.Equal(m.GetProperty("schema_id").GetInt32(), schemaId);
            Assert.Equal(m.GetProperty("magic_byte").GetInt32(), value[0]);
            Assert.True(body.SequenceEqual(AvroTestData.Hex(m.GetProperty("avro_body_hex").GetString()!)));

            var schema = AvroSchema.Parse(m.GetProperty("writer_schema").GetRawText());
            var plan = AvroPlan.Compile(schema);
            AvroTestData.AssertEqual(m.GetProperty("decoded_value"), AvroGenericDatum.Read(plan, body)); // whole body, nothing trailing

            var header = new byte[ConfluentFraming.HeaderLength];
            Assert.True(ConfluentFraming.TryWriteHeader(header, schemaId));
            Assert.Equal(value, header.Concat(AvroGenericDatum.Write(plan, AvroTestData.FromJson(m.GetProperty("decoded_value"), schema))).ToArray());
            messages++;
        }

        Assert.Equal(5, messages);
    }

    [Fact]
    public void Confluent_WrongMagicOrShort_BadHeaderOrTruncated()
    {
        Assert.Equal(AvroStatus.BadHeader, ConfluentFraming.TryRead([1, 0, 0, 0, 1, 2], out _, out _));
        Assert.Equal(AvroStatus.Truncated, ConfluentFraming.TryRead([0, 0, 0], out _, out _));
    }

    [Fact]
    public void Validate_ArrayDeclaringMoreItemsThanBytes_LengthTooLargeWithoutLooping()
    {
        var longs = AvroPlan.Compile(AvroSchema.Parse("""{"type":"array","items":"long"}"""));
        Assert.Equal(AvroStatus.LengthTooLarge, longs.Validate([0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0x02])); // 2^31-1 items, 1 byte
        var nulls = AvroPlan.Compile(AvroSchema.Parse("""{"type":"array","items":"null"}"""));
        Assert.Equal(AvroStatus.Ok, nulls.Validate([0x06, 0x00])); // 3 nulls take no bytes
        Assert.Equal(AvroStatus.LengthTooLarge, nulls.Validate([0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00]));
        var map = AvroPlan.Compile(AvroSchema.Parse("""{"type":"map","values":"null"}"""));
        Assert.Equal(AvroStatus.LengthTooLarge, map.Validate([0x80, 0x01, 0x00]));
    }

    [Fact]
    public void Skip_BlockWithByteSize_SkipsWholeBlockAndRejectsBadSizes()
    {
        var plan = AvroPlan.Compile(AvroSchema.Parse("""{"type":"array","items":"long"}"""));
        Assert.Equal(AvroStatus.Ok, plan.Validate([0x03, 0x04, 0x06, 0x36, 0x00])); // count -2, size 2, items 3 27, end
        Assert.Equal(AvroStatus.NegativeLength, plan.Validate([0x03, 0x03, 0x06, 0x36, 0x00]));
        Assert.Equal(AvroStatus.LengthTooLarge, plan.Validate([0x03, 0x40, 0x06, 0x36, 0x00]));
        var visited = AvroGenericDatum.Read(plan, [0x03, 0x04, 0x06, 0x36, 0x00]);
        Assert.Equal([3L, 27L], Assert.IsType<List<object?>>(visited));
    }

    [Fact]
    public void Validate_BadUnionEnumAndBoolean_ReturnStatus()
    {
        var union = AvroPlan.Compile(AvroSchema.Parse("""["null","int"]"""));
        Assert.Equal(AvroStatus.InvalidUnionIndex, union.Validate([0x04, 0x02]));
        Assert.Equal(AvroStatus.InvalidUnionIndex, union.Validate([0x01, 0x02])); // -1
        var e = AvroPlan.Compile(AvroSchema.Parse("""{"type":"enum","name":"E","symbols":["A","B"]}"""));
        Assert.Equal(AvroStatus.InvalidEnumIndex, e.Validate([0x04]));
        var b = AvroPlan.Compile(AvroSchema.Parse("\"boolean\""));
        Assert.Equal(AvroStatus.InvalidBoolean, b.Validate([0x02]));
        Assert.Equal(AvroStatus.TrailingBytes, b.Validate([0x01, 0x00]));
    }

    [Fact]
    public void Validate_DeeplyNestedRecursiveData_TooDeepNotStackOverflow()
    {
        var plan = AvroPlan.Compile(AvroSchema.Parse("""{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}"""));
        var deep = Enumerable.Repeat((byte)0x02, 10_000).Append((byte)0x00).ToArray();
        Assert.Equal(AvroStatus.TooDeep, plan.Validate(deep));
        var shallow = Enumerable.Repeat((byte)0x02, 100).Append((byte)0x00).ToArray();
        Assert.Equal(AvroStatus.Ok, plan.Validate(shallow));
    }

    [Fact]
    public void Writer_BufferTooSmall_OverflowIsStickyAndWritesNothingMore()
    {
        Span<byte> buffer = stackalloc byte[4];
        var writer = new AvroWriter(buffer);
        writer.WriteString("abc"u8);
        Assert.False(writer.Overflowed);
        writer.WriteString("toolong"u8);
        Assert.True(writer.Overflowed);
        writer.WriteBoolean(true);
        Assert.Equal(4, writer.Position);
    }

    [Fact]
    public void AvroWriter_CandleRecordFieldByField_SameBytesAsGenericEncoderAndNoAllocation()
    {
        // The shape of a derived-topic record (a closed candle with an optional alert): the fast path a sink uses.
        var plan = AvroPlan.Compile(AvroSchema.Parse("""
            {"type":"record","name":"candle","namespace":"lowlatency.derived","fields":[
              {"name":"symbol","type":"string"},
              {"name":"open_time","type":{"type":"long","logicalType":"timestamp-millis"}},
              {"name":"open","type":"string"},{"name":"close","type":"string"},
              {"name":"trades","type":"long"},{"name":"closed","type":"boolean"},
              {"name":"change","type":"double"},
              {"name":"alert","type":["null",{"type":"enum","name":"Alert","symbols":["SPIKE","DROP"]}]}]}
            """));
        var expected = AvroGenericDatum.Write(plan, new Dictionary<string, object?>
        {
            ["symbol"] = "BTCUSDT", ["open_time"] = 1723161240000L, ["open"] = "61837.63", ["close"] = "61850.01",
            ["trades"] = 1234L, ["closed"] = true, ["change"] = 0.0002, ["alert"] = "DROP",
        });
        var buffer = new byte[128];
        var written = 0;
        void WriteCandle()
        {
            var w = new AvroWriter(buffer);
            w.WriteString("BTCUSDT"u8);
            w.WriteLong(1723161240000L);
            w.WriteDecimalString(6183763000000);
            w.WriteDecimalString(6185001000000);
            w.WriteLong(1234);
            w.WriteBoolean(true);
            w.WriteDouble(0.0002);
            w.WriteUnionIndex(1);
            w.WriteEnum(1);
            written = w.Overflowed ? -1 : w.Position;
        }

        WriteCandle();
        Assert.Equal(expected, buffer[..written]);
        Allocations.AssertNone(WriteCandle, "AvroWriter record");
    }

    [Fact]
    public void WriteString_Utf16Text_TranscodesWithExactLength()
    {
        var buffer = new byte[64];
        var writer = new AvroWriter(buffer);
        writer.WriteString("币安".AsSpan());
        var reader = new AvroReader(writer.Written);
        Assert.Equal(AvroStatus.Ok, reader.ReadString(out var utf8));
        Assert.Equal("币安", AvroTestData.Utf8(utf8));
    }

    [Fact]
    public void GenericWrite_ValueNotFittingSchema_ThrowsSchemaMismatch()
    {
        var plan = AvroPlan.Compile(AvroSchema.Parse("""{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"""));
        var e = Assert.Throws<AvroException>(() => AvroGenericDatum.Write(plan, new Dictionary<string, object?> { ["a"] = "x" }));
        Assert.Equal(AvroStatus.SchemaMismatch, e.Status);
        Assert.Contains("$.a", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GenericWrite_LogicalTypeValues_EncodeAsUnderlyingTypes()
    {
        const string schemaJson = """
            {"type":"record","name":"L","fields":[
              {"name":"d","type":{"type":"int","logicalType":"date"}},
              {"name":"ts","type":{"type":"long","logicalType":"timestamp-micros"}},
              {"name":"dec","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
              {"name":"fdec","type":{"type":"fixed","name":"F","size":4,"logicalType":"decimal","precision":9,"scale":3}},
              {"name":"u","type":{"type":"string","logicalType":"uuid"}},
              {"name":"t","type":{"type":"int","logicalType":"time-millis"}}]}
            """;
        var schema = AvroSchema.Parse(schemaJson);
        Assert.Equal(["date", "timestamp-micros", "decimal", "decimal", "uuid", "time-millis"], schema.Fields.Select(f => f.Schema.LogicalType));
        var plan = AvroPlan.Compile(schema);
        var guid = Guid.Parse("aa3afd44-8119-4565-809b-9df75d6ddab0");
        var bytes = AvroGenericDatum.Write(plan, new Dictionary<string, object?>
        {
            ["d"] = new DateOnly(2024, 8, 8),
            ["ts"] = new DateTimeOffset(2024, 8, 8, 23, 54, 13, TimeSpan.Zero).AddTicks(1234560),
            ["dec"] = -123.45m,
            ["fdec"] = 1.5m,
            ["u"] = guid,
            ["t"] = new TimeOnly(1, 2, 3, 4),
        });
        var read = Assert.IsType<Dictionary<string, object?>>(AvroGenericDatum.Read(plan, bytes));
        Assert.Equal(new DateOnly(2024, 8, 8), AvroLogical.ToDate((int)read["d"]!));
        Assert.Equal(1723161253123456L * 1000, AvroLogical.ToUnixNanoseconds((long)read["ts"]!, "timestamp-micros"));
        Assert.True(AvroLogical.TryToDecimal((byte[])read["dec"]!, 2, out var dec));
        Assert.Equal(-123.45m, dec);
        Assert.Equal([0, 0, 0x05, 0xDC], (byte[])read["fdec"]!); // 1500, sign-extended to the fixed's 4 bytes
        Assert.Equal(guid.ToString(), read["u"]);
        Assert.Equal(3723004, read["t"]);
    }

    [Fact]
    public void Read_EverySplitOfAValidDatum_TruncatedNeverThrows()
    {
        var plan = AvroPlan.Compile(AvroSchema.Parse(File.Exists(InteropPath) ? File.ReadAllText(InteropPath) : InteropFallback));
        var datum = InteropDatum();
        var bytes = AvroGenericDatum.Write(plan, datum);
        Assert.Equal(AvroStatus.Ok, plan.Validate(bytes));
        for (var cut = 0; cut < bytes.Length; cut++)
        {
            var status = plan.Validate(bytes.AsSpan(0, cut));
            Assert.True(status is AvroStatus.Truncated or AvroStatus.LengthTooLarge, $"cut {cut}: {status}");
        }

        for (var i = 0; i < bytes.Length; i++)
        {
            var corrupt = (byte[])bytes.Clone();
            corrupt[i] ^= 0xFF; // any status is fine; throwing or hanging is not
            _ = plan.Validate(corrupt);
            var reader = new AvroReader(corrupt);
            _ = AvroGenericDatum.Read(plan, ref reader, out _);
        }
    }

    private static string InteropPath => TestData.IsAvailable ? AvroTestData.PathOf("apache_avro/share/test/schemas/interop.avsc") : string.Empty;

    private const string InteropFallback = """
        {"type": "record", "name":"Interop", "namespace": "org.apache.avro", "fields": [
          {"name": "intField", "type": "int"}, {"name": "longField", "type": "long"}, {"name": "stringField", "type": "string"},
          {"name": "boolField", "type": "boolean"}, {"name": "floatField", "type": "float"}, {"name": "doubleField", "type": "double"},
          {"name": "bytesField", "type": "bytes"}, {"name": "nullField", "type": "null"},
          {"name": "arrayField", "type": {"type": "array", "items": "double"}},
          {"name": "mapField", "type": {"type": "map", "values": {"type": "record", "name": "Foo", "fields": [{"name": "label", "type": "string"}]}}},
          {"name": "unionField", "type": ["boolean", "double", {"type": "array", "items": "bytes"}]},
          {"name": "enumField", "type": {"type": "enum", "name": "Kind", "symbols": ["A","B","C"]}},
          {"name": "fixedField", "type": {"type": "fixed", "name": "MD5", "size": 16}},
          {"name": "recordField", "type": {"type": "record", "name": "Node", "fields": [
            {"name": "label", "type": "string"}, {"name": "children", "type": {"type": "array", "items": "Node"}}]}}]}
        """;

    internal static Dictionary<string, object?> InteropDatum() => new()
    {
        ["intField"] = -12345,
        ["longField"] = long.MaxValue,
        ["stringField"] = "héllo",
        ["boolField"] = true,
        ["floatField"] = 1.5f,
        ["doubleField"] = -2.25,
        ["bytesField"] = new byte[] { 0, 1, 255 },
        ["nullField"] = null,
        ["arrayField"] = new List<object?> { 1.0, 2.0, double.NaN },
        ["mapField"] = new Dictionary<string, object?> { ["a"] = new Dictionary<string, object?> { ["label"] = "x" }, ["b"] = new Dictionary<string, object?> { ["label"] = "y" } },
        ["unionField"] = new List<object?> { new byte[] { 1 }, Array.Empty<byte>() },
        ["enumField"] = "C",
        ["fixedField"] = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray(),
        ["recordField"] = new Dictionary<string, object?>
        {
            ["label"] = "root",
            ["children"] = new List<object?>
            {
                new Dictionary<string, object?> { ["label"] = "leaf", ["children"] = new List<object?>() },
            },
        },
    };
}

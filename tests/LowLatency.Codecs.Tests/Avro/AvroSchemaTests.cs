using LowLatency.Codecs.Avro;
using LowLatency.TestSupport;

namespace LowLatency.Codecs.Tests.Avro;

/// <summary>The schema parser, Parsing Canonical Form and CRC-64-AVRO fingerprints against apache/avro's test schemas.</summary>
public sealed class AvroSchemaTests
{
    [Fact]
    public void Crc64_EmptyInput_IsTheSpecificationsEmptyConstant()
    {
        Assert.Equal(0xc15d213aa4d7a795UL, AvroFingerprint.Crc64([]));
        Assert.Equal(0xCBF43926u, AvroFingerprint.Crc32("123456789"u8)); // the standard CRC-32 check value
    }

    [DataFact]
    public void CanonicalForm_SchemaTestsTxt_EveryCaseAndFingerprintMatch()
    {
        var cases = ReadSchemaTests(File.ReadAllLines(AvroTestData.PathOf("apache_avro/share/test/data/schema-tests.txt")));
        Assert.Equal(34, cases.Count); // 000 … 033
        var fingerprints = 0;
        foreach (var (id, input, canonical, fingerprint) in cases)
        {
            var schema = AvroSchema.Parse(input);
            Assert.True(canonical == schema.CanonicalForm, $"case {id}: {schema.CanonicalForm}");
            if (fingerprint is { } expected)
            {
                Assert.True(expected == (long)schema.Fingerprint, $"case {id}: fingerprint {(long)schema.Fingerprint}");
                fingerprints++;
            }

            Assert.Equal(canonical, AvroSchema.Parse(canonical).CanonicalForm); // canonical form is a fixed point
        }

        Assert.True(fingerprints >= 20, $"{fingerprints} fingerprints checked");
    }

    /// <summary>The file's format: <c>// NNN</c>, <c>&lt;&lt;INPUT text</c> or a multi-line <c>&lt;&lt;INPUT</c> … <c>INPUT</c>, <c>&lt;&lt;canonical</c>, optional <c>&lt;&lt;fingerprint</c>.</summary>
    private static List<(string Id, string Input, string Canonical, long? Fingerprint)> ReadSchemaTests(string[] lines)
    {
        var result = new List<(string, string, string, long?)>();
        string? id = null, input = null, canonical = null;
        long? fingerprint = null;
        void Flush()
        {
            if (id is not null && input is not null && canonical is not null)
            {
                result.Add((id, input, canonical, fingerprint));
            }

            input = canonical = null;
            fingerprint = null;
        }

        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.StartsWith("// ", StringComparison.Ordinal) && line.Length == 6 && line[3..].All(char.IsAsciiDigit))
            {
                Flush();
                id = line[3..];
            }
            else if (line == "<<INPUT")
            {
                var body = new List<string>();
                while (lines[++i] != "INPUT")
                {
                    body.Add(lines[i]);
                }

                input = string.Join('\n', body);
            }
            else if (line.StartsWith("<<INPUT ", StringComparison.Ordinal))
            {
                input = line["<<INPUT ".Length..];
            }
            else if (line.StartsWith("<<canonical ", StringComparison.Ordinal))
            {
                canonical = line["<<canonical ".Length..];
            }
            else if (line.StartsWith("<<fingerprint ", StringComparison.Ordinal))
            {
                fingerprint = long.Parse(line["<<fingerprint ".Length..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        Flush();
        return result;
    }

    [DataFact]
    public void Parse_CSchemaTestsPass_EveryFileParsesAndCanonicalFormReparses()
    {
        var files = Directory.GetFiles(AvroTestData.PathOf("apache_avro/lang/c/tests/schema_tests/pass"));
        Assert.Equal(28, files.Length);
        foreach (var file in files)
        {
            var schema = AvroSchema.Parse(File.ReadAllText(file));
            _ = AvroPlan.Compile(schema);
            if (Path.GetFileName(file).StartsWith("namespace_null_", StringComparison.Ordinal))
            {
                // A type in the null namespace nested in a namespaced one: canonical form writes its bare name, which
                // re-parses into the enclosing namespace (a known limit of the specification's form, Java's too).
                Assert.Contains("{\"name\":\"Z\"", schema.CanonicalForm, StringComparison.Ordinal);
                continue;
            }

            var again = AvroSchema.Parse(schema.CanonicalForm);
            Assert.Equal(schema.CanonicalForm, again.CanonicalForm);
            Assert.Equal(schema.Fingerprint, again.Fingerprint);
        }
    }

    [DataFact]
    public void Parse_CSchemaTestsFail_EveryFileRejectedWithInvalidSchema()
    {
        var files = Directory.GetFiles(AvroTestData.PathOf("apache_avro/lang/c/tests/schema_tests/fail"));
        Assert.Equal(12, files.Length);
        foreach (var file in files)
        {
            var e = Assert.Throws<AvroException>(() => AvroSchema.Parse(File.ReadAllText(file)));
            Assert.True(e.Status == AvroStatus.InvalidSchema, $"{Path.GetFileName(file)}: {e.Status}");
        }
    }

    [DataFact]
    public void Parse_NamespaceCases_FullnamesFollowTheSpecification()
    {
        var dir = AvroTestData.PathOf("apache_avro/lang/c/tests/schema_tests/pass");
        var recursive = AvroSchema.Parse(File.ReadAllText(Path.Combine(dir, "namespace_recursive")));
        var contained = recursive.Fields[0].Schema;
        Assert.Equal("namespace1.MutuallyRecursive", contained.FullName);
        var inner = contained.Fields[1].Schema.Items!;
        Assert.Equal("namespace2.MutuallyRecursive", inner.FullName);
        Assert.Same(contained, inner.Fields[1].Schema.Items);   // "namespace1.MutuallyRecursive"
        Assert.Same(inner, inner.Fields[2].Schema.Items);       // "MutuallyRecursive" inside namespace2
        Assert.Same(inner, contained.Fields[2].Schema);

        var nullEnum = AvroSchema.Parse(File.ReadAllText(Path.Combine(dir, "namespace_null_enum")));
        Assert.Equal("Z", nullEnum.Fields[0].Schema.Fields[0].Schema.FullName); // namespace "" is the null namespace
        Assert.Same(nullEnum.Fields[0].Schema.Fields[0].Schema, nullEnum.Fields[1].Schema);

        var enums = AvroSchema.Parse(File.ReadAllText(Path.Combine(dir, "namespace_enum")));
        Assert.Equal("org.apache.avro.tests.MyEnum", enums.Fields[0].Schema.FullName);
        Assert.Equal("other.namespace.OtherEnum", enums.Fields[3].Schema.FullName);
        Assert.Equal("some.other.ThirdEnum", enums.Fields[5].Schema.FullName);
        Assert.Same(enums.Fields[5].Schema, enums.Fields[6].Schema);
    }

    [DataFact]
    public void Parse_ShareAndLanguageSchemas_ParseWithLogicalTypes()
    {
        var schemas = Directory.GetFiles(AvroTestData.PathOf("apache_avro"), "*.avsc", SearchOption.AllDirectories);
        Assert.True(schemas.Length >= 12, $"{schemas.Length} .avsc files");
        foreach (var file in schemas)
        {
            var schema = AvroSchema.Parse(File.ReadAllText(file));
            Assert.Equal(schema.CanonicalForm, AvroSchema.Parse(schema.CanonicalForm).CanonicalForm);
        }

        var logical = Parse("apache_avro/lang/java/avro/src/test/resources/TestRecordWithLogicalTypes.avsc");
        Assert.Equal("date", logical.GetField("d")!.Schema.LogicalType);
        Assert.Equal("time-millis", logical.GetField("t")!.Schema.LogicalType);
        Assert.Equal("timestamp-millis", logical.GetField("ts")!.Schema.LogicalType);
        Assert.Null(logical.GetField("bd")!.Schema.LogicalType); // big-decimal: not in this reader, ignored as the spec says
        Assert.Equal(AvroType.Bytes, logical.GetField("bd")!.Schema.Type);

        var union = Parse("apache_avro/lang/java/avro/src/test/resources/TestUnionRecord.avsc");
        var amount = union.Branches[1].GetField("amount")!.Schema.Branches[1];
        Assert.Equal(("decimal", 31, 8), (amount.LogicalType, amount.Precision, amount.Scale));

        var fooBar = Parse("apache_avro/share/test/schemas/fooBar.avsc");
        Assert.Equal("timestamp-millis", fooBar.GetField("created_at")!.Schema.Branches[1].LogicalType);

        var id = Parse("apache_avro/lang/js/test/dat/Id.avsc");
        Assert.Equal(("id.Id", 64), (id.FullName, id.FixedSize));

        var reserved = Parse("apache_avro/share/test/schemas/reserved.avsc");
        Assert.Equal(["default", "class", "int"], reserved.Symbols);

        var required = Parse("apache_avro/share/test/schemas/RecordWithRequiredFields.avsc");
        var mapRecordEnum = required.GetField("unionField")!.Schema.Branches[1].GetField("arrayField")!.Schema.Items!
            .GetField("mapField")!.Schema.Values!.GetField("enumField")!.Schema;
        Assert.Equal(("org.apache.avro.MapRecordEnum", "A"), (mapRecordEnum.FullName, mapRecordEnum.EnumDefault));
    }

    [DataFact]
    public void ParseProtocolTypes_AvprFiles_TypesWithProtocolNamespace()
    {
        string Text(string name) => File.ReadAllText(AvroTestData.PathOf("apache_avro/share/test/schemas/" + name));
        Assert.Empty(AvroSchema.ParseProtocolTypes(Text("BulkData.avpr")));
        Assert.Equal("org.apache.avro.test.Message", Assert.Single(AvroSchema.ParseProtocolTypes(Text("mail.avpr"))).FullName);
        var ns = AvroSchema.ParseProtocolTypes(Text("namespace.avpr"));
        Assert.Equal(["org.apache.avro.test.util.MD5", "org.apache.avro.test.namespace.TestRecord", "org.apache.avro.test.errors.TestError"], ns.Select(t => t.FullName));
        Assert.Same(ns[0], ns[1].Fields[0].Schema);
        var simple = AvroSchema.ParseProtocolTypes(Text("simple.avpr"));
        Assert.Equal(5, simple.Count);
        Assert.Equal(AvroSortOrder.Descending, simple[2].GetField("kind")!.Order);
        Assert.Same(simple[0], simple[4].GetField("kind")!.Schema.Branches[1]);
    }

    [Theory]
    [InlineData("""{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}""", "duplicate field")]
    [InlineData("""{"type":"enum","name":"E","symbols":["A","A"]}""", "duplicate symbol")]
    [InlineData("""{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"fixed","name":"R","size":1}}]}""", "defined twice")]
    [InlineData("""["int","int"]""", "two branches")]
    [InlineData("""["null",["int"]]""", "another union")]
    [InlineData("""{"type":"record","name":"int","fields":[]}""", "primitive")]
    [InlineData("""{"type":"array"}""", "items")]
    [InlineData("""{"type":"fixed","name":"F","size":-1}""", "size")]
    [InlineData("""{"type":"enum","name":"E","symbols":["A"],"default":"B"}""", "default")]
    [InlineData("""{"type":"record","name":"a.1b","fields":[]}""", "invalid name")]
    [InlineData("42", "a schema must be")]
    public void Parse_InvalidSchema_ThrowsWithReason(string json, string reason)
    {
        var e = Assert.Throws<AvroException>(() => AvroSchema.Parse(json));
        Assert.Equal(AvroStatus.InvalidSchema, e.Status);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}""", "decimal")]
    [InlineData("""{"type":"bytes","logicalType":"decimal","precision":2,"scale":4}""", null)] // scale > precision: ignored
    [InlineData("""{"type":"fixed","name":"F","size":2,"logicalType":"decimal","precision":5}""", null)] // 2 bytes hold 4 digits
    [InlineData("""{"type":"fixed","name":"F","size":2,"logicalType":"decimal","precision":4}""", "decimal")]
    [InlineData("""{"type":"fixed","name":"U","size":16,"logicalType":"uuid"}""", "uuid")]
    [InlineData("""{"type":"long","logicalType":"date"}""", null)]
    [InlineData("""{"type":"long","logicalType":"timestamp-nanos"}""", "timestamp-nanos")]
    [InlineData("""{"type":"fixed","name":"D","size":12,"logicalType":"duration"}""", "duration")]
    [InlineData("""{"type":"string","logicalType":"made-up"}""", null)]
    public void Parse_LogicalTypes_ValidKeptInvalidIgnored(string json, string? logicalType)
    {
        var schema = AvroSchema.Parse(json);
        Assert.Equal(logicalType, schema.LogicalType);
    }

    private static AvroSchema Parse(string relative) => AvroSchema.Parse(File.ReadAllText(AvroTestData.PathOf(relative)));
}

using System.Text.Json;
using LowLatency.Codecs.Avro;
using LowLatency.TestSupport;

namespace LowLatency.Codecs.Tests.Avro;

/// <summary>The object-container-file reader against every <c>.avro</c> file in the shared data.</summary>
public sealed class AvroContainerTests
{
    private const string Data = "apache_avro/share/test/data/";
    private const string CTests = "apache_avro/lang/c/tests/";

    [DataFact]
    public void Read_WeatherUnderNullDeflateAndSnappy_EqualsWeatherJson()
    {
        var expected = File.ReadAllLines(AvroTestData.PathOf(Data + "weather.json")).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(5, expected.Length);
        foreach (var (file, codec) in new[] { ("weather.avro", "null"), ("weather-deflate.avro", "deflate"), ("weather-snappy.avro", "snappy") })
        {
            var (reader, records) = ReadAll(Data + file);
            Assert.Equal(codec, reader.Codec);
            Assert.Equal("test.Weather", reader.Schema.FullName);
            Assert.Equal(expected.Length, records.Count);
            for (var i = 0; i < records.Count; i++)
            {
                AvroTestData.AssertEqual(expected[i], records[i], $"{file}[{i}]");
            }
        }
    }

    [DataFact]
    public void Read_WeatherSorted_SameRecordsInSortOrder()
    {
        var expected = File.ReadAllLines(AvroTestData.PathOf(Data + "weather.json")).Select(l => JsonDocument.Parse(l).RootElement)
            .OrderBy(e => e.GetProperty("time").GetInt64()).ThenBy(e => e.GetProperty("temp").GetInt32()).ToArray();
        var (reader, records) = ReadAll(Data + "weather-sorted.avro");
        Assert.Equal("deflate", reader.Codec);
        Assert.Equal(AvroSortOrder.Ignore, reader.Schema.GetField("station")!.Order); // sorted by time then temp
        Assert.Equal(expected.Length, records.Count);
        for (var i = 0; i < records.Count; i++)
        {
            AvroTestData.AssertEqual(expected[i], records[i], $"sorted[{i}]");
        }
    }

    [DataFact]
    public void Open_WeatherZstd_UnsupportedCodecNamingIt()
    {
        using var stream = File.OpenRead(AvroTestData.PathOf(Data + "weather-zstd.avro"));
        Assert.Equal(AvroStatus.UnsupportedCodec, AvroContainerReader.TryOpen(stream, out var reader, out var error, leaveOpen: true));
        Assert.Null(reader);
        Assert.Contains("'zstandard'", error, StringComparison.Ordinal);

        stream.Position = 0;
        var e = Assert.Throws<AvroException>(() => AvroContainerReader.Open(stream));
        Assert.Equal(AvroStatus.UnsupportedCodec, e.Status);
        Assert.Contains("zstandard", e.Message, StringComparison.Ordinal);
    }

    [DataFact]
    public void Open_LegacyAvro12Magic_BadHeader()
    {
        var e = Assert.Throws<AvroException>(() => AvroContainerReader.Open(AvroTestData.PathOf(Data + "test.avro12")));
        Assert.Equal(AvroStatus.BadHeader, e.Status);
        Assert.Contains("magic 4F626A00", e.Message, StringComparison.Ordinal);
    }

    [DataFact]
    public void Read_SyncInMeta_All6001RecordsDespiteSyncBytesInMetadata()
    {
        var (reader, records) = ReadAll(Data + "syncInMeta.avro");
        Assert.Equal(6001, records.Count);
        Assert.True(reader.Metadata["avro.sync"].AsSpan().IndexOf(reader.SyncMarker) >= 0, "the metadata holds the sync marker");
        Assert.Equal("Person", reader.Schema.FullName);
        Assert.All(records, r => Assert.IsType<long>(Assert.IsType<Dictionary<string, object?>>(r)["ID"]));
    }

    [DataFact]
    public void Read_BadUnionDiscriminant_FirstRecordThenInvalidUnionIndex()
    {
        using var reader = AvroContainerReader.Open(AvroTestData.PathOf(CTests + "avro-1237-bad-union-discriminant.avro"));
        Assert.True(reader.TryReadBlock(out var block));
        Assert.Equal(2, block.Count);
        var avro = new AvroReader(block.Data.Span);
        Assert.Equal(AvroStatus.Ok, AvroGenericDatum.Read(reader.Plan, ref avro, out var first));
        Assert.Null(first);
        Assert.Equal(AvroStatus.InvalidUnionIndex, reader.Plan.Skip(ref avro));
        Assert.Equal(AvroStatus.InvalidUnionIndex, AvroGenericDatum.Read(reader.Plan, ref avro, out _));

        var (_, good) = ReadAll(CTests + "avro-1237-good.avro");
        Assert.Equal(new object?[] { null, 100 }, good);
        var (_, good1238) = ReadAll(CTests + "avro-1238-good.avro");
        Assert.Equal(new object?[] { null, 100 }, good1238);
    }

    [DataFact]
    public void Read_TruncatedBlock_TruncatedStatusNotException()
    {
        using var reader = AvroContainerReader.Open(AvroTestData.PathOf(CTests + "avro-1238-truncated.avro"));
        Assert.False(reader.TryReadBlock(out _));
        Assert.Equal(AvroStatus.Truncated, reader.Status);
        Assert.Contains("truncated", reader.Error, StringComparison.Ordinal);
        Assert.False(reader.TryReadBlock(out _)); // stays failed
    }

    [DataFact]
    public void Read_Avro1279CodecAndNoCodec_DefaultMinAndMaxPrimitives()
    {
        foreach (var file in new[] { "avro-1279-codec.avro", "avro-1279-no-codec.avro" })
        {
            var (reader, records) = ReadAll(CTests + file);
            Assert.Equal("null", reader.Codec); // the no-codec file has no avro.codec entry: null is the default
            Assert.Equal(3, records.Count);
            var r = records.Cast<Dictionary<string, object?>>().ToArray();
            Assert.Equal((true, 0, 0L, 0f, 0d, "DEFAULT VALUES"), ((bool)r[0]["booleanField"]!, (int)r[0]["intField"]!, (long)r[0]["longField"]!, (float)r[0]["floatField"]!, (double)r[0]["doubleField"]!, (string)r[0]["stringField"]!));
            Assert.Equal((false, int.MinValue, long.MinValue, float.Epsilon, double.Epsilon), ((bool)r[1]["booleanField"]!, (int)r[1]["intField"]!, (long)r[1]["longField"]!, (float)r[1]["floatField"]!, (double)r[1]["doubleField"]!));
            Assert.Equal((int.MaxValue, long.MaxValue, float.MaxValue, double.MaxValue), ((int)r[2]["intField"]!, (long)r[2]["longField"]!, (float)r[2]["floatField"]!, (double)r[2]["doubleField"]!));
            Assert.Equal("MAX VALUES"u8.ToArray(), (byte[])r[2]["bytesField"]!);
        }
    }

    [DataFact]
    public void Read_PersonTenWithAndWithoutCodecEntry_SameTenRecordsAndStrayByteReported()
    {
        var (explicitNull, a) = ReadAll("apache_avro/lang/js/test/dat/person-10.avro");
        Assert.Equal("null", explicitNull.Codec);
        Assert.Equal(10, a.Count);
        var person = AvroSchema.Parse(File.ReadAllText(AvroTestData.PathOf("apache_avro/lang/js/test/dat/Person.avsc")));
        Assert.Equal(person.CanonicalForm, explicitNull.Schema.CanonicalForm);
        Assert.All(a.Cast<Dictionary<string, object?>>(), r => Assert.Contains((string)r["gender"]!, new[] { "FEMALE", "MALE" }));

        // The no-codec copy has no avro.codec entry (null is the default) and one stray byte (a newline) after its last
        // sync marker: the same ten records, then the stray byte is reported as a truncated block header, not ignored.
        using var noCodec = AvroContainerReader.Open(AvroTestData.PathOf("apache_avro/lang/js/test/dat/person-10.no-codec.avro"));
        Assert.False(noCodec.Metadata.ContainsKey("avro.codec"));
        Assert.Equal("null", noCodec.Codec);
        var b = Records(noCodec);
        Assert.Equal(AvroStatus.Truncated, noCodec.Status);
        Assert.Contains("block 1", noCodec.Error, StringComparison.Ordinal);
        Assert.Equal(JsonSerializer.Serialize(a), JsonSerializer.Serialize(b));
    }

    [DataFact]
    public void Read_SchemasFolder_SimpleAndWithUnionRecords()
    {
        var (simpleReader, simple) = ReadAll(Data + "schemas/simple/data.avro");
        Assert.Equal(AvroSchema.Parse(File.ReadAllText(AvroTestData.PathOf(Data + "schemas/simple/schema.json"))).CanonicalForm, simpleReader.Schema.CanonicalForm);
        Assert.Equal(["hello", "bonjour", "guten tag"], simple.Cast<Dictionary<string, object?>>().Select(r => (string)r["text"]!));

        var (unionReader, union) = ReadAll(Data + "schemas/withUnion/data.avro");
        Assert.Equal(AvroSchema.Parse(File.ReadAllText(AvroTestData.PathOf(Data + "schemas/withUnion/schema.json"))).CanonicalForm, unionReader.Schema.CanonicalForm);
        var json = JsonSerializer.Serialize(union);
        Assert.Equal("""[{"data1":"textValue","data2":null},{"data1":123,"data2":{"d1":false}},{"data1":3,"data2":{"d1":"text value"}}]""", json);
    }

    [DataFact]
    public void Read_MapReduceAndInteropRpcFiles_ExpectedRecords()
    {
        var (_, stats) = ReadAll("apache_avro/lang/java/mapred/src/test/resources/org/apache/avro/mapreduce/mapreduce-test-input.avro/part-r-00000.avro");
        Assert.Equal("""[{"name":"apple","count":3},{"name":"banana","count":2},{"name":"carrot","count":1}]""", JsonSerializer.Serialize(stats));

        const string Rpc = "apache_avro/share/test/interop/rpc/";
        Assert.Equal(new object?[] { "Hello World" }, ReadAll(Rpc + "hello/world/response.avro").Records);
        Assert.Equal(new object?[] { 2 }, ReadAll(Rpc + "add/onePlusOne/response.avro").Records);
        Assert.Equal("""[{"arg1":1,"arg2":1}]""", JsonSerializer.Serialize(ReadAll(Rpc + "add/onePlusOne/request.avro").Records));
        Assert.Single(ReadAll(Rpc + "hello/world/request.avro").Records);
        Assert.Single(ReadAll(Rpc + "echo/foo/request.avro").Records);
        Assert.Single(ReadAll(Rpc + "echo/foo/response.avro").Records);
    }

    [DataFact]
    public void Read_EveryAvroFileInSharedData_ReadsWholeOrFailsWithExpectedStatus()
    {
        var expectedFailures = new Dictionary<string, AvroStatus>
        {
            ["weather-zstd.avro"] = AvroStatus.UnsupportedCodec,
            ["test.avro12"] = AvroStatus.BadHeader,
            ["avro-1238-truncated.avro"] = AvroStatus.Truncated,
            ["avro-1237-bad-union-discriminant.avro"] = AvroStatus.InvalidUnionIndex,
            ["person-10.no-codec.avro"] = AvroStatus.Truncated, // a stray newline after the last block
        };
        var files = Directory.GetFiles(AvroTestData.PathOf("apache_avro"), "*.avro*", SearchOption.AllDirectories);
        Assert.True(files.Length >= 24, $"{files.Length} files");
        foreach (var file in files)
        {
            var status = TryReadEverything(File.ReadAllBytes(file), out var records);
            var name = Path.GetFileName(file);
            Assert.True(status == expectedFailures.GetValueOrDefault(name, AvroStatus.Ok), $"{name}: {status}");
            if (status == AvroStatus.Ok)
            {
                Assert.True(records > 0, name);
            }
        }
    }

    [DataFact]
    public void Read_OneByteAtATimeStream_SameRecordsAsWholeFile()
    {
        foreach (var file in new[] { "weather-snappy.avro", "weather-deflate.avro", "syncInMeta.avro" })
        {
            var bytes = File.ReadAllBytes(AvroTestData.PathOf(Data + file));
            using var reader = AvroContainerReader.Open(new TrickleStream(bytes));
            var trickled = Records(reader);
            Assert.Equal(AvroStatus.Ok, reader.Status);
            Assert.Equal(JsonSerializer.Serialize(ReadAll(Data + file).Records), JsonSerializer.Serialize(trickled));
        }
    }

    [DataFact]
    public void Read_EveryTruncationAndCorruption_StatusNeverException()
    {
        foreach (var file in new[] { "weather-snappy.avro", "weather-deflate.avro", "weather.avro" })
        {
            var bytes = File.ReadAllBytes(AvroTestData.PathOf(Data + file));
            Assert.Equal(AvroStatus.Ok, TryReadEverything(bytes, out var total));
            for (var cut = 0; cut < bytes.Length; cut++)
            {
                // A cut just after the header is a valid file with no blocks; any other cut is a failure.
                var status = TryReadEverything(bytes.AsSpan(0, cut).ToArray(), out var records);
                Assert.True(status != AvroStatus.Ok || records == 0, $"{file} cut at {cut}: {status}, {records} of {total} records");
            }

            for (var i = 0; i < bytes.Length; i++)
            {
                var corrupt = (byte[])bytes.Clone();
                corrupt[i] ^= 0x5A;
                _ = TryReadEverything(corrupt, out _); // any status; no exception, no hang
            }
        }
    }

    [DataFact]
    public void Read_SnappyCrcOrSyncFlipped_CorruptBlockOrBadHeader()
    {
        var bytes = File.ReadAllBytes(AvroTestData.PathOf(Data + "weather-snappy.avro"));
        var crcAt = bytes.Length - 16 - 1; // last byte of the block's CRC-32, just before the final sync marker
        var badCrc = (byte[])bytes.Clone();
        badCrc[crcAt] ^= 1;
        Assert.Equal(AvroStatus.CorruptBlock, TryReadEverything(badCrc, out _));

        var badSync = (byte[])bytes.Clone();
        badSync[^1] ^= 1;
        Assert.Equal(AvroStatus.BadHeader, TryReadEverything(badSync, out _));
    }

    [Fact]
    public void Read_HugeDeclaredBlockSize_LengthTooLargeBeforeAllocating()
    {
        var header = "Obj\u0001"u8.ToArray().Concat(new byte[] { 0x02, 0x16 }).Concat("avro.schema"u8.ToArray())
            .Concat(new byte[] { 0x0C }).Concat("\"long\""u8.ToArray()).Concat(new byte[] { 0x00 }).Concat(new byte[16]).ToArray();
        var block = header.Concat(new byte[] { 0x02, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F }).ToArray(); // 1 record, 2^31-1 bytes
        using var reader = AvroContainerReader.Open(new MemoryStream(block), new AvroContainerOptions { MaxBlockBytes = 1 << 20 });
        Assert.False(reader.TryReadBlock(out _));
        Assert.Equal(AvroStatus.LengthTooLarge, reader.Status);

        var lying = header.Concat(new byte[] { 0xC8, 0x01, 0x02, 0x00 }).Concat(new byte[16]).ToArray(); // 100 records in 1 byte
        using var liar = AvroContainerReader.Open(new MemoryStream(lying));
        Assert.False(liar.TryReadBlock(out _));
        Assert.Equal(AvroStatus.LengthTooLarge, liar.Status);
    }

    private static (AvroContainerReader Reader, List<object?> Records) ReadAll(string relative)
    {
        using var reader = AvroContainerReader.Open(AvroTestData.PathOf(relative));
        var records = Records(reader);
        Assert.True(reader.Status == AvroStatus.Ok, reader.Error);
        return (reader, records);
    }

    private static List<object?> Records(AvroContainerReader reader)
    {
        var records = new List<object?>();
        while (reader.TryReadBlock(out var block))
        {
            var avro = new AvroReader(block.Data.Span);
            for (long i = 0; i < block.Count; i++)
            {
                var status = AvroGenericDatum.Read(reader.Plan, ref avro, out var record);
                Assert.True(status == AvroStatus.Ok, $"block {block.Index} record {i}: {status}");
                records.Add(record);
            }

            Assert.True(avro.IsAtEnd, $"block {block.Index}: bytes after its records");
        }

        return records;
    }

    /// <summary>Opens and reads every record, returning the first failure's status.</summary>
    private static AvroStatus TryReadEverything(byte[] bytes, out long records)
    {
        records = 0;
        var status = AvroContainerReader.TryOpen(new MemoryStream(bytes), out var reader, out _);
        if (status != AvroStatus.Ok)
        {
            return status;
        }

        using (reader)
        {
            while (reader!.TryReadBlock(out var block))
            {
                var avro = new AvroReader(block.Data.Span);
                for (long i = 0; i < block.Count; i++, records++)
                {
                    if ((status = reader.Plan.Skip(ref avro)) != AvroStatus.Ok)
                    {
                        return status;
                    }
                }

                if (!avro.IsAtEnd)
                {
                    return AvroStatus.TrailingBytes;
                }
            }

            return reader.Status;
        }
    }

    /// <summary>A stream that returns one byte per read: every buffer boundary of the reader is exercised.</summary>
    private sealed class TrickleStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 1));
    }
}

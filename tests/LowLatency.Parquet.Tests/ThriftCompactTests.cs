using System.Buffers;
using LowLatency.Parquet.Format;
using LowLatency.Parquet.Thrift;

namespace LowLatency.Parquet.Tests;

public class ThriftCompactTests
{
    [Fact]
    public void FileMetaData_RoundTrip_KeepsEveryModelledField()
    {
        var metadata = new FileMetaData
        {
            Version = 2,
            NumRows = 1L << 40,
            CreatedBy = "test ü",
            TypeDefinedColumnOrders = 2,
            KeyValueMetadata = [new KeyValue { Key = "k", Value = "v" }, new KeyValue { Key = "only-key" }],
            Schema =
            [
                new SchemaElement { Name = "schema", NumChildren = 2 },
                new SchemaElement
                {
                    Name = "ts", Type = PhysicalType.Int64, RepetitionType = FieldRepetitionType.Optional, FieldId = 300,
                    ConvertedType = ConvertedType.TimestampMicros,
                    LogicalType = new LogicalType { Kind = LogicalTypeKind.Timestamp, IsAdjustedToUtc = true, Unit = TimeUnit.Micros },
                },
                new SchemaElement
                {
                    Name = "price", Type = PhysicalType.Int64, RepetitionType = FieldRepetitionType.Required, Scale = 8, Precision = 18,
                    ConvertedType = ConvertedType.Decimal,
                    LogicalType = new LogicalType { Kind = LogicalTypeKind.Decimal, Scale = 8, Precision = 18 },
                },
            ],
            RowGroups =
            [
                new RowGroup
                {
                    NumRows = 5, TotalByteSize = 123, FileOffset = 4, TotalCompressedSize = 100, Ordinal = 0,
                    Columns =
                    [
                        new ColumnChunk
                        {
                            FileOffset = 4,
                            MetaData = new ColumnMetaData
                            {
                                Type = PhysicalType.Int64, Encodings = [Format.Encoding.Plain, Format.Encoding.Rle, Format.Encoding.RleDictionary],
                                PathInSchema = ["ts"], Codec = CompressionCodec.Snappy, NumValues = 5, TotalUncompressedSize = 60,
                                TotalCompressedSize = 50, DataPageOffset = 20, DictionaryPageOffset = 4, IndexPageOffset = 99,
                                Statistics = new Statistics
                                {
                                    MinValue = [1, 2], MaxValue = [3], NullCount = 1, DistinctCount = 4, Min = [9], Max = [8],
                                    IsMaxValueExact = true, IsMinValueExact = false,
                                },
                            },
                        },
                        new ColumnChunk { FileOffset = 54, FilePath = "other.parquet" },
                    ],
                },
            ],
        };

        var buffer = new ArrayBufferWriter<byte>();
        metadata.Write(new ThriftCompactWriter(buffer));
        var parsed = FileMetaData.Parse(buffer.WrittenSpan);

        Assert.Equal(2, parsed.Version);
        Assert.Equal(1L << 40, parsed.NumRows);
        Assert.Equal("test ü", parsed.CreatedBy);
        Assert.Equal(2, parsed.TypeDefinedColumnOrders);
        Assert.Equal(["k", "only-key"], parsed.KeyValueMetadata!.Select(kv => kv.Key));
        Assert.Equal("v", parsed.KeyValueMetadata![0].Value);
        Assert.Null(parsed.KeyValueMetadata![1].Value);
        Assert.Equal(2, parsed.Schema[0].NumChildren);
        var ts = parsed.Schema[1];
        Assert.Equal((PhysicalType.Int64, FieldRepetitionType.Optional, 300, ConvertedType.TimestampMicros), (ts.Type!.Value, ts.RepetitionType!.Value, ts.FieldId!.Value, ts.ConvertedType!.Value));
        Assert.Equal((LogicalTypeKind.Timestamp, true, TimeUnit.Micros), (ts.LogicalType!.Kind, ts.LogicalType.IsAdjustedToUtc, ts.LogicalType.Unit));
        var price = parsed.Schema[2];
        Assert.Equal((8, 18), (price.Scale!.Value, price.Precision!.Value));
        Assert.Equal((LogicalTypeKind.Decimal, 8, 18), (price.LogicalType!.Kind, price.LogicalType.Scale, price.LogicalType.Precision));
        var group = parsed.RowGroups.Single();
        Assert.Equal((5L, 123L, 4L, 100L, (short)0), (group.NumRows, group.TotalByteSize, group.FileOffset!.Value, group.TotalCompressedSize!.Value, group.Ordinal!.Value));
        var meta = group.Columns[0].MetaData!;
        Assert.Equal([Format.Encoding.Plain, Format.Encoding.Rle, Format.Encoding.RleDictionary], meta.Encodings);
        Assert.Equal(["ts"], meta.PathInSchema);
        Assert.Equal((CompressionCodec.Snappy, 5L, 60L, 50L, 20L, 4L, 99L), (meta.Codec, meta.NumValues, meta.TotalUncompressedSize, meta.TotalCompressedSize, meta.DataPageOffset, meta.DictionaryPageOffset!.Value, meta.IndexPageOffset!.Value));
        var stats = meta.Statistics!;
        Assert.Equal(new byte[] { 1, 2 }, stats.MinValue);
        Assert.Equal(new byte[] { 3 }, stats.MaxValue);
        Assert.Equal(new byte[] { 9 }, stats.Min);
        Assert.Equal(new byte[] { 8 }, stats.Max);
        Assert.Equal((1L, 4L, true, false), (stats.NullCount!.Value, stats.DistinctCount!.Value, stats.IsMaxValueExact!.Value, stats.IsMinValueExact!.Value));
        Assert.Equal("other.parquet", group.Columns[1].FilePath);
        Assert.Null(group.Columns[1].MetaData);
    }

    [Fact]
    public void PageHeader_WrittenByWriter_ParsesBack()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new ThriftCompactWriter(buffer);
        PageHeader.Write(writer, PageType.DataPage, 1000, 400, 77, Format.Encoding.RleDictionary);
        PageHeader.Write(writer, PageType.DictionaryPage, 30, 20, 5, Format.Encoding.Plain);
        var reader = new ThriftCompactReader(buffer.WrittenSpan, 0, "test");
        var data = PageHeader.Read(ref reader);
        var dictionary = PageHeader.Read(ref reader);
        Assert.Equal(buffer.WrittenCount, reader.Position);
        Assert.Equal((PageType.DataPage, 1000, 400), (data.Type, data.UncompressedPageSize, data.CompressedPageSize));
        Assert.Equal((77, Format.Encoding.RleDictionary, Format.Encoding.Rle), (data.DataPageHeader!.NumValues, data.DataPageHeader.Encoding, data.DataPageHeader.DefinitionLevelEncoding));
        Assert.Equal((PageType.DictionaryPage, 5, Format.Encoding.Plain), (dictionary.Type, dictionary.DictionaryPageHeader!.NumValues, dictionary.DictionaryPageHeader.Encoding));
    }

    [Fact]
    public void PageHeaders_EveryKind_RoundTrip()
    {
        PageHeader[] headers =
        [
            new()
            {
                Type = PageType.DataPage, UncompressedPageSize = 10, CompressedPageSize = 9, Crc = -12345,
                DataPageHeader = new DataPageHeader { NumValues = 3, Encoding = Format.Encoding.PlainDictionary, DefinitionLevelEncoding = Format.Encoding.BitPacked, RepetitionLevelEncoding = Format.Encoding.Rle },
            },
            new()
            {
                Type = PageType.DictionaryPage, UncompressedPageSize = 100, CompressedPageSize = 50,
                DictionaryPageHeader = new DictionaryPageHeader { NumValues = 7, Encoding = Format.Encoding.Plain, IsSorted = true },
            },
            new()
            {
                Type = PageType.DataPageV2, UncompressedPageSize = 1 << 20, CompressedPageSize = 1 << 19,
                DataPageHeaderV2 = new DataPageHeaderV2
                {
                    NumValues = 1000, NumNulls = 10, NumRows = 1000, Encoding = Format.Encoding.RleDictionary,
                    DefinitionLevelsByteLength = 20, RepetitionLevelsByteLength = 0, IsCompressed = false,
                },
            },
        ];
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new ThriftCompactWriter(buffer);
        foreach (var header in headers)
        {
            header.Write(writer);
        }

        var reader = new ThriftCompactReader(buffer.WrittenSpan, 0, "test");
        var data = PageHeader.Read(ref reader);
        var dictionary = PageHeader.Read(ref reader);
        var v2 = PageHeader.Read(ref reader);
        Assert.Equal(buffer.WrittenCount, reader.Position);
        Assert.Equal((PageType.DataPage, 10, 9, -12345), (data.Type, data.UncompressedPageSize, data.CompressedPageSize, data.Crc!.Value));
        Assert.Equal((3, Format.Encoding.PlainDictionary, Format.Encoding.BitPacked, Format.Encoding.Rle), (data.DataPageHeader!.NumValues, data.DataPageHeader.Encoding, data.DataPageHeader.DefinitionLevelEncoding, data.DataPageHeader.RepetitionLevelEncoding));
        Assert.Equal((7, Format.Encoding.Plain, true), (dictionary.DictionaryPageHeader!.NumValues, dictionary.DictionaryPageHeader.Encoding, dictionary.DictionaryPageHeader.IsSorted!.Value));
        var h = v2.DataPageHeaderV2!;
        Assert.Equal((1000, 10, 1000, Format.Encoding.RleDictionary, 20, 0, false), (h.NumValues, h.NumNulls, h.NumRows, h.Encoding, h.DefinitionLevelsByteLength, h.RepetitionLevelsByteLength, h.IsCompressed));
    }

    [Fact]
    public void Read_UnknownFieldsOfEveryType_AreSkipped()
    {
        // A KeyValue with fields a newer writer might add, of every wire type, around the two we model; field ids
        // jump by more than 15 (long-form headers) and go backwards.
        var buffer = new ArrayBufferWriter<byte>();
        var w = new ThriftCompactWriter(buffer);
        w.StructBegin();
        w.FieldBool(3, true);
        w.FieldBool(4, false);
        w.FieldByte(5, -3);
        w.FieldI16(6, -300);
        w.FieldI32(7, int.MinValue);
        w.FieldI64(40, long.MaxValue);
        w.FieldDouble(41, Math.PI);
        w.FieldBinary(42, new byte[300]);
        w.FieldListBegin(43, CompactType.I32, 20);
        for (var i = 0; i < 20; i++)
        {
            w.I32(i * 1000);
        }

        w.FieldListBegin(44, CompactType.BooleanTrue, 2);
        buffer.Write(new byte[] { 1, 2 });
        w.FieldStructBegin(45);
        w.FieldListBegin(1, CompactType.Struct, 1);
        w.StructBegin();
        w.FieldString(1, "deep");
        w.StructEnd();
        w.StructEnd();
        // A map<string, i32> (field 47) with two entries: size varint, key/value types, then the entries.
        buffer.Write(new byte[] { 0x0B, 0x5E, 0x02, 0x85 });
        w.String("a");
        w.I32(1);
        w.String("b");
        w.I32(2);
        // An empty map (field 48): just the size 0.
        buffer.Write(new byte[] { 0x0B, 0x60, 0x00 });
        w.FieldString(1, "key");
        w.FieldString(2, "value");
        w.StructEnd();

        var reader = new ThriftCompactReader(buffer.WrittenSpan, 0, "test");
        var kv = KeyValueRead(ref reader);
        Assert.Equal(("key", "value"), (kv.Key, kv.Value));
        Assert.Equal(buffer.WrittenCount, reader.Position);
    }

    [Theory]
    [InlineData(new byte[] { 0x15 }, "needs")] // an i32 field with no value
    [InlineData(new byte[] { 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F }, "declared length")] // binary longer than the input
    [InlineData(new byte[] { 0x19, 0xF8, 0xFF, 0xFF, 0xFF, 0xFF, 0x07 }, "exceeds")] // a list of 2^31 - 1 structs
    [InlineData(new byte[] { 0x1B, 0xFF, 0xFF, 0xFF, 0x7F, 0x55 }, "exceeds")] // a map of 2^28 entries
    [InlineData(new byte[] { 0x1D }, "unknown field type")]
    [InlineData(new byte[] { 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "varint")]
    public void Read_Garbage_ThrowsFormatExceptionWithoutAllocatingDeclaredLength(byte[] bytes, string message)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<ParquetFormatException>(() =>
        {
            var reader = new ThriftCompactReader(bytes, 100, "test");
            reader.SkipStruct();
        });
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Contains("file offset 1", error.Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 100_000, "no allocation of the declared size");
    }

    [Fact]
    public void Read_DeeplyNestedStructs_StopsAtTheDepthLimit()
    {
        var bytes = Enumerable.Repeat((byte)0x1C, 10_000).ToArray(); // field 1, struct, nested again and again
        Assert.Throws<ParquetFormatException>(() =>
        {
            var reader = new ThriftCompactReader(bytes, 0, "test");
            reader.SkipStruct();
        });
    }

    [Fact]
    public void Read_MissingRequiredField_NamesIt()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new ThriftCompactWriter(buffer);
        w.StructBegin();
        w.FieldI32(1, 1);
        w.StructEnd();
        var error = Assert.Throws<ParquetFormatException>(() => FileMetaData.Parse(buffer.WrittenSpan));
        Assert.Contains("FileMetaData.schema", error.Message, StringComparison.Ordinal);
    }

    private static KeyValue KeyValueRead(ref ThriftCompactReader reader) => KeyValue.Read(ref reader);
}

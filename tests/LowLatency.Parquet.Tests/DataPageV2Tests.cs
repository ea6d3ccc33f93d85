using System.Buffers;
using System.Buffers.Binary;
using LowLatency.Parquet.Encodings;
using LowLatency.Parquet.Format;
using LowLatency.Parquet.Reading;
using LowLatency.Parquet.Thrift;
using LowLatency.TestSupport.Duckdb;

namespace LowLatency.Parquet.Tests;

/// <summary>
/// Data page v2 with definition levels: our writer only writes v1 pages and the reference files' v2 pages are all of
/// required columns, so this builds a small v2 file by hand from the metadata model (DuckDB confirms it is valid).
/// </summary>
public class DataPageV2Tests
{
    private static readonly int?[] s_values = [1, null, 3, null, null, 6, 7, 8, 9, null, 11];

    [Fact]
    public void Read_OptionalColumnInDataPageV2_NullsWhereLevelsSay()
    {
        using var reader = ParquetFileReader.Open(new MemoryStream(BuildFile()));
        var column = reader.ReadColumn(0, "v");
        Assert.Equal(s_values, Enumerable.Range(0, column.Count).Select(r => (int?)column.GetValue(r)));
    }

    [DuckdbFact]
    public void HandBuiltV2File_DuckdbReadsTheSame()
    {
        using var dir = new TempDirectory();
        var path = dir.File("v2.parquet");
        File.WriteAllBytes(path, BuildFile());
        using var db = new DuckdbConnection();
        var rows = db.Query($"SELECT v FROM read_parquet({DuckdbConnection.Literal(path)})");
        Assert.Equal(s_values.Select(v => v?.ToString(System.Globalization.CultureInfo.InvariantCulture)), rows.Select(r => r[0]));
    }

    private static byte[] BuildFile()
    {
        var levels = new ArrayBufferWriter<byte>();
        RleBitPackedHybrid.Encode(s_values.Select(v => v is null ? 0 : 1).ToArray(), 1, levels);
        var values = s_values.Where(v => v is not null).SelectMany(v =>
        {
            var bytes = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(bytes, v!.Value);
            return bytes;
        }).ToArray();

        var page = new ArrayBufferWriter<byte>();
        var size = levels.WrittenCount + values.Length;
        new PageHeader
        {
            Type = PageType.DataPageV2, UncompressedPageSize = size, CompressedPageSize = size,
            DataPageHeaderV2 = new DataPageHeaderV2
            {
                NumValues = s_values.Length, NumNulls = s_values.Count(v => v is null), NumRows = s_values.Length,
                Encoding = Format.Encoding.Plain, DefinitionLevelsByteLength = levels.WrittenCount, RepetitionLevelsByteLength = 0,
                IsCompressed = false,
            },
        }.Write(new ThriftCompactWriter(page));
        page.Write(levels.WrittenSpan);
        page.Write(values);

        var metadata = new FileMetaData
        {
            Version = 2,
            NumRows = s_values.Length,
            Schema =
            [
                new SchemaElement { Name = "schema", NumChildren = 1 },
                new SchemaElement { Name = "v", Type = PhysicalType.Int32, RepetitionType = FieldRepetitionType.Optional },
            ],
            RowGroups =
            [
                new RowGroup
                {
                    NumRows = s_values.Length, TotalByteSize = page.WrittenCount,
                    Columns =
                    [
                        new ColumnChunk
                        {
                            FileOffset = 4,
                            MetaData = new ColumnMetaData
                            {
                                Type = PhysicalType.Int32, Encodings = [Format.Encoding.Plain, Format.Encoding.Rle], PathInSchema = ["v"],
                                Codec = CompressionCodec.Uncompressed, NumValues = s_values.Length,
                                TotalUncompressedSize = page.WrittenCount, TotalCompressedSize = page.WrittenCount, DataPageOffset = 4,
                            },
                        },
                    ],
                },
            ],
        };
        var footer = new ArrayBufferWriter<byte>();
        metadata.Write(new ThriftCompactWriter(footer));

        var file = new MemoryStream();
        file.Write("PAR1"u8);
        file.Write(page.WrittenSpan);
        file.Write(footer.WrittenSpan);
        var length = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, footer.WrittenCount);
        file.Write(length);
        file.Write("PAR1"u8);
        return file.ToArray();
    }
}

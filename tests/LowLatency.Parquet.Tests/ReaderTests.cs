using System.Buffers.Binary;
using System.Globalization;
using LowLatency.Parquet.Format;
using LowLatency.Parquet.Reading;
using LowLatency.Parquet.Writing;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Duckdb;

namespace LowLatency.Parquet.Tests;

/// <summary>Our reader: our own files back, and the apache/parquet-testing reference files, checked against DuckDB.</summary>
public class ReaderTests
{
    private const string ReferenceDirectory = "parquet/parquet_testing";

    public static TheoryData<CompressionCodec> Codecs => WriterDuckdbTests.Codecs;

    public static TheoryData<string> ReferenceFiles => new()
    {
        "alltypes_plain.parquet", "alltypes_plain.snappy.parquet", "alltypes_dictionary.parquet", "binary.parquet",
        "int64_decimal.parquet", "nulls.snappy.parquet", "plain-dict-uncompressed-checksum.parquet",
        "rle-dict-snappy-checksum.parquet", "datapage_v1-snappy-compressed-checksum.parquet",
    };

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Read_OwnFile_IdenticalValuesAndStatistics(CompressionCodec codec)
    {
        using var dir = new TempDirectory();
        var path = dir.File("own.parquet");
        var table = new SampleTable(2300);
        table.Write(path, SampleTable.Options(codec, rowGroupRows: 1000, pageBytes: 3000));

        using var reader = ParquetFileReader.Open(path);
        Assert.Equal(2300, reader.RowCount);
        Assert.Equal(3, reader.RowGroupCount);
        Assert.Equal(SampleTable.Schema.Columns.Select(c => c.Name), reader.Columns.Select(c => c.Name));
        Assert.Equal(SampleTable.Schema.Columns.Select(c => c.IsOptional ? 1 : 0), reader.Columns.Select(c => c.MaxDefinitionLevel));
        Assert.Equal(LogicalTypeKind.Decimal, reader.Column("price").Element.LogicalType!.Kind);
        Assert.Equal(18, reader.Column("price").Element.LogicalType!.Precision);
        Assert.Equal(TimeUnit.Micros, reader.Column("tsu").Element.LogicalType!.Unit);
        Assert.True(reader.Column("tsm").Element.LogicalType!.IsAdjustedToUtc);

        var row = 0;
        for (var group = 0; group < reader.RowGroupCount; group++)
        {
            var columns = Enumerable.Range(0, reader.Columns.Count).Select(c => reader.ReadColumn(group, c)).ToList();
            for (var r = 0; r < columns[0].Count; r++, row++)
            {
                for (var c = 0; c < columns.Count; c++)
                {
                    var expected = table.Rows[row][c];
                    var actual = columns[c].GetValue(r);
                    if (expected is string s)
                    {
                        expected = System.Text.Encoding.UTF8.GetBytes(s);
                    }

                    Assert.True(Equal(expected, actual), $"row {row} column {reader.Columns[c].Name}: {expected} vs {actual}");
                }
            }

            var stats = reader.Metadata.RowGroups[group].Columns[2].MetaData!.Statistics!;
            var i64 = table.Rows.Skip(group * 1000).Take(1000).Select(r => (long)r[2]!).ToList();
            Assert.Equal(i64.Min(), BinaryPrimitives.ReadInt64LittleEndian(stats.MinValue));
            Assert.Equal(i64.Max(), BinaryPrimitives.ReadInt64LittleEndian(stats.MaxValue));
            Assert.Equal(0, stats.NullCount);
            var optional = reader.Metadata.RowGroups[group].Columns[11].MetaData!.Statistics!;
            Assert.Equal(table.Rows.Skip(group * 1000).Take(1000).Count(r => r[11] is null), optional.NullCount);
        }

        Assert.Equal(2300, row);
    }

    [Fact]
    public void Read_SpecialDoubles_StatisticsLeaveOutNaN()
    {
        using var dir = new TempDirectory();
        var path = dir.File("special.parquet");
        using (var writer = ParquetFileWriter.Create(path, new ParquetSchema(ParquetColumn.Double("d"), ParquetColumn.Float("f"))))
        {
            foreach (var value in new[] { double.NaN, 0.0, double.PositiveInfinity, -2.5, double.NegativeInfinity })
            {
                writer.WriteDouble(0, value);
                writer.WriteFloat(1, value == 0 ? 0f : 1f);
                writer.EndRow();
            }

            writer.Complete();
        }

        using var reader = ParquetFileReader.Open(path);
        var stats = reader.Metadata.RowGroups[0].Columns[0].MetaData!.Statistics!;
        Assert.Equal(double.NegativeInfinity, BinaryPrimitives.ReadDoubleLittleEndian(stats.MinValue));
        Assert.Equal(double.PositiveInfinity, BinaryPrimitives.ReadDoubleLittleEndian(stats.MaxValue));
        var floats = reader.Metadata.RowGroups[0].Columns[1].MetaData!.Statistics!;
        Assert.True(float.IsNegative(BinaryPrimitives.ReadSingleLittleEndian(floats.MinValue)), "a zero minimum is written as -0.0");
        Assert.True(double.IsNaN(reader.ReadColumn(0, 0).As<double>()[0]));
    }

    [DataFact]
    public void Read_AlltypesPlain_KnownValues()
    {
        using var reader = ParquetFileReader.Open(TestData.PathOf($"{ReferenceDirectory}/alltypes_plain.parquet"));
        Assert.Equal(8, reader.RowCount);
        Assert.Equal([4, 5, 6, 7, 2, 3, 0, 1], reader.ReadColumn(0, "id").As<int>());
        Assert.Equal([true, false, true, false, true, false, true, false], reader.ReadColumn(0, "bool_col").As<bool>());
        Assert.Equal(10.1, reader.ReadColumn(0, "double_col").As<double>()[1]);
        Assert.Equal("03/01/09"u8.ToArray(), reader.ReadColumn(0, "date_string_col").As<byte[]>()[0]);
        var timestamp = reader.ReadColumn(0, "timestamp_col").As<byte[]>()[1];
        Assert.Equal(new DateTime(2009, 3, 1, 0, 1, 0, DateTimeKind.Utc), ParquetInt96.ToDateTime(timestamp));
    }

    [DataFact]
    public void Read_SmallReferenceFiles_KnownValues()
    {
        using (var binary = ParquetFileReader.Open(TestData.PathOf($"{ReferenceDirectory}/binary.parquet")))
        {
            Assert.Equal(Enumerable.Range(0, 12).Select(i => new[] { (byte)i }), binary.ReadColumn(0, "foo").As<byte[]>());
        }

        using (var decimals = ParquetFileReader.Open(TestData.PathOf($"{ReferenceDirectory}/int64_decimal.parquet")))
        {
            var column = decimals.Column("value");
            Assert.Equal(ConvertedType.Decimal, column.Element.ConvertedType);
            Assert.Equal(2, column.Element.Scale);
            Assert.Equal(Enumerable.Range(1, 24).Select(i => i * 100L), decimals.ReadColumn(0, 0).As<long>());
        }

        using (var nulls = ParquetFileReader.Open(TestData.PathOf($"{ReferenceDirectory}/nulls.snappy.parquet")))
        {
            var column = nulls.ReadColumn(0, "b_struct.b_c_int");
            Assert.Equal(2, column.Column.MaxDefinitionLevel);
            Assert.Equal(8, column.Count);
            Assert.All(Enumerable.Range(0, 8), r => Assert.True(column.IsNull(r)));
        }

        using (var pages = ParquetFileReader.Open(TestData.PathOf($"{ReferenceDirectory}/datapage_v1-snappy-compressed-checksum.parquet")))
        {
            var a = pages.ReadColumn(0, "a").As<int>();
            Assert.Equal(5120, a.Length);
            Assert.Equal(50462976, a[0]);
            Assert.Equal(1734763876, pages.ReadColumn(0, "b").As<int>()[0]);
        }
    }

    [DataAndDuckdbTheory]
    [MemberData(nameof(ReferenceFiles))]
    public void Read_ReferenceFile_SameValuesAsDuckdb(string name)
    {
        var path = TestData.PathOf($"{ReferenceDirectory}/{name}");
        using var reader = ParquetFileReader.Open(path);
        using var db = new DuckdbConnection();
        Assert.Equal(reader.RowCount.ToString(CultureInfo.InvariantCulture), db.Scalar($"SELECT count(*) FROM read_parquet({DuckdbConnection.Literal(path)})"));
        foreach (var column in reader.Columns)
        {
            var duck = db.Query($"SELECT {DuckdbExpression(column)} FROM read_parquet({DuckdbConnection.Literal(path)})");
            var row = 0;
            for (var group = 0; group < reader.RowGroupCount; group++)
            {
                var data = reader.ReadColumn(group, column.Index);
                for (var r = 0; r < data.Count; r++, row++)
                {
                    var ours = OurText(column, data.GetValue(r));
                    var theirs = duck[row][0];
                    var same = column.PhysicalType is PhysicalType.Float or PhysicalType.Double && ours is not null && theirs is not null
                        ? double.Parse(ours, CultureInfo.InvariantCulture) == double.Parse(theirs, CultureInfo.InvariantCulture)
                        : ours == theirs;
                    Assert.True(same, $"{name} column {column.Name} row {row}: ours '{ours}', DuckDB '{theirs}'");
                }
            }

            Assert.Equal(duck.Count, row);
        }
    }

    private static string DuckdbExpression(ParquetLeafColumn column)
    {
        var reference = column.Path.Count == 1
            ? $"\"{column.Path[0]}\""
            : column.Path.Skip(1).Aggregate($"\"{column.Path[0]}\"", (inner, field) => $"struct_extract({inner}, '{field}')");
        return column.PhysicalType switch
        {
            PhysicalType.Int96 => $"epoch_us({reference})::VARCHAR",
            PhysicalType.ByteArray or PhysicalType.FixedLenByteArray => $"hex({reference})",
            _ => $"{reference}::VARCHAR",
        };
    }

    private static string? OurText(ParquetLeafColumn column, object? value) => value switch
    {
        null => null,
        bool b => b ? "true" : "false",
        byte[] bytes when column.PhysicalType == PhysicalType.Int96 =>
            (ParquetInt96.ToUnixNanoseconds(bytes) / 1000).ToString(CultureInfo.InvariantCulture),
        byte[] bytes => Convert.ToHexString(bytes),
        long l when column.Element.ConvertedType == ConvertedType.Decimal =>
            (new decimal(l) / (decimal)Math.Pow(10, column.Element.Scale ?? 0)).ToString("F" + (column.Element.Scale ?? 0), CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    private static bool Equal(object? expected, object? actual) => (expected, actual) switch
    {
        (null, null) => true,
        (byte[] e, byte[] a) => e.AsSpan().SequenceEqual(a),
        (double e, double a) => BitConverter.DoubleToInt64Bits(e) == BitConverter.DoubleToInt64Bits(a),
        (float e, float a) => BitConverter.SingleToInt32Bits(e) == BitConverter.SingleToInt32Bits(a),
        _ => Equals(expected, actual),
    };
}

/// <summary>A theory that needs both the shared test data and DuckDB: skipped with the reason where either is absent.</summary>
internal sealed class DataAndDuckdbTheoryAttribute : TheoryAttribute
{
    public DataAndDuckdbTheoryAttribute()
    {
        if (!TestData.IsAvailable)
        {
            Skip = TestData.MissingReason;
        }
        else if (!DuckdbAvailability.ShouldRun)
        {
            Skip = DuckdbAvailability.MissingReason;
        }
    }
}

using System.Globalization;

using LowLatency.Parquet.Format;
using LowLatency.Parquet.Writing;
using LowLatency.TestSupport.Duckdb;

namespace LowLatency.Parquet.Tests;

/// <summary>Files from our writer, read by DuckDB: values, schema, row counts, statistics and encodings must match.</summary>
public class WriterDuckdbTests
{
    // Per column of SampleTable.Schema, the expression DuckDB reads it with: timestamps as epoch integers (the C API's
    // text form of TIMESTAMPTZ is not available), binary as hex, everything else as DuckDB's own text.
    private static readonly string s_select =
        "b, i32, i64, f, d, s, hex(bin), epoch_ms(tsm), epoch_us(tsu), price, symbol, opt_i64, opt_s, opt_d, opt_b, opt_i32";

    public static TheoryData<CompressionCodec> Codecs => new() { CompressionCodec.Uncompressed, CompressionCodec.Snappy, CompressionCodec.Gzip };

    [DuckdbTheory]
    [MemberData(nameof(Codecs))]
    public void Write_EveryTypeAndCodec_DuckdbReadsIdenticalValues(CompressionCodec codec)
    {
        using var dir = new TempDirectory();
        var path = dir.File("all.parquet");
        var table = new SampleTable(2500);
        table.Write(path, SampleTable.Options(codec, rowGroupRows: 1000, pageBytes: 4096));

        using var db = new DuckdbConnection();
        var rows = db.Query($"SELECT {s_select} FROM read_parquet({DuckdbConnection.Literal(path)})");
        Assert.Equal(table.Rows.Length, rows.Count);
        for (var r = 0; r < rows.Count; r++)
        {
            for (var c = 0; c < rows[r].Length; c++)
            {
                AssertCell(table.Rows[r][c], rows[r][c], r, c);
            }
        }

        Assert.Equal("2500", db.Scalar($"SELECT count(*) FROM read_parquet({DuckdbConnection.Literal(path)})"));
    }

    [DuckdbFact]
    public void Write_Schema_DuckdbSeesTypesAndRepetition()
    {
        using var dir = new TempDirectory();
        var path = dir.File("schema.parquet");
        new SampleTable(10).Write(path, SampleTable.Options(CompressionCodec.Snappy));

        using var db = new DuckdbConnection();
        var described = db.Query($"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet({DuckdbConnection.Literal(path)}))");
        string[] expected =
        [
            "b BOOLEAN", "i32 INTEGER", "i64 BIGINT", "f FLOAT", "d DOUBLE", "s VARCHAR", "bin BLOB",
            "tsm TIMESTAMP WITH TIME ZONE", "tsu TIMESTAMP WITH TIME ZONE", "price DECIMAL(18,8)", "symbol VARCHAR",
            "opt_i64 BIGINT", "opt_s VARCHAR", "opt_d DOUBLE", "opt_b BOOLEAN", "opt_i32 INTEGER",
        ];
        Assert.Equal(expected, described.Select(row => $"{row[0]} {row[1]}"));

        var schema = db.Query($"SELECT name, type, repetition_type, converted_type, logical_type FROM parquet_schema({DuckdbConnection.Literal(path)}) WHERE name <> 'schema'");
        Assert.Equal(SampleTable.Schema.Columns.Count, schema.Count);
        for (var i = 0; i < schema.Count; i++)
        {
            var column = SampleTable.Schema.Columns[i];
            Assert.Equal(column.Name, schema[i][0]);
            Assert.Equal(column.IsOptional ? "OPTIONAL" : "REQUIRED", schema[i][2]);
        }

        Assert.Equal("TIMESTAMP_MILLIS", schema[7][3]);
        Assert.Contains("isAdjustedToUTC=1", schema[7][4], StringComparison.Ordinal);
        Assert.Contains("MILLIS=MilliSeconds()", schema[7][4], StringComparison.Ordinal);
        Assert.Contains("MICROS=MicroSeconds()", schema[8][4], StringComparison.Ordinal);
        Assert.Equal("DecimalType(scale=8, precision=18)", schema[9][4]);
        Assert.Equal("UTF8", schema[10][3]);
    }

    [DuckdbTheory]
    [MemberData(nameof(Codecs))]
    public void Write_Statistics_MatchPerRowGroupAndColumn(CompressionCodec codec)
    {
        using var dir = new TempDirectory();
        var path = dir.File("stats.parquet");
        const int groupRows = 700;
        var table = new SampleTable(2000);
        table.Write(path, SampleTable.Options(codec, rowGroupRows: groupRows, pageBytes: 2048));

        using var db = new DuckdbConnection();
        var meta = db.Query(
            "SELECT row_group_id, column_id, path_in_schema, row_group_num_rows, num_values, stats_null_count, compression, encodings, " +
            "CASE path_in_schema WHEN 'tsm' THEN epoch_ms(stats_min_value::TIMESTAMPTZ)::VARCHAR WHEN 'tsu' THEN epoch_us(stats_min_value::TIMESTAMPTZ)::VARCHAR ELSE stats_min_value END, " +
            "CASE path_in_schema WHEN 'tsm' THEN epoch_ms(stats_max_value::TIMESTAMPTZ)::VARCHAR WHEN 'tsu' THEN epoch_us(stats_max_value::TIMESTAMPTZ)::VARCHAR ELSE stats_max_value END " +
            $"FROM parquet_metadata({DuckdbConnection.Literal(path)}) ORDER BY row_group_id, column_id");
        var columns = SampleTable.Schema.Columns.Count;
        var groups = (table.Rows.Length + groupRows - 1) / groupRows;
        Assert.Equal(groups * columns, meta.Count);
        foreach (var row in meta)
        {
            var group = int.Parse(row[0]!, CultureInfo.InvariantCulture);
            var column = int.Parse(row[1]!, CultureInfo.InvariantCulture);
            var values = table.Rows.Skip(group * groupRows).Take(groupRows).Select(r => r[column]).ToList();
            var what = $"row group {group} column {row[2]}";
            Assert.True(values.Count.ToString(CultureInfo.InvariantCulture) == row[3], what);
            Assert.True(values.Count.ToString(CultureInfo.InvariantCulture) == row[4], what);
            Assert.True(values.Count(v => v is null).ToString(CultureInfo.InvariantCulture) == row[5], what);
            Assert.Equal(codec switch { CompressionCodec.Snappy => "SNAPPY", CompressionCodec.Gzip => "GZIP", _ => "UNCOMPRESSED" }, row[6]);
            var present = values.Where(v => v is not null).ToList();
            var (min, max) = MinMax(present!);
            AssertStatistic(min, row[8], what + " min");
            AssertStatistic(max, row[9], what + " max");
            if (SampleTable.Schema.Columns[column].IsDictionary)
            {
                Assert.Contains("RLE_DICTIONARY", row[7], StringComparison.Ordinal);
            }
        }
    }

    [DuckdbFact]
    public void Write_DictionaryOverflow_FallsBackToPlainAndDuckdbReadsAll()
    {
        using var dir = new TempDirectory();
        var path = dir.File("fallback.parquet");
        var schema = new ParquetSchema(ParquetColumn.String("id", dictionary: true), ParquetColumn.String("sym", optional: true, dictionary: true));
        var options = new ParquetWriterOptions { Codec = CompressionCodec.Snappy, MaxDictionaryBytes = 2000, PageBytes = 1000 };
        using (var writer = ParquetFileWriter.Create(path, schema, options))
        {
            for (var i = 0; i < 5000; i++)
            {
                writer.WriteString(0, $"id-{i:D6}");
                if (i % 9 == 0)
                {
                    writer.WriteNull(1);
                }
                else
                {
                    writer.WriteString(1, i % 2 == 0 ? "BTCUSDT" : "ETHUSDT");
                }

                writer.EndRow();
            }

            writer.Complete();
        }

        using var db = new DuckdbConnection();
        var rows = db.Query($"SELECT id, sym FROM read_parquet({DuckdbConnection.Literal(path)})");
        Assert.Equal(5000, rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal($"id-{i:D6}", rows[i][0]);
            Assert.Equal(i % 9 == 0 ? null : i % 2 == 0 ? "BTCUSDT" : "ETHUSDT", rows[i][1]);
        }

        var encodings = db.Query($"SELECT encodings FROM parquet_metadata({DuckdbConnection.Literal(path)}) WHERE path_in_schema = 'id'").Single()[0];
        Assert.Contains("RLE_DICTIONARY", encodings, StringComparison.Ordinal);
        Assert.Contains("PLAIN", encodings, StringComparison.Ordinal);
        Assert.Equal("id-000000", db.Scalar($"SELECT stats_min_value FROM parquet_metadata({DuckdbConnection.Literal(path)}) WHERE path_in_schema = 'id'"));
        Assert.Equal("id-004999", db.Scalar($"SELECT stats_max_value FROM parquet_metadata({DuckdbConnection.Literal(path)}) WHERE path_in_schema = 'id'"));
    }

    [DuckdbFact]
    public void Write_SpecialDoublesAndAllNulls_DuckdbReadsThem()
    {
        using var dir = new TempDirectory();
        var path = dir.File("special.parquet");
        var schema = new ParquetSchema(ParquetColumn.Double("d"), ParquetColumn.String("never", optional: true, dictionary: true), ParquetColumn.Int64("none", optional: true));
        double[] values = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, 1e-300, double.MaxValue, double.Epsilon];
        using (var writer = ParquetFileWriter.Create(path, schema))
        {
            foreach (var value in values)
            {
                writer.WriteDouble(0, value);
                writer.WriteNull(1);
                writer.WriteNull(2);
                writer.EndRow();
            }

            writer.Complete();
        }

        using var db = new DuckdbConnection();
        var rows = db.Query($"SELECT d::VARCHAR, never, none FROM read_parquet({DuckdbConnection.Literal(path)})");
        Assert.Equal(values.Length, rows.Count);
        // .NET's NaN has the sign bit set, which DuckDB prints as "-nan".
        Assert.EndsWith("nan", rows[0][0]!.ToLowerInvariant(), StringComparison.Ordinal);
        Assert.Equal(["inf", "-inf", "-0.0"], rows.Skip(1).Take(3).Select(r => r[0]!.ToLowerInvariant()));
        Assert.All(rows, r => Assert.Null(r[1]));
        Assert.All(rows, r => Assert.Null(r[2]));
        Assert.Equal(values[4..], rows.Skip(4).Select(r => double.Parse(r[0]!, CultureInfo.InvariantCulture)));
        var stats = db.Query($"SELECT stats_min_value, stats_max_value, stats_null_count FROM parquet_metadata({DuckdbConnection.Literal(path)}) ORDER BY column_id");
        // DuckDB does not show a min/max that is infinite (ours are -inf and inf; ReaderTests checks them).
        Assert.Equal("0", stats[0][2]);
        Assert.Equal(new string?[] { null, null, "7" }, stats[1]);
        Assert.Equal(new string?[] { null, null, "7" }, stats[2]);
    }

    [DuckdbFact]
    public void Write_NoRows_DuckdbReadsEmptyFileWithSchema()
    {
        using var dir = new TempDirectory();
        var path = dir.File("empty.parquet");
        using (var writer = ParquetFileWriter.Create(path, SampleTable.Schema))
        {
            writer.Complete();
        }

        using var db = new DuckdbConnection();
        Assert.Equal("0", db.Scalar($"SELECT count(*) FROM read_parquet({DuckdbConnection.Literal(path)})"));
        Assert.Equal(SampleTable.Schema.Columns.Count, db.Query($"DESCRIBE SELECT * FROM read_parquet({DuckdbConnection.Literal(path)})").Count);
    }

    internal static void AssertCell(object? expected, string? actual, int row, int column)
    {
        var where = $"row {row} column {SampleTable.Schema.Columns[column].Name}";
        switch (expected)
        {
            case null:
                Assert.True(actual is null, $"{where}: expected null, DuckDB read '{actual}'");
                break;
            case float f:
                Assert.True(f == float.Parse(actual!, CultureInfo.InvariantCulture), $"{where}: {f} vs {actual}");
                break;
            case double d:
                Assert.True(d == double.Parse(actual!, CultureInfo.InvariantCulture), $"{where}: {d} vs {actual}");
                break;
            default:
                Assert.True(Text(expected, column) == actual, $"{where}: expected '{Text(expected, column)}', DuckDB read '{actual}'");
                break;
        }
    }

    private static string Text(object value, int column) => value switch
    {
        bool b => b ? "true" : "false",
        byte[] bytes => Convert.ToHexString(bytes),
        long l when SampleTable.Schema.Columns[column].Type == ParquetColumnType.Decimal => SampleTable.DecimalText(l),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString()!,
    };

    private static (object? Min, object? Max) MinMax(List<object> values)
    {
        if (values.Count == 0)
        {
            return (null, null);
        }

        if (values[0] is byte[] or string)
        {
            static byte[] Bytes(object v) => v as byte[] ?? System.Text.Encoding.UTF8.GetBytes((string)v);
            var ordered = values.OrderBy(Bytes, Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b))).ToList();
            return (ordered[0], ordered[^1]);
        }

        var sorted = values.OrderBy(v => v).ToList();
        return (sorted[0], sorted[^1]);
    }

    private static void AssertStatistic(object? expected, string? actual, string what)
    {
        switch (expected)
        {
            case null:
                Assert.True(actual is null, what);
                break;
            case float f:
                Assert.True(f == float.Parse(actual!, CultureInfo.InvariantCulture) || (f == 0 && actual!.Contains('0')), $"{what}: {f} vs {actual}");
                break;
            case double d:
                Assert.True(d == double.Parse(actual!, CultureInfo.InvariantCulture), $"{what}: {d} vs {actual}");
                break;
            case byte[] bytes:
                Assert.Equal(DuckdbBlobText(bytes), actual);
                break;
            case long l when what.Contains("price", StringComparison.Ordinal):
                Assert.Equal(SampleTable.DecimalText(l), actual);
                break;
            case bool b:
                Assert.Equal(b ? "true" : "false", actual);
                break;
            default:
                Assert.True(Convert.ToString(expected, CultureInfo.InvariantCulture) == actual, $"{what}: {expected} vs {actual}");
                break;
        }
    }

    /// <summary>DuckDB's text for a BLOB: printable ASCII as is, every other byte as \xHH.</summary>
    private static string DuckdbBlobText(byte[] bytes)
    {
        var text = new System.Text.StringBuilder();
        foreach (var b in bytes)
        {
            if (b is >= 32 and <= 126 && b != '\\')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append(CultureInfo.InvariantCulture, $"\\x{b:X2}");
            }
        }

        return text.ToString();
    }
}

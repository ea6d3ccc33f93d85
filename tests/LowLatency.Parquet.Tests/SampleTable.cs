using System.Globalization;

using LowLatency.Parquet.Format;
using LowLatency.Parquet.Writing;

namespace LowLatency.Parquet.Tests;

/// <summary>
/// A deterministic table with a column of every type the writer offers (required and optional, plain and dictionary),
/// written with chosen options, and the values each row holds, so tests can compare any reader's view with them.
/// </summary>
internal sealed class SampleTable
{
    public static readonly ParquetSchema Schema = new(
        ParquetColumn.Boolean("b"),
        ParquetColumn.Int32("i32"),
        ParquetColumn.Int64("i64"),
        ParquetColumn.Float("f"),
        ParquetColumn.Double("d"),
        ParquetColumn.String("s"),
        ParquetColumn.Binary("bin"),
        ParquetColumn.TimestampMillis("tsm"),
        ParquetColumn.TimestampMicros("tsu"),
        ParquetColumn.Decimal("price", 18, 8),
        ParquetColumn.String("symbol", dictionary: true),
        ParquetColumn.Int64("opt_i64", optional: true),
        ParquetColumn.String("opt_s", optional: true, dictionary: true),
        ParquetColumn.Double("opt_d", optional: true),
        ParquetColumn.Boolean("opt_b", optional: true),
        ParquetColumn.Int32("opt_i32", optional: true));

    private static readonly string[] s_symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT"];

    public SampleTable(int rows)
    {
        Rows = new object?[rows][];
        for (var r = 0; r < rows; r++)
        {
            Rows[r] = MakeRow(r);
        }
    }

    /// <summary>Row r, column c: bool, int, long, float, double, string, byte[] or null.</summary>
    public object?[][] Rows { get; }

    public static object?[] MakeRow(int r)
    {
        var x = (long)r * 2654435761 % 1000003;
        return
        [
            r % 3 == 0,
            (int)(x - 500000) * (r % 2 == 0 ? 1 : -1),
            x * 1_000_000_007L - (long)r * r,
            (float)(x / 7.0) - 7000,
            x / 13.0 - (r % 5 == 0 ? 1e6 : 0),
            r % 11 == 0 ? "" : $"value-{x}-ü€",
            System.Text.Encoding.UTF8.GetBytes($"\0bin{r}\u00ff").Concat(new byte[] { 0, 255, (byte)r }).ToArray(),
            1_723_075_200_000L + r * 60_000L,
            1_723_075_200_000_000L + r * 1_000_123L,
            5_834_012_345_678L + x * 100_000_003L - 50_000_000_000_000L,
            s_symbols[(int)(x % s_symbols.Length)],
            r % 4 == 1 ? null : x - 400000,
            r % 3 == 2 ? null : s_symbols[r % 4],
            r % 5 == 3 ? null : x / 3.0,
            r % 7 == 0 ? null : r % 2 == 0,
            r % 2 == 0 ? null : (int)x,
        ];
    }

    public void Write(string path, ParquetWriterOptions options)
    {
        using var writer = ParquetFileWriter.Create(path, Schema, options);
        foreach (var row in Rows)
        {
            WriteRow(writer, row);
        }

        writer.Complete();
    }

    /// <summary>Writes one row of boxed values (null, bool, int, long, float, double, string, byte[]) and ends it.</summary>
    public static void WriteRow(ParquetFileWriter writer, object?[] row)
    {
        for (var c = 0; c < row.Length; c++)
        {
            switch (row[c])
            {
                case null: writer.WriteNull(c); break;
                case bool v: writer.WriteBoolean(c, v); break;
                case int v: writer.WriteInt32(c, v); break;
                case long v: writer.WriteInt64(c, v); break;
                case float v: writer.WriteFloat(c, v); break;
                case double v: writer.WriteDouble(c, v); break;
                case string v: writer.WriteString(c, v); break;
                case byte[] v: writer.WriteBytes(c, v); break;
            }
        }

        writer.EndRow();
    }

    public static ParquetWriterOptions Options(CompressionCodec codec, int rowGroupRows = 1000, int pageBytes = 1 << 20) =>
        new() { Codec = codec, RowGroupRows = rowGroupRows, PageBytes = pageBytes };

    /// <summary>The decimal text DuckDB prints for an unscaled value at scale 8.</summary>
    public static string DecimalText(long unscaled) =>
        (new decimal(unscaled) / 100_000_000m).ToString("F8", CultureInfo.InvariantCulture);
}

using LowLatency.Parquet.Format;
using LowLatency.Parquet.Reading;
using LowLatency.Parquet.Writing;
using LowLatency.TestSupport;

namespace LowLatency.Parquet.Tests;

/// <summary>The writer's file handling (temporary name, then rename) and its row API.</summary>
public class WriterTests
{
    private static readonly ParquetSchema s_schema = new(ParquetColumn.String("symbol", dictionary: true), ParquetColumn.Int64("ts"), ParquetColumn.Double("px", optional: true));

    [Fact]
    public void Complete_BeforeIt_NothingAtTheFinalName_AfterIt_WholeFileAndNoTemp()
    {
        using var dir = new TempDirectory();
        var path = dir.File("candles.parquet");
        using var writer = ParquetFileWriter.Create(path, s_schema, new ParquetWriterOptions { RowGroupRows = 10 });
        for (var i = 0; i < 35; i++)
        {
            WriteRow(writer, i);
            Assert.False(File.Exists(path), $"row {i}: the final name appeared before Complete");
        }

        Assert.True(File.Exists(writer.TempPath));
        Assert.StartsWith(path, writer.TempPath, StringComparison.Ordinal);
        writer.Complete();
        Assert.True(File.Exists(path));
        Assert.False(File.Exists(writer.TempPath));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
        using var reader = ParquetFileReader.Open(path);
        Assert.Equal(35, reader.RowCount);
        Assert.Equal(4, reader.RowGroupCount);
    }

    [Fact]
    public void RowGroupBytes_Reached_StartsANewRowGroup()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bytes.parquet");
        var options = new ParquetWriterOptions { Codec = CompressionCodec.Uncompressed, RowGroupRows = 1_000_000, RowGroupBytes = 20_000, PageBytes = 4096 };
        using (var writer = ParquetFileWriter.Create(path, s_schema, options))
        {
            for (var i = 0; i < 3000; i++)
            {
                WriteRow(writer, i);
            }

            writer.Complete();
        }

        using var reader = ParquetFileReader.Open(path);
        Assert.Equal(3000, reader.RowCount);
        Assert.InRange(reader.RowGroupCount, 2, 10);
        Assert.All(reader.Metadata.RowGroups.SkipLast(1), g => Assert.InRange(g.TotalByteSize, 15_000, 40_000));
        var ts = Enumerable.Range(0, reader.RowGroupCount).SelectMany(g => reader.ReadColumn(g, "ts").As<long>());
        Assert.Equal(Enumerable.Range(0, 3000).Select(i => 1_723_075_200_000L + i), ts);
    }

    [Fact]
    public void Dispose_WithoutComplete_LeavesNoFileAtAll()
    {
        using var dir = new TempDirectory();
        var path = dir.File("abandoned.parquet");
        using (var writer = ParquetFileWriter.Create(path, s_schema, new ParquetWriterOptions { RowGroupRows = 3 }))
        {
            for (var i = 0; i < 10; i++)
            {
                WriteRow(writer, i);
            }
        }

        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Exception_WhileWriting_LeavesTheOldFileUntouchedAndNoTemp()
    {
        using var dir = new TempDirectory();
        var path = dir.File("data.parquet");
        File.WriteAllText(path, "previous content");
        Assert.Throws<InvalidOperationException>(() =>
        {
            using var writer = ParquetFileWriter.Create(path, s_schema);
            WriteRow(writer, 0);
            writer.WriteString(0, "BTCUSDT");
            writer.EndRow(); // ts and px missing: throws, and the using disposes the writer
        });

        Assert.Equal("previous content", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Complete_OverAnExistingFile_ReplacesIt()
    {
        using var dir = new TempDirectory();
        var path = dir.File("data.parquet");
        File.WriteAllText(path, "previous content");
        using (var writer = ParquetFileWriter.Create(path, s_schema))
        {
            WriteRow(writer, 0);
            writer.Complete();
        }

        using var reader = ParquetFileReader.Open(path);
        Assert.Equal(1, reader.RowCount);
    }

    [Fact]
    public void RowApi_Misuse_ThrowsAndSaysWhat()
    {
        using var dir = new TempDirectory();
        using var writer = ParquetFileWriter.Create(dir.File("x.parquet"), s_schema);
        Assert.Throws<InvalidOperationException>(() => writer.WriteNull(1)); // ts is required
        Assert.Throws<ArgumentException>(() => writer.WriteInt32(1, 5)); // ts is INT64
        Assert.Throws<ArgumentException>(() => writer.WriteDouble(7, 1.0)); // no column 7
        writer.WriteString(0, "BTCUSDT");
        Assert.Contains("already has a value", Assert.Throws<InvalidOperationException>(() => writer.WriteString(0, "ETHUSDT")).Message, StringComparison.Ordinal);
        Assert.Contains("'ts'", Assert.Throws<InvalidOperationException>(writer.EndRow).Message, StringComparison.Ordinal);
        writer.WriteInt64(1, 1);
        writer.WriteNull(2);
        Assert.Throws<InvalidOperationException>(writer.Complete); // every column has its value, but the row was not ended
    }

    [Fact]
    public void Schema_Invalid_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => new ParquetSchema(ParquetColumn.Int64("a"), ParquetColumn.Int64("a")));
        Assert.Throws<ArgumentException>(() => ParquetColumn.Int64(""));
        Assert.Throws<ArgumentException>(() => new ParquetSchema());
        Assert.Throws<ArgumentOutOfRangeException>(() => ParquetColumn.Decimal("p", 19, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ParquetColumn.Decimal("p", 5, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => ParquetFileWriter.Create("x", s_schema, new ParquetWriterOptions { Codec = CompressionCodec.Zstd }));
    }

    [Fact]
    public void WriteDecimal_BeyondItsPrecision_IsRefused()
    {
        using var dir = new TempDirectory();
        using var writer = ParquetFileWriter.Create(dir.File("d.parquet"), new ParquetSchema(ParquetColumn.Decimal("p", 4, 2)));
        writer.WriteInt64(0, -9999);
        writer.EndRow();
        Assert.Throws<ArgumentException>(() => writer.WriteInt64(0, 10000));
        Assert.Throws<ArgumentException>(() => writer.WriteInt64(0, -10000));
    }

    [Fact]
    public void EndRow_AfterARefusedValue_ThrowsUntilTheColumnHasOne()
    {
        // EndRow counts successful writes: a refused value must not count, a retried one must count once.
        using var dir = new TempDirectory();
        using var writer = ParquetFileWriter.Create(dir.File("d.parquet"), new ParquetSchema(ParquetColumn.Decimal("p", 4, 2), ParquetColumn.Int64("n")));
        Assert.Throws<ArgumentException>(() => writer.WriteInt64(0, 10000));
        Assert.Throws<ArgumentException>(() => writer.WriteDouble(1, 1.0));
        writer.WriteInt64(1, 1);
        Assert.Throws<InvalidOperationException>(writer.EndRow);
        writer.WriteInt64(0, 9999);
        writer.EndRow();
        writer.WriteInt64(1, 2);
        Assert.Throws<InvalidOperationException>(() => writer.WriteInt64(1, 3));
        Assert.Throws<InvalidOperationException>(writer.EndRow);
        Assert.Equal(1, writer.RowCount);
    }

    [Fact]
    public void WriteTimestamp_ConvertsToTheColumnUnit()
    {
        using var dir = new TempDirectory();
        var path = dir.File("ts.parquet");
        var instant = new DateTimeOffset(2024, 8, 8, 12, 34, 56, 789, TimeSpan.Zero).AddTicks(1230);
        using (var writer = ParquetFileWriter.Create(path, new ParquetSchema(ParquetColumn.TimestampMillis("ms"), ParquetColumn.TimestampMicros("us"))))
        {
            writer.WriteTimestamp(0, instant);
            writer.WriteTimestamp(1, instant);
            writer.EndRow();
            writer.Complete();
        }

        using var reader = ParquetFileReader.Open(path);
        Assert.Equal(instant.ToUnixTimeMilliseconds(), reader.ReadColumn(0, 0).As<long>()[0]);
        Assert.Equal(instant.ToUnixTimeMilliseconds() * 1000 + 123, reader.ReadColumn(0, 1).As<long>()[0]);
    }

    [Fact]
    public void WriteRows_AfterWarmUp_AllocateNothing()
    {
        using var dir = new TempDirectory();
        var options = new ParquetWriterOptions { Codec = CompressionCodec.Snappy, RowGroupRows = 1_000_000, PageBytes = 1 << 20 };
        using var writer = ParquetFileWriter.Create(dir.File("alloc.parquet"), SampleTable.Schema, options);
        var rows = new SampleTable(100).Rows;
        var bytes = Allocations.Measure(() =>
        {
            foreach (var row in rows)
            {
                SampleTable.WriteRow(writer, row);
            }
        });
        Assert.Equal(0, bytes);
    }

    private static void WriteRow(ParquetFileWriter writer, int i)
    {
        writer.WriteString(0, i % 2 == 0 ? "BTCUSDT" : "ETHUSDT");
        writer.WriteInt64(1, 1_723_075_200_000 + i);
        writer.WriteDouble(2, 60000 + i);
        writer.EndRow();
    }
}

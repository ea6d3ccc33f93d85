using System.Buffers.Binary;
using LowLatency.Parquet.Format;
using LowLatency.Parquet.Reading;
using LowLatency.Parquet.Writing;
using LowLatency.TestSupport;

namespace LowLatency.Parquet.Tests;

/// <summary>Truncated and damaged files: the reader throws <see cref="ParquetFormatException"/> and nothing else.</summary>
public class CorruptFileTests
{
    public static TheoryData<CompressionCodec> Codecs => WriterDuckdbTests.Codecs;

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Read_CutAtEveryOffset_ThrowsFormatException(CompressionCodec codec)
    {
        var file = SmallFile(codec);
        for (var length = 0; length < file.Length; length++)
        {
            var error = Record.Exception(() => ReadEverything(file.AsSpan(0, length).ToArray()));
            Assert.True(error is ParquetFormatException, $"cut at {length} of {file.Length}: {error?.GetType().Name ?? "no exception"} {error?.Message}");
        }

        ReadEverything(file);
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Read_FlippedBytes_ReadsOrThrowsFormatException(CompressionCodec codec)
    {
        // A flipped value byte is not detectable (no checksums), so reading may succeed; anything else must be ours.
        var file = SmallFile(codec);
        foreach (var mask in new byte[] { 0xFF, 0x01, 0x80, 0x10 })
        {
            for (var offset = 0; offset < file.Length; offset++)
            {
                var damaged = file.ToArray();
                damaged[offset] ^= mask;
                var error = Record.Exception(() => ReadEverything(damaged));
                Assert.True(error is null or ParquetFormatException, $"byte {offset} ^ 0x{mask:X2}: {error?.GetType().Name} {error?.Message}\n{error?.StackTrace}");
            }
        }
    }

    [Fact]
    public void Read_RandomDamage_ReadsOrThrowsFormatException()
    {
        var file = SmallFile(CompressionCodec.Snappy);
        var random = new Random(7);
        for (var round = 0; round < 3000; round++)
        {
            var damaged = file.ToArray();
            for (var i = random.Next(1, 6); i > 0; i--)
            {
                damaged[random.Next(damaged.Length)] = (byte)random.Next(256);
            }

            var error = Record.Exception(() => ReadEverything(damaged));
            Assert.True(error is null or ParquetFormatException, $"round {round}: {error?.GetType().Name} {error?.Message}\n{error?.StackTrace}");
        }
    }

    [Fact]
    public void Read_BadMagic_SaysSo()
    {
        var file = SmallFile(CompressionCodec.Uncompressed);
        file[0] = (byte)'X';
        Assert.Contains("magic", Assert.Throws<ParquetFormatException>(() => ReadEverything(file)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(-5)]
    [InlineData(0)]
    public void Read_FooterLengthBeyondTheFile_RefusedWithoutAllocating(int footerLength)
    {
        var file = SmallFile(CompressionCodec.Uncompressed);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(file.Length - 8), footerLength);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<ParquetFormatException>(() => ReadEverything(file));
        Assert.Contains("footer", error.Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1_000_000);
    }

    [Fact]
    public void Read_HugeRowCount_RefusedByTheLimit()
    {
        using var dir = new TempDirectory();
        var path = dir.File("rows.parquet");
        new SampleTable(10).Write(path, SampleTable.Options(CompressionCodec.Uncompressed));
        var error = Assert.Throws<ParquetFormatException>(() =>
            ParquetFileReader.Open(path, new ParquetReaderOptions { MaxRowsPerRowGroup = 5 }));
        Assert.Contains("10 rows", error.Message, StringComparison.Ordinal);
    }

    [DataFact]
    public void Read_ReferenceFileCutAtEveryOffset_ThrowsFormatException()
    {
        var file = File.ReadAllBytes(TestData.PathOf("parquet/parquet_testing/alltypes_dictionary.parquet"));
        for (var length = 0; length < file.Length; length++)
        {
            var error = Record.Exception(() => ReadEverything(file.AsSpan(0, length).ToArray()));
            Assert.True(error is ParquetFormatException, $"cut at {length}: {error?.GetType().Name} {error?.Message}");
        }
    }

    /// <summary>Opens and decodes every column chunk of <paramref name="file"/>.</summary>
    internal static void ReadEverything(byte[] file)
    {
        using var reader = ParquetFileReader.Open(new MemoryStream(file));
        for (var group = 0; group < reader.RowGroupCount; group++)
        {
            for (var column = 0; column < reader.Columns.Count; column++)
            {
                reader.ReadColumn(group, column);
            }
        }
    }

    private static byte[] SmallFile(CompressionCodec codec)
    {
        using var dir = new TempDirectory();
        var path = dir.File("small.parquet");
        var schema = new ParquetSchema(
            ParquetColumn.String("symbol", dictionary: true), ParquetColumn.Int64("ts"), ParquetColumn.Double("px", optional: true),
            ParquetColumn.Boolean("buy"), ParquetColumn.String("note", optional: true));
        var options = new ParquetWriterOptions { Codec = codec, RowGroupRows = 6 };
        using (var writer = ParquetFileWriter.Create(path, schema, options))
        {
            for (var i = 0; i < 10; i++)
            {
                writer.WriteString(0, i % 3 == 0 ? "BTCUSDT" : "ETHUSDT");
                writer.WriteInt64(1, 1_723_075_200_000 + i);
                if (i % 4 == 1)
                {
                    writer.WriteNull(2);
                }
                else
                {
                    writer.WriteDouble(2, 60000.5 + i);
                }

                writer.WriteBoolean(3, i % 2 == 0);
                if (i % 3 == 2)
                {
                    writer.WriteNull(4);
                }
                else
                {
                    writer.WriteString(4, $"n{i}");
                }

                writer.EndRow();
            }

            writer.Complete();
        }

        return File.ReadAllBytes(path);
    }
}

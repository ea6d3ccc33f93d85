using System.IO.Compression;
using LowLatency.Parquet.Format;

namespace LowLatency.Parquet.Writing;

/// <summary>How a <see cref="ParquetFileWriter"/> lays out a file. Defaults suit a sink writing candles and trades.</summary>
public sealed class ParquetWriterOptions
{
    /// <summary>The page codec. Default SNAPPY: cheap to write, and what most readers expect.</summary>
    public CompressionCodec Codec { get; init; } = CompressionCodec.Snappy;

    /// <summary>GZIP level when <see cref="Codec"/> is GZIP. Default <see cref="CompressionLevel.Optimal"/>.</summary>
    public CompressionLevel GzipLevel { get; init; } = CompressionLevel.Optimal;

    /// <summary>A row group ends after this many rows. Default 1,000,000.</summary>
    public int RowGroupRows { get; init; } = 1_000_000;

    /// <summary>
    /// A row group also ends once its buffered, encoded pages reach about this many bytes (the writer holds one row
    /// group in memory, because each column's chunk must be contiguous in the file). The estimate counts compressed
    /// finished pages plus the open pages' raw values, and a byte per value for dictionary indices, so row groups come
    /// out somewhat below it. Default 64 MiB.
    /// </summary>
    public long RowGroupBytes { get; init; } = 64L << 20;

    /// <summary>A data page ends once its encoded values reach this many bytes. Default 1 MiB.</summary>
    public int PageBytes { get; init; } = 1 << 20;

    /// <summary>
    /// A dictionary column falls back to PLAIN for the rest of the row group once its dictionary holds this many
    /// bytes of values. Default 1 MiB.
    /// </summary>
    public int MaxDictionaryBytes { get; init; } = 1 << 20;

    /// <summary>Key/value metadata for the footer (e.g. the source and the schema version). Default none.</summary>
    public IReadOnlyList<KeyValue>? Metadata { get; init; }

    /// <summary>
    /// Whether <see cref="ParquetFileWriter.Complete"/> flushes the file to disk (fsync) before renaming it to its
    /// final name, so that after a crash the final name holds a whole file or nothing. Default true.
    /// </summary>
    public bool FlushToDisk { get; init; } = true;

    internal void Validate()
    {
        if (RowGroupRows < 1 || RowGroupBytes < 1 || PageBytes < 1 || MaxDictionaryBytes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(RowGroupRows), "Row group, page and dictionary limits must be positive.");
        }

        if (Codec is not (CompressionCodec.Uncompressed or CompressionCodec.Snappy or CompressionCodec.Gzip))
        {
            throw new ArgumentOutOfRangeException(nameof(Codec), $"The writer implements UNCOMPRESSED, SNAPPY and GZIP, not {Codec}.");
        }
    }
}

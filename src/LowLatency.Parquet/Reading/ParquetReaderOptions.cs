namespace LowLatency.Parquet.Reading;

/// <summary>Limits that keep a damaged or hostile file from making the reader allocate without bound.</summary>
public sealed class ParquetReaderOptions
{
    /// <summary>
    /// The most rows a row group may declare. Run-length encoded levels and dictionary indices can describe many values
    /// in a few bytes, so their counts cannot be checked against the bytes that hold them; this bounds them instead.
    /// Default 64 Mi rows (our writer's row groups hold 1 M rows by default; DuckDB's 122,880).
    /// </summary>
    public int MaxRowsPerRowGroup { get; init; } = 64 << 20;

    /// <summary>The largest footer accepted. Default 64 MiB.</summary>
    public int MaxFooterBytes { get; init; } = 64 << 20;
}

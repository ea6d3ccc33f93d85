using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using LowLatency.Parquet.Format;
using LowLatency.Parquet.Writing;
using LowLatency.TestSupport.Parquet;

namespace LowLatency.Benchmarks.Parquet;

/// <summary>
/// Writing 1,000,000 candle-shaped rows (<see cref="SampleCandles"/>, which the perf harness's <c>parquet-write</c> writes
/// too: symbol as a dictionary-encoded string, open and close time as millisecond timestamps,
/// open/high/low/close/volume as doubles, trade count as int64) to a Parquet file with each codec, one
/// row group per 1 M rows. The baseline is what a sink would otherwise write: the same rows as CSV lines through a
/// <see cref="StreamWriter"/>. Files go to the temp directory; no fsync (<c>FlushToDisk = false</c>), so the figures
/// are the encoder's cost plus buffered writes, not the disk's.
/// </summary>
[MemoryDiagnoser]
public class ParquetWriterBenchmarks
{
    private const int Rows = 1_000_000;

    private SampleCandles _rows = null!;
    private string _path = string.Empty;

    [Params(CompressionCodec.Uncompressed, CompressionCodec.Snappy, CompressionCodec.Gzip)]
    public CompressionCodec Codec { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _rows = new SampleCandles(Rows);
        _path = Path.Combine(Path.GetTempPath(), $"lowlatency-bench-{Environment.ProcessId}.parquet");
    }

    [GlobalCleanup]
    public void Cleanup() => File.Delete(_path);

    [Benchmark(Baseline = true)]
    public long CsvStreamWriter()
    {
        using (var writer = new StreamWriter(_path, false, new UTF8Encoding(false), 1 << 16))
        {
            writer.WriteLine("symbol,open_time,close_time,open,high,low,close,volume,trades");
            for (var i = 0; i < Rows; i++)
            {
                writer.Write(_rows.Symbol(i));
                writer.Write(',');
                writer.Write(_rows.OpenTime(i).ToString(CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write(_rows.CloseTime(i).ToString(CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write(_rows.Open(i).ToString(CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write(_rows.High(i).ToString(CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write(_rows.Low(i).ToString(CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write(_rows.Close(i).ToString(CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write(_rows.Volume(i).ToString(CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.WriteLine(_rows.Trades(i).ToString(CultureInfo.InvariantCulture));
            }
        }

        return new FileInfo(_path).Length;
    }

    [Benchmark]
    public long ParquetFileWriter()
    {
        var options = new ParquetWriterOptions { Codec = Codec, FlushToDisk = false, RowGroupRows = Rows, RowGroupBytes = 1L << 30 };
        using (var writer = LowLatency.Parquet.Writing.ParquetFileWriter.Create(_path, SampleCandles.Schema, options))
        {
            _rows.WriteTo(writer);
            writer.Complete();
        }

        return new FileInfo(_path).Length;
    }
}

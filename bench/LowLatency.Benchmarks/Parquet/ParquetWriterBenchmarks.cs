using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using LowLatency.Parquet.Format;
using LowLatency.Parquet.Writing;

namespace LowLatency.Benchmarks.Parquet;

/// <summary>
/// Writing 1,000,000 candle-shaped rows (symbol as a dictionary-encoded string, open and close time as millisecond
/// timestamps, open/high/low/close/volume as doubles, trade count as int64) to a Parquet file with each codec, one
/// row group per 1 M rows. The baseline is what a sink would otherwise write: the same rows as CSV lines through a
/// <see cref="StreamWriter"/>. Files go to the temp directory; no fsync (<c>FlushToDisk = false</c>), so the figures
/// are the encoder's cost plus buffered writes, not the disk's.
/// </summary>
[MemoryDiagnoser]
public class ParquetWriterBenchmarks
{
    private const int Rows = 1_000_000;

    private static readonly string[] s_symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT", "AVAXUSDT"];

    private static readonly ParquetSchema s_schema = new(
        ParquetColumn.String("symbol", dictionary: true),
        ParquetColumn.TimestampMillis("open_time"),
        ParquetColumn.TimestampMillis("close_time"),
        ParquetColumn.Double("open"),
        ParquetColumn.Double("high"),
        ParquetColumn.Double("low"),
        ParquetColumn.Double("close"),
        ParquetColumn.Double("volume"),
        ParquetColumn.Int64("trades"));

    private readonly int[] _symbol = new int[Rows];
    private readonly long[] _openTime = new long[Rows];
    private readonly double[] _open = new double[Rows];
    private readonly double[] _close = new double[Rows];
    private readonly double[] _volume = new double[Rows];
    private readonly long[] _trades = new long[Rows];
    private string _path = string.Empty;

    [Params(CompressionCodec.Uncompressed, CompressionCodec.Snappy, CompressionCodec.Gzip)]
    public CompressionCodec Codec { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        var price = 60_000.0;
        for (var i = 0; i < Rows; i++)
        {
            _symbol[i] = i % s_symbols.Length;
            _openTime[i] = 1_723_075_200_000L + (i / s_symbols.Length) * 60_000L;
            _open[i] = Math.Round(price, 2);
            price += (random.NextDouble() - 0.5) * 20;
            _close[i] = Math.Round(price, 2);
            _volume[i] = Math.Round(random.NextDouble() * 100, 5);
            _trades[i] = random.Next(1, 5000);
        }

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
                var high = Math.Max(_open[i], _close[i]);
                var low = Math.Min(_open[i], _close[i]);
                writer.Write(s_symbols[_symbol[i]]);
                writer.Write(',');
                writer.Write(_openTime[i].ToString(CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write((_openTime[i] + 59_999).ToString(CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write(_open[i].ToString(CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write(high.ToString(CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write(low.ToString(CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write(_close[i].ToString(CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write(_volume[i].ToString(CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.WriteLine(_trades[i].ToString(CultureInfo.InvariantCulture));
            }
        }

        return new FileInfo(_path).Length;
    }

    [Benchmark]
    public long ParquetFileWriter()
    {
        var options = new ParquetWriterOptions { Codec = Codec, FlushToDisk = false, RowGroupRows = Rows, RowGroupBytes = 1L << 30 };
        using (var writer = LowLatency.Parquet.Writing.ParquetFileWriter.Create(_path, s_schema, options))
        {
            for (var i = 0; i < Rows; i++)
            {
                writer.WriteString(0, s_symbols[_symbol[i]]);
                writer.WriteInt64(1, _openTime[i]);
                writer.WriteInt64(2, _openTime[i] + 59_999);
                writer.WriteDouble(3, _open[i]);
                writer.WriteDouble(4, Math.Max(_open[i], _close[i]));
                writer.WriteDouble(5, Math.Min(_open[i], _close[i]));
                writer.WriteDouble(6, _close[i]);
                writer.WriteDouble(7, _volume[i]);
                writer.WriteInt64(8, _trades[i]);
                writer.EndRow();
            }

            writer.Complete();
        }

        return new FileInfo(_path).Length;
    }
}

using LowLatency.Parquet.Writing;

namespace LowLatency.TestSupport.Parquet;

/// <summary>
/// Candle-shaped rows for measuring the Parquet writer, the same in the benchmark (<c>ParquetWriterBenchmarks</c>) and
/// the perf harness (<c>parquet-write</c>): eight symbols in turn, one-minute candles, a random walk of prices with two
/// decimals (seed 42), volumes with five, trade counts below 5,000. Kept column by column, as a sink's batch would be.
/// </summary>
public sealed class SampleCandles
{
    private static readonly string[] s_symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT", "AVAXUSDT"];

    private readonly int[] _symbol;
    private readonly long[] _openTime;
    private readonly double[] _open;
    private readonly double[] _close;
    private readonly double[] _volume;
    private readonly long[] _trades;

    public SampleCandles(int count)
    {
        Count = count;
        _symbol = new int[count];
        _openTime = new long[count];
        _open = new double[count];
        _close = new double[count];
        _volume = new double[count];
        _trades = new long[count];
        var random = new Random(42);
        var price = 60_000.0;
        for (var i = 0; i < count; i++)
        {
            _symbol[i] = i % s_symbols.Length;
            _openTime[i] = 1_723_075_200_000L + (i / s_symbols.Length * 60_000L);
            _open[i] = Math.Round(price, 2);
            price += (random.NextDouble() - 0.5) * 20;
            _close[i] = Math.Round(price, 2);
            _volume[i] = Math.Round(random.NextDouble() * 100, 5);
            _trades[i] = random.Next(1, 5000);
            TradesSum += _trades[i];
            OpenTimeSum += _openTime[i];
        }
    }

    /// <summary>symbol (string, dictionary-encoded), open_time and close_time (timestamp ms), open, high, low, close,
    /// volume (double), trades (int64).</summary>
    public static ParquetSchema Schema { get; } = new(
        ParquetColumn.String("symbol", dictionary: true),
        ParquetColumn.TimestampMillis("open_time"),
        ParquetColumn.TimestampMillis("close_time"),
        ParquetColumn.Double("open"),
        ParquetColumn.Double("high"),
        ParquetColumn.Double("low"),
        ParquetColumn.Double("close"),
        ParquetColumn.Double("volume"),
        ParquetColumn.Int64("trades"));

    public int Count { get; }

    /// <summary>The sum of the trades column, for verifying what a reader finds.</summary>
    public long TradesSum { get; }

    /// <summary>The sum of open_time in milliseconds since the epoch.</summary>
    public long OpenTimeSum { get; }

    public string Symbol(int row) => s_symbols[_symbol[row]];

    public long OpenTime(int row) => _openTime[row];

    public long CloseTime(int row) => _openTime[row] + 59_999;

    public double Open(int row) => _open[row];

    public double High(int row) => Math.Max(_open[row], _close[row]);

    public double Low(int row) => Math.Min(_open[row], _close[row]);

    public double Close(int row) => _close[row];

    public double Volume(int row) => _volume[row];

    public long Trades(int row) => _trades[row];

    /// <summary>Writes every row (in <see cref="Schema"/>'s column order) and ends each; the caller completes the file.</summary>
    public void WriteTo(ParquetFileWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        for (var i = 0; i < Count; i++)
        {
            writer.WriteString(0, Symbol(i));
            writer.WriteInt64(1, OpenTime(i));
            writer.WriteInt64(2, CloseTime(i));
            writer.WriteDouble(3, Open(i));
            writer.WriteDouble(4, High(i));
            writer.WriteDouble(5, Low(i));
            writer.WriteDouble(6, Close(i));
            writer.WriteDouble(7, Volume(i));
            writer.WriteInt64(8, Trades(i));
            writer.EndRow();
        }
    }
}

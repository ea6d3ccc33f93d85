namespace LowLatency.Aggregation;

/// <summary>Figures derived from a closed candle and the candles of its symbol and interval before it.</summary>
public readonly record struct CandleMetrics(
    double PriceChangePercent,
    double BuySellRatio,
    double LogReturn,
    double RollingVolatility,
    int RollingCount)
{
    /// <summary>Whether <see cref="LogReturn"/> is defined (there was a previous candle).</summary>
    public bool HasLogReturn => !double.IsNaN(LogReturn);
}

/// <summary>
/// Computes <see cref="CandleMetrics"/> as candles close: the change from open to close in percent; the buy/sell ratio
/// (taker-buy base volume over taker-sell base volume; +∞ when nothing was sold, NaN without volume); the log return
/// from the previous candle's close; and the realised volatility, the sample standard deviation of the last
/// <see cref="Window"/> log returns of the symbol and interval. Candles close in time order per symbol and interval,
/// so the figures do not depend on the order trades arrived in. All state is preallocated; nothing is allocated per candle.
/// </summary>
public sealed class CandleMetricsCalculator
{
    private readonly int _intervals;
    private readonly double[] _returns;     // [(symbol * intervals + k) * window + i]: circular
    private readonly int[] _count;          // [symbol * intervals + k]: returns held (≤ window)
    private readonly int[] _next;           // [symbol * intervals + k]: next write position
    private readonly long[] _previousClose; // [symbol * intervals + k]: mantissa, 0 = none

    /// <summary>Creates a calculator for <paramref name="symbolCapacity"/> symbols and <paramref name="intervals"/> intervals.</summary>
    public CandleMetricsCalculator(int symbolCapacity, int intervals, int window = 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(symbolCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(intervals, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 2);
        _intervals = intervals;
        Window = window;
        _returns = new double[symbolCapacity * intervals * window];
        _count = new int[symbolCapacity * intervals];
        _next = new int[symbolCapacity * intervals];
        _previousClose = new long[symbolCapacity * intervals];
    }

    /// <summary>How many log returns the rolling volatility covers. Default 20.</summary>
    public int Window { get; }

    /// <summary>Computes the metrics of <paramref name="candle"/> and remembers its close for the next one.</summary>
    public CandleMetrics OnCandleClosed(in Candle candle)
    {
        var open = candle.Open.ToDouble();
        var close = candle.Close.ToDouble();
        var change = open == 0 ? 0 : (close - open) / open * 100;

        var sold = candle.Volume.Mantissa - candle.TakerBuyVolume.Mantissa;
        var ratio = candle.Volume.Mantissa == 0 ? double.NaN
            : sold == 0 ? double.PositiveInfinity
            : candle.TakerBuyVolume.Mantissa / (double)sold;

        var state = (candle.SymbolId * _intervals) + candle.IntervalIndex;
        var logReturn = double.NaN;
        ref var previous = ref _previousClose[state];
        if (previous > 0 && candle.Close.Mantissa > 0)
        {
            logReturn = Math.Log(candle.Close.Mantissa / (double)previous);
            var offset = state * Window;
            _returns[offset + _next[state]] = logReturn;
            _next[state] = (_next[state] + 1) % Window;
            if (_count[state] < Window)
            {
                _count[state]++;
            }
        }

        previous = candle.Close.Mantissa;
        var volatility = StandardDeviation(_returns.AsSpan(state * Window, _count[state]));
        return new CandleMetrics(change, ratio, logReturn, volatility, _count[state]);
    }

    /// <summary>Sample standard deviation (n - 1), two-pass for accuracy; NaN for fewer than two values.</summary>
    private static double StandardDeviation(ReadOnlySpan<double> values)
    {
        if (values.Length < 2)
        {
            return double.NaN;
        }

        var mean = 0.0;
        foreach (var v in values)
        {
            mean += v;
        }

        mean /= values.Length;
        var squares = 0.0;
        foreach (var v in values)
        {
            squares += (v - mean) * (v - mean);
        }

        return Math.Sqrt(squares / (values.Length - 1));
    }
}

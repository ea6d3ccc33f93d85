using System.Globalization;

namespace LowLatency.Telemetry;

/// <summary>
/// Summary of one figure (throughput, a percentile, ...) measured over several runs of the same benchmark, so a
/// report shows the median and how far the runs disagreed rather than one lucky run.
/// </summary>
/// <param name="Runs">Number of runs.</param>
/// <param name="Median">Middle run; the average of the two middle runs for an even count.</param>
/// <param name="Min">Smallest run.</param>
/// <param name="Max">Largest run.</param>
/// <param name="Mean">Arithmetic mean of the runs.</param>
public readonly record struct RunStatistics(int Runs, double Median, double Min, double Max, double Mean)
{
    /// <summary>
    /// Full range of the runs relative to the median, in percent: (Max - Min) / |Median| · 100. 0 when every run
    /// agrees; positive infinity when the median is 0 but the runs differ.
    /// </summary>
    /// <remarks><see cref="ToString"/> prints half of it as ±, the usual way to write a range around a centre.</remarks>
    public double SpreadPercent => Max == Min ? 0 : (Max - Min) / Math.Abs(Median) * 100;

    /// <summary>Summarises per-run figures; not for the hot path (it copies and sorts them).</summary>
    /// <exception cref="ArgumentException"><paramref name="runs"/> is empty or holds a NaN or infinite figure.</exception>
    public static RunStatistics Of(ReadOnlySpan<double> runs)
    {
        if (runs.IsEmpty)
        {
            throw new ArgumentException("At least one run is needed.", nameof(runs));
        }

        double[] sorted = runs.ToArray();
        double sum = 0;
        foreach (double run in sorted)
        {
            // A NaN would sort unpredictably and poison the median; it means the run itself failed.
            if (!double.IsFinite(run))
            {
                throw new ArgumentException($"Run figures must be finite; got {run}.", nameof(runs));
            }

            sum += run;
        }

        Array.Sort(sorted);
        int middle = sorted.Length / 2;
        double median = sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
        return new RunStatistics(sorted.Length, median, sorted[0], sorted[^1], sum / sorted.Length);
    }

    /// <summary>One line for a report, e.g. "median 152.3 (min 140.1, max 160.2, spread ±6.6%)".</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"median {Median:F1} (min {Min:F1}, max {Max:F1}, spread ±{SpreadPercent / 2:F1}%)");
}

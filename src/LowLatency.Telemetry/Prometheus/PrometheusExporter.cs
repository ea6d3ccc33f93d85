using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace LowLatency.Telemetry.Prometheus;

/// <summary>
/// Collects <see cref="System.Diagnostics.Metrics"/> instruments with a <see cref="MeterListener"/> and writes them in
/// the Prometheus text exposition format 0.0.4, named as OpenTelemetry maps its names to Prometheus: dots become
/// underscores, the unit becomes a suffix (<c>s</c> → <c>_seconds</c>, <c>By</c> → <c>_bytes</c>, <c>1</c> on a gauge →
/// <c>_ratio</c>, annotations such as <c>{message}</c> are dropped), monotonic counters end in <c>_total</c>, and tags
/// become labels. Observable instruments are read at scrape time; synchronous counters and histograms are accumulated
/// as their measurements arrive (under a lock: they are not meant for the hot path, whose threads update plain fields
/// that observable instruments read).
/// </summary>
/// <remarks>
/// Histograms use fixed bucket bounds (<see cref="DefaultBounds"/>, latencies in seconds from 1 µs to 10 s, unless the
/// constructor is given others). <c>AddHistogram</c> exposes pre-aggregated <see cref="LatencyHistogram"/>s in the
/// same buckets, since <see cref="System.Diagnostics.Metrics"/> has no observable histogram. Scrapes are serialised.
/// </remarks>
public sealed class PrometheusExporter : IDisposable
{
    /// <summary>The content type of what <see cref="Write"/> produces.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Default histogram bounds: 1 µs to 10 s, 1-2.5-5 per decade (seconds).</summary>
    public static readonly double[] DefaultBounds =
    [
        1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ];

    private static readonly Dictionary<string, string> s_units = new(StringComparer.Ordinal)
    {
        ["d"] = "days", ["h"] = "hours", ["min"] = "minutes", ["s"] = "seconds", ["ms"] = "milliseconds", ["us"] = "microseconds",
        ["ns"] = "nanoseconds", ["By"] = "bytes", ["KiBy"] = "kibibytes", ["MiBy"] = "mebibytes", ["GiBy"] = "gibibytes",
        ["KBy"] = "kilobytes", ["MBy"] = "megabytes", ["GBy"] = "gigabytes", ["bit"] = "bits", ["m"] = "meters", ["V"] = "volts",
        ["A"] = "amperes", ["J"] = "joules", ["W"] = "watts", ["g"] = "grams", ["Cel"] = "celsius", ["Hz"] = "hertz", ["%"] = "percent",
    };

    private static readonly Dictionary<string, string> s_perUnits = new(StringComparer.Ordinal)
    {
        ["s"] = "second", ["m"] = "minute", ["h"] = "hour", ["d"] = "day", ["w"] = "week", ["mo"] = "month", ["y"] = "year",
    };

    private readonly MeterListener _listener = new();
    private readonly List<Metric> _metrics = [];
    private readonly double[] _bounds;
    private readonly Lock _scrape = new();

    /// <summary>Listens to every meter <paramref name="meterFilter"/> accepts (default: those named <c>LowLatency*</c>).</summary>
    /// <param name="meterFilter">Which meters to collect; default: names starting with <c>LowLatency</c>.</param>
    /// <param name="histogramBounds">Ascending upper bounds of histogram buckets; default <see cref="DefaultBounds"/>.</param>
    public PrometheusExporter(Func<Meter, bool>? meterFilter = null, double[]? histogramBounds = null)
    {
        meterFilter ??= static meter => meter.Name.StartsWith("LowLatency", StringComparison.Ordinal);
        _bounds = histogramBounds ?? DefaultBounds;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (meterFilter(instrument.Meter) && Kind(instrument) is { } kind)
            {
                var metric = new Metric(NameOf(instrument.Name, instrument.Unit, kind), instrument.Description ?? instrument.Name, kind, null);
                lock (_metrics)
                {
                    _metrics.Add(metric);
                }

                listener.EnableMeasurementEvents(instrument, metric);
            }
        };
        _listener.MeasurementsCompleted = (_, state) =>
        {
            lock (_metrics)
            {
                _metrics.Remove((Metric)state!);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, state) => ((Metric)state!).Record(instrument, value, tags, _bounds));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, state) => ((Metric)state!).Record(instrument, value, tags, _bounds));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, state) => ((Metric)state!).Record(instrument, value, tags, _bounds));
        _listener.Start();
    }

    private enum MetricKind
    {
        Counter,
        Gauge,
        Histogram,
    }

    /// <summary>
    /// Exposes the values of <paramref name="histograms"/> (read at scrape time, merged) as one Prometheus histogram in
    /// this exporter's buckets; <paramref name="toUnit"/> converts a recorded value to the unit (1e-9: ns to seconds).
    /// </summary>
    public void AddHistogram(string name, string unit, string description, Func<IEnumerable<LatencyHistogram>> histograms, double toUnit = 1)
    {
        ArgumentNullException.ThrowIfNull(histograms);
        AddLatency(name, unit, description, () => [(string.Empty, histograms())], toUnit);
    }

    /// <summary>
    /// As above, one series per value of <paramref name="label"/>: <paramref name="histograms"/> gives each label value
    /// with its histogram (e.g. one per sink).
    /// </summary>
    public void AddHistogram(string name, string unit, string description, string label, Func<IEnumerable<(string Value, LatencyHistogram Histogram)>> histograms, double toUnit = 1)
    {
        ArgumentNullException.ThrowIfNull(histograms);
        AddLatency(
            name,
            unit,
            description,
            () => histograms().Select(h => (Labels([new KeyValuePair<string, object?>(label, h.Value)]), (IEnumerable<LatencyHistogram>)[h.Histogram])),
            toUnit);
    }

    private void AddLatency(string name, string unit, string description, Func<IEnumerable<(string Labels, IEnumerable<LatencyHistogram> Histograms)>> source, double toUnit)
    {
        lock (_metrics)
        {
            _metrics.Add(new Metric(NameOf(name, unit, MetricKind.Histogram), description, MetricKind.Histogram, (source, toUnit)));
        }
    }

    /// <summary>Reads the observable instruments and writes every metric to <paramref name="output"/> (serialised).</summary>
    public void Write(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        lock (_scrape)
        {
            Metric[] metrics;
            lock (_metrics)
            {
                metrics = [.. _metrics];
            }

            foreach (var metric in metrics)
            {
                metric.BeginScrape();
            }

            _listener.RecordObservableInstruments();
            foreach (var metric in metrics.OrderBy(m => m.Name, StringComparer.Ordinal))
            {
                metric.Write(output, _bounds);
            }
        }
    }

    /// <summary>The scrape as a string (tests, diagnostics).</summary>
    public string Scrape()
    {
        var text = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        Write(text);
        return text.ToString();
    }

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();

    /// <summary>The Prometheus name of an OpenTelemetry instrument name and unit (see the class summary).</summary>
    public static string MetricName(string name, string? unit, bool counter) => NameOf(name, unit, counter ? MetricKind.Counter : MetricKind.Gauge);

    /// <summary>A label value with backslash, double quote and line feed escaped.</summary>
    public static string EscapeLabelValue(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static MetricKind? Kind(Instrument instrument)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType)
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        return definition == typeof(Counter<>) || definition == typeof(ObservableCounter<>) ? MetricKind.Counter
            : definition == typeof(Histogram<>) ? MetricKind.Histogram
            : definition == typeof(UpDownCounter<>) || definition == typeof(ObservableUpDownCounter<>) || definition == typeof(ObservableGauge<>)
                || definition == typeof(Gauge<>) ? MetricKind.Gauge
            : null;
    }

    private static string NameOf(string name, string? unit, MetricKind kind)
    {
        var result = new StringBuilder(name.Length + 16);
        foreach (var c in name)
        {
            result.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_');
        }

        if (result.Length == 0 || char.IsAsciiDigit(result[0]))
        {
            result.Insert(0, '_');
        }

        var suffix = UnitSuffix(unit, kind);
        if (suffix.Length > 0 && !result.ToString().EndsWith("_" + suffix, StringComparison.Ordinal))
        {
            result.Append('_').Append(suffix);
        }

        if (kind == MetricKind.Counter && !result.ToString().EndsWith("_total", StringComparison.Ordinal))
        {
            result.Append("_total");
        }

        return result.ToString();
    }

    private static string UnitSuffix(string? unit, MetricKind kind)
    {
        if (string.IsNullOrEmpty(unit))
        {
            return string.Empty;
        }

        if (unit == "1")
        {
            return kind == MetricKind.Gauge ? "ratio" : string.Empty;
        }

        // Annotations ({message}) carry no unit.
        var brace = unit.IndexOf('{', StringComparison.Ordinal);
        var plain = brace < 0 ? unit : unit[..brace];
        if (plain.Length == 0)
        {
            return string.Empty;
        }

        var slash = plain.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return Sanitize(s_units.GetValueOrDefault(plain, plain));
        }

        var numerator = plain[..slash];
        var denominator = plain[(slash + 1)..];
        var per = "per_" + s_perUnits.GetValueOrDefault(denominator, denominator);
        return Sanitize(numerator.Length == 0 ? per : s_units.GetValueOrDefault(numerator, numerator) + "_" + per);
    }

    private static string Sanitize(string text) => string.Create(text.Length, text, static (span, text) =>
    {
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = char.IsAsciiLetterOrDigit(text[i]) ? text[i] : '_';
        }
    });

    private static string LabelName(string key)
    {
        var name = Sanitize(key.Replace(':', '_'));
        return name.Length == 0 || char.IsAsciiDigit(name[0]) ? "_" + name : name;
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.IsEmpty)
        {
            return string.Empty;
        }

        var sorted = tags.ToArray();
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var text = new StringBuilder();
        foreach (var tag in sorted)
        {
            text.Append(text.Length == 0 ? '{' : ',').Append(LabelName(tag.Key)).Append("=\"")
                .Append(EscapeLabelValue(Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? string.Empty)).Append('"');
        }

        return text.Append('}').ToString();
    }

    /// <summary>Adds <paramref name="label"/> (already formatted, e.g. <c>le="0.5"</c>) to a label set.</summary>
    private static string WithLabel(string labels, string label) => labels.Length == 0 ? "{" + label + "}" : labels[..^1] + "," + label + "}";

    private static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    private static string EscapeHelp(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>One metric family: its series by label set.</summary>
    private sealed class Metric(string name, string help, MetricKind kind, (Func<IEnumerable<(string Labels, IEnumerable<LatencyHistogram> Histograms)>> Source, double ToUnit)? latency)
    {
        private readonly Dictionary<string, Series> _series = new(StringComparer.Ordinal);

        public string Name { get; } = name;

        public void BeginScrape()
        {
            lock (_series)
            {
                foreach (var series in _series.Values)
                {
                    series.Observed = false;
                }
            }
        }

        public void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, double[] bounds)
            where T : struct
        {
            var number = Convert.ToDouble(value, CultureInfo.InvariantCulture);
            var labels = Labels(tags);
            lock (_series)
            {
                if (!_series.TryGetValue(labels, out var series))
                {
                    _series.Add(labels, series = new Series(kind == MetricKind.Histogram ? bounds.Length : 0));
                }

                series.Observed = true;
                series.IsObservable = instrument.IsObservable;
                if (kind == MetricKind.Histogram)
                {
                    series.Record(number, bounds);
                }
                else if (instrument.IsObservable || kind == MetricKind.Gauge && instrument is not UpDownCounter<T>)
                {
                    series.Value = number; // observable: the current (cumulative) value; a Gauge: the last one
                }
                else
                {
                    series.Value += number;
                }
            }
        }

        public void Write(TextWriter output, double[] bounds)
        {
            var type = kind switch { MetricKind.Counter => "counter", MetricKind.Gauge => "gauge", _ => "histogram" };
            var family = kind == MetricKind.Counter ? Name[..^"_total".Length] : Name;
            output.Write($"# HELP {family} {EscapeHelp(help)}\n# TYPE {family} {type}\n");
            if (latency is { } source)
            {
                foreach (var (labels, histograms) in source.Source())
                {
                    WriteLatency(output, labels, histograms, source.ToUnit, bounds);
                }

                return;
            }

            lock (_series)
            {
                foreach (var (labels, series) in _series.OrderBy(s => s.Key, StringComparer.Ordinal))
                {
                    if (kind == MetricKind.Histogram)
                    {
                        WriteHistogram(output, labels, bounds, series.Buckets!, series.Count, series.Value);
                    }
                    else if (series.Observed || !series.IsObservable)
                    {
                        output.Write($"{Name}{labels} {Number(series.Value)}\n");
                    }
                }
            }
        }

        private void WriteLatency(TextWriter output, string labels, IEnumerable<LatencyHistogram> histograms, double toUnit, double[] bounds)
        {
            var scaled = new long[bounds.Length];
            for (var i = 0; i < bounds.Length; i++)
            {
                scaled[i] = (long)Math.Min(Math.Floor(bounds[i] / toUnit), long.MaxValue);
            }

            var cumulative = new long[bounds.Length];
            var scratch = new long[bounds.Length];
            long count = 0;
            double sum = 0;
            foreach (var histogram in histograms)
            {
                var seen = histogram.CumulativeCounts(scaled, scratch);
                count += seen;
                sum += histogram.Mean * seen * toUnit;
                for (var i = 0; i < bounds.Length; i++)
                {
                    cumulative[i] += scratch[i];
                }
            }

            WriteHistogram(output, labels, bounds, cumulative, count, sum);
        }

        private void WriteHistogram(TextWriter output, string labels, double[] bounds, long[] cumulative, long count, double sum)
        {
            for (var i = 0; i < bounds.Length; i++)
            {
                output.Write($"{Name}_bucket{WithLabel(labels, $"le=\"{Number(bounds[i])}\"")} {cumulative[i]}\n");
            }

            output.Write($"{Name}_bucket{WithLabel(labels, "le=\"+Inf\"")} {count}\n{Name}_sum{labels} {Number(sum)}\n{Name}_count{labels} {count}\n");
        }
    }

    /// <summary>One label set's value (counter, gauge) or buckets (histogram, cumulative at write).</summary>
    private sealed class Series(int bounds)
    {
        public long[]? Buckets { get; } = bounds == 0 ? null : new long[bounds];

        public double Value { get; set; }

        public long Count { get; private set; }

        public bool Observed { get; set; }

        public bool IsObservable { get; set; }

        public void Record(double value, double[] bounds)
        {
            for (var i = bounds.Length - 1; i >= 0 && value <= bounds[i]; i--)
            {
                Buckets![i]++; // cumulative: the value counts in every bucket whose bound it does not exceed
            }

            Count++;
            Value += value;
        }
    }
}

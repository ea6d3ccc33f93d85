using System.Diagnostics.Metrics;
using LowLatency.Telemetry;
using LowLatency.Telemetry.Prometheus;
using LowLatency.TestSupport;

namespace LowLatency.Telemetry.Tests;

public sealed class PrometheusExporterTests : IDisposable
{
    private readonly Meter _meter = new("LowLatency.Tests." + Guid.NewGuid().ToString("N"));
    private readonly PrometheusExporter _exporter;

    public PrometheusExporterTests() => _exporter = new PrometheusExporter(m => ReferenceEquals(m, _meter), [0.001, 0.01]);

    public void Dispose()
    {
        _exporter.Dispose();
        _meter.Dispose();
    }

    [Fact]
    public void Scrape_Counter_TotalSuffixHelpTypeAndSortedLabels()
    {
        var counter = _meter.CreateCounter<long>("lowlatency.kafka.source.messages", "{message}", "Messages consumed.");
        counter.Add(3, new KeyValuePair<string, object?>("topic", "raw_trades"), new KeyValuePair<string, object?>("partition", 1));
        counter.Add(4, new KeyValuePair<string, object?>("partition", 1), new KeyValuePair<string, object?>("topic", "raw_trades"));
        counter.Add(1);

        Assert.Equal(
            "# HELP lowlatency_kafka_source_messages Messages consumed.\n" +
            "# TYPE lowlatency_kafka_source_messages counter\n" +
            "lowlatency_kafka_source_messages_total 1\n" +
            "lowlatency_kafka_source_messages_total{partition=\"1\",topic=\"raw_trades\"} 7\n",
            _exporter.Scrape());
    }

    [Fact]
    public void Scrape_ObservableGauge_ReadAtScrapeTimeWithRatioSuffix()
    {
        var value = 0.25;
        _meter.CreateObservableGauge("lowlatency.pipeline.input_ring.usage", () => value, "1", "How full.");
        Assert.Equal("# HELP lowlatency_pipeline_input_ring_usage_ratio How full.\n# TYPE lowlatency_pipeline_input_ring_usage_ratio gauge\nlowlatency_pipeline_input_ring_usage_ratio 0.25\n", _exporter.Scrape());
        value = 0.5;
        Assert.Contains("lowlatency_pipeline_input_ring_usage_ratio 0.5\n", _exporter.Scrape(), StringComparison.Ordinal);
    }

    [Fact]
    public void Scrape_Histogram_CumulativeBucketsSumAndCount()
    {
        var histogram = _meter.CreateHistogram<double>("rpc.duration", "s", "Latency.");
        foreach (var v in new[] { 0.0005, 0.001, 0.005, 2.0 })
        {
            histogram.Record(v);
        }

        Assert.Equal(
            "# HELP rpc_duration_seconds Latency.\n" +
            "# TYPE rpc_duration_seconds histogram\n" +
            "rpc_duration_seconds_bucket{le=\"0.001\"} 2\n" +
            "rpc_duration_seconds_bucket{le=\"0.01\"} 3\n" +
            "rpc_duration_seconds_bucket{le=\"+Inf\"} 4\n" +
            "rpc_duration_seconds_sum 2.0065\n" +
            "rpc_duration_seconds_count 4\n",
            _exporter.Scrape());
    }

    [Fact]
    public void AddHistogram_LatencyHistogramsInNanoseconds_MergedIntoSecondBuckets()
    {
        var a = new LatencyHistogram();
        var b = new LatencyHistogram();
        a.Record(500_000);     // 0.5 ms
        b.Record(5_000_000);   // 5 ms
        b.Record(50_000_000);  // 50 ms
        _exporter.AddHistogram("lowlatency.pipeline.latency", "s", "Ingest to aggregated.", () => [a, b], toUnit: 1e-9);

        var text = _exporter.Scrape();
        Assert.Contains("lowlatency_pipeline_latency_seconds_bucket{le=\"0.001\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("lowlatency_pipeline_latency_seconds_bucket{le=\"0.01\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("lowlatency_pipeline_latency_seconds_bucket{le=\"+Inf\"} 3\n", text, StringComparison.Ordinal);
        Assert.Contains("lowlatency_pipeline_latency_seconds_count 3\n", text, StringComparison.Ordinal);
        Assert.Contains("lowlatency_pipeline_latency_seconds_sum 0.0555\n", text, StringComparison.Ordinal);
        PrometheusText.AssertValid(text);
    }

    [Fact]
    public void AddHistogram_OneHistogramPerLabelValue_OneSeriesEachUnderOneHeader()
    {
        var redis = new LatencyHistogram();
        var postgres = new LatencyHistogram();
        redis.Record(200_000);       // 0.2 ms
        postgres.Record(20_000_000); // 20 ms
        postgres.Record(30_000_000); // 30 ms
        _exporter.AddHistogram("lowlatency.sink.flush.duration", "s", "Batch writes.", "sink", () => [("redis", redis), ("postgres", postgres)], toUnit: 1e-9);

        var text = _exporter.Scrape();
        Assert.Single(text.Split('\n'), line => line.StartsWith("# TYPE lowlatency_sink_flush_duration_seconds histogram", StringComparison.Ordinal));
        Assert.Contains("lowlatency_sink_flush_duration_seconds_bucket{sink=\"redis\",le=\"0.001\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("lowlatency_sink_flush_duration_seconds_bucket{sink=\"postgres\",le=\"0.01\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("lowlatency_sink_flush_duration_seconds_count{sink=\"postgres\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("lowlatency_sink_flush_duration_seconds_count{sink=\"redis\"} 1\n", text, StringComparison.Ordinal);
        PrometheusText.AssertValid(text);
    }

    [Fact]
    public void Scrape_LabelValues_Escaped()
    {
        _meter.CreateObservableCounter("lowlatency.rejected", () => new Measurement<long>(2, new KeyValuePair<string, object?>("reason", "bad \"x\\y\"\nz")), "{message}");
        var text = _exporter.Scrape();
        Assert.Contains("lowlatency_rejected_total{reason=\"bad \\\"x\\\\y\\\"\\nz\"} 2\n", text, StringComparison.Ordinal);
        PrometheusText.AssertValid(text);
    }

    [Theory]
    [InlineData("http.server.request.duration", "s", false, "http_server_request_duration_seconds")]
    [InlineData("process.memory.usage", "By", false, "process_memory_usage_bytes")]
    [InlineData("net.io", "By", true, "net_io_bytes_total")]
    [InlineData("lowlatency.messages", "{message}", true, "lowlatency_messages_total")]
    [InlineData("requests.total", "", true, "requests_total")]
    [InlineData("cpu.utilization", "1", false, "cpu_utilization_ratio")]
    [InlineData("throughput", "By/s", false, "throughput_bytes_per_second")]
    [InlineData("gc.pause.time_seconds", "s", true, "gc_pause_time_seconds_total")]
    [InlineData("3d-thing", "ms", false, "_3d_thing_milliseconds")]
    public void MetricName_OpenTelemetryUnits_PrometheusSuffixes(string name, string unit, bool counter, string expected) =>
        Assert.Equal(expected, PrometheusExporter.MetricName(name, unit, counter));

    [Fact]
    public void Scrape_EveryKind_ValidExpositionSyntax()
    {
        _meter.CreateCounter<int>("a.count", "{x}").Add(1, new KeyValuePair<string, object?>("k.e-y", "v"));
        _meter.CreateUpDownCounter<long>("a.level", "By").Add(-5);
        _meter.CreateHistogram<long>("a.size", "By").Record(3, new KeyValuePair<string, object?>("q", "1"));
        _meter.CreateObservableGauge("a.temp", () => double.NaN, "Cel", "help with \\ and\nnewline");
        var text = _exporter.Scrape();
        PrometheusText.AssertValid(text);
        Assert.Contains("a_count_total{k_e_y=\"v\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("a_level_bytes -5\n", text, StringComparison.Ordinal);
        Assert.Contains("a_size_bytes_bucket{q=\"1\",le=\"+Inf\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("# HELP a_temp_celsius help with \\\\ and\\nnewline\n", text, StringComparison.Ordinal);
    }
}

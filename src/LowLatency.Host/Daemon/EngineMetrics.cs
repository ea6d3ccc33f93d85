using System.Diagnostics.Metrics;
using LowLatency.Connectors.Binance;
using LowLatency.Engine;
using LowLatency.Kafka.Connector;
using LowLatency.Kafka.Sink;
using LowLatency.Kafka.Source;
using LowLatency.Sinks.Batching;
using LowLatency.Telemetry.Prometheus;

namespace LowLatency.Host.Daemon;

/// <summary>
/// The daemon's metrics: one <see cref="Meter"/> named <c>LowLatency</c> whose observable instruments read, at scrape
/// time, the plain counters the source, pipeline, shards and sinks already keep (nothing is added to the hot path), and
/// the Prometheus exporter that serves them.
/// </summary>
/// <remarks>
/// The receive→aggregated latency is exposed as a Prometheus histogram built from the shards' log-linear
/// <see cref="Telemetry.LatencyHistogram"/>s (cumulative since start), not as p50/p99 gauges: cumulative buckets let
/// Prometheus compute quantiles over any window with <c>histogram_quantile(rate(...))</c> and aggregate instances, which
/// since-start percentiles cannot. The meter is scoped to this instance so that two daemons in one process (tests) do
/// not export each other's instruments.
/// </remarks>
public sealed class EngineMetrics : IDisposable
{
    private readonly Meter _meter;

    /// <summary>Creates the instruments over a Kafka-fed daemon: <paramref name="source"/>, <paramref name="pipeline"/> and <paramref name="sink"/>.</summary>
    public EngineMetrics(KafkaSource source, MarketDataPipeline pipeline, KafkaSink sink)
        : this()
    {
        AddPipeline(pipeline);
        AddKafka(source, sink);
    }

    /// <summary>Creates the instruments over a live daemon: the Binance WebSocket client's <paramref name="live"/> counters and <paramref name="pipeline"/>.</summary>
    public EngineMetrics(BinanceStreamCounters live, MarketDataPipeline pipeline)
        : this()
    {
        AddPipeline(pipeline);
        AddBinance(live);
    }

    /// <summary>Creates the instruments of the connector role: the Binance client's <paramref name="live"/> counters and the <paramref name="producer"/>.</summary>
    public EngineMetrics(BinanceStreamCounters live, RawTopicProducer producer)
        : this()
    {
        ArgumentNullException.ThrowIfNull(producer);
        AddBinance(live);
        _meter.CreateObservableCounter("lowlatency.connector.produced", () => producer.Produced, "{frame}", "Frames handed to the producer.");
        _meter.CreateObservableCounter("lowlatency.connector.delivered", () => producer.Delivered, "{frame}", "Frames the brokers acknowledged.");
        _meter.CreateObservableCounter("lowlatency.connector.failed", () => producer.Failed, "{frame}", "Frames whose delivery failed for good.");
        _meter.CreateObservableCounter("lowlatency.connector.rejected", () => producer.Rejected, "{frame}", "Frames the producer refused at once (too large, unknown topic).");
        _meter.CreateObservableCounter("lowlatency.connector.unrouted", () => producer.Unrouted, "{frame}", "Frames of streams no raw topic takes (depth).");
        _meter.CreateObservableCounter("lowlatency.connector.buffer_full_waits", () => producer.Waits, "{wait}", "Times the socket readers waited because the producer's buffer was full.");
        _meter.CreateObservableGauge("lowlatency.connector.in_flight", () => producer.InFlight, "{frame}", "Frames buffered, not yet acknowledged.");
    }

    /// <summary>Adds the batching sinks' instruments, one series per sink (label <c>sink</c>).</summary>
    public void AddSinks(IReadOnlyList<IBatchingSink> sinks)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        if (sinks.Count == 0)
        {
            return;
        }

        IEnumerable<Measurement<long>> Each(Func<SinkCounters, long> read) =>
            sinks.Select(sink => new Measurement<long>(read(sink.Counters), new KeyValuePair<string, object?>("sink", sink.Name)));
        IEnumerable<Measurement<double>> EachSeconds(Func<SinkCounters, long> ticks) =>
            sinks.Select(sink => new Measurement<double>((double)ticks(sink.Counters) / System.Diagnostics.Stopwatch.Frequency, new KeyValuePair<string, object?>("sink", sink.Name)));

        _meter.CreateObservableCounter("lowlatency.sink.batches", () => Each(c => c.Batches), "{batch}", "Batches handed to the store's writer.");
        _meter.CreateObservableCounter("lowlatency.sink.events_written", () => Each(c => c.EventsWritten), "{event}", "Events the store has durably (replayed spill included).");
        _meter.CreateObservableGauge("lowlatency.sink.events_in_flight", () => Each(c => c.EventsInFlight), "{event}", "Events in batches being written now (queue depth).");
        _meter.CreateObservableGauge("lowlatency.sink.last_batch_size", () => Each(c => c.LastBatchSize), "{event}", "Events in the last batch handed to the writer.");
        _meter.CreateObservableCounter("lowlatency.sink.flush_seconds", () => EachSeconds(c => c.FlushLatency.TotalTicks), "s", "Time spent in successful batch writes (with flush_count: the mean flush latency).");
        _meter.CreateObservableCounter("lowlatency.sink.flush_count", () => Each(c => c.FlushLatency.Count), "{batch}", "Successful batch writes.");
        Exporter.AddHistogram(
            "lowlatency.sink.flush.duration",
            "s",
            "Successful batch writes by duration, hand-off to the store's acknowledgement (retries included).",
            "sink",
            () => sinks.Select(sink => (sink.Name, sink.Counters.FlushLatencyNs)),
            toUnit: 1e-9);
        _meter.CreateObservableGauge("lowlatency.sink.flush_max_seconds", () => EachSeconds(c => c.FlushLatency.MaxTicks), "s", "The longest successful batch write since start.");
        _meter.CreateObservableCounter("lowlatency.sink.retries", () => Each(c => c.Retries), "{retry}", "Transient write failures retried.");
        _meter.CreateObservableCounter("lowlatency.sink.failures", () => Each(c => c.Failures), "{batch}", "Batches that failed for good (kept in the failed-batches file).");
        _meter.CreateObservableCounter("lowlatency.sink.backpressure_waits", () => Each(c => c.Backpressure.Waits), "{wait}", "Times the sink's ring thread waited for a free batch slot.");
        _meter.CreateObservableCounter("lowlatency.sink.spilled_bytes", () => Each(c => c.Spilled.Bytes), "By", "Bytes spilled to the journal.");
        _meter.CreateObservableCounter("lowlatency.sink.replayed_events", () => Each(c => c.Replayed), "{event}", "Spilled events written into the store later.");
    }

    private void AddBinance(BinanceStreamCounters live)
    {
        ArgumentNullException.ThrowIfNull(live);
        _meter.CreateObservableCounter("lowlatency.binance.frames_received", () => live.FramesReceived, "{frame}", "Frames received over every connection (twins' copies included).");
        _meter.CreateObservableCounter("lowlatency.binance.frames_delivered", () => live.Delivered, "{frame}", "Frames delivered to the pipeline, each once.");
        _meter.CreateObservableCounter("lowlatency.binance.duplicates", () => live.Duplicates, "{frame}", "Copies dropped: the twin connection's, or the overlap of a rotation.");
        _meter.CreateObservableCounter("lowlatency.binance.held_back", () => live.HeldBack, "{frame}", "Frames that waited for a lagging twin connection to fill the hole below them.");
        _meter.CreateObservableGauge("lowlatency.binance.held_now", () => live.HeldNow, "{frame}", "Frames waiting in the reorder buffer now.");
        _meter.CreateObservableCounter("lowlatency.binance.hold_overflows", () => live.HoldOverflows, "{gap}", "Holes reported early because the reorder buffer was full.");
        _meter.CreateObservableCounter("lowlatency.binance.gaps", () => live.Gaps, "{gap}", "Id jumps the exchange left (missing trades, aggregate trades or depth updates).");
        _meter.CreateObservableCounter("lowlatency.binance.missing_ids", () => live.MissingIds, "{id}", "Ids missing in those gaps.");
        _meter.CreateObservableCounter("lowlatency.binance.malformed", () => live.Malformed, "{frame}", "Frames that were not a recognisable combined-stream message.");
        _meter.CreateObservableCounter("lowlatency.binance.oversized", () => live.Oversized, "{frame}", "Frames above the size limit, skipped without buffering.");
        _meter.CreateObservableCounter("lowlatency.binance.reconnects", () => live.Reconnects, "{connection}", "Connections opened again after a drop.");
        _meter.CreateObservableCounter("lowlatency.binance.rotations", () => live.Rotations, "{connection}", "Connections replaced before the 24 h limit.");
        _meter.CreateObservableCounter("lowlatency.binance.server_shutdowns", () => live.ServerShutdowns, "{event}", "serverShutdown events received.");
        _meter.CreateObservableGauge("lowlatency.binance.connections", () => live.OpenConnections, "{connection}", "Connections open now.");
    }

    private EngineMetrics()
    {
        _meter = new Meter(new MeterOptions("LowLatency") { Scope = this });
        Exporter = new PrometheusExporter(meter => meter.Name.StartsWith("LowLatency", StringComparison.Ordinal) && (meter.Scope is null || ReferenceEquals(meter.Scope, this)));
    }

    private void AddPipeline(MarketDataPipeline pipeline)
    {        _meter.CreateObservableCounter("lowlatency.pipeline.rejected", () => Rejected(pipeline), "{message}", "Frames the decoders rejected, by status and reason.");
        _meter.CreateObservableGauge("lowlatency.pipeline.input_ring.usage", () => pipeline.InputOccupancy, "1", "How full the input ring is.");
        _meter.CreateObservableGauge("lowlatency.pipeline.output_ring.usage", () => pipeline.OutputOccupancy, "1", "How full the output ring is.");
        _meter.CreateObservableCounter("lowlatency.aggregation.candles_closed", () => SumShards(pipeline, static (c, _) => c.CandlesClosed), "{candle}", "Candles closed.");
        _meter.CreateObservableCounter("lowlatency.aggregation.alerts", () => SumShards(pipeline, static (c, _) => c.Alerts), "{alert}", "Alerts raised.");
        _meter.CreateObservableCounter("lowlatency.aggregation.too_late_trades", () => SumShards(pipeline, static (c, _) => c.TooLateTrades), "{trade}", "Trades too late for their candle.");
        _meter.CreateObservableCounter("lowlatency.aggregation.trade_id_gaps", () => SumShards(pipeline, TradeIdGaps), "{gap}", "Gaps in the trade ids of a symbol.");
        Exporter.AddHistogram(
            "lowlatency.pipeline.ingest_to_aggregated.duration",
            "s",
            "Source took the frame to its shard finished the event (1 event in 8 sampled).",
            () => pipeline.Shards.Select(s => s.Handler.Counters.IngestToAggregatedNs),
            toUnit: 1e-9);
    }

    private void AddKafka(KafkaSource source, KafkaSink sink)
    {
        _meter.CreateObservableCounter("lowlatency.kafka.source.messages", () => ByTopic(source, source.MessagesOf), "{message}", "Messages consumed, by topic.");
        _meter.CreateObservableGauge("lowlatency.kafka.source.lag", () => ByTopic(source, source.LagOf), "{message}", "Consumer lag (high watermark - position) over the assigned partitions, by topic.");
        _meter.CreateObservableCounter("lowlatency.kafka.source.dead_lettered", () => source.DeadLettered, "{message}", "Rejected messages sent to the dead-letter topic.");
        _meter.CreateObservableCounter("lowlatency.kafka.source.pauses", () => source.Pauses, "{pause}", "Times the partitions were paused because the input ring was full.");
        _meter.CreateObservableCounter("lowlatency.kafka.source.redelivered", () => source.Redelivered, "{message}", "Messages librdkafka delivered again within one assignment (dropped: already published).");
        _meter.CreateObservableCounter("lowlatency.kafka.source.rewinds", () => source.Rewinds, "{seek}", "Times the source sought a partition back because offsets were skipped.");
        _meter.CreateObservableCounter("lowlatency.kafka.source.offset_gaps", () => source.OffsetGaps, "{gap}", "Times reading went on past offsets that did not come back (retention, compaction, transaction markers).");
        _meter.CreateObservableGauge("lowlatency.kafka.source.paused", () => source.IsPaused ? 1 : 0, "{partition_set}", "1 while the partitions are paused.");
        _meter.CreateObservableCounter("lowlatency.kafka.source.commits", () => source.Commits, "{commit}", "Completed commit marks whose offsets were stored.");
        _meter.CreateObservableGauge("lowlatency.kafka.source.assigned_partitions", () => source.AssignedPartitions, "{partition}", "Partitions assigned to this consumer.");
        _meter.CreateObservableCounter("lowlatency.kafka.sink.produced", () => sink.Produced, "{message}", "Output messages handed to the producer.");
        _meter.CreateObservableCounter("lowlatency.kafka.sink.delivered", () => sink.Delivered, "{message}", "Output messages the brokers acknowledged.");
        _meter.CreateObservableCounter("lowlatency.kafka.sink.failed", () => sink.Failed, "{message}", "Output messages whose delivery failed for good.");
    }

    /// <summary>The exporter that serves these instruments (<c>/metrics</c>).</summary>
    public PrometheusExporter Exporter { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Exporter.Dispose();
        _meter.Dispose();
    }

    private static IEnumerable<Measurement<long>> ByTopic(KafkaSource source, Func<int, long> value)
    {
        var topics = source.Topics;
        for (var i = 0; i < topics.Count; i++)
        {
            var v = value(i);
            if (v != 0 || i < topics.Count - 1)
            {
                yield return new Measurement<long>(v, new KeyValuePair<string, object?>("topic", topics[i])); // "(other)" only once seen
            }
        }
    }

    private static IEnumerable<Measurement<long>> Rejected(MarketDataPipeline pipeline)
    {
        foreach (var rejection in pipeline.Rejections.ToArray())
        {
            yield return new Measurement<long>(
                rejection.Count, new KeyValuePair<string, object?>("status", rejection.Status.ToString()), new KeyValuePair<string, object?>("reason", rejection.Reason));
        }
    }

    private static long SumShards(MarketDataPipeline pipeline, Func<Aggregation.ShardCounters, Aggregation.CandleAggregator, long> value)
    {
        long sum = 0;
        foreach (var shard in pipeline.Shards)
        {
            sum += value(shard.Handler.Counters, shard.Handler.Candles);
        }

        return sum;
    }

    private static long TradeIdGaps(Aggregation.ShardCounters counters, Aggregation.CandleAggregator candles)
    {
        long sum = 0;
        for (var symbol = 0; symbol < candles.Options.SymbolCapacity; symbol++)
        {
            sum += candles.Gaps(symbol);
        }

        return sum;
    }
}

using System.Diagnostics;
using LowLatency.Aggregation;
using LowLatency.Connectors.Replay;
using LowLatency.Engine;
using LowLatency.Market;
using LowLatency.Perf.Harness;
using LowLatency.Ring;
using LowLatency.Telemetry;

namespace LowLatency.Perf.Scenarios.Replay;

/// <summary>The market-data scenarios: the path <c>lowlatency replay</c> runs, measured end to end.</summary>
internal static class ReplayScenarios
{
    /// <summary>The group name on the command line.</summary>
    public const string Category = "replay";

    public static IEnumerable<IScenario> All() => [new ReplayThroughputScenario(), new ReplayLatencyScenario()];
}

/// <summary>
/// <c>replay-generated</c>: frames made by the deterministic generator beforehand (outside the measurement, so the
/// generator's cost is not counted) are decoded into the input ring by a pinned source thread, aggregated by the
/// pinned shards (cores - 1) into 5 candle intervals, tickers and alerts, and drained through the output ring to a
/// counting handler. Measured: frames/s from the first publish until both rings are drained. Verified: no frame
/// rejected, and the shards saw exactly the trades the generator wrote.
/// </summary>
internal sealed class ReplayThroughputScenario : IScenario
{
    /// <summary>Frames per run at most (about 250 bytes each, all held in memory).</summary>
    private const long MaxFrames = 2_000_000;

    internal static GeneratedFrames? s_frames;

    public string Name => "replay-generated";

    public ScenarioKind Kind => ScenarioKind.Throughput;

    public string Category => ReplayScenarios.Category;

    public string Description =>
        "Pre-generated Binance frames (50 symbols) -> decode into the input ring -> shards (cores - 1) -> output ring -> counter; " +
        "min(--events, 2,000,000) frames per run.";

    public string? Baseline => null;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var frames = GeneratedFrames.Get(ref s_frames, Math.Min(context.Options.Events, MaxFrames));
        var symbols = new SymbolTable(4096);
        var options = new MarketDataPipelineOptions { Pin = context.Options.Pin };
        using var pipeline = new MarketDataPipeline(symbols, options);
        var counts = new long[4];
        pipeline.Output.HandleEventsWith(new CountingHandler(counts), context.ProcessorOptions("sink-counter", cpu: null));
        pipeline.Start();

        var gate = new StartGate();
        var source = context.StartThread("source", context.Options.Pin ? 0 : null, () =>
        {
            gate.Wait();
            var buffer = frames.Bytes;
            for (var i = 0; i < frames.Count; i++)
            {
                var start = frames.Offsets[i];
                pipeline.Publish(buffer.AsSpan(start, frames.Offsets[i + 1] - start), frames.EventTimes[i], i);
            }
        });

        var window = context.BeginMeasurement();
        gate.Open();
        if (!source.Join(ScenarioContext.Timeout(frames.Count, nanosecondsPerEvent: 20_000)))
        {
            throw new RunAbortedException("the replay source did not finish.");
        }

        var drained = pipeline.Complete(TimeSpan.FromMinutes(1));
        var measurement = window.End(Stopwatch.GetTimestamp());

        if (!drained)
        {
            throw new RunAbortedException("the pipeline did not drain within a minute.");
        }

        var trades = pipeline.Shards.Sum(s => s.Handler.Counters.EventsByKind[(int)MarketEventKind.Trade]);
        if (pipeline.Failures != 0 || pipeline.Messages != frames.Count || trades != frames.Trades)
        {
            throw new VerificationException(
                $"published {pipeline.Messages} of {frames.Count} frames, {pipeline.Failures} rejected; shards saw {trades} trades, the generator wrote {frames.Trades}.");
        }

        return context.CreateResult(frames.Count, measurement, options.BusySpin ? "busy-spin" : "yielding", options.RingSize);
    }

    /// <summary>Counts output events by kind (candles, alerts, tickers).</summary>
    internal readonly struct CountingHandler(long[] counts) : IValueEventHandler<OutputEvent>
    {
        public void OnEvent(ref OutputEvent data, long sequence, bool endOfBatch) => counts[(int)data.Kind]++;
    }

    /// <summary>Frames generated once per process and reused by every run.</summary>
    internal sealed class GeneratedFrames
    {
        public required byte[] Bytes { get; init; }

        public required int[] Offsets { get; init; }

        public required long[] EventTimes { get; init; }

        public required long Trades { get; init; }

        public int Count => EventTimes.Length;

        public static GeneratedFrames Get(ref GeneratedFrames? cache, long count)
        {
            if (cache is { } cached && cached.Count == count)
            {
                return cached;
            }

            var generator = new MarketDataGenerator();
            var frame = new byte[generator.MaxFrameBytes];
            var bytes = new MemoryStream();
            var offsets = new int[count + 1];
            var times = new long[count];
            long trades = 0;
            for (var i = 0; i < count; i++)
            {
                offsets[i] = (int)bytes.Length;
                var length = generator.WriteNext(frame, out times[i]);
                bytes.Write(frame, 0, length);
                trades += generator.LastKind == GeneratedFrameKind.Trade ? 1 : 0;
            }

            offsets[count] = (int)bytes.Length;
            return cache = new GeneratedFrames { Bytes = bytes.ToArray(), Offsets = offsets, EventTimes = times, Trades = trades };
        }
    }
}

/// <summary>
/// <c>replay-latency-paced</c>: the same path at a steady 100,000 frames/s (one every 10 µs, busy-waited on the pinned
/// source), with the shard busy-spinning on its own core. Measured: ingest (the source takes the frame) to aggregated
/// (the shard finished it), for one event in <see cref="MarketDataShard{TOutput}.LatencySampleEvery"/>. Warm-up runs
/// come first (the harness's <c>--warmup</c>), so JIT compilation is not in the figures. min(--latency-events, 300,000)
/// frames per run.
/// </summary>
internal sealed class ReplayLatencyScenario : IScenario
{
    private const long PaceNanoseconds = 10_000;
    private const long MaxFrames = 300_000;

    public string Name => "replay-latency-paced";

    public ScenarioKind Kind => ScenarioKind.Latency;

    public string Category => ReplayScenarios.Category;

    public string Description =>
        "Pre-generated Binance frames at 100,000/s (paced source, busy-spinning shard) -> ingest-to-aggregated latency, 1 event in 8 timed.";

    public string? Baseline => null;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var frames = ReplayThroughputScenario.GeneratedFrames.Get(ref ReplayThroughputScenario.s_frames, Math.Min(context.Options.LatencyEvents, MaxFrames));
        var symbols = new SymbolTable(4096);
        var options = new MarketDataPipelineOptions { Pin = context.Options.Pin, BusySpin = true };
        using var pipeline = new MarketDataPipeline(symbols, options);
        pipeline.Output.HandleEventsWith(new ReplayThroughputScenario.CountingHandler(new long[4]), context.ProcessorOptions("sink-counter", cpu: null));
        pipeline.Start();

        var paceTicks = Timing.NanosecondsToTicks(PaceNanoseconds);
        var gate = new StartGate();
        var source = context.StartThread("source", context.Options.Pin ? 0 : null, () =>
        {
            gate.Wait();
            var buffer = frames.Bytes;
            var due = Stopwatch.GetTimestamp();
            for (var i = 0; i < frames.Count; i++)
            {
                while (Stopwatch.GetTimestamp() < due)
                {
                    // Busy-wait for the frame's turn: a sleep would be far coarser than 10 µs.
                }

                var start = frames.Offsets[i];
                pipeline.Publish(buffer.AsSpan(start, frames.Offsets[i + 1] - start), frames.EventTimes[i], i);
                due += paceTicks;
            }
        });

        var window = context.BeginMeasurement();
        gate.Open();
        if (!source.Join(ScenarioContext.Timeout(frames.Count, nanosecondsPerEvent: PaceNanoseconds + 20_000)))
        {
            throw new RunAbortedException("the paced source did not finish.");
        }

        var drained = pipeline.Complete(TimeSpan.FromMinutes(1));
        var measurement = window.End(Stopwatch.GetTimestamp());
        if (!drained || pipeline.Failures != 0 || pipeline.Messages != frames.Count)
        {
            throw new VerificationException($"published {pipeline.Messages} of {frames.Count} frames, {pipeline.Failures} rejected, drained: {drained}.");
        }

        var latency = new LatencyHistogram(highestTrackableValue: 60_000_000_000);
        foreach (var shard in pipeline.Shards)
        {
            latency.Add(shard.Handler.Counters.IngestToAggregatedNs);
        }

        return context.CreateResult(frames.Count, measurement, "busy-spin shard, paced source (100,000 frames/s)", options.RingSize, latency.Summarize());
    }
}

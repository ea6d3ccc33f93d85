using System.Diagnostics;
using System.Globalization;
using LowLatency.Aggregation;
using LowLatency.Codecs.Binance;
using LowLatency.Connectors.Replay;
using LowLatency.Engine;
using LowLatency.Market;
using LowLatency.Parquet;
using LowLatency.Parquet.Datasets;
using LowLatency.Ring;
using LowLatency.Sinks.Files;
using LowLatency.Telemetry;

namespace LowLatency.Host.Replay;

/// <summary>
/// <c>lowlatency replay</c>: recorded sessions (or the generator) → decode in place into the input ring → N pinned
/// aggregation shards → the output ring → JSON-lines files; a progress line while it runs and a summary at the end.
/// </summary>
public static class ReplayCommand
{
    public static int Run(ReadOnlySpan<string> args, TextWriter console)
    {
        ArgumentNullException.ThrowIfNull(console);
        ReplayCommandOptions options;
        try
        {
            options = ReplayCommandOptions.Parse(args);
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(ReplayCommandOptions.Usage);
            return 2;
        }

        List<string>? parquetFiles = null;
        if (options.Files.Any(ParquetDataset.IsParquetPath))
        {
            try
            {
                if (!options.Files.All(ParquetDataset.IsParquetPath))
                {
                    throw new ParquetFormatException("Replay Parquet files or recordings, not both at once.");
                }

                parquetFiles = ParquetDataset.Files(options.Files);
                if (ParquetDataset.Detect(parquetFiles) == ParquetDatasetKind.Candles)
                {
                    return ReplayStoredCandles(parquetFiles, options, console);
                }
            }
            catch (Exception e) when (e is ParquetFormatException or IOException)
            {
                Console.Error.WriteLine($"lowlatency replay: {e.Message}");
                return 1;
            }
        }

        var symbols = new SymbolTable(4096);
        using var pipeline = new MarketDataPipeline(symbols, new MarketDataPipelineOptions
        {
            Shards = options.Shards,
            RingSize = options.RingSize,
            BusySpin = options.BusySpin,
            Pin = options.Pin,
            Candles = new CandleAggregatorOptions { Intervals = options.Intervals, AllowedLateness = options.Lateness, SymbolCapacity = symbols.Capacity },
        });
        using var writer = new OutputFileWriter(options.OutputDirectory, symbols, options.Format);
        var files = pipeline.Output.HandleEventsWith(new OutputFileHandler(writer), new EventProcessorOptions { ThreadName = "sink-files" });
        if (options.PrintAlerts)
        {
            pipeline.Output.After(files).HandleEventsWith(new ConsoleAlertHandler(console, symbols), new EventProcessorOptions { ThreadName = "sink-console" });
        }

        pipeline.Start();
        if (options.Pin)
        {
            ThreadAffinity.PinCurrentThread(0);
        }

        var ingest = new Progress(pipeline, console);
        var gcBefore = GcCounts.Capture();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.GetTimestamp();
        var readerErrors = 0L;

        if (options.Files.Count == 0)
        {
            var generator = new MarketDataGenerator(new MarketDataGeneratorOptions { Seed = options.Seed, SymbolCount = options.Symbols });
            var frame = new byte[generator.MaxFrameBytes];
            for (long i = 0; i < options.Generate; i++)
            {
                var length = generator.WriteNext(frame, out var eventTimeNs);
                pipeline.Publish(frame.AsSpan(0, length), eventTimeNs, i);
                ingest.Tick();
            }
        }
        else
        {
            // Several files are merged by receive time, so sessions recorded side by side replay as they were received.
            using var pacer = new ReplayPacer(
                () => parquetFiles is not null ? new ParquetTradeFrames(parquetFiles)
                    : options.Files.Count == 1 ? RecordingReader.Open(options.Files[0]) : MergedFrameSource.Open(options.Files),
                new ReplayOptions { Speed = options.Speed, Loops = options.Loops });
            try
            {
                while (pacer.TryRead(out var frame))
                {
                    pipeline.Publish(frame.Payload.Span, frame.ReceiveTimeNs, frame.LineNumber);
                    ingest.Tick();
                }
            }
            catch (Exception e) when (parquetFiles is not null && e is ParquetFormatException or IOException)
            {
                // A Parquet file damaged past its footer (a row group, a page) is found only when the merge reaches it.
                pipeline.Complete(TimeSpan.FromSeconds(10));
                Console.Error.WriteLine($"lowlatency replay: {e.Message}");
                return 1;
            }

            readerErrors += pacer.ErrorLines;
        }

        var drained = pipeline.Complete(TimeSpan.FromMinutes(1));
        var elapsed = Stopwatch.GetElapsedTime(started);
        writer.Flush(durable: true);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var gc = GcCounts.Capture() - gcBefore;
        ingest.EndProgress();

        PrintSummary(console, options, pipeline, writer, elapsed, allocated, gc, readerErrors, symbols.Count);
        if (!drained)
        {
            console.WriteLine("error: the pipeline did not drain within a minute; results are incomplete.");
            return 1;
        }

        return 0;
    }

    /// <summary>
    /// Stored candles (the cold tier's files) written to the output files as they are, in the order they closed: the
    /// candles the engine emitted, back from the cold tier (a Parquet file holds no 1-minute log return, so that field is empty).
    /// </summary>
    private static int ReplayStoredCandles(List<string> files, ReplayCommandOptions options, TextWriter console)
    {
        var symbols = new SymbolTable(4096);
        var started = Stopwatch.GetTimestamp();
        using var writer = new OutputFileWriter(options.OutputDirectory, symbols, options.Format);
        using (var reader = new ParquetCandleReader(files))
        {
            while (reader.TryRead(symbols, out var candle))
            {
                writer.Write(in candle);
            }
        }

        writer.Flush(durable: true);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var inv = CultureInfo.InvariantCulture;
        console.WriteLine(string.Create(inv, $"replay   {files.Count} Parquet file(s) of candles; {symbols.Count} symbols"));
        console.WriteLine(string.Create(inv, $"output   {writer.Lines.Candles:N0} candles in {elapsed.TotalSeconds:0.000} s to {Path.GetFullPath(options.OutputDirectory)}"));
        return 0;
    }

    private static void PrintSummary(
        TextWriter console,
        ReplayCommandOptions options,
        MarketDataPipeline pipeline,
        OutputFileWriter writer,
        TimeSpan elapsed,
        long allocated,
        GcCounts gc,
        long readerErrors,
        int symbolCount)
    {
        var inv = CultureInfo.InvariantCulture;
        var wait = options.BusySpin ? "busy-spin" : "yielding";
        var source = options.Files.Count == 0 ? $"generator ({options.Symbols} symbols, seed {options.Seed})" : string.Join(", ", options.Files);
        console.WriteLine(string.Create(inv, $"replay   {source}; {pipeline.Shards.Count} shard(s) ({wait}); intervals {string.Join(",", options.Intervals.Select(FormatDuration))}; lateness {options.Lateness.TotalMilliseconds:0} ms"));
        console.WriteLine(string.Create(inv, $"messages {pipeline.Messages:N0} in {elapsed.TotalSeconds:0.000} s = {pipeline.Messages / elapsed.TotalSeconds:N0} msg/s ({pipeline.Events:N0} ring events); {symbolCount} symbols"));

        var byKind = new long[Enum.GetValues<MarketEventKind>().Length];
        long notOwned = 0, tooLate = 0, candles = 0, alerts = 0, gaps = 0, missing = 0;
        var latency = new LatencyHistogram(highestTrackableValue: 60_000_000_000);
        foreach (var shard in pipeline.Shards)
        {
            ref var handler = ref shard.Handler;
            for (var k = 0; k < byKind.Length; k++)
            {
                byKind[k] += handler.Counters.EventsByKind[k];
            }

            latency.Add(handler.Counters.IngestToAggregatedNs);
            notOwned += handler.Counters.NotOwned;
            tooLate += handler.Counters.TooLateTrades;
            candles += handler.Counters.CandlesClosed;
            alerts += handler.Counters.Alerts;
            for (var s = 0; s < symbolCount; s++)
            {
                gaps += handler.Candles.Gaps(s);
                missing += handler.Candles.MissingTrades(s);
            }
        }

        console.WriteLine("by kind  " + string.Join(", ", Enum.GetValues<MarketEventKind>()
            .Where(k => byKind[(int)k] > 0)
            .Select(k => string.Create(inv, $"{k} {byKind[(int)k]:N0}"))));
        console.WriteLine(string.Create(inv, $"rejected {pipeline.Failures:N0} frame(s) by the decoder{pipeline.DescribeFailures()}; {readerErrors:N0} unreadable line(s)"));
        console.WriteLine(string.Create(inv, $"late     {tooLate:N0} trade(s) beyond the allowed lateness (counted, not applied); trade-id gaps {gaps:N0} ({missing:N0} ids missing)"));
        var l = latency.Summarize();
        console.WriteLine(string.Create(inv, $"latency  ingest -> aggregated, µs (1 event in {MarketDataShard<RingShardOutput>.LatencySampleEvery}, {l.Count:N0} samples): p50 {l.P50 / 1e3:0.0}, p90 {l.P90 / 1e3:0.0}, p99 {l.P99 / 1e3:0.0}, p99.9 {l.P999 / 1e3:0.0}, max {l.Max / 1e3:0.0}{(options.Speed == 0 ? " (at max speed this includes queueing behind the backlog)" : string.Empty)}"));
        var (candleLines, alertLines, tickerLines) = writer.Lines;
        console.WriteLine(string.Create(inv, $"output   {candles:N0} candles closed, {alerts:N0} alerts; files in {Path.GetFullPath(options.OutputDirectory)}: {candleLines:N0} candle, {alertLines:N0} alert, {tickerLines:N0} ticker lines"));
        console.WriteLine(string.Create(inv, $"memory   GC {gc}; {allocated:N0} bytes allocated in all ({(double)allocated / Math.Max(1, pipeline.Messages):0.00} B/message, start-up and output formatting included)"));
    }

    /// <summary>Prints alerts as they arrive (one line each; the console is the edge, so a string per alert is fine).</summary>
    private readonly struct ConsoleAlertHandler(TextWriter console, SymbolTable symbols) : IValueEventHandler<OutputEvent>
    {
        public void OnEvent(ref OutputEvent data, long sequence, bool endOfBatch)
        {
            if (data.Kind != OutputKind.Alert)
            {
                return;
            }

            ref var a = ref data.Alert;
            var what = a.Kind switch
            {
                AlertKind.WhaleTrade => "whale trade, notional",
                AlertKind.VolumeSpike => "volume spike, 1m quote volume",
                _ => "price spike, 1m move %",
            };
            var time = DateTimeOffset.FromUnixTimeMilliseconds(a.TimeNs / 1_000_000).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
            console.WriteLine($"ALERT    {time} {symbols.GetName(a.SymbolId)} {what} {FixedPoint.ToString(a.Value)} > {FixedPoint.ToString(a.Threshold)} at {a.Price}");
        }
    }

    /// <summary>The shortest of <c>1d</c>, <c>1h</c>, <c>1m</c>, <c>1s</c>, <c>500ms</c> that states the duration exactly.</summary>
    private static string FormatDuration(TimeSpan d) =>
        d.Ticks % TimeSpan.TicksPerDay == 0 ? $"{d.Ticks / TimeSpan.TicksPerDay}d"
        : d.Ticks % TimeSpan.TicksPerHour == 0 ? $"{d.Ticks / TimeSpan.TicksPerHour}h"
        : d.Ticks % TimeSpan.TicksPerMinute == 0 ? $"{d.Ticks / TimeSpan.TicksPerMinute}m"
        : d.Ticks % TimeSpan.TicksPerSecond == 0 ? $"{d.Ticks / TimeSpan.TicksPerSecond}s"
        : $"{d.TotalMilliseconds:0}ms";

    /// <summary>The progress line: checked every 65,536 messages, printed at most once a second.</summary>
    private sealed class Progress(MarketDataPipeline pipeline, TextWriter console)
    {
        private readonly bool _interactive = !Console.IsOutputRedirected;
        private long _nextProgress = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        private long _lastMessages;
        private bool _shown;

        public void Tick()
        {
            if ((pipeline.Messages & 0xFFFF) != 0)
            {
                return;
            }

            var now = Stopwatch.GetTimestamp();
            if (now < _nextProgress)
            {
                return;
            }

            var messages = pipeline.Messages;
            var line = string.Create(CultureInfo.InvariantCulture, $"{messages:N0} messages, {messages - _lastMessages:N0} msg/s, ring {pipeline.InputOccupancy:P0} full");
            if (_interactive)
            {
                console.Write("\r" + line.PadRight(60));
            }
            else
            {
                console.WriteLine(line);
            }

            _shown = true;
            _lastMessages = messages;
            _nextProgress = now + Stopwatch.Frequency;
        }

        public void EndProgress()
        {
            if (_shown && _interactive)
            {
                console.WriteLine();
            }
        }
    }
}

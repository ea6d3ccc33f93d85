using System.Text.Json;
using LowLatency.Aggregation;
using LowLatency.Connectors.Replay;
using LowLatency.Market;
using LowLatency.Sinks.Files;
using LowLatency.TestSupport;

namespace LowLatency.Engine.Tests;

/// <summary>
/// The commit-mark contract without a broker, deterministic: a restart from any completed mark's offsets (what a crash
/// leaves committed) rebuilds every candle whole, equal to the uninterrupted run's.
/// </summary>
public sealed class CommitRestartTests : IDisposable
{
    private const int Frames = 300_000;  // 1 ms apart: 5 minutes of market time
    private const int Partitions = 8;
    private const int MarkEvery = 5_000;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lowlatency-restart-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(0.25)]
    [InlineData(0.5)]
    [InlineData(0.8)]
    public void Restart_FromACompletedMark_RebuildsEveryCandleWhole(double crashAt)
    {
        // Frames keyed by symbol over partitions, as a Kafka producer would place them, with per-partition offsets.
        var generator = new MarketDataGenerator(new MarketDataGeneratorOptions { MeanGapNs = 1_000_000, MaxDepthLevelsPerSide = 5 });
        var buffer = new byte[generator.MaxFrameBytes];
        var frames = new List<(byte[] Frame, int Partition, long Offset)>(Frames);
        var nextOffset = new long[Partitions];
        for (var i = 0; i < Frames; i++)
        {
            var length = generator.WriteNext(buffer, out _);
            var partition = generator.LastSymbolIndex % Partitions;
            frames.Add((buffer[..length], partition, nextOffset[partition]++));
        }

        // The first run: marks every 5,000 frames; the offsets of the mark completed at the crash point are what a
        // crash would leave committed.
        var crashMark = (int)(Frames * crashAt) / MarkEvery;
        long[]? committed = null;
        var reference = Run("reference", frames, (mark, offsets) => committed ??= mark == crashMark ? offsets : null);
        Assert.NotNull(committed);

        // The restart reads each partition from its committed offset (from the start where nothing was committed).
        var resumed = frames.Where(f => committed[f.Partition] == CommitWatermark.NoOffset || f.Offset >= committed[f.Partition]).ToList();
        Assert.InRange(resumed.Count, 1, Frames - 1);
        var restarted = Run("restarted", resumed, (_, _) => { });

        Assert.NotEmpty(restarted);
        var wrong = restarted.Where(c => reference[c.Key] != c.Value).Take(3).ToList();
        Assert.True(wrong.Count == 0, "rebuilt candles that differ:\n" + string.Join("\n", wrong.Select(w => $"{w.Value}\nexpected {reference[w.Key]}")));
    }

    /// <summary>Runs the frames through a pipeline with commit marks; returns the candles by key, volatility aside.</summary>
    private Dictionary<string, string> Run(string name, List<(byte[] Frame, int Partition, long Offset)> frames, Action<long, long[]> completed)
    {
        var directory = Path.Combine(_dir, name);
        var symbols = new SymbolTable(256);
        var watermark = new CommitWatermark(shards: 2, durableSinks: 1, partitionCapacity: Partitions, maxPendingMarks: 1024);
        using (var pipeline = new MarketDataPipeline(symbols, new MarketDataPipelineOptions
        {
            Shards = 2,
            Pin = false,
            RingSize = 4096,
            CommitMarks = watermark,
            PartitionCapacity = Partitions,
            Candles = new CandleAggregatorOptions { Intervals = [TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)], SymbolCapacity = 256 },
        }))
        using (var writer = new OutputFileWriter(directory, symbols))
        {
            pipeline.Output.HandleEventsWith(new OutputFileHandler(writer, watermark));
            pipeline.Start();
            var next = new long[Partitions];
            next.AsSpan().Fill(CommitWatermark.NoOffset);
            var committable = new long[Partitions];
            for (var i = 0; i < frames.Count; i++)
            {
                var (frame, partition, offset) = frames[i];
                pipeline.Publish(frame, 0, SourcePosition.Compose(partition, offset));
                next[partition] = offset + 1;
                if ((i + 1) % MarkEvery == 0)
                {
                    var id = watermark.BeginMark(next);
                    Assert.NotEqual(0, id);
                    pipeline.PublishControl(ControlKind.CommitMark, id);
                    Poll.Until(() => watermark.TryComplete(committable) == id, $"mark {id} completes");
                    completed(id, [.. committable]);
                }
            }

            Assert.True(pipeline.Complete(TimeSpan.FromSeconds(60)));
        }

        return File.ReadLines(Path.Combine(directory, "candles.jsonl")).ToDictionary(Key, line => line[..line.IndexOf(",\"volatility\":", StringComparison.Ordinal)]);
    }

    private static string Key(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var c = doc.RootElement;
        return $"{c.GetProperty("symbol").GetString()}:{c.GetProperty("interval").GetString()}:{c.GetProperty("open_time").GetInt64()}";
    }
}

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
    private const int Frames = 240_000;  // 1 ms apart: 4 minutes of market time
    private const int Partitions = 64;
    private const int MarkEvery = 2_000;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lowlatency-restart-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Restart_FromCompletedMarks_RebuildsEveryCandleWhole()
    {
        // Frames keyed by symbol over partitions, as a Kafka producer would place them, with per-partition offsets.
        var generator = new MarketDataGenerator(new MarketDataGeneratorOptions { MeanGapNs = 1_000_000, MaxDepthLevelsPerSide = 5, SymbolCount = 100, ZipfExponent = 0.5 });
        var buffer = new byte[generator.MaxFrameBytes];
        var frames = new List<(byte[] Frame, int Partition, long Offset)>(Frames);
        var nextOffset = new long[Partitions];
        for (var i = 0; i < Frames; i++)
        {
            var length = generator.WriteNext(buffer, out _);
            var partition = generator.LastSymbolIndex % Partitions;
            frames.Add((buffer[..length], partition, nextOffset[partition]++));
        }

        // The first run: a mark every 2,000 frames; each completed mark's offsets are what a crash right after it would
        // leave committed.
        var marks = new List<(long[] Offsets, long[] Clocks)>();
        var reference = Run("reference", frames, (_, offsets, clocks) => marks.Add((offsets, clocks)));
        Assert.NotEmpty(marks);

        var failures = new List<string>();
        for (var m = 0; m < marks.Count; m += 2) // every other mark: each restart replays the rest of the input
        {
            var (committed, clocks) = marks[m];
            var resumed = frames.Where(f => committed[f.Partition] == CommitWatermark.NoOffset || f.Offset >= committed[f.Partition]).ToList();
            var restarted = Run("restarted-" + m, resumed, (_, _, _) => { }, clocks);
            var wrong = restarted.Where(c => reference[c.Key] != c.Value).Take(2).ToList();
            if (wrong.Count > 0)
            {
                failures.Add($"restart from mark {m + 1}:\n" + string.Join("\n", wrong.Select(w => $"{w.Value}\nexpected {reference[w.Key]}")));
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {(marks.Count + 1) / 2} restarts rebuilt candles that differ:\n" + string.Join("\n", failures.Take(3)));
    }

    [Fact]
    public void Restart_WithTheCommittedClock_DoesNotRebuildACandleThatClosedBeforeTheCommit()
    {
        // One partition, two symbols whose trades are slightly out of time order across a minute boundary, as trades of
        // different symbols are in a real topic: ZUSDT's last trade of the minute (59.999 s) comes after YUSDT's first of
        // the next (60.001 s). At the mark after YUSDT's trade at 63.5 s, ZUSDT's candles of that minute are closed and
        // written; YUSDT's new minute is open and holds the commit at its first trade, which is before ZUSDT's last.
        const long minute = 1_723_161_300_000; // ms, on a minute boundary
        var trades = new (string Symbol, long Id, long TimeMs)[]
        {
            ("ZUSDT", 1, minute + 59_100), ("YUSDT", 1, minute + 60_001), ("ZUSDT", 2, minute + 59_999), ("YUSDT", 2, minute + 63_500),
            ("ZUSDT", 3, minute + 64_000), ("YUSDT", 3, minute + 64_100), ("ZUSDT", 4, minute + 130_000), ("YUSDT", 4, minute + 130_100),
        };
        var frames = trades.Select((t, i) => (Trade(t.Symbol, t.Id, t.TimeMs), 0, (long)i)).ToList();
        var marks = new List<(long[] Offsets, long[] Clocks)>();
        var reference = Run("reference", frames, (_, offsets, clocks) => marks.Add((offsets, clocks)), markEvery: 4);
        var (committed, clocks) = marks[0];
        Assert.Equal(1, committed[0]); // YUSDT's open minute starts at offset 1
        var resumed = frames.Where(f => f.Item3 >= committed[0]).ToList();

        // Restarted with the clock kept with the commit, ZUSDT's replayed trade at 59.999 s is too late, as it was for
        // the closed candle; without it, ZUSDT's minute would be written again from that one trade.
        var restarted = Run("restarted", resumed, (_, _, _) => { }, clocks, markEvery: 4);
        Assert.All(restarted, c => Assert.Equal(reference[c.Key], c.Value));
        Assert.DoesNotContain(restarted.Keys, k => k.StartsWith($"ZUSDT:1m:{minute}", StringComparison.Ordinal));

        var withoutClock = Run("without-clock", resumed, (_, _, _) => { }, null, markEvery: 4);
        Assert.NotEqual(reference[$"ZUSDT:1m:{minute}"], withoutClock[$"ZUSDT:1m:{minute}"]); // the failure the clock prevents
    }

    private static byte[] Trade(string symbol, long id, long timeMs) => System.Text.Encoding.UTF8.GetBytes(
        $"{{\"stream\":\"{symbol.ToLowerInvariant()}@trade\",\"data\":{{\"e\":\"trade\",\"E\":{timeMs},\"s\":\"{symbol}\",\"t\":{id},\"p\":\"1.{id}0000000\",\"q\":\"2.00000000\",\"T\":{timeMs},\"m\":false,\"M\":true}}}}");

    /// <summary>Runs the frames through a pipeline with commit marks; returns the candles by key, volatility aside.</summary>
    private Dictionary<string, string> Run(
        string name, List<(byte[] Frame, int Partition, long Offset)> frames, Action<long, long[], long[]> completed, long[]? restoredClocks = null, int markEvery = MarkEvery)
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
            for (var p = 0; p < Partitions && restoredClocks is not null; p++)
            {
                if (restoredClocks[p] != CommitWatermark.NoClock)
                {
                    pipeline.PublishControl(ControlKind.PartitionClock, p, restoredClocks[p]); // what the commit kept
                }
            }

            var next = new long[Partitions];
            next.AsSpan().Fill(CommitWatermark.NoOffset);
            var committable = new long[Partitions];
            var clocks = new long[Partitions];
            for (var i = 0; i < frames.Count; i++)
            {
                var (frame, partition, offset) = frames[i];
                pipeline.Publish(frame, 0, SourcePosition.Compose(partition, offset));
                next[partition] = offset + 1;
                if ((i + 1) % markEvery == 0)
                {
                    var id = watermark.BeginMark(next);
                    Assert.NotEqual(0, id);
                    pipeline.PublishControl(ControlKind.CommitMark, id);
                    Poll.Until(() => watermark.TryComplete(committable, clocks) == id, $"mark {id} completes");
                    completed(id, [.. committable], [.. clocks]);
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

using System.Globalization;
using System.Text;
using LowLatency.Aggregation;
using LowLatency.Engine;
using LowLatency.Market;
using LowLatency.Sinks.Files;
using LowLatency.TestSupport;

namespace LowLatency.Engine.Tests;

public sealed class CommitWatermarkTests : IDisposable
{
    private const long Minute = 60_000; // ms
    private static readonly long s_start = new DateTimeOffset(2024, 8, 9, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
    private readonly string _out = Path.Combine(Path.GetTempPath(), "lowlatency-watermark-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_out))
        {
            Directory.Delete(_out, recursive: true);
        }
    }

    [Fact]
    public void TryComplete_WaitsForEveryShardAndEverySinkAcknowledgement()
    {
        var watermark = new CommitWatermark(shards: 2, durableSinks: 2, partitionCapacity: 3);
        var id = watermark.BeginMark([10, CommitWatermark.NoOffset, 7]);
        Span<long> committable = stackalloc long[3];
        Assert.Equal(0, watermark.TryComplete(committable));

        watermark.OnShardMark(id, 0, [4, long.MaxValue, long.MaxValue], []);
        watermark.OnShardMark(id, 1, [long.MaxValue, long.MaxValue, 9], []);
        watermark.OnDurable(id);
        watermark.OnDurable(id);
        watermark.OnDurable(id);
        Assert.Equal(0, watermark.TryComplete(committable)); // 3 of 2 x 2 acknowledgements

        watermark.OnDurable(id);
        Assert.Equal(id, watermark.TryComplete(committable));
        Assert.Equal([4L, CommitWatermark.NoOffset, 7L], committable.ToArray()); // the open candle's 4; 9 is beyond the read position 7
        Assert.Equal(0, watermark.Pending);
    }

    [Fact]
    public void TryComplete_MarksCompleteInOrderAndCapacityIsBounded()
    {
        var watermark = new CommitWatermark(shards: 1, durableSinks: 0, partitionCapacity: 1, maxPendingMarks: 2);
        var first = watermark.BeginMark([1]);
        var second = watermark.BeginMark([2]);
        Assert.Equal(0, watermark.BeginMark([3])); // full
        watermark.OnShardMark(second, 0, [long.MaxValue], []);
        Span<long> committable = stackalloc long[1];
        Assert.Equal(0, watermark.TryComplete(committable)); // the first is still open
        watermark.OnShardMark(first, 0, [long.MaxValue], []);
        Assert.Equal(first, watermark.TryComplete(committable));
        Assert.Equal(1, committable[0]);
        Assert.Equal(second, watermark.TryComplete(committable));
        Assert.Equal(2, committable[0]);
        Assert.Throws<InvalidOperationException>(() => watermark.OnDurable(first));
    }

    [Fact]
    public void Pipeline_OpenCandleHoldsTheCommitBackUntilItIsWritten()
    {
        var symbols = new SymbolTable(64);
        var watermark = new CommitWatermark(shards: 2, durableSinks: 1, partitionCapacity: 4);
        using var pipeline = new MarketDataPipeline(symbols, new MarketDataPipelineOptions
        {
            Shards = 2,
            Pin = false,
            RingSize = 1024,
            CommitMarks = watermark,
            PartitionCapacity = 4,
            Candles = new CandleAggregatorOptions { Intervals = [TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)], AllowedLateness = TimeSpan.Zero },
        });
        using var writer = new OutputFileWriter(_out, symbols);
        pipeline.Output.HandleEventsWith(new OutputFileHandler(writer, watermark));
        pipeline.Start();

        // Partition 2 carries BTCUSDT: offsets 100..109, one trade a second within one minute.
        var next = new long[4];
        next.AsSpan().Fill(CommitWatermark.NoOffset);
        for (var i = 0; i < 10; i++)
        {
            pipeline.Publish(Trade("BTCUSDT", 1 + i, s_start + (i * 1000)), 0, SourcePosition.Compose(2, 100 + i));
            next[2] = 100 + i + 1;
        }

        // The minute's candle is open and holds offset 100: nothing past it may be committed yet.
        Assert.Equal([CommitWatermark.NoOffset, CommitWatermark.NoOffset, 100L, CommitWatermark.NoOffset], Commit(pipeline, watermark, next));

        // A trade of the next minute closes it (and is itself the oldest open offset now). The candle must be in the
        // file by the time the commit moves past 100.
        pipeline.Publish(Trade("BTCUSDT", 11, s_start + Minute), 0, SourcePosition.Compose(2, 110));
        next[2] = 111;
        Assert.Equal(110, Commit(pipeline, watermark, next)[2]);
        var candles = File.ReadAllLines(Path.Combine(_out, "candles.jsonl"));
        Assert.Contains(candles, l => l.Contains("\"interval\":\"1m\"", StringComparison.Ordinal) && l.Contains("\"trades\":10,", StringComparison.Ordinal));

        // Another partition's symbol, then partition 2 revoked: its open state is dropped, so only the read position holds it.
        pipeline.Publish(Trade("ETHUSDT", 1, s_start + Minute), 0, SourcePosition.Compose(0, 5));
        next[0] = 6;
        pipeline.PublishControl(ControlKind.PartitionRevoked, 2);
        Assert.Equal([5L, CommitWatermark.NoOffset, 111L, CommitWatermark.NoOffset], Commit(pipeline, watermark, next));

        Assert.True(pipeline.Complete(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void Pipeline_IdleSymbolsCandlesCloseOnTheirPartitionsClock()
    {
        var symbols = new SymbolTable(64);
        var watermark = new CommitWatermark(shards: 1, durableSinks: 1, partitionCapacity: 2);
        using var pipeline = new MarketDataPipeline(symbols, new MarketDataPipelineOptions
        {
            Shards = 1,
            Pin = false,
            RingSize = 1024,
            CommitMarks = watermark,
            PartitionCapacity = 2,
            Candles = new CandleAggregatorOptions { Intervals = [TimeSpan.FromSeconds(1)], AllowedLateness = TimeSpan.FromSeconds(2) },
        });
        using var writer = new OutputFileWriter(_out, symbols);
        pipeline.Output.HandleEventsWith(new OutputFileHandler(writer, watermark));
        pipeline.Start();

        // Partition 0: XRPUSDT trades once at offset 0 and never again; BTCUSDT trades on, one trade a second.
        var next = new long[] { CommitWatermark.NoOffset, CommitWatermark.NoOffset };
        pipeline.Publish(Trade("XRPUSDT", 1, s_start), 0, SourcePosition.Compose(0, 0));
        pipeline.Publish(Trade("BTCUSDT", 1, s_start + 500), 0, SourcePosition.Compose(0, 1));
        pipeline.Publish(Trade("BTCUSDT", 2, s_start + 2_500), 0, SourcePosition.Compose(0, 2));
        next[0] = 3;

        // At 2.5 s the partition is not yet past XRPUSDT's bucket [0, 1 s) plus the 2 s lateness: it holds offset 0.
        Assert.Equal(0, Commit(pipeline, watermark, next)[0]);

        // At 3.5 s it is: the mark closes XRPUSDT's candle on the partition's clock, and the commit moves on to the
        // oldest candle still open, BTCUSDT's [2 s, 3 s) at offset 2.
        pipeline.Publish(Trade("BTCUSDT", 3, s_start + 3_500), 0, SourcePosition.Compose(0, 3));
        next[0] = 4;
        Assert.Equal(2, Commit(pipeline, watermark, next)[0]);
        Assert.Contains(File.ReadAllLines(Path.Combine(_out, "candles.jsonl")), l => l.Contains("\"symbol\":\"XRPUSDT\"", StringComparison.Ordinal));

        // A XRPUSDT trade for the closed bucket is now too late (never a second candle with the same key).
        pipeline.Publish(Trade("XRPUSDT", 2, s_start + 900), 0, SourcePosition.Compose(0, 4));
        Assert.True(pipeline.Complete(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, pipeline.Shards[0].Handler.Counters.TooLateTrades);
        Assert.Single(File.ReadAllLines(Path.Combine(_out, "candles.jsonl")), l => l.Contains("\"symbol\":\"XRPUSDT\"", StringComparison.Ordinal));
    }

    private static long[] Commit(MarketDataPipeline pipeline, CommitWatermark watermark, long[] next)
    {
        var id = watermark.BeginMark(next);
        Assert.NotEqual(0, id);
        pipeline.PublishControl(ControlKind.CommitMark, id);
        var committable = new long[next.Length];
        Poll.Until(() => watermark.TryComplete(committable) == id, $"commit mark {id} completes");
        return committable;
    }

    private static byte[] Trade(string symbol, long id, long timeMs) => Encoding.UTF8.GetBytes(string.Create(
        CultureInfo.InvariantCulture,
        $$"""{"e":"trade","E":{{timeMs}},"s":"{{symbol}}","t":{{id}},"p":"100.00000000","q":"1.00000000","T":{{timeMs}},"m":false,"M":true}"""));
}

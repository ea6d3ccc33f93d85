using System.Diagnostics;
using LowLatency.Connectors.Replay;
using LowLatency.Market;

namespace LowLatency.Engine.Tests;

public sealed class MarketDataPipelineTests
{
    [Fact]
    public void Publish_WithIngestTimestamp_ShardMeasuresFromIt()
    {
        using var pipeline = new MarketDataPipeline(new SymbolTable(64), new MarketDataPipelineOptions { Shards = 1, Pin = false });
        pipeline.Start();
        var generator = new MarketDataGenerator(new MarketDataGeneratorOptions { BookTickerWeight = 0, DepthUpdateWeight = 0 });
        var frame = new byte[generator.MaxFrameBytes];
        var length = generator.WriteNext(frame, out var eventTimeNs);

        // A frame "received" a second ago: the shard's ingest-to-aggregated latency must start there, not at Publish.
        var oneSecondAgo = Stopwatch.GetTimestamp() - Stopwatch.Frequency;
        var result = pipeline.Publish(frame.AsSpan(0, length), eventTimeNs, SourcePosition.None, oneSecondAgo);
        Assert.True(pipeline.Complete(TimeSpan.FromSeconds(30)));

        Assert.True(result.IsSuccess, result.Reason);
        var latency = pipeline.Shards[0].Handler.Counters.IngestToAggregatedNs;
        Assert.Equal(1, latency.TotalCount); // sequence 0 is sampled
        Assert.InRange(latency.Min, 1_000_000_000, 60_000_000_000);
    }

    [Fact]
    public void Publish_WithoutIngestTimestamp_ShardMeasuresFromPublish()
    {
        using var pipeline = new MarketDataPipeline(new SymbolTable(64), new MarketDataPipelineOptions { Shards = 1, Pin = false });
        pipeline.Start();
        var generator = new MarketDataGenerator(new MarketDataGeneratorOptions { BookTickerWeight = 0, DepthUpdateWeight = 0 });
        var frame = new byte[generator.MaxFrameBytes];
        var length = generator.WriteNext(frame, out var eventTimeNs);
        var start = Stopwatch.GetTimestamp();

        pipeline.Publish(frame.AsSpan(0, length), eventTimeNs, SourcePosition.None);
        Assert.True(pipeline.Complete(TimeSpan.FromSeconds(30)));

        var latency = pipeline.Shards[0].Handler.Counters.IngestToAggregatedNs;
        Assert.Equal(1, latency.TotalCount);
        Assert.InRange(latency.Min, 0, (long)Stopwatch.GetElapsedTime(start).TotalNanoseconds);
    }
}

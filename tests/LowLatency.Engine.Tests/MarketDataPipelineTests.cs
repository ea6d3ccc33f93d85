using System.Diagnostics;
using LowLatency.Connectors.Replay;
using LowLatency.Market;

namespace LowLatency.Engine.Tests;

public sealed class MarketDataPipelineTests
{
    [Fact]
    public void Publish_WithIngestTimestamp_ShardMeasuresFromIt()
    {
        var (pipeline, trade, eventTimeNs) = StartedWithOneTrade();
        using (pipeline)
        {
            // A frame "received" a second ago: the shard's ingest-to-aggregated latency must start there, not at Publish.
            var result = pipeline.Publish(trade, eventTimeNs, SourcePosition.None, Stopwatch.GetTimestamp() - Stopwatch.Frequency);
            Assert.True(pipeline.Complete(TimeSpan.FromSeconds(30)));

            Assert.True(result.IsSuccess, result.Reason);
            var latency = pipeline.Shards[0].Handler.Counters.IngestToAggregatedNs;
            Assert.Equal(1, latency.TotalCount); // sequence 0 is sampled
            Assert.InRange(latency.Min, 1_000_000_000, 60_000_000_000);
        }
    }

    [Fact]
    public void Publish_WithoutIngestTimestamp_ShardMeasuresFromPublish()
    {
        var (pipeline, trade, eventTimeNs) = StartedWithOneTrade();
        using (pipeline)
        {
            var start = Stopwatch.GetTimestamp();
            pipeline.Publish(trade, eventTimeNs, SourcePosition.None);
            Assert.True(pipeline.Complete(TimeSpan.FromSeconds(30)));

            var latency = pipeline.Shards[0].Handler.Counters.IngestToAggregatedNs;
            Assert.Equal(1, latency.TotalCount);
            Assert.InRange(latency.Min, 0, (long)Stopwatch.GetElapsedTime(start).TotalNanoseconds);
        }
    }

    /// <summary>A started one-shard pipeline and one generated trade frame with its event time.</summary>
    private static (MarketDataPipeline Pipeline, byte[] Trade, long EventTimeNs) StartedWithOneTrade()
    {
        var generator = new MarketDataGenerator(new MarketDataGeneratorOptions { BookTickerWeight = 0, DepthUpdateWeight = 0 });
        var frame = new byte[generator.MaxFrameBytes];
        var length = generator.WriteNext(frame, out var eventTimeNs);
        var pipeline = new MarketDataPipeline(new SymbolTable(64), new MarketDataPipelineOptions { Shards = 1, Pin = false });
        pipeline.Start();
        return (pipeline, frame[..length], eventTimeNs);
    }
}

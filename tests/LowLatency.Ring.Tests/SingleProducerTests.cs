using LowLatency.TestSupport;

namespace LowLatency.Ring.Tests;

public sealed class SingleProducerTests
{
    private static readonly TimeSpan s_drain = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(1024, 5_000_000)]
    [InlineData(4, 200_000)] // tiny ring: every slot is reused 50,000 times
    public void OneProducerOneConsumer_EveryEventOnceInOrder(int bufferSize, int events)
    {
        var results = new Results();
        using var disruptor = new ValueDisruptor<TestEvent>(bufferSize, ProducerType.Single, new YieldingWaitStrategy());
        disruptor.HandleEventsWith(new SequentialCheckHandler { Results = results });
        disruptor.Start();

        var ring = disruptor.RingBuffer;
        for (long i = 0; i < events; i++)
        {
            var sequence = ring.Next();
            ring[sequence].Value = i;
            ring.Publish(sequence);
        }

        Assert.True(disruptor.Shutdown(s_drain), "consumer did not drain");
        Assert.Null(results.FirstError);
        Assert.Equal(events, results.Count);
    }

    [Fact]
    public void BatchPublish_NextN_PublishesTheWholeRangeInOrder()
    {
        const int BatchSize = 10;
        const int Batches = 200_000;
        var results = new Results();
        using var disruptor = new ValueDisruptor<TestEvent>(64, ProducerType.Single, new YieldingWaitStrategy());
        disruptor.HandleEventsWith(new SequentialCheckHandler { Results = results });
        disruptor.Start();

        var ring = disruptor.RingBuffer;
        long value = 0;
        for (var b = 0; b < Batches; b++)
        {
            var hi = ring.Next(BatchSize);
            var lo = hi - (BatchSize - 1);
            for (var s = lo; s <= hi; s++)
            {
                ring[s].Value = value++;
            }

            ring.Publish(lo, hi);
        }

        Assert.True(disruptor.Shutdown(s_drain));
        Assert.Null(results.FirstError);
        Assert.Equal(BatchSize * Batches, results.Count);
    }

    [Fact]
    public void PublishEventScopes_PublishOnDispose()
    {
        var results = new Results();
        using var disruptor = new ValueDisruptor<TestEvent>(16, ProducerType.Single, new YieldingWaitStrategy());
        disruptor.HandleEventsWith(new SequentialCheckHandler { Results = results });
        disruptor.Start();

        var ring = disruptor.RingBuffer;
        long value = 0;
        for (var i = 0; i < 1000; i++)
        {
            using (var scope = ring.PublishEvent())
            {
                scope.Event().Value = value++;
            }

            using (var batch = ring.PublishEvents(3))
            {
                for (var j = 0; j < batch.Length; j++)
                {
                    batch.Event(j).Value = value++;
                }
            }
        }

        Assert.True(disruptor.Shutdown(s_drain));
        Assert.Null(results.FirstError);
        Assert.Equal(4000, results.Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(17)]
    public void NextN_OutsideOneToBufferSize_Throws(int n)
    {
        var ring = ValueRingBuffer<long>.CreateSingleProducer(16);
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.Next(n));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.TryNext(n, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(1000)]
    public void Create_BufferSizeNotPowerOfTwo_Throws(int size)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ValueRingBuffer<long>.CreateSingleProducer(size));
        Assert.Throws<ArgumentOutOfRangeException>(() => ValueRingBuffer<long>.CreateMultiProducer(size));
    }
}

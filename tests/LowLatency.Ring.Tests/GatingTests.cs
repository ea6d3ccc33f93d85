using LowLatency.TestSupport;

namespace LowLatency.Ring.Tests;

public sealed class GatingTests
{
    /// <summary>Blocks on the first event until released, then records every value it sees.</summary>
    private struct GatedRecordingHandler : IValueEventHandler<TestEvent>
    {
        public ManualResetEventSlim Release;
        public List<long> Seen;
        public Results Results;

        public void OnEvent(ref TestEvent data, long sequence, bool endOfBatch)
        {
            Release.Wait();
            Seen.Add(data.Value);
            Volatile.Write(ref Results.Count, Results.Count + 1);
        }
    }

    [Theory]
    [InlineData(ProducerType.Single)]
    [InlineData(ProducerType.Multi)]
    public void FullRing_ProducerBlocksAndNothingIsOverwritten(ProducerType producerType)
    {
        const int BufferSize = 8;
        const int Events = 100;
        using var release = new ManualResetEventSlim(false);
        var seen = new List<long>();
        var results = new Results();
        using var disruptor = new ValueDisruptor<TestEvent>(BufferSize, producerType, new YieldingWaitStrategy());
        var consumer = disruptor.HandleEventsWith(new GatedRecordingHandler { Release = release, Seen = seen, Results = results });
        disruptor.Start();
        var ring = disruptor.RingBuffer;

        long claimed = 0;
        var producer = new Thread(() =>
        {
            for (long i = 0; i < Events; i++)
            {
                var s = ring.Next();
                ring[s].Value = i;
                ring.Publish(s);
                Volatile.Write(ref claimed, i + 1);
            }
        }) { IsBackground = true };
        producer.Start();

        // The consumer holds event 0, so exactly BufferSize events fit; the producer must stop there.
        Poll.Until(() => Volatile.Read(ref claimed) == BufferSize, "the producer fills the ring");
        Poll.Never(() => Volatile.Read(ref claimed) > BufferSize, "the producer overtakes the consumer", TimeSpan.FromMilliseconds(300));
        Assert.Equal(0, ring.RemainingCapacity());
        Assert.False(ring.HasAvailableCapacity(1));
        Assert.Equal(-1, consumer.Sequence.Value);
        for (long s = 0; s < BufferSize; s++)
        {
            Assert.Equal(s, ring[s].Value); // every unconsumed entry still holds what was published
        }

        release.Set();
        Assert.True(producer.Join(TimeSpan.FromSeconds(30)));
        Assert.True(disruptor.Shutdown(TimeSpan.FromSeconds(30)));
        Assert.Equal(Enumerable.Range(0, Events).Select(i => (long)i), seen);
    }

    [Theory]
    [InlineData(ProducerType.Single)]
    [InlineData(ProducerType.Multi)]
    public void TryNext_FullRing_ReturnsFalseAndClaimsNothing(ProducerType producerType)
    {
        var ring = ValueRingBuffer<long>.Create(producerType, 4);
        var consumer = new Sequence();
        ring.AddGatingSequences(consumer);

        Assert.Equal(4, ring.RemainingCapacity());
        Assert.True(ring.TryNext(3, out var hi));
        Assert.Equal(2, hi);
        ring.Publish(0, 2);
        Assert.Equal(1, ring.RemainingCapacity());
        Assert.False(ring.TryNext(2, out _));
        Assert.True(ring.TryNext(out var last));
        Assert.Equal(3, last);
        ring.Publish(last);
        Assert.False(ring.TryNext(out _));
        Assert.Equal(0, ring.RemainingCapacity());
        Assert.Equal(3, ring.Cursor); // the failed claims claimed nothing

        consumer.SetValue(1); // two slots consumed
        Assert.Equal(2, ring.RemainingCapacity());
        Assert.True(ring.TryNext(2, out hi));
        Assert.Equal(5, hi);
    }

    [Fact]
    public void GatingSequences_OnlyEndConsumersGateTheProducer()
    {
        using var disruptor = new ValueDisruptor<TestEvent>(16, ProducerType.Single, new YieldingWaitStrategy());
        var a = disruptor.HandleEventsWith(new NoOpHandler());
        var b = disruptor.After(a).HandleEventsWith(new NoOpHandler());
        var c = disruptor.After(a).HandleEventsWith(new NoOpHandler());
        var d = disruptor.After(b, c).HandleEventsWith(new NoOpHandler());

        var gating = disruptor.RingBuffer.Sequencer.GatingSequences;
        Assert.Single(gating);
        Assert.Same(d.Sequence, gating[0]);
    }

    private struct NoOpHandler : IValueEventHandler<TestEvent>
    {
        public readonly void OnEvent(ref TestEvent data, long sequence, bool endOfBatch)
        {
        }
    }
}

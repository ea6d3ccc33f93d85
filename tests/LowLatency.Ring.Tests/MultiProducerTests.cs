using LowLatency.TestSupport;

namespace LowLatency.Ring.Tests;

public sealed class MultiProducerTests
{
    /// <summary>Checks that each producer's events arrive exactly once and in that producer's order.</summary>
    private struct PerProducerCheckHandler : IValueEventHandler<TestEvent>
    {
        public Results Results;
        public long[] NextExpected;

        public void OnEvent(ref TestEvent data, long sequence, bool endOfBatch)
        {
            if ((uint)data.ProducerId >= (uint)NextExpected.Length)
            {
                Results.Fail($"unknown producer {data.ProducerId} at {sequence}");
                return;
            }

            ref var expected = ref NextExpected[data.ProducerId];
            if (data.Value != expected)
            {
                Results.Fail($"producer {data.ProducerId}: expected {expected}, got {data.Value} at sequence {sequence}");
            }

            expected = data.Value + 1;
            Volatile.Write(ref Results.Count, Results.Count + 1);
        }
    }

    [Theory]
    [InlineData(4, 2_000_000, 1024, 1)]
    [InlineData(4, 250_000, 8, 1)] // a tiny ring: producers constantly wait for the consumer and wrap
    [InlineData(3, 1_000_000, 256, 7)] // batch claims of 7
    public void ManyProducers_EveryEventOnceInPerProducerOrder(int producers, int eventsPerProducer, int bufferSize, int batch)
    {
        var results = new Results();
        var expected = new long[producers];
        using var disruptor = new ValueDisruptor<TestEvent>(bufferSize, ProducerType.Multi, new YieldingWaitStrategy());
        var consumer = disruptor.HandleEventsWith(new PerProducerCheckHandler { Results = results, NextExpected = expected });
        disruptor.Start();

        var ring = disruptor.RingBuffer;
        using var start = new Barrier(producers);
        var threads = Enumerable.Range(0, producers).Select(id => new Thread(() =>
        {
            start.SignalAndWait();
            for (long i = 0; i < eventsPerProducer; i += batch)
            {
                var n = (int)Math.Min(batch, eventsPerProducer - i);
                var hi = ring.Next(n);
                var lo = hi - (n - 1);
                for (var s = lo; s <= hi; s++)
                {
                    ref var e = ref ring[s];
                    e.ProducerId = id;
                    e.Value = i + (s - lo);
                }

                ring.Publish(lo, hi);
            }
        }) { IsBackground = true, Name = $"producer-{id}" }).ToList();

        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromSeconds(120)), "producer did not finish"));

        Assert.True(disruptor.Shutdown(TimeSpan.FromSeconds(60)), "consumer did not drain");
        Assert.Null(results.FirstError);
        Assert.Equal((long)producers * eventsPerProducer, results.Count);
        Assert.All(expected, e => Assert.Equal(eventsPerProducer, e));
        Assert.Equal((long)producers * eventsPerProducer - 1, consumer.Sequence.Value);
    }

    [Fact]
    public void GetHighestPublishedSequence_StopsAtFirstUnpublishedSlot()
    {
        var sequencer = new MultiProducerSequencer(16, new BlockingWaitStrategy());
        sequencer.AddGatingSequences(new Sequence());
        var first = sequencer.Next();   // 0
        var second = sequencer.Next();  // 1
        var third = sequencer.Next();   // 2
        sequencer.Publish(first);
        sequencer.Publish(third);

        Assert.True(sequencer.IsAvailable(first));
        Assert.False(sequencer.IsAvailable(second));
        Assert.Equal(first, sequencer.GetHighestPublishedSequence(0, third));

        sequencer.Publish(second);
        Assert.Equal(third, sequencer.GetHighestPublishedSequence(0, third));
    }

    [Fact]
    public void IsAvailable_SlotFromAPreviousLap_IsNotAvailable()
    {
        var sequencer = new MultiProducerSequencer(4, new BlockingWaitStrategy());
        var gate = new Sequence();
        sequencer.AddGatingSequences(gate);
        for (var i = 0; i < 4; i++)
        {
            sequencer.Publish(sequencer.Next());
        }

        gate.SetValue(3);
        var next = sequencer.Next(); // sequence 4 reuses slot 0, which holds lap 0's flag
        Assert.Equal(4, next);
        Assert.False(sequencer.IsAvailable(4));
        sequencer.Publish(4);
        Assert.True(sequencer.IsAvailable(4));
        Assert.False(sequencer.IsAvailable(0)); // lap 0's publication of slot 0 is gone
    }
}

namespace LowLatency.Ring.Tests;

/// <summary>
/// Zero allocation per event after start, measured with the per-thread allocated-bytes counter on both sides: the
/// consumer's handler reads its own thread's counter after a warm-up and again at the last event, the producer its own.
/// </summary>
public sealed class AllocationTests
{
    private const long WarmUp = 100_000;
    private const long Events = 1_000_000 + WarmUp;

    private struct AllocationProbeHandler : IValueEventHandler<TestEvent>
    {
        public long[] Bytes; // [0] at warm-up end, [1] at the last event, [2] batches seen
        public long Sum;

        public void OnEvent(ref TestEvent data, long sequence, bool endOfBatch)
        {
            Sum += data.Value;
            if (sequence == WarmUp - 1)
            {
                Bytes[0] = GC.GetAllocatedBytesForCurrentThread();
            }
            else if (sequence == Events - 1)
            {
                Bytes[1] = GC.GetAllocatedBytesForCurrentThread();
            }
        }

        // Declared, so the processor calls it: proves the batch-start hook does not box the struct.
        public readonly void OnBatchStart(long batchSize, long queueDepth) => Bytes[2]++;
    }

    [Theory]
    [InlineData(ProducerType.Single, 1)]
    [InlineData(ProducerType.Single, 10)]
    [InlineData(ProducerType.Multi, 1)]
    [InlineData(ProducerType.Multi, 10)]
    public void PublishAndConsume_AfterWarmUp_AllocateNothingOnEitherThread(ProducerType producerType, int batch)
    {
        var bytes = new long[3];
        using var disruptor = new ValueDisruptor<TestEvent>(1024, producerType, new YieldingWaitStrategy());
        var processor = disruptor.HandleEventsWith(new AllocationProbeHandler { Bytes = bytes });
        disruptor.Start();
        var ring = disruptor.RingBuffer;

        long producerBefore = 0;
        for (long i = 0; i < Events; i += batch)
        {
            if (i == WarmUp)
            {
                producerBefore = GC.GetAllocatedBytesForCurrentThread();
            }

            var hi = ring.Next(batch);
            var lo = hi - (batch - 1);
            for (var s = lo; s <= hi; s++)
            {
                ring[s].Value = s;
            }

            ring.Publish(lo, hi);
        }

        var producerAllocated = GC.GetAllocatedBytesForCurrentThread() - producerBefore;
        Assert.True(disruptor.Shutdown(TimeSpan.FromSeconds(60)));

        Assert.Equal(0, producerAllocated);
        Assert.Equal(0, bytes[1] - bytes[0]);
        Assert.True(bytes[2] > 0, "the batch-start hook was never called");
        Assert.Equal((Events - 1) * Events / 2, processor.Handler.Sum);
    }

    private struct PollHandler : IEventPollHandler<TestEvent>
    {
        public long Sum;

        public bool OnEvent(ref TestEvent data, long sequence, bool endOfBatch)
        {
            Sum += data.Value;
            return true;
        }
    }

    [Fact]
    public void Poller_AfterWarmUp_AllocatesNothing()
    {
        var ring = ValueRingBuffer<TestEvent>.CreateSingleProducer(1024, new YieldingWaitStrategy());
        var poller = new EventPoller<TestEvent>(ring);
        ring.AddGatingSequences(poller.Sequence);
        var handler = new PollHandler();

        void Round()
        {
            for (var i = 0; i < 100_000; i++)
            {
                var s = ring.Next();
                ring[s].Value = 1;
                ring.Publish(s);
                poller.Poll(ref handler);
            }
        }

        LowLatency.TestSupport.Allocations.AssertNone(Round, "publish + poll");
        Assert.Equal(400_000, handler.Sum);
    }
}

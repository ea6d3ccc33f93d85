namespace LowLatency.Ring.Tests;

public sealed class EventPollerTests
{
    private struct CollectingHandler : IEventPollHandler<TestEvent>
    {
        public List<long> Values;
        public int StopAfter;

        public readonly bool OnEvent(ref TestEvent data, long sequence, bool endOfBatch)
        {
            Values.Add(data.Value);
            return Values.Count < StopAfter;
        }
    }

    [Fact]
    public void Poll_ReportsIdleProcessingAndGating()
    {
        var ring = ValueRingBuffer<TestEvent>.CreateSingleProducer(16);
        var upstream = new Sequence();
        var poller = new EventPoller<TestEvent>(ring, upstream);
        ring.AddGatingSequences(poller.Sequence);
        var handler = new CollectingHandler { Values = [], StopAfter = int.MaxValue };

        Assert.Equal(PollState.Idle, poller.Poll(ref handler));

        for (var i = 0; i < 5; i++)
        {
            var s = ring.Next();
            ring[s].Value = 100 + i;
            ring.Publish(s);
        }

        Assert.Equal(PollState.Gating, poller.Poll(ref handler)); // published, but upstream has not finished them
        upstream.SetValue(2);
        Assert.Equal(PollState.Processing, poller.Poll(ref handler));
        Assert.Equal([100L, 101, 102], handler.Values);
        Assert.Equal(2, poller.Sequence.Value);
        upstream.SetValue(4);
        Assert.Equal(PollState.Processing, poller.Poll(ref handler));
        Assert.Equal(PollState.Idle, poller.Poll(ref handler));
        Assert.Equal([100L, 101, 102, 103, 104], handler.Values);
    }

    [Fact]
    public void Poll_HandlerReturnsFalse_StopsAndKeepsTheRest()
    {
        var ring = ValueRingBuffer<TestEvent>.CreateMultiProducer(16);
        var poller = new EventPoller<TestEvent>(ring);
        ring.AddGatingSequences(poller.Sequence);
        var hi = ring.Next(6);
        for (var s = hi - 5; s <= hi; s++)
        {
            ring[s].Value = s;
        }

        ring.Publish(hi - 5, hi);
        var handler = new CollectingHandler { Values = [], StopAfter = 2 };
        Assert.Equal(PollState.Processing, poller.Poll(ref handler));
        Assert.Equal([0L, 1], handler.Values);
        handler.StopAfter = int.MaxValue;
        Assert.Equal(PollState.Processing, poller.Poll(ref handler));
        Assert.Equal([0L, 1, 2, 3, 4, 5], handler.Values);
    }

    [Fact]
    public void Disruptor_CreatePoller_GatesTheProducer()
    {
        using var disruptor = new ValueDisruptor<TestEvent>(8);
        var poller = disruptor.CreatePoller();
        Assert.Contains(poller.Sequence, disruptor.RingBuffer.Sequencer.GatingSequences);
        for (var i = 0; i < 8; i++)
        {
            disruptor.RingBuffer.Publish(disruptor.RingBuffer.Next());
        }

        Assert.False(disruptor.RingBuffer.TryNext(out _)); // the poller has not consumed anything
    }
}

namespace LowLatency.Ring.Tests;

/// <summary>A then (B and C in parallel) then D: every stage must see the work of the stages it follows.</summary>
public sealed class DependencyGraphTests
{
    private struct StageA : IValueEventHandler<TestEvent>
    {
        public readonly void OnEvent(ref TestEvent data, long sequence, bool endOfBatch) => data.A = data.Value + 1;
    }

    private struct StageB : IValueEventHandler<TestEvent>
    {
        public Results Results;

        public readonly void OnEvent(ref TestEvent data, long sequence, bool endOfBatch)
        {
            if (data.A != data.Value + 1)
            {
                Results.Fail($"B saw event {data.Value} before A finished it");
            }

            data.B = data.Value + 2;
        }
    }

    private struct StageC : IValueEventHandler<TestEvent>
    {
        public Results Results;

        public readonly void OnEvent(ref TestEvent data, long sequence, bool endOfBatch)
        {
            if (data.A != data.Value + 1)
            {
                Results.Fail($"C saw event {data.Value} before A finished it");
            }

            data.C = data.Value + 3;
        }
    }

    private struct StageD : IValueEventHandler<TestEvent>
    {
        public Results Results;
        public Sequence B;
        public Sequence C;

        public readonly void OnEvent(ref TestEvent data, long sequence, bool endOfBatch)
        {
            if (data.B != data.Value + 2 || data.C != data.Value + 3)
            {
                Results.Fail($"D saw event {data.Value} before B and C finished it (B={data.B}, C={data.C})");
            }

            if (B.Value < sequence || C.Value < sequence)
            {
                Results.Fail($"D handles {sequence} but B is at {B.Value} and C at {C.Value}");
            }

            Volatile.Write(ref Results.Count, Results.Count + 1);
        }
    }

    [Theory]
    [InlineData(ProducerType.Single, 16, 2_000_000)]
    [InlineData(ProducerType.Multi, 8, 500_000)]
    public void Diamond_DSeesOnlyEventsThatBAndCFinished(ProducerType producerType, int bufferSize, int events)
    {
        var results = new Results();
        using var disruptor = new ValueDisruptor<TestEvent>(bufferSize, producerType, new YieldingWaitStrategy());
        var a = disruptor.HandleEventsWith(new StageA());
        var b = disruptor.After(a).HandleEventsWith(new StageB { Results = results });
        var c = disruptor.After(a).HandleEventsWith(new StageC { Results = results });
        var d = disruptor.After(b, c).HandleEventsWith(new StageD { Results = results, B = b.Sequence, C = c.Sequence });
        disruptor.Start();

        var ring = disruptor.RingBuffer;
        for (long i = 0; i < events; i++)
        {
            var s = ring.Next();
            ref var e = ref ring[s];
            e.Value = i;
            e.A = e.B = e.C = -1; // a slot is reused: clear the previous lap's stamps
            ring.Publish(s);
        }

        Assert.True(disruptor.Shutdown(TimeSpan.FromSeconds(60)));
        Assert.Null(results.FirstError);
        Assert.Equal(events, results.Count);
        Assert.Equal(events - 1, d.Sequence.Value);
        Assert.True(a.Sequence.Value >= b.Sequence.Value && a.Sequence.Value >= c.Sequence.Value);
    }

    [Fact]
    public void Pipeline_EachStageFollowsThePrevious()
    {
        var results = new Results();
        using var disruptor = new ValueDisruptor<TestEvent>(32, ProducerType.Single, new YieldingWaitStrategy());
        var a = disruptor.HandleEventsWith(new StageA());
        var b = disruptor.After(a).HandleEventsWith(new StageB { Results = results });
        var c = disruptor.After(b).HandleEventsWith(new StageC { Results = results });
        disruptor.Start();

        var ring = disruptor.RingBuffer;
        for (long i = 0; i < 1_000_000; i++)
        {
            var s = ring.Next();
            ring[s].Value = i;
            ring[s].A = -1;
            ring.Publish(s);
        }

        Assert.True(disruptor.Shutdown(TimeSpan.FromSeconds(60)));
        Assert.Null(results.FirstError);
        Assert.Equal(999_999, c.Sequence.Value);
    }
}

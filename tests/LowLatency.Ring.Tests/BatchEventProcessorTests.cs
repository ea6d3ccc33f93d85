using LowLatency.TestSupport;

namespace LowLatency.Ring.Tests;

public sealed class BatchEventProcessorTests
{
    private static void PublishValues(ValueRingBuffer<TestEvent> ring, long from, long count)
    {
        for (var i = from; i < from + count; i++)
        {
            var s = ring.Next();
            ring[s].Value = i;
            ring.Publish(s);
        }
    }

    private struct CountingHandler : IValueEventHandler<TestEvent>
    {
        public Results Results;
        public long[] BatchSizes;
        public int BatchCount;
        public long[] Lifecycle; // [0] starts, [1] shutdowns

        public void OnEvent(ref TestEvent data, long sequence, bool endOfBatch) =>
            Volatile.Write(ref Results.Count, Results.Count + 1);

        public void OnBatchStart(long batchSize, long queueDepth)
        {
            if (BatchCount < BatchSizes.Length)
            {
                BatchSizes[BatchCount++] = batchSize;
            }

            if (batchSize > queueDepth)
            {
                Results.Fail($"batch {batchSize} larger than queue depth {queueDepth}");
            }
        }

        public readonly void OnStart() => Interlocked.Increment(ref Lifecycle[0]);

        public readonly void OnShutdown() => Interlocked.Increment(ref Lifecycle[1]);
    }

    private static CountingHandler NewCounting(Results results) =>
        new() { Results = results, BatchSizes = new long[100_000], Lifecycle = new long[2] };

    [Fact]
    public void HaltAfterDrain_HandlesEverythingPublishedThenStops()
    {
        var results = new Results();
        var ring = ValueRingBuffer<TestEvent>.CreateSingleProducer(1024, new YieldingWaitStrategy());
        var processor = new BatchEventProcessor<TestEvent, CountingHandler>(ring, ring.NewBarrier(), NewCounting(results));
        ring.AddGatingSequences(processor.Sequence);
        var thread = DedicatedThread.Start(processor, "drain-test");

        PublishValues(ring, 0, 500);
        Assert.True(processor.HaltAfterDrain(TimeSpan.FromSeconds(30)));
        Assert.True(thread.Join(TimeSpan.FromSeconds(30)));
        Assert.True(processor.Completion.IsCompletedSuccessfully);
        Assert.Equal(500, results.Count);
        Assert.Equal(499, processor.Sequence.Value);
        Assert.Equal(1, processor.Handler.Lifecycle[0]);
        Assert.Equal(1, processor.Handler.Lifecycle[1]);
        Assert.False(processor.IsRunning);
    }

    [Fact]
    public void Halt_StopsAWaitingProcessorPromptly()
    {
        var ring = ValueRingBuffer<TestEvent>.CreateSingleProducer(64, new BlockingWaitStrategy());
        var processor = new BatchEventProcessor<TestEvent, CountingHandler>(ring, ring.NewBarrier(), NewCounting(new Results()));
        var thread = DedicatedThread.Start(processor, "halt-test");
        Poll.Until(() => processor.IsRunning, "the processor starts");

        processor.Halt(); // it is blocked in the wait strategy; the alert must wake it
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));
        Assert.True(processor.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public void Halt_RightAfterStart_IsNeverLost()
    {
        // Regression: a Halt() landing between Run's state change and its ClearAlert() was wiped, and a busy-spinning
        // processor never stopped (seen about 1 in 500 starts).
        for (var i = 0; i < 3000; i++)
        {
            var ring = ValueRingBuffer<TestEvent>.CreateSingleProducer(8, new BusySpinWaitStrategy());
            var processor = new BatchEventProcessor<TestEvent, CountingHandler>(ring, ring.NewBarrier(), NewCounting(new Results()));
            var thread = new Thread(processor.Run) { IsBackground = true };
            thread.Start();
            while (!processor.IsRunning)
            {
                // Tight spin, so the halt lands as close as possible to the state change.
            }

            processor.Halt();
            Assert.True(thread.Join(TimeSpan.FromSeconds(10)), $"processor {i} did not stop after Halt");
            Assert.True(processor.Completion.IsCompletedSuccessfully);
        }
    }

    private struct SlowHandler : IValueEventHandler<TestEvent>
    {
        public Results Results;

        public readonly void OnEvent(ref TestEvent data, long sequence, bool endOfBatch)
        {
            Thread.SpinWait(200);
            Volatile.Write(ref Results.Count, Results.Count + 1);
        }
    }

    [Fact]
    public void Halt_WithABacklog_StopsBetweenBatchesWithoutDrainingIt()
    {
        const int Events = 200_000;
        var results = new Results();
        var ring = ValueRingBuffer<TestEvent>.CreateSingleProducer(262_144, new YieldingWaitStrategy());
        PublishValues(ring, 0, Events);
        var processor = new BatchEventProcessor<TestEvent, SlowHandler>(
            ring, ring.NewBarrier(), new SlowHandler { Results = results }, new EventProcessorOptions { MaxBatchSize = 16 });
        var thread = DedicatedThread.Start(processor, "backlog-halt");
        Poll.Until(() => Volatile.Read(ref results.Count) > 0, "the processor starts handling");

        processor.Halt();
        Assert.True(thread.Join(TimeSpan.FromSeconds(30)));
        var handled = Volatile.Read(ref results.Count);
        Assert.True(handled < Events, "the whole backlog was handled before the halt took effect");
        Assert.Equal(handled - 1, processor.Sequence.Value); // and what was handled is accounted for
    }

    [Fact]
    public void Halt_BeforeRun_CompletesAndRunReturnsAtOnce()
    {
        var ring = ValueRingBuffer<TestEvent>.CreateSingleProducer(64);
        var processor = new BatchEventProcessor<TestEvent, CountingHandler>(ring, ring.NewBarrier(), NewCounting(new Results()));
        processor.Halt();
        processor.Run();
        Assert.True(processor.Completion.IsCompletedSuccessfully);
        Assert.Equal(0, processor.Handler.Lifecycle[0]);
    }

    [Fact]
    public void Run_Twice_Throws()
    {
        var ring = ValueRingBuffer<TestEvent>.CreateSingleProducer(64, new YieldingWaitStrategy());
        var processor = new BatchEventProcessor<TestEvent, CountingHandler>(ring, ring.NewBarrier(), NewCounting(new Results()));
        var thread = DedicatedThread.Start(processor, "run-twice");
        Poll.Until(() => processor.IsRunning, "the processor starts");
        Assert.Throws<InvalidOperationException>(processor.Run);
        processor.Halt();
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void MaxBatchSize_CapsBatchesAndMarksEndOfEachBatch()
    {
        var results = new Results();
        var ring = ValueRingBuffer<TestEvent>.CreateSingleProducer(1024, new YieldingWaitStrategy());
        PublishValues(ring, 0, 1000); // published before the processor starts: one backlog of 1000
        var processor = new BatchEventProcessor<TestEvent, CountingHandler>(
            ring, ring.NewBarrier(), NewCounting(results), new EventProcessorOptions { MaxBatchSize = 64 });
        var thread = DedicatedThread.Start(processor, "batch-test");

        Assert.True(processor.HaltAfterDrain(TimeSpan.FromSeconds(30)));
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));
        var sizes = processor.Handler.BatchSizes.AsSpan(0, processor.Handler.BatchCount).ToArray();
        Assert.Equal(1000, sizes.Sum());
        Assert.All(sizes, s => Assert.InRange(s, 1, 64));
        Assert.Equal(64, sizes[0]); // the backlog is split into capped batches
        Assert.Null(results.FirstError);
    }

    private struct ThrowingHandler : IValueEventHandler<TestEvent>
    {
        public long FailAt;
        public Results Results;

        public readonly void OnEvent(ref TestEvent data, long sequence, bool endOfBatch)
        {
            if (sequence == FailAt)
            {
                throw new InvalidOperationException($"boom at {sequence}");
            }

            Volatile.Write(ref Results.Count, Results.Count + 1);
        }
    }

    [Fact]
    public void ExceptionPolicyStop_FaultsCompletionAndStaysBeforeTheFailingEvent()
    {
        var results = new Results();
        var reported = new List<long>();
        var ring = ValueRingBuffer<TestEvent>.CreateSingleProducer(64, new YieldingWaitStrategy());
        var processor = new BatchEventProcessor<TestEvent, ThrowingHandler>(
            ring,
            ring.NewBarrier(),
            new ThrowingHandler { FailAt = 10, Results = results },
            new EventProcessorOptions { ExceptionPolicy = ExceptionPolicy.Stop, OnException = (_, s) => reported.Add(s) });
        ring.AddGatingSequences(processor.Sequence);
        var thread = DedicatedThread.Start(processor, "stop-test");

        PublishValues(ring, 0, 20);
        Assert.True(thread.Join(TimeSpan.FromSeconds(30)));

        var exception = Assert.Throws<AggregateException>(() => processor.Completion.Wait()).InnerException;
        var stopped = Assert.IsType<EventProcessorException>(exception);
        Assert.Equal(10, stopped.Sequence);
        Assert.IsType<InvalidOperationException>(stopped.InnerException);
        Assert.Equal(9, processor.Sequence.Value);
        Assert.Equal(10, results.Count);
        Assert.Equal([10L], reported);
        Assert.Equal(1, processor.ExceptionCount);
        Assert.False(processor.IsRunning);
    }

    [Fact]
    public void ExceptionPolicyLogAndContinue_ReportsSkipsAndGoesOn()
    {
        var results = new Results();
        var reported = new List<long>();
        var ring = ValueRingBuffer<TestEvent>.CreateSingleProducer(64, new YieldingWaitStrategy());
        var processor = new BatchEventProcessor<TestEvent, ThrowingHandler>(
            ring,
            ring.NewBarrier(),
            new ThrowingHandler { FailAt = 10, Results = results },
            new EventProcessorOptions
            {
                ExceptionPolicy = ExceptionPolicy.LogAndContinue,
                OnException = (_, s) =>
                {
                    reported.Add(s);
                    throw new InvalidOperationException("a broken logger must not kill the consumer");
                },
            });
        ring.AddGatingSequences(processor.Sequence);
        var thread = DedicatedThread.Start(processor, "continue-test");

        PublishValues(ring, 0, 100);
        Assert.True(processor.HaltAfterDrain(TimeSpan.FromSeconds(30)));
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));

        Assert.True(processor.Completion.IsCompletedSuccessfully);
        Assert.Equal(99, results.Count);
        Assert.Equal(99, processor.Sequence.Value);
        Assert.Equal([10L], reported);
        Assert.Equal(1, processor.ExceptionCount);
    }

    [Fact]
    public void Disruptor_ProcessorFault_SurfacesInCompletion()
    {
        var results = new Results();
        using var disruptor = new ValueDisruptor<TestEvent>(64, ProducerType.Single, new YieldingWaitStrategy());
        disruptor.HandleEventsWith(new ThrowingHandler { FailAt = 3, Results = results });
        disruptor.Start();
        PublishValues(disruptor.RingBuffer, 0, 5);

        var completion = disruptor.Completion;
        Assert.True(((IAsyncResult)completion).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(30)));
        Assert.True(completion.IsFaulted);
        Assert.IsType<EventProcessorException>(completion.Exception!.InnerException);
    }

    private struct TimeoutHandler : IValueEventHandler<TestEvent>
    {
        public long[] Timeouts;

        public readonly void OnEvent(ref TestEvent data, long sequence, bool endOfBatch)
        {
        }

        public readonly void OnTimeout(long sequence) => Interlocked.Increment(ref Timeouts[0]);
    }

    [Fact]
    public void TimeoutWaitStrategy_NoEvents_CallsOnTimeoutRepeatedly()
    {
        var ring = ValueRingBuffer<TestEvent>.CreateSingleProducer(64, new TimeoutBlockingWaitStrategy(TimeSpan.FromMilliseconds(5)));
        var processor = new BatchEventProcessor<TestEvent, TimeoutHandler>(ring, ring.NewBarrier(), new TimeoutHandler { Timeouts = new long[1] });
        var thread = DedicatedThread.Start(processor, "timeout-test");

        Poll.Until(() => Volatile.Read(ref processor.Handler.Timeouts[0]) >= 3, "three timeouts");
        processor.Halt();
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void TimeoutWaitStrategy_Barrier_ReturnsTimedOutAfterTheTimeout()
    {
        var ring = ValueRingBuffer<TestEvent>.CreateSingleProducer(64, new TimeoutBlockingWaitStrategy(TimeSpan.FromMilliseconds(20)));
        var barrier = ring.NewBarrier();
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(SequenceBarrier.TimedOut, barrier.WaitFor(0));
        Assert.True(started.ElapsedMilliseconds >= 15, $"returned after {started.ElapsedMilliseconds} ms");

        ring.Publish(ring.Next());
        Assert.Equal(0, barrier.WaitFor(0)); // available: no timeout
    }

    [Fact]
    public void Barrier_Alert_ReturnsAlertedFromEveryWaitStrategy()
    {
        foreach (var strategy in WaitStrategyTests.AllStrategies())
        {
            var ring = ValueRingBuffer<TestEvent>.CreateSingleProducer(64, strategy);
            var barrier = ring.NewBarrier();
            long result = 0;
            var waiter = new Thread(() => result = barrier.WaitFor(0)) { IsBackground = true };
            waiter.Start();
            Thread.Sleep(5); // let it enter the wait (the test holds either way)
            barrier.Alert();
            Assert.True(waiter.Join(TimeSpan.FromSeconds(10)), strategy.GetType().Name);
            Assert.Equal(SequenceBarrier.Alerted, result);
        }
    }
}

namespace LowLatency.Ring;

/// <summary>
/// Wires a <see cref="ValueRingBuffer{T}"/> to a graph of consumers and runs each on a dedicated thread:
/// <code>
/// var a = disruptor.HandleEventsWith(new Journal());
/// var b = disruptor.After(a).HandleEventsWith(new Replicate());
/// var c = disruptor.After(a).HandleEventsWith(new Decode());
/// var d = disruptor.After(b, c).HandleEventsWith(new Business());
/// disruptor.Start();
/// </code>
/// The producers are gated by the end consumers only (here <c>d</c>): a consumer's sequence stops gating the ring as soon
/// as another consumer follows it, because the follower can never pass it.
/// </summary>
public sealed class ValueDisruptor<T> : IDisposable
    where T : struct
{
    private readonly List<ConsumerEntry> _consumers = [];
    private readonly List<DedicatedThread> _threads = [];
    private int _started;

    /// <summary>Creates the ring buffer (see <see cref="ValueRingBuffer{T}.Create"/>) and an empty consumer graph.</summary>
    public ValueDisruptor(int bufferSize, ProducerType producerType = ProducerType.Single, IWaitStrategy? waitStrategy = null, Func<T>? factory = null)
    {
        RingBuffer = ValueRingBuffer<T>.Create(producerType, bufferSize, waitStrategy, factory);
    }

    /// <summary>The ring buffer producers publish to.</summary>
    public ValueRingBuffer<T> RingBuffer { get; }

    /// <summary>The processors' threads, once started (with their pinning outcome).</summary>
    public IReadOnlyList<DedicatedThread> Threads => _threads;

    /// <summary>Completes when every processor has stopped; faults if any stopped on an exception.</summary>
    public Task Completion => Task.WhenAll(_consumers.Select(c => c.Processor.Completion));

    /// <summary>Adds a consumer that reads straight from the producers.</summary>
    public BatchEventProcessor<T, THandler> HandleEventsWith<THandler>(THandler handler, EventProcessorOptions? options = null)
        where THandler : struct, IValueEventHandler<T> =>
        Add(handler, options, []);

    /// <summary>Starts a stage of consumers that follow <paramref name="processors"/>.</summary>
    public ConsumerStage After(params IEventProcessor[] processors)
    {
        ArgumentNullException.ThrowIfNull(processors);
        foreach (var processor in processors)
        {
            if (!_consumers.Exists(c => c.Processor == processor))
            {
                throw new ArgumentException("Only processors of this disruptor can be followed.", nameof(processors));
            }
        }

        return new ConsumerStage(this, processors);
    }

    /// <summary>Creates a poller (a consumer that runs in the caller's loop) that follows <paramref name="processors"/> or the producers.</summary>
    public EventPoller<T> CreatePoller(params IEventProcessor[] processors)
    {
        ThrowIfStarted();
        var poller = new EventPoller<T>(RingBuffer, SequencesOf(processors));
        UpdateGating(poller.Sequence, processors);
        return poller;
    }

    private BatchEventProcessor<T, THandler> Add<THandler>(THandler handler, EventProcessorOptions? options, IEventProcessor[] dependencies)
        where THandler : struct, IValueEventHandler<T>
    {
        ThrowIfStarted();
        var barrier = RingBuffer.NewBarrier(SequencesOf(dependencies));
        var processor = new BatchEventProcessor<T, THandler>(RingBuffer, barrier, handler, options);
        _consumers.Add(new ConsumerEntry(processor));
        UpdateGating(processor.Sequence, dependencies);
        return processor;
    }

    /// <summary>The new consumer gates the producers; the ones it follows no longer need to (it cannot pass them).
    /// Added before removing, so the ring is never left without a gate.</summary>
    private void UpdateGating(Sequence newConsumer, IEventProcessor[] dependencies)
    {
        RingBuffer.AddGatingSequences(newConsumer);
        foreach (var dependency in dependencies)
        {
            RingBuffer.RemoveGatingSequence(dependency.Sequence);
            _consumers.Find(c => c.Processor == dependency)!.IsEndOfChain = false;
        }
    }

    private static Sequence[] SequencesOf(IEventProcessor[] processors) => [.. processors.Select(p => p.Sequence)];

    /// <summary>Starts every processor on its own dedicated thread (named and pinned as its options say).</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            ThrowHelper.ThrowInvalidOperation("The disruptor has already been started.");
        }

        for (var i = 0; i < _consumers.Count; i++)
        {
            _threads.Add(DedicatedThread.Start(_consumers[i].Processor, $"ring-consumer-{i}"));
        }
    }

    /// <summary>Stops every processor after the batch it is handling and waits for their threads (up to 10 s).</summary>
    public void Halt()
    {
        foreach (var consumer in _consumers)
        {
            consumer.Processor.Halt();
        }

        JoinThreads(TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// Waits until the end consumers have handled everything published (stop producers first), then halts. Returns false
    /// if that did not happen within <paramref name="timeout"/>; the processors are halted either way.
    /// </summary>
    public bool Shutdown(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        var spinWait = default(SpinWait);
        bool drained;
        while (!(drained = IsDrained()) && Environment.TickCount64 < deadline && _consumers.TrueForAll(c => c.Processor.IsRunning))
        {
            spinWait.SpinOnce();
        }

        Halt();
        return drained;
    }

    private bool IsDrained()
    {
        var cursor = RingBuffer.Cursor;
        foreach (var consumer in _consumers)
        {
            if (consumer.IsEndOfChain && consumer.Processor.Sequence.Value < cursor)
            {
                return false;
            }
        }

        return true;
    }

    private void JoinThreads(TimeSpan timeout)
    {
        foreach (var thread in _threads)
        {
            thread.Join(timeout);
        }
    }

    private void ThrowIfStarted()
    {
        if (Volatile.Read(ref _started) != 0)
        {
            ThrowHelper.ThrowInvalidOperation("Consumers must be added before the disruptor starts.");
        }
    }

    /// <inheritdoc />
    public void Dispose() => Halt();

    /// <summary>Consumers being added after a set of others: <c>disruptor.After(a, b).HandleEventsWith(handler)</c>.</summary>
    public readonly struct ConsumerStage
    {
        private readonly ValueDisruptor<T> _disruptor;
        private readonly IEventProcessor[] _dependencies;

        internal ConsumerStage(ValueDisruptor<T> disruptor, IEventProcessor[] dependencies)
        {
            _disruptor = disruptor;
            _dependencies = [.. dependencies];
        }

        /// <summary>Adds a consumer that sees an event only after every processor of this stage has finished with it.</summary>
        public BatchEventProcessor<T, THandler> HandleEventsWith<THandler>(THandler handler, EventProcessorOptions? options = null)
            where THandler : struct, IValueEventHandler<T> =>
            _disruptor.Add(handler, options, _dependencies);

        /// <summary>Creates a poller that follows this stage.</summary>
        public EventPoller<T> CreatePoller() => _disruptor.CreatePoller(_dependencies);
    }

    private sealed class ConsumerEntry(IEventProcessor processor)
    {
        public IEventProcessor Processor { get; } = processor;

        public bool IsEndOfChain { get; set; } = true;
    }
}

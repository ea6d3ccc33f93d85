using LowLatency.Ring;

namespace LowLatency.Perf.Harness;

/// <summary>
/// Bytes allocated by a run's own threads (producers and consumers), each measured with
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> from the moment it starts to the moment it ends. The process-wide
/// figure (<see cref="GC.GetTotalAllocatedBytes(bool)"/>) also counts the runtime's own threads (tier-1 JIT, thread
/// clean-up), which now and then allocate a few kilobytes inside a window; this one is the hot path alone.
/// </summary>
internal sealed class HotThreadAllocations
{
    /// <remarks>Added to by each thread as it ends (<see cref="Interlocked"/>); read once every thread has been joined.</remarks>
    private long _bytes;

    /// <summary>The total so far.</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>Adds what the calling thread allocated since <paramref name="startBytes"/>.</summary>
    public void AddCurrentThread(long startBytes) => Interlocked.Add(ref _bytes, GC.GetAllocatedBytesForCurrentThread() - startBytes);

    /// <summary>Adds bytes measured elsewhere (threads the run does not start, e.g. the thread pool's, sampled per thread).</summary>
    public void Add(long bytes) => Interlocked.Add(ref _bytes, bytes);

    /// <summary>Wraps a thread body so that what it allocates is counted.</summary>
    public Action Track(Action body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return () =>
        {
            var start = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                body();
            }
            finally
            {
                AddCurrentThread(start);
            }
        };
    }
}

/// <summary>
/// Wraps a consumer's handler to count what its processor thread allocates between <see cref="OnStart"/> and
/// <see cref="OnShutdown"/>. <see cref="OnEvent"/> forwards to the inner handler and is inlined with it, so the wrapper
/// costs nothing per event; <see cref="Inner"/> holds the handler's results.
/// </summary>
internal struct AllocationTracked<T, THandler> : IValueEventHandler<T>
    where T : struct
    where THandler : struct, IValueEventHandler<T>
{
    /// <summary>The wrapped handler (a field, so <c>processor.Handler.Inner</c> is a reference to it).</summary>
    public THandler Inner;

    private readonly HotThreadAllocations _allocations;
    private long _startBytes;

    public AllocationTracked(THandler inner, HotThreadAllocations allocations)
    {
        Inner = inner;
        _allocations = allocations;
    }

    public void OnEvent(ref T data, long sequence, bool endOfBatch) => Inner.OnEvent(ref data, sequence, endOfBatch);

    // OnStart and OnShutdown are not forwarded: none of the harness's handlers declares them, and calling the
    // interface's default bodies on a struct would box it (24+ bytes that would be counted as the hot path's).
    public void OnStart() => _startBytes = GC.GetAllocatedBytesForCurrentThread();

    public readonly void OnShutdown() => _allocations.AddCurrentThread(_startBytes);
}

/// <summary>Adds consumers whose threads are named, pinned and allocation-tracked as the run's context says.</summary>
internal static class TrackedConsumers
{
    /// <summary>Adds <paramref name="handler"/> as a consumer of the producers, on a thread named <paramref name="threadName"/> pinned to <paramref name="cpu"/>.</summary>
    public static BatchEventProcessor<T, AllocationTracked<T, THandler>> AddConsumer<T, THandler>(
        this ValueDisruptor<T> disruptor, Scenarios.ScenarioContext context, string threadName, int? cpu, THandler handler)
        where T : struct
        where THandler : struct, IValueEventHandler<T>
    {
        ArgumentNullException.ThrowIfNull(disruptor);
        ArgumentNullException.ThrowIfNull(context);
        var processor = disruptor.HandleEventsWith(
            new AllocationTracked<T, THandler>(handler, context.HotThreadAllocations),
            context.ProcessorOptions(threadName, cpu));
        context.TrackConsumer(processor);
        return processor;
    }

    /// <summary>Adds <paramref name="handler"/> as a consumer that follows the stage's processors.</summary>
    public static BatchEventProcessor<T, AllocationTracked<T, THandler>> AddConsumer<T, THandler>(
        this ValueDisruptor<T>.ConsumerStage stage, Scenarios.ScenarioContext context, string threadName, int? cpu, THandler handler)
        where T : struct
        where THandler : struct, IValueEventHandler<T>
    {
        ArgumentNullException.ThrowIfNull(context);
        var processor = stage.HandleEventsWith(
            new AllocationTracked<T, THandler>(handler, context.HotThreadAllocations),
            context.ProcessorOptions(threadName, cpu));
        context.TrackConsumer(processor);
        return processor;
    }
}

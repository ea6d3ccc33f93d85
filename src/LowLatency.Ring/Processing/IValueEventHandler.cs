namespace LowLatency.Ring;

/// <summary>
/// Consumes events of a <see cref="ValueRingBuffer{T}"/>. Implement it on a <c>struct</c>: the
/// <see cref="BatchEventProcessor{T, THandler}"/> is generic over the handler type, so the JIT compiles a copy of the
/// processing loop for it in which every call below is direct and can be inlined.
/// </summary>
/// <remarks>
/// The optional members have empty default implementations. The processor calls <see cref="OnBatchStart"/> and
/// <see cref="OnTimeout"/> only if the handler type declares them itself (checked once, by reflection, when the processor
/// is created), because calling a default interface method on a struct would box it on every call.
/// </remarks>
public interface IValueEventHandler<T>
    where T : struct
{
    /// <summary>Handles the event at <paramref name="sequence"/>. <paramref name="endOfBatch"/> is true for the last
    /// event currently available: the moment to flush anything batched.</summary>
    void OnEvent(ref T data, long sequence, bool endOfBatch);

    /// <summary>Called before a batch of <paramref name="batchSize"/> events; <paramref name="queueDepth"/> is how many
    /// events were available (the batch may be capped by the maximum batch size).</summary>
    void OnBatchStart(long batchSize, long queueDepth)
    {
    }

    /// <summary>Called on the processor's thread before the first event.</summary>
    void OnStart()
    {
    }

    /// <summary>Called on the processor's thread after the last event, when the processor stops.</summary>
    void OnShutdown()
    {
    }

    /// <summary>Called when a timeout wait strategy gives up waiting; <paramref name="sequence"/> is the last processed.</summary>
    void OnTimeout(long sequence)
    {
    }
}

/// <summary>Consumes events pulled by an <see cref="EventPoller{T}"/>; implement on a struct.</summary>
public interface IEventPollHandler<T>
    where T : struct
{
    /// <summary>Handles one event; return false to stop this poll after it (the rest stay available).</summary>
    bool OnEvent(ref T data, long sequence, bool endOfBatch);
}

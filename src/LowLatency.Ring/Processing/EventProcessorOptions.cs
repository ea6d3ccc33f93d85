namespace LowLatency.Ring;

/// <summary>What a processor does when its handler throws.</summary>
public enum ExceptionPolicy
{
    /// <summary>Stop the processor: its sequence stays before the failing event, <see cref="IEventProcessor.Completion"/>
    /// faults with the exception, and the producers are gated on it (backpressure) until it is replaced or restarted.
    /// The default: a consumer that cannot process an event should not silently skip it.</summary>
    Stop,

    /// <summary>Report the exception (<see cref="EventProcessorOptions.OnException"/>), count it, skip the event and go on.</summary>
    LogAndContinue,
}

/// <summary>Options of a <see cref="BatchEventProcessor{T, THandler}"/> and of the thread that runs it.</summary>
public sealed record EventProcessorOptions
{
    /// <summary>The name of the processor's dedicated thread. Default: the handler type's name.</summary>
    public string? ThreadName { get; init; }

    /// <summary>The CPU to pin the processor's thread to (Linux only; reported elsewhere). Default: none.</summary>
    public int? Cpu { get; init; }

    /// <summary>The most events handled per batch before the sequence is published and the batch ends. Default: no limit.</summary>
    public int MaxBatchSize { get; init; } = int.MaxValue;

    /// <summary>What to do when the handler throws. Default: <see cref="ExceptionPolicy.Stop"/>.</summary>
    public ExceptionPolicy ExceptionPolicy { get; init; } = ExceptionPolicy.Stop;

    /// <summary>
    /// Told of every exception from the handler (event sequence, or -1 for start/shutdown), under either policy, on the
    /// processor's thread. This is where a host logs. Exceptions thrown by the callback itself are swallowed so that
    /// reporting can never kill the consumer. Default: none (the exception still faults the processor or is counted).
    /// </summary>
    public Action<Exception, long>? OnException { get; init; }

    /// <summary>The defaults.</summary>
    public static EventProcessorOptions Default { get; } = new();
}

namespace LowLatency.Ring;

/// <summary>A consumer of a ring buffer that runs its own loop (on a dedicated thread, see <see cref="DedicatedThread"/>).</summary>
public interface IEventProcessor
{
    /// <summary>The last sequence this processor has finished with; followers and producers gate on it.</summary>
    Sequence Sequence { get; }

    /// <summary>Whether <see cref="Run"/> is executing.</summary>
    bool IsRunning { get; }

    /// <summary>Completes when the processor stops: successfully after a halt, faulted if it stopped on an exception.</summary>
    Task Completion { get; }

    /// <summary>The options the processor was created with.</summary>
    EventProcessorOptions Options { get; }

    /// <summary>Processes events on the calling thread until halted. May be called once.</summary>
    void Run();

    /// <summary>Asks the processor to stop after the batch it is handling (or at once if it is waiting); returns at once.</summary>
    void Halt();

    /// <summary>
    /// Waits until the processor has handled every event that its dependencies had made available when this was called,
    /// then halts it. Returns false if that did not happen within <paramref name="timeout"/> (the processor is halted anyway).
    /// </summary>
    bool HaltAfterDrain(TimeSpan timeout);
}

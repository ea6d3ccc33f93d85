namespace LowLatency.Ring;

/// <summary>
/// A named background thread that pins itself to a CPU (if asked) before running its body: the home of every event
/// processor and of the perf harness's producers. The pinning outcome is recorded, not thrown, so a host can report it.
/// </summary>
public sealed class DedicatedThread
{
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _started = new();
    private readonly Action _body;
    private AffinityResult _affinity;

    private DedicatedThread(string name, int? cpu, Action body)
    {
        Name = name;
        Cpu = cpu;
        _body = body;
        _thread = new Thread(Run) { Name = name, IsBackground = true };
    }

    /// <summary>The thread's name.</summary>
    public string Name { get; }

    /// <summary>The CPU requested, if any.</summary>
    public int? Cpu { get; }

    /// <summary>What pinning achieved.</summary>
    /// <remarks>Written by the new thread before it sets <see cref="_started"/>; <c>Start</c> waits on that event, which
    /// orders the write before any read made after <c>Start</c> returns.</remarks>
    public AffinityResult Affinity => _affinity;

    /// <summary>Whether the thread is still running.</summary>
    public bool IsAlive => _thread.IsAlive;

    /// <summary>Starts <paramref name="body"/> on a new thread named <paramref name="name"/>, pinned to <paramref name="cpu"/> if given,
    /// and returns once the thread has pinned itself.</summary>
    public static DedicatedThread Start(string name, int? cpu, Action body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var thread = new DedicatedThread(name, cpu, body);
        thread._thread.Start();
        thread._started.Wait();
        return thread;
    }

    /// <summary>Starts <paramref name="processor"/> on a thread named and pinned as its options say.</summary>
    public static DedicatedThread Start(IEventProcessor processor, string defaultName)
    {
        ArgumentNullException.ThrowIfNull(processor);
        return Start(processor.Options.ThreadName ?? defaultName, processor.Options.Cpu, processor.Run);
    }

    /// <summary>Waits for the thread to end.</summary>
    public bool Join(TimeSpan timeout) => _thread.Join(timeout);

    private void Run()
    {
        _affinity = Cpu is { } cpu ? ThreadAffinity.PinCurrentThread(cpu) : AffinityResult.NotRequested;
        _started.Set();
        _body();
    }

    /// <inheritdoc />
    public override string ToString() => Cpu is { } cpu ? $"{Name} (cpu {cpu}: {Affinity})" : Name;
}

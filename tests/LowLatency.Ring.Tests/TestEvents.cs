namespace LowLatency.Ring.Tests;

/// <summary>The event most tests publish: who produced it, its per-producer number, and stamps left by pipeline stages.</summary>
internal struct TestEvent
{
    public long Value;
    public int ProducerId;
    public long A;
    public long B;
    public long C;
}

/// <summary>Shared, thread-safe-by-construction results of a handler (handlers are structs copied into processors).</summary>
internal sealed class Results
{
    public long Count;
    public long Errors;
    public long LastSequence = -1;
    public string? FirstError;

    public void Fail(string message)
    {
        if (Interlocked.Increment(ref Errors) == 1)
        {
            FirstError = message;
        }
    }
}

/// <summary>Checks that a single producer's values arrive in order, exactly once, at the sequence they were published at.</summary>
internal struct SequentialCheckHandler : IValueEventHandler<TestEvent>
{
    public Results Results;
    public long Expected;

    public void OnEvent(ref TestEvent data, long sequence, bool endOfBatch)
    {
        if (data.Value != Expected || sequence != Expected)
        {
            Results.Fail($"expected value {Expected} at sequence {Expected}, got value {data.Value} at sequence {sequence}");
        }

        Expected++;
        Volatile.Write(ref Results.Count, Results.Count + 1);
        Volatile.Write(ref Results.LastSequence, sequence);
    }
}

namespace LowLatency.Sinks.Batching;

/// <summary>What a sink does when its bounded buffer is full because the store is slow or down.</summary>
public enum OverflowPolicy : byte
{
    /// <summary>
    /// Wait (the default): the sink's thread stops taking events, the output ring fills, the shards wait and the source
    /// pauses its partitions. Nothing is lost and memory stays bounded; the whole engine runs at the store's pace.
    /// </summary>
    Backpressure,

    /// <summary>
    /// Append the batch to a local journal (fsync'd, so it counts as durably written) and go on; the journal is replayed
    /// into the store when it accepts writes again, and after a restart. The engine keeps its pace; the disk absorbs the
    /// outage.
    /// </summary>
    Spill,
}

/// <summary>Options of a <see cref="BatchingSink{TWriter}"/>.</summary>
public sealed record BatchingSinkOptions
{
    /// <summary>The sink's name in logs, metrics and journal file names (letters, digits, '-' and '_').</summary>
    public required string Name { get; init; }

    /// <summary>Events per batch at most; a full batch is written at once. Default 1,000.</summary>
    public int BatchSize { get; init; } = 1_000;

    /// <summary>
    /// The longest an event waits in an unfinished batch while the output ring stays busy (a batch is also written at
    /// the end of each ring batch, so under light load it waits for nothing). Default 100 ms.
    /// </summary>
    public TimeSpan BatchTimeout { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Batches being written at once; the next one fills meanwhile. Default 2.</summary>
    public int MaxInFlightBatches { get; init; } = 2;

    /// <summary>The first retry's delay after a transient failure; it doubles up to <see cref="RetryMaxDelay"/>. Default 100 ms.</summary>
    public TimeSpan RetryInitialDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest delay between retries. Default 5 s.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>What happens when every batch slot is taken and the filling batch is full. Default <see cref="OverflowPolicy.Backpressure"/>.</summary>
    public OverflowPolicy Overflow { get; init; } = OverflowPolicy.Backpressure;

    /// <summary>
    /// Where the journal lives (<see cref="OverflowPolicy.Spill"/>) and where batches that fail for good are kept
    /// (<c>{Name}.failed</c>, every policy). Default: <c>lowlatency-journal</c> under the working directory.
    /// </summary>
    public string JournalDirectory { get; init; } = "lowlatency-journal";

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Name) || !Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new ArgumentException($"A sink name must be letters, digits, '-' or '_', not '{Name}'.");
        }

        if (BatchSize < 1 || MaxInFlightBatches < 1)
        {
            throw new ArgumentException($"{Name}: BatchSize ({BatchSize}) and MaxInFlightBatches ({MaxInFlightBatches}) must be at least 1.");
        }

        if (BatchTimeout <= TimeSpan.Zero || RetryInitialDelay <= TimeSpan.Zero || RetryMaxDelay < RetryInitialDelay)
        {
            throw new ArgumentException($"{Name}: BatchTimeout and RetryInitialDelay must be positive and RetryMaxDelay at least RetryInitialDelay.");
        }

        if (string.IsNullOrEmpty(JournalDirectory))
        {
            throw new ArgumentException($"{Name}: JournalDirectory is empty.");
        }
    }
}

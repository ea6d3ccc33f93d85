using LowLatency.Telemetry;

namespace LowLatency.Sinks.Batching;

/// <summary>
/// A sink's counters, for metrics and health: batches and events written, flush latency, queue depth, retries,
/// failures, backpressure and spill. Written by the sink's threads, read by any (<c>Volatile.Read</c>; a moment stale).
/// </summary>
public sealed class SinkCounters
{
    internal long RetriesField;
    internal long FailuresField;
    internal long BackpressureWaitsField;
    internal long RetryingField;
    private long _batches;
    private long _dispatchedEvents;
    private long _writtenEvents;
    private long _writtenBatches;
    private long _flushTicks;
    private long _maxFlushTicks;
    private long _lastBatchSize;
    private long _spilledBatches;
    private long _spilledEvents;
    private long _spilledBytes;
    private long _replayedEvents;
    private long _backpressureTicks;
    private readonly LatencyHistogram _flushLatencyNs = new(highestTrackableValue: 3_600_000_000_000, subBucketBits: 7); // 1 h, ±1.6 %, 21 KiB
    private readonly Lock _flushLatencyLock = new(); // up to MaxInFlightBatches writes complete at once; the histogram has one writer

    /// <summary>Batches handed to the writer.</summary>
    public long Batches => Volatile.Read(ref _batches);

    /// <summary>Events the store has durably (replayed spill included).</summary>
    public long EventsWritten => Volatile.Read(ref _writtenEvents) + Volatile.Read(ref _replayedEvents);

    /// <summary>Events in batches being written now (the queue depth beyond the filling batch).</summary>
    public long EventsInFlight => Volatile.Read(ref _dispatchedEvents) - Volatile.Read(ref _writtenEvents);

    /// <summary>The size of the last batch handed to the writer.</summary>
    public long LastBatchSize => Volatile.Read(ref _lastBatchSize);

    /// <summary>Successful batch writes, and their summed and longest durations in Stopwatch ticks (retries included).</summary>
    public (long Count, long TotalTicks, long MaxTicks) FlushLatency =>
        (Volatile.Read(ref _writtenBatches), Volatile.Read(ref _flushTicks), Volatile.Read(ref _maxFlushTicks));

    /// <summary>Transient failures retried.</summary>
    public long Retries => Volatile.Read(ref RetriesField);

    /// <summary>Batches being retried now after a transient failure (non-zero while the store is unavailable).</summary>
    public long Retrying => Volatile.Read(ref RetryingField);

    /// <summary>Batches that failed for good (kept in the failed-batches file).</summary>
    public long Failures => Volatile.Read(ref FailuresField);

    /// <summary>Times the ring thread waited for a free batch slot (backpressure), and for how long in all (Stopwatch ticks).</summary>
    public (long Waits, long Ticks) Backpressure => (Volatile.Read(ref BackpressureWaitsField), Volatile.Read(ref _backpressureTicks));

    /// <summary>Batches, events and bytes spilled to the journal.</summary>
    public (long Batches, long Events, long Bytes) Spilled =>
        (Volatile.Read(ref _spilledBatches), Volatile.Read(ref _spilledEvents), Volatile.Read(ref _spilledBytes));

    /// <summary>Spilled events written into the store later.</summary>
    public long Replayed => Volatile.Read(ref _replayedEvents);

    internal void OnDispatched(int events)
    {
        Volatile.Write(ref _batches, _batches + 1); // ring thread only
        Volatile.Write(ref _lastBatchSize, events);
        Interlocked.Add(ref _dispatchedEvents, events);
    }

    /// <summary>
    /// Successful batch writes by duration (ns), from the hand-off to the writer to the store's acknowledgement, retries
    /// included. Read by the metrics scrape while writes go on (a moment stale, as the shards' latency histograms).
    /// </summary>
    public LatencyHistogram FlushLatencyNs => _flushLatencyNs;

    internal void OnWritten(int events, long ticks)
    {
        lock (_flushLatencyLock)
        {
            _flushLatencyNs.Record((long)(ticks * (1e9 / System.Diagnostics.Stopwatch.Frequency)));
        }

        Interlocked.Add(ref _writtenEvents, events);
        Interlocked.Increment(ref _writtenBatches);
        Interlocked.Add(ref _flushTicks, ticks);
        long max;
        while (ticks > (max = Volatile.Read(ref _maxFlushTicks)) && Interlocked.CompareExchange(ref _maxFlushTicks, ticks, max) != max)
        {
        }
    }

    internal void OnSpilled(int events, long bytes)
    {
        Interlocked.Increment(ref _spilledBatches);
        Interlocked.Add(ref _spilledEvents, events);
        Interlocked.Add(ref _spilledBytes, bytes);
    }

    internal void OnReplayed(int events) => Interlocked.Add(ref _replayedEvents, events);

    internal void AddBackpressureTicks(long ticks) => Interlocked.Add(ref _backpressureTicks, ticks);
}

using LowLatency.Aggregation;
using LowLatency.Market;

namespace LowLatency.Sinks.Batching;

/// <summary>
/// The store-specific half of a sink: writes one batch of output events durably. <see cref="BatchingSink{TWriter}"/>
/// does the rest (batching, bounded in-flight writes, retries, spill, commit marks, metrics).
/// </summary>
public interface IBatchWriter
{
    /// <summary>
    /// Writes <paramref name="batch"/> and completes only once the store has it durably (a committed transaction, a
    /// replicated reply…). Called for one batch at a time per in-flight slot, possibly concurrently for different
    /// batches; a batch may be written again after a failure or after a restart (its events have deterministic keys,
    /// so writes must be idempotent). Throws on failure.
    /// </summary>
    ValueTask WriteAsync(OutputBatch batch, CancellationToken cancellationToken);

    /// <summary>Whether a failure is worth retrying (a connection lost, a timeout) rather than permanent (bad data, schema).</summary>
    bool IsTransient(Exception failure);

    /// <summary>
    /// Whether the batches also carry the klines passed through as they arrived (<see cref="OutputKind.Kline"/>), for a
    /// store that keeps the producers' rows. Read once, when the sink is created. Default false: candles, alerts and
    /// tickers only.
    /// </summary>
    bool WantsKlines => false;

    /// <summary>Whether the batches also carry the trades passed through (<see cref="OutputKind.Trade"/>, when the pipeline passes them).</summary>
    bool WantsTrades => false;
}

/// <summary>
/// A writer whose writes become durable later than they complete: <see cref="IBatchWriter.WriteAsync"/> accepts a batch
/// into open files that are durable only once closed (the Parquet cold tier closes its files by size or age, and a
/// reader must never see half a file). The sink acknowledges the commit marks behind a batch only once the writer reports
/// the batch durable, so Kafka offsets are committed only for rows in closed files.
/// </summary>
/// <remarks>
/// The sink writes one batch at a time to such a writer (<see cref="BatchingSinkOptions.MaxInFlightBatches"/> must be 1),
/// so batches are accepted in the order of their <see cref="OutputBatch.Sequence"/>. It reads
/// <see cref="DurableThrough"/> after each write and at each commit mark (marks arrive every commit interval, so a
/// file the writer closes on its own timer is noticed within one interval).
/// </remarks>
public interface IDeferredBatchWriter : IBatchWriter
{
    /// <summary>
    /// The highest batch sequence such that it and every batch accepted before it are durable (0: none yet). Any thread.
    /// </summary>
    long DurableThrough { get; }

    /// <summary>Makes everything accepted durable now (closes the open files): at shutdown, from the sink's drain.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A batch of output events (candles, alerts, tickers, and klines for a writer that wants them; never marks) in the order the output ring had them, with the
/// symbol table their ids refer to. Reused: a writer must not keep it after <see cref="IBatchWriter.WriteAsync"/> completes.
/// </summary>
public sealed class OutputBatch
{
    private readonly OutputEvent[] _events;

    /// <summary>Creates an empty batch of at most <paramref name="capacity"/> events (a sink makes its own; tests and tools may too).</summary>
    public OutputBatch(int capacity, SymbolTable symbols)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentNullException.ThrowIfNull(symbols);
        _events = new OutputEvent[capacity];
        Symbols = symbols;
    }

    /// <summary>The table the events' symbol ids belong to.</summary>
    public SymbolTable Symbols { get; }

    /// <summary>Events in the batch.</summary>
    public int Count { get; private set; }

    /// <summary>The events, oldest first.</summary>
    public ReadOnlySpan<OutputEvent> Events => _events.AsSpan(0, Count);

    /// <summary>The batch's number in its sink (increasing from 1; a spilled batch replayed from the journal has 0).</summary>
    public long Sequence { get; internal set; }

    internal int Capacity => _events.Length;

    internal bool IsFull => Count == _events.Length;

    /// <summary>When the first event went in (ns, Stopwatch ticks scaled), for the batch timeout.</summary>
    internal long FirstEventTicks { get; private set; }

    /// <summary>Appends an event (the caller keeps within the capacity).</summary>
    public void Add(in OutputEvent e) => Add(in e, 0);

    /// <summary>Empties the batch.</summary>
    public void Clear() => Count = 0;

    internal void Add(in OutputEvent e, long nowTicks)
    {
        if (Count == 0)
        {
            FirstEventTicks = nowTicks;
        }

        _events[Count++] = e;
    }
}

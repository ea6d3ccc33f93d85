using System.Diagnostics;
using LowLatency.Aggregation;
using LowLatency.Market;
using LowLatency.Ring;
using Microsoft.Extensions.Logging;

namespace LowLatency.Sinks.Batching;

/// <summary>
/// A store behind the output ring: its events are gathered into batches (written when full, at the end of each ring
/// batch, or after <see cref="BatchingSinkOptions.BatchTimeout"/> while the ring stays busy), at most
/// <see cref="BatchingSinkOptions.MaxInFlightBatches"/> are written at once by <typeparamref name="TWriter"/>, transient
/// failures are retried with exponential backoff, and each commit mark is acknowledged once every event before it is
/// durably written. A slow or dead store fills only this sink's bounded buffer; then
/// <see cref="BatchingSinkOptions.Overflow"/> applies.
/// </summary>
/// <typeparam name="TWriter">The store's writer.</typeparam>
/// <remarks>
/// <para>
/// Threads: <see cref="OnEvent"/> runs on the sink's ring thread (its handler, <see cref="BatchingSinkHandler{TWriter}"/>)
/// and never waits for the store unless the policy is backpressure and the buffer is full. Writes run on the thread
/// pool. The buffer is <c>MaxInFlightBatches + 1</c> batches of <c>BatchSize</c> events, allocated at construction;
/// nothing is allocated per event.
/// </para>
/// <para>
/// Commit marks: batches are numbered as they start filling; a mark needs every batch up to the one filling when it
/// arrived (or the one before, if that is empty). Batches may complete out of order; the marks wait for the completed
/// prefix. A spilled batch is complete once the journal has it on disk, and a batch that fails for good once the
/// failed-batches file has it, so the source's commits go on and nothing acknowledged is lost: the spill is replayed
/// into the store, the failed batches are kept for an operator.
/// </para>
/// <para>
/// Order: a replayed spill is written beside the fresh batches, so a store may receive an older version of a key
/// after a newer one. Candles and alerts are final per key (the same values each time), so that changes nothing for
/// them; a writer of state that moves (tickers) must refuse older data itself, as the Redis late-data rules do.
/// </para>
/// </remarks>
public sealed partial class BatchingSink<TWriter> : IBatchingSink
    where TWriter : IBatchWriter
{
    private readonly BatchingSinkOptions _options;
    private readonly TWriter _writer;
    private readonly IDeferredBatchWriter? _deferred; // the writer, when its batches become durable later (files closed)
    private readonly Queue<long> _accepted = new(); // batches a deferred writer accepted, not yet durable (under _lock)
    private readonly bool _wantsKlines;
    private readonly bool _wantsTrades;
    private readonly ICommitMarks? _commitMarks;
    private readonly ILogger _log;
    private readonly Stack<OutputBatch> _free = new();
    private readonly Lock _lock = new(); // completions, marks, free batches, counters written off the ring thread
    private readonly SemaphoreSlim _slots;
    private readonly Queue<(long MarkId, long NeedsBatch)> _marks = new();
    private readonly SortedSet<long> _completedAhead = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly SpillJournal _spill;
    private readonly Lock _spillLock = new(); // appends (ring thread) against sealing for a replay (replay task)
    private readonly SpillJournal _failed;
    private readonly long _batchTimeoutTicks;
    private OutputBatch _filling;
    private long _nextSequence;
    private long _durableThrough; // every batch numbered up to this one is durable
    private int _inFlight;
    private Task _replay = Task.CompletedTask;
    private bool _disposed;

    /// <summary>Creates the sink and its buffer; call <see cref="RecoverAsync"/> before the ring starts when using the spill journal.</summary>
    public BatchingSink(BatchingSinkOptions options, TWriter writer, SymbolTable symbols, ICommitMarks? commitMarks = null, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(symbols);
        options.Validate();
        _options = options;
        _writer = writer;
        _wantsKlines = writer.WantsKlines;
        _wantsTrades = writer.WantsTrades;
        if (writer is IDeferredBatchWriter deferred)
        {
            if (options.MaxInFlightBatches != 1)
            {
                throw new ArgumentException($"{options.Name}: a writer whose batches become durable later takes one batch at a time (MaxInFlightBatches 1, not {options.MaxInFlightBatches}).", nameof(options));
            }

            _deferred = deferred;
        }

        _commitMarks = commitMarks;
        _log = log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        for (var i = 0; i < options.MaxInFlightBatches; i++)
        {
            _free.Push(new OutputBatch(options.BatchSize, symbols));
        }

        _filling = new OutputBatch(options.BatchSize, symbols) { Sequence = ++_nextSequence };
        _slots = new SemaphoreSlim(options.MaxInFlightBatches, options.MaxInFlightBatches);
        _spill = new SpillJournal(Path.Combine(options.JournalDirectory, options.Name + ".spill"));
        _failed = new SpillJournal(Path.Combine(options.JournalDirectory, options.Name + ".failed"));
        _batchTimeoutTicks = (long)(options.BatchTimeout.TotalSeconds * Stopwatch.Frequency);
        Symbols = symbols;
    }

    /// <summary>The sink's options.</summary>
    public BatchingSinkOptions Options => _options;

    /// <inheritdoc />
    public string Name => _options.Name;

    /// <inheritdoc />
    public IEventProcessor Attach(ValueDisruptor<OutputEvent> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        return output.HandleEventsWith(new BatchingSinkHandler<TWriter>(this), new EventProcessorOptions { ThreadName = "sink-" + _options.Name });
    }

    /// <summary>The sink's counters (any thread).</summary>
    public SinkCounters Counters { get; } = new();

    /// <summary>The symbol table the events refer to.</summary>
    public SymbolTable Symbols { get; }

    /// <summary>The spill journal (<see cref="OverflowPolicy.Spill"/>).</summary>
    public SpillJournal Spill => _spill;

    /// <summary>Batches that failed for good, kept on disk.</summary>
    public SpillJournal FailedBatches => _failed;

    /// <summary>
    /// Writes whatever a previous run spilled and did not replay (after a crash or a stop during an outage) into the
    /// store, retrying transient failures, and then removes the journal. Call it before the output ring starts.
    /// </summary>
    public async Task RecoverAsync(CancellationToken cancellationToken = default) => await ReplaySpillAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>One output event (the sink's ring thread).</summary>
    public void OnEvent(in OutputEvent e, bool endOfBatch)
    {
        switch (e.Kind)
        {
            case OutputKind.Candle:
            case OutputKind.Alert:
            case OutputKind.Ticker:
            case OutputKind.Kline when _wantsKlines:
            case OutputKind.Trade when _wantsTrades:
                _filling.Add(in e, Stopwatch.GetTimestamp());
                if (_filling.IsFull)
                {
                    Dispatch(mustSend: true);
                }

                break;
            case OutputKind.Mark:
                OnMark(e.MarkId);
                break;
        }

        if (_filling.Count > 0 && (endOfBatch || Stopwatch.GetTimestamp() - _filling.FirstEventTicks >= _batchTimeoutTicks))
        {
            Dispatch(mustSend: !endOfBatch);
        }
    }

    /// <summary>
    /// Writes the filling batch and waits up to <paramref name="timeout"/> for every batch in flight, and for the
    /// spill's replay, to finish (shutdown). False if some are still pending.
    /// </summary>
    public bool Drain(TimeSpan timeout)
    {
        if (_filling.Count > 0)
        {
            Dispatch(mustSend: true);
        }

        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Volatile.Read(ref _inFlight) > 0 || !_replay.IsCompleted)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                return false;
            }

            Thread.Sleep(1);
        }

        if (_deferred is not null)
        {
            var remaining = TimeSpan.FromSeconds(Math.Max(0, (double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency));
            using var cancel = new CancellationTokenSource(remaining);
            try
            {
                _deferred.FlushAsync(cancel.Token).AsTask().GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                return false;
            }
            catch (Exception e)
            {
                LogFailedForGood(_options.Name, 0, e); // the files could not be closed: their rows stay uncommitted
                return false;
            }

            CompleteDeferred();
            lock (_lock)
            {
                return _accepted.Count == 0;
            }
        }

        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stopping.Cancel();
        var deadline = Stopwatch.GetTimestamp() + (5 * Stopwatch.Frequency);
        while ((Volatile.Read(ref _inFlight) > 0 || !_replay.IsCompleted) && Stopwatch.GetTimestamp() < deadline)
        {
            Thread.Sleep(1);
        }

        _spill.Dispose();
        _failed.Dispose();
        _slots.Dispose();
        _stopping.Dispose();
    }

    /// <summary>
    /// Hands the filling batch to a writer if a slot is free. With none free, a batch that need not go yet (the end of a
    /// ring batch) keeps filling; one that must (full, timed out, draining) waits for a slot (backpressure) or goes to the
    /// spill journal.
    /// </summary>
    private void Dispatch(bool mustSend)
    {
        if (!_slots.Wait(0))
        {
            if (!mustSend && !_filling.IsFull)
            {
                return;
            }

            if (_options.Overflow == OverflowPolicy.Spill)
            {
                SpillFilling();
                return;
            }

            var waited = Stopwatch.GetTimestamp();
            Counters.BackpressureWaitsField++;
            _slots.Wait();
            Counters.AddBackpressureTicks(Stopwatch.GetTimestamp() - waited);
        }

        var batch = _filling;
        OutputBatch next;
        lock (_lock)
        {
            next = _free.Pop(); // a slot was free, so a batch is
            _inFlight++;
        }

        next.Clear();
        next.Sequence = ++_nextSequence;
        _filling = next;
        Counters.OnDispatched(batch.Count);
        _ = WriteAsync(batch);
    }

    /// <summary>The filling batch goes to the journal instead of the store (spill policy, every slot taken).</summary>
    private void SpillFilling()
    {
        var batch = _filling;
        if (!TryAppendToJournal(batch))
        {
            // The disk cannot take it either (or the journal is damaged): fall back to waiting, which loses nothing.
            _slots.Wait();
            _slots.Release();
            Dispatch(mustSend: true);
            return;
        }

        var sequence = batch.Sequence;
        batch.Clear();
        batch.Sequence = ++_nextSequence;
        Complete(sequence);
    }

    private async Task WriteAsync(OutputBatch batch)
    {
        var started = Stopwatch.GetTimestamp();
        var sequence = batch.Sequence;
        try
        {
            if (await WriteWithRetriesAsync(batch, _options.Overflow == OverflowPolicy.Spill, _stopping.Token).ConfigureAwait(false))
            {
                Counters.OnWritten(batch.Count, Stopwatch.GetTimestamp() - started);
                if (_deferred is not null)
                {
                    lock (_lock)
                    {
                        _accepted.Enqueue(sequence); // complete once the writer reports it durable
                    }

                    sequence = 0;
                }

                if (_options.Overflow == OverflowPolicy.Spill)
                {
                    StartReplayIfSpilled(); // the store takes writes again
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return; // disposed while retrying: the source never committed past it, a restart replays it
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref Counters.FailuresField);
            LogFailedForGood(_options.Name, batch.Count, e);
            try
            {
                _failed.Append(batch); // kept for an operator: acknowledged, so it must not vanish
            }
            catch (Exception io) when (io is IOException or UnauthorizedAccessException)
            {
                LogSpillFailed(_options.Name, io);
                return; // neither stored nor kept: never acknowledged, so a restart replays it
            }
        }
        finally
        {
            lock (_lock)
            {
                _free.Push(batch);
                _inFlight--;
            }

            _slots.Release();
        }

        if (sequence != 0)
        {
            Complete(sequence);
        }

        CompleteDeferred();
    }

    /// <summary>Completes the batches a deferred writer has made durable since the last look (any thread).</summary>
    private void CompleteDeferred()
    {
        if (_deferred is null)
        {
            return;
        }

        var through = _deferred.DurableThrough;
        while (true)
        {
            long sequence;
            lock (_lock)
            {
                if (!_accepted.TryPeek(out sequence) || sequence > through)
                {
                    return;
                }

                _accepted.Dequeue();
            }

            Complete(sequence);
        }
    }

    /// <summary>
    /// Writes a batch, retrying transient failures with exponential backoff until it succeeds (true) or fails for good
    /// (throws). With <paramref name="spillOnFailure"/> (the spill policy, fresh batches) a transient failure sends the
    /// batch to the journal instead (false): a batch retrying in flight would hold back every commit mark behind it for
    /// the whole outage.
    /// </summary>
    private async Task<bool> WriteWithRetriesAsync(OutputBatch batch, bool spillOnFailure, CancellationToken cancellationToken)
    {
        var delay = _options.RetryInitialDelay;
        var retrying = false;
        try
        {
            while (true)
            {
                try
                {
                    await _writer.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
                    return true;
                }
                catch (Exception e) when (e is not OperationCanceledException && _writer.IsTransient(e))
                {
                    Interlocked.Increment(ref Counters.RetriesField);
                    if (spillOnFailure && TrySpill(batch, e))
                    {
                        return false;
                    }

                    if (!retrying)
                    {
                        retrying = true;
                        Interlocked.Increment(ref Counters.RetryingField);
                    }

                    LogRetrying(_options.Name, delay, e.Message);
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.RetryMaxDelay.Ticks));
                }
            }
        }
        finally
        {
            if (retrying)
            {
                Interlocked.Decrement(ref Counters.RetryingField);
            }
        }
    }

    /// <summary>Appends a batch to the spill journal and counts it; false (logged) if the disk refuses or the journal is damaged.</summary>
    private bool TryAppendToJournal(OutputBatch batch)
    {
        long bytes;
        try
        {
            lock (_spillLock)
            {
                bytes = _spill.Append(batch);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            LogSpillFailed(_options.Name, e);
            return false;
        }

        Counters.OnSpilled(batch.Count, bytes);
        return true;
    }

    /// <summary>Appends a batch the store refused to the journal (off the ring thread); false if the disk refuses too.</summary>
    private bool TrySpill(OutputBatch batch, Exception failure)
    {
        if (!TryAppendToJournal(batch))
        {
            return false; // retried against the store instead, which loses nothing
        }

        LogSpilledAfterFailure(_options.Name, batch.Count, failure.Message);
        StartReplayIfSpilled(); // it waits for the store with the usual backoff, then drains the journal
        return true;
    }

    private void StartReplayIfSpilled()
    {
        lock (_lock)
        {
            if (_replay.IsCompleted && !_disposed && (_spill.HasBatches || File.Exists(_spill.Path + ".replaying")))
            {
                _replay = Task.Run(() => ReplaySpillAsync(_stopping.Token));
            }
        }
    }

    /// <summary>
    /// Writes the spilled batches into the store, oldest first, and removes them: a file sealed earlier (a replay cut
    /// short by a stop or a crash) first, then the journal as it is now, sealed so that batches spilled meanwhile go to a
    /// new file (replayed by the next round).
    /// </summary>
    private async Task ReplaySpillAsync(CancellationToken cancellationToken)
    {
        var sealedPath = _spill.Path + ".replaying";
        var batch = new OutputBatch(_options.BatchSize, Symbols);
        try
        {
            for (var round = 0; round < 2; round++)
            {
                if (!File.Exists(sealedPath))
                {
                    bool moved;
                    lock (_spillLock)
                    {
                        moved = _spill.SealTo(sealedPath);
                    }

                    if (!moved)
                    {
                        return;
                    }
                }

                using var sealedJournal = new SpillJournal(sealedPath);
                var replayed = await sealedJournal.ReadAllAsync(batch, async b =>
                {
                    await WriteWithRetriesAsync(b, spillOnFailure: false, cancellationToken).ConfigureAwait(false); // a replay waits for the store
                    Counters.OnReplayed(b.Count);
                }).ConfigureAwait(false);
                sealedJournal.Delete();
                LogReplayed(_options.Name, replayed);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // stopped: the sealed file stays, the next start replays it first (writes are idempotent)
        }
        catch (Exception e)
        {
            LogReplayFailed(_options.Name, sealedPath, e);
        }
    }

    private void OnMark(long markId)
    {
        var needs = _filling.Count > 0 ? _filling.Sequence : _filling.Sequence - 1;
        lock (_lock)
        {
            if (needs <= _durableThrough)
            {
                _commitMarks?.OnDurable(markId);
                return;
            }

            _marks.Enqueue((markId, needs));
        }

        CompleteDeferred(); // files the writer closed on its own since the last write
    }

    /// <summary>Batch <paramref name="sequence"/> is durable: advance the completed prefix and acknowledge the marks it satisfies.</summary>
    private void Complete(long sequence)
    {
        lock (_lock)
        {
            if (sequence != _durableThrough + 1)
            {
                _completedAhead.Add(sequence);
                return;
            }

            _durableThrough = sequence;
            while (_completedAhead.Remove(_durableThrough + 1))
            {
                _durableThrough++;
            }

            while (_marks.TryPeek(out var mark) && mark.NeedsBatch <= _durableThrough)
            {
                _marks.Dequeue();
                _commitMarks?.OnDurable(mark.MarkId);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sink}: write failed, retrying in {Delay}: {Reason}")]
    private partial void LogRetrying(string sink, TimeSpan delay, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Sink}: a batch of {Count} events failed for good; kept in the failed-batches file")]
    private partial void LogFailedForGood(string sink, int count, Exception failure);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sink}: write failed, {Count} events spilled to the journal: {Reason}")]
    private partial void LogSpilledAfterFailure(string sink, int count, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Sink}: the journal could not be written")]
    private partial void LogSpillFailed(string sink, Exception failure);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sink}: {Batches} spilled batch(es) replayed into the store")]
    private partial void LogReplayed(string sink, int batches);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Sink}: replaying the spill journal {Path} failed; it is kept for the next start")]
    private partial void LogReplayFailed(string sink, string path, Exception failure);
}

/// <summary>A <see cref="BatchingSink{TWriter}"/> whatever its writer: what the host needs to run, watch and stop it.</summary>
public interface IBatchingSink : IDisposable
{
    /// <summary>The sink's name (logs, metrics, journal files).</summary>
    string Name { get; }

    /// <summary>The sink's counters.</summary>
    SinkCounters Counters { get; }

    /// <summary>Adds the sink's handler, on a thread of its own, to the output ring (before the ring starts).</summary>
    IEventProcessor Attach(ValueDisruptor<OutputEvent> output);

    /// <summary>Writes what a previous run spilled and did not replay; before the ring starts.</summary>
    Task RecoverAsync(CancellationToken cancellationToken = default);

    /// <summary>Writes the filling batch and waits for every write in flight; false if some are pending at the timeout.</summary>
    bool Drain(TimeSpan timeout);
}

/// <summary>The output ring's handler for a <see cref="BatchingSink{TWriter}"/> (on the sink's own thread).</summary>
public readonly struct BatchingSinkHandler<TWriter>(BatchingSink<TWriter> sink) : IValueEventHandler<OutputEvent>
    where TWriter : IBatchWriter
{
    /// <inheritdoc />
    public void OnEvent(ref OutputEvent data, long sequence, bool endOfBatch) => sink.OnEvent(in data, endOfBatch);

    /// <inheritdoc />
    public void OnShutdown() => sink.Drain(TimeSpan.FromSeconds(30));
}

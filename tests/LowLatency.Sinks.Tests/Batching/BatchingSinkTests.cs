using System.Collections.Concurrent;
using LowLatency.Aggregation;
using LowLatency.Market;
using LowLatency.Sinks.Batching;
using LowLatency.TestSupport;

namespace LowLatency.Sinks.Tests.Batching;

/// <summary>
/// The sink framework with a writer of our own in memory (what a store would receive): batching, commit marks after
/// durable writes only, retries, failed batches kept, backpressure and spill with replay.
/// </summary>
public sealed class BatchingSinkTests : IDisposable
{
    private readonly string _journal = Directory.CreateTempSubdirectory("lowlatency-sink-").FullName;
    private readonly SymbolTable _symbols = new();

    public void Dispose() => Directory.Delete(_journal, recursive: true);

    [Fact]
    public void OnEvent_EventsAndMarks_EveryEventWrittenOnceInOrderAndEachMarkAfterItsEvents()
    {
        var writer = new MemoryWriter();
        var marks = new MarkLog(writer);
        using var sink = Sink(writer, marks, batchSize: 7);

        for (var i = 1; i <= 100; i++)
        {
            sink.OnEvent(Candle("BTCUSDT", i), endOfBatch: i % 13 == 0);
            if (i % 25 == 0)
            {
                sink.OnEvent(Mark(i), endOfBatch: true);
            }
        }

        Assert.True(sink.Drain(TimeSpan.FromSeconds(10)));
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), writer.Written.Select(w => w.OpenTime));
        Assert.Equal([25L, 50, 75, 100], marks.Acknowledged.Select(a => a.MarkId));
        Assert.All(marks.Acknowledged, a => Assert.True(a.WrittenWhenAcknowledged >= a.MarkId, $"mark {a.MarkId} acknowledged with {a.WrittenWhenAcknowledged} events written"));
        Assert.Equal(100, sink.Counters.EventsWritten);
        Assert.InRange(sink.Counters.Batches, 100 / 7, 100);
    }

    [Fact]
    public void OnEvent_WriterSlow_EventsGatherIntoBatchesUpToTheSizeAndMarksWait()
    {
        var writer = new MemoryWriter { Gate = new TaskCompletionSource() };
        var marks = new MarkLog(writer);
        using var sink = Sink(writer, marks, batchSize: 10, inFlight: 1);

        sink.OnEvent(Candle("BTCUSDT", 1), endOfBatch: true); // goes at once, then blocks in the writer
        for (var i = 2; i <= 9; i++)
        {
            sink.OnEvent(Candle("BTCUSDT", i), endOfBatch: true); // no slot: the batch keeps filling, the ring thread does not wait
        }

        sink.OnEvent(Mark(1), endOfBatch: true);
        Assert.Empty(marks.Acknowledged);
        writer.Gate.SetResult();
        Assert.True(sink.Drain(TimeSpan.FromSeconds(10)));

        Assert.Equal(Enumerable.Range(1, 9).Select(i => (long)i), writer.Written.Select(w => w.OpenTime));
        Assert.Equal([1, 8], writer.BatchSizes);
        Assert.Equal([1L], marks.Acknowledged.Select(a => a.MarkId));
    }

    [Fact]
    public void OnEvent_TransientFailures_RetriedWithBackoffUntilWritten()
    {
        var writer = new MemoryWriter { TransientFailures = 3 };
        var marks = new MarkLog(writer);
        using var sink = Sink(writer, marks);

        sink.OnEvent(Candle("ETHUSDT", 1), endOfBatch: false);
        sink.OnEvent(Mark(1), endOfBatch: true);

        Assert.True(sink.Drain(TimeSpan.FromSeconds(10)));
        Assert.Equal([1L], writer.Written.Select(w => w.OpenTime));
        Assert.Equal(3, sink.Counters.Retries);
        Assert.Equal([1L], marks.Acknowledged.Select(a => a.MarkId));
    }

    [Fact]
    public async Task OnEvent_PermanentFailure_BatchKeptInTheFailedFileAndMarksGoOn()
    {
        var writer = new MemoryWriter { PermanentFailures = 1 };
        var marks = new MarkLog(writer);
        using (var sink = Sink(writer, marks))
        {
            sink.OnEvent(Candle("ETHUSDT", 1), endOfBatch: false);
            sink.OnEvent(Candle("ETHUSDT", 2), endOfBatch: false);
            sink.OnEvent(Mark(1), endOfBatch: true);
            sink.OnEvent(Candle("ETHUSDT", 3), endOfBatch: false);
            sink.OnEvent(Mark(2), endOfBatch: true);
            Assert.True(sink.Drain(TimeSpan.FromSeconds(10)));
            Assert.Equal(1, sink.Counters.Failures);
        }

        Assert.Equal([3L], writer.Written.Select(w => w.OpenTime));
        Assert.Equal([1L, 2], marks.Acknowledged.Select(a => a.MarkId));
        var kept = await ReadJournal(Path.Combine(_journal, "test.failed"));
        Assert.Equal([("ETHUSDT", 1L), ("ETHUSDT", 2L)], kept);
    }

    [Fact]
    public void OnEvent_BackpressureWithTheStoreStalled_RingThreadWaitsWithBoundedBuffersAndNothingIsLost()
    {
        var writer = new MemoryWriter { Gate = new TaskCompletionSource() };
        var marks = new MarkLog(writer);
        using var sink = Sink(writer, marks, batchSize: 5, inFlight: 2);
        var offered = 0;
        var producer = new Thread(() =>
        {
            for (var i = 1; i <= 100; i++)
            {
                sink.OnEvent(Candle("BTCUSDT", i), endOfBatch: false);
                Volatile.Write(ref offered, i);
            }
        });
        producer.Start();

        // Two batches in the writer and a third full: the call that filled it (the 15th event) waits for the store.
        Poll.Until(() => Volatile.Read(ref offered) == 14, "the buffer filled");
        Poll.Never(() => Volatile.Read(ref offered) > 14, "an event taken beyond the bounded buffer", TimeSpan.FromMilliseconds(300));
        Assert.True(sink.Counters.Backpressure.Waits >= 1);

        writer.Gate.SetResult();
        Assert.True(producer.Join(TimeSpan.FromSeconds(10)));
        Assert.True(sink.Drain(TimeSpan.FromSeconds(10)));
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), writer.Written.Select(w => w.OpenTime).Order());
        Assert.Equal(100, writer.Written.Count);
    }

    [Fact]
    public void OnEvent_SpillWithTheStoreDown_RingNeverWaitsMarksAcknowledgedAndTheJournalReplayedOnRecovery()
    {
        var writer = new MemoryWriter { Down = true };
        var marks = new MarkLog(writer);
        using var sink = Sink(writer, marks, batchSize: 5, inFlight: 1, overflow: OverflowPolicy.Spill);

        for (var i = 1; i <= 60; i++)
        {
            sink.OnEvent(Candle(i % 2 == 0 ? "BTCUSDT" : "ETHUSDT", i), endOfBatch: false);
            if (i % 20 == 0)
            {
                sink.OnEvent(Mark(i), endOfBatch: true);
            }
        }

        // Every batch is on disk: the one the store refused in flight too, so no mark waits for the store.
        Poll.Until(() => marks.Acknowledged.Count == 3, "every mark acknowledged while the store is down");
        var (spilledBatches, spilledEvents, spilledBytes) = sink.Counters.Spilled;
        Assert.True(spilledBatches == 12 && spilledEvents == 60 && spilledBytes > 0, $"{spilledBatches} batches, {spilledEvents} events, {spilledBytes} bytes spilled");
        Assert.Empty(writer.Written);

        writer.Down = false; // the store is back: the replay, waiting with backoff, drains the journal
        Poll.Until(() => writer.Written.Count == 60, "the journal replayed");
        Assert.True(sink.Drain(TimeSpan.FromSeconds(10)));
        Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i), writer.Written.Select(w => w.OpenTime).Order());
        Assert.Equal(60, writer.Written.Count);
        Assert.All(writer.Written, w => Assert.Equal(w.OpenTime % 2 == 0 ? "BTCUSDT" : "ETHUSDT", w.Symbol));
        Assert.False(sink.Spill.HasBatches);
        Assert.Equal(spilledEvents, sink.Counters.Replayed);
    }

    [Fact]
    public async Task RecoverAsync_JournalFromACrashedRunWithATornTail_WholeBatchesWrittenWithSymbolsByName()
    {
        // A previous process spilled two batches and died in the middle of a third.
        var previous = new SymbolTable();
        previous.GetOrAdd("XRPUSDT"); // ids differ between the runs: names carry over, ids do not
        var path = Path.Combine(_journal, "test.spill");
        using (var journal = new SpillJournal(path))
        {
            var batch = new OutputBatch(4, previous);
            foreach (var (symbol, open) in (ReadOnlySpan<(string, long)>)[("BTCUSDT", 1), ("ETHUSDT", 2)])
            {
                batch.Add(CandleIn(previous, symbol, open), 0);
            }

            journal.Append(batch);
            batch.Clear();
            batch.Add(CandleIn(previous, "SOLUSDT", 3), 0);
            journal.Append(batch);
        }

        var whole = new FileInfo(path).Length;
        await File.AppendAllTextAsync(path, "\u0040\u0001\0\0torn");

        var writer = new MemoryWriter();
        using var sink = Sink(writer, new MarkLog(writer), overflow: OverflowPolicy.Spill);
        await sink.RecoverAsync();

        Assert.Equal([("BTCUSDT", 1L), ("ETHUSDT", 2L), ("SOLUSDT", 3L)], writer.Written.Select(w => (w.Symbol, w.OpenTime)));
        Assert.False(File.Exists(path));
        Assert.True(whole > 12);
    }

    [Fact]
    public async Task SpillJournal_WrittenByAnotherLayout_RefusedWithAClearError()
    {
        var path = Path.Combine(_journal, "other.spill");
        await File.WriteAllBytesAsync(path, [0x4C, 0x4C, 0x53, 0x4A, 1, 0, 0, 0, 8, 0, 0, 0]);
        using var journal = new SpillJournal(path);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => journal.ReadAllAsync(new OutputBatch(1, _symbols), _ => Task.CompletedTask));
        Assert.Contains("another build", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SpillJournal_DamagedRecordBeforeTheEnd_RefusedAndKeptNotCutAway()
    {
        var path = Path.Combine(_journal, "damaged.spill");
        using (var journal = new SpillJournal(path))
        {
            for (var i = 1; i <= 2; i++)
            {
                var batch = new OutputBatch(1, _symbols);
                batch.Add(Candle("BTCUSDT", i));
                journal.Append(batch);
            }
        }

        var bytes = await File.ReadAllBytesAsync(path);
        bytes[12 + 8 + 6] ^= 0xFF; // inside the first record's payload: its CRC no longer matches, and a record follows
        await File.WriteAllBytesAsync(path, bytes);
        using var reader = new SpillJournal(path);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => reader.ReadAllAsync(new OutputBatch(1, _symbols), _ => Task.CompletedTask));
        Assert.Contains("corrupt record", error.Message, StringComparison.Ordinal);
        Assert.Equal(bytes.Length, new FileInfo(path).Length);
    }

    internal static OutputEvent Mark(long id) => new() { Kind = OutputKind.Mark, MarkId = id };

    internal static OutputEvent CandleIn(SymbolTable symbols, string symbol, long openTime)
    {
        var id = symbols.GetOrAdd(symbol);
        return new OutputEvent
        {
            Kind = OutputKind.Candle,
            SymbolId = id,
            Candle = new Candle { SymbolId = id, OpenTimeNs = openTime, IntervalNs = 60_000_000_000, TradeCount = openTime },
        };
    }

    private static async Task<List<(string Symbol, long OpenTime)>> ReadJournal(string path)
    {
        var symbols = new SymbolTable();
        var read = new List<(string, long)>();
        using var journal = new SpillJournal(path);
        await journal.ReadAllAsync(new OutputBatch(1_000, symbols), batch =>
        {
            foreach (var e in batch.Events)
            {
                read.Add((symbols.GetName(e.Candle.SymbolId), e.Candle.OpenTimeNs));
            }

            return Task.CompletedTask;
        });
        return read;
    }

    private OutputEvent Candle(string symbol, long openTime) => CandleIn(_symbols, symbol, openTime);

    private BatchingSink<MemoryWriter> Sink(MemoryWriter writer, MarkLog marks, int batchSize = 100, int inFlight = 2, OverflowPolicy overflow = OverflowPolicy.Backpressure) =>
        new(
            new BatchingSinkOptions
            {
                Name = "test",
                BatchSize = batchSize,
                MaxInFlightBatches = inFlight,
                Overflow = overflow,
                JournalDirectory = _journal,
                RetryInitialDelay = TimeSpan.FromMilliseconds(5),
                RetryMaxDelay = TimeSpan.FromMilliseconds(40),
                BatchTimeout = TimeSpan.FromSeconds(10),
            },
            writer,
            _symbols,
            marks);

    /// <summary>Our own writer, in memory: records what it was given; can be held, failed or down.</summary>
    private sealed class MemoryWriter : IBatchWriter
    {
        private readonly ConcurrentQueue<(string Symbol, long OpenTime)> _written = new();
        private readonly ConcurrentQueue<int> _batchSizes = new();
        private int _transientFailures;
        private int _permanentFailures;

        public TaskCompletionSource? Gate { get; init; }

        public int TransientFailures { init => _transientFailures = value; }

        public int PermanentFailures { init => _permanentFailures = value; }

        public volatile bool Down;

        public List<(string Symbol, long OpenTime)> Written => [.. _written];

        public List<int> BatchSizes => [.. _batchSizes];

        public int WrittenCount => _written.Count;

        public async ValueTask WriteAsync(OutputBatch batch, CancellationToken cancellationToken)
        {
            if (Gate is not null)
            {
                await Gate.Task.WaitAsync(cancellationToken);
            }

            if (Down || Interlocked.Decrement(ref _transientFailures) >= 0)
            {
                throw new IOException("store unavailable");
            }

            if (Interlocked.Decrement(ref _permanentFailures) >= 0)
            {
                throw new InvalidOperationException("rejected");
            }

            _batchSizes.Enqueue(batch.Count);
            foreach (var e in batch.Events)
            {
                _written.Enqueue((batch.Symbols.GetName(e.Candle.SymbolId), e.Candle.OpenTimeNs));
            }
        }

        public bool IsTransient(Exception failure) => failure is IOException;
    }

    /// <summary>The commit watermark's side: which marks were acknowledged, and how much was written by then.</summary>
    private sealed class MarkLog(MemoryWriter writer) : ICommitMarks
    {
        private readonly ConcurrentQueue<(long MarkId, int WrittenWhenAcknowledged)> _acknowledged = new();

        public List<(long MarkId, int WrittenWhenAcknowledged)> Acknowledged => [.. _acknowledged];

        public void OnShardMark(long markId, int shardIndex, ReadOnlySpan<long> oldestOpenOffsets, ReadOnlySpan<long> partitionClocks)
        {
        }

        public void OnDurable(long markId) => _acknowledged.Enqueue((markId, writer.WrittenCount));
    }
}

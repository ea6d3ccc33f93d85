using System.Collections.Concurrent;
using LowLatency.Aggregation;
using LowLatency.Market;
using LowLatency.Sinks.Batching;
using LowLatency.TestSupport;

namespace LowLatency.Sinks.Tests.Batching;

/// <summary>
/// A writer whose batches become durable only when it closes its files (the Parquet cold tier's contract): the sink
/// acknowledges a commit mark only once every batch before it is in a closed file, notices files closed on the writer's
/// own schedule at the next mark, and closes the open files when drained.
/// </summary>
public sealed class DeferredDurabilityTests : IDisposable
{
    private readonly string _journal = Directory.CreateTempSubdirectory("lowlatency-deferred-").FullName;
    private readonly SymbolTable _symbols = new();

    public void Dispose() => Directory.Delete(_journal, recursive: true);

    [Fact]
    public void OnEvent_MarksAcknowledgedOnlyForBatchesInClosedFiles()
    {
        var writer = new FileLikeWriter();
        var marks = new Acknowledged();
        using var sink = Sink(writer, marks);

        Send(sink, 1, 10);
        sink.OnEvent(BatchingSinkTests.Mark(1), endOfBatch: true);
        Poll.Until(() => writer.Accepted == 10, "the first ten rows accepted into the open file");
        Send(sink, 11, 20);
        sink.OnEvent(BatchingSinkTests.Mark(2), endOfBatch: true);
        Poll.Until(() => writer.Accepted == 20, "the next ten rows accepted");
        Assert.Empty(marks.Ids); // written, but no file is closed: nothing may be committed yet

        writer.CloseFiles(); // the writer rolls its files on its own schedule (size or age)
        Send(sink, 21, 25);
        sink.OnEvent(BatchingSinkTests.Mark(3), endOfBatch: true); // the next mark notices
        Poll.Until(() => marks.Ids.Count == 2, "the marks behind the closed file acknowledged");
        Assert.Equal([1L, 2L], marks.Ids);
        Assert.Equal(20, writer.Closed);

        Assert.True(sink.Drain(TimeSpan.FromSeconds(10))); // shutdown closes the open file
        Assert.Equal([1L, 2L, 3L], marks.Ids);
        Assert.Equal(25, writer.Closed);
    }

    [Fact]
    public void OnEvent_Klines_OnlyForAWriterThatWantsThem()
    {
        var kline = new OutputEvent { Kind = OutputKind.Kline, SymbolId = _symbols.GetOrAdd("BTCUSDT") };
        kline.Kline.Data.RecordId = Guid.NewGuid();
        foreach (var wants in new[] { false, true })
        {
            var writer = new FileLikeWriter { WantsKlines = wants };
            using var sink = Sink(writer, new Acknowledged());
            sink.OnEvent(BatchingSinkTests.CandleIn(_symbols, "BTCUSDT", 1), endOfBatch: false);
            sink.OnEvent(kline, endOfBatch: true);
            Assert.True(sink.Drain(TimeSpan.FromSeconds(10)));
            Assert.Equal(wants ? 2 : 1, writer.Accepted);
        }
    }

    [Fact]
    public void Constructor_DeferredWriterWithTwoBatchesInFlight_Refused()
    {
        var options = new BatchingSinkOptions { Name = "cold", MaxInFlightBatches = 2, JournalDirectory = _journal };
        var refused = Assert.Throws<ArgumentException>(() => new BatchingSink<FileLikeWriter>(options, new FileLikeWriter(), _symbols));
        Assert.Contains("one batch at a time", refused.Message, StringComparison.Ordinal);
    }

    private void Send(BatchingSink<FileLikeWriter> sink, int from, int to)
    {
        for (var i = from; i <= to; i++)
        {
            sink.OnEvent(BatchingSinkTests.CandleIn(_symbols, "BTCUSDT", i), endOfBatch: i == to);
        }
    }

    private BatchingSink<FileLikeWriter> Sink(FileLikeWriter writer, Acknowledged marks) =>
        new(new BatchingSinkOptions { Name = "cold", BatchSize = 100, MaxInFlightBatches = 1, JournalDirectory = _journal }, writer, _symbols, marks);

    /// <summary>Rows go into an "open file"; <see cref="CloseFiles"/> makes everything accepted so far durable.</summary>
    private sealed class FileLikeWriter : IDeferredBatchWriter
    {
        private readonly Lock _lock = new();
        private long _lastAccepted;
        private long _durableThrough;
        private int _accepted;
        private int _closed;

        public int Accepted => Volatile.Read(ref _accepted);

        public bool WantsKlines { get; init; }

        public int Closed => Volatile.Read(ref _closed);

        public long DurableThrough => Volatile.Read(ref _durableThrough);

        public ValueTask WriteAsync(OutputBatch batch, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                _lastAccepted = batch.Sequence;
                _accepted += batch.Count;
            }

            return ValueTask.CompletedTask;
        }

        public bool IsTransient(Exception failure) => false;

        public ValueTask FlushAsync(CancellationToken cancellationToken)
        {
            CloseFiles();
            return ValueTask.CompletedTask;
        }

        public void CloseFiles()
        {
            lock (_lock)
            {
                Volatile.Write(ref _closed, _accepted);
                Volatile.Write(ref _durableThrough, _lastAccepted);
            }
        }
    }

    private sealed class Acknowledged : ICommitMarks
    {
        private readonly ConcurrentQueue<long> _ids = new();

        public List<long> Ids => [.. _ids];

        public void OnShardMark(long markId, int shardIndex, ReadOnlySpan<long> oldestOpenOffsets, ReadOnlySpan<long> partitionClocks)
        {
        }

        public void OnDurable(long markId) => _ids.Enqueue(markId);
    }
}

using LowLatency.Aggregation;
using LowLatency.Cassandra.Sink;
using LowLatency.Market;
using LowLatency.Sinks.Batching;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Cassandra;

namespace LowLatency.Cassandra.Tests;

/// <summary>
/// Issue 7's "server restart mid-run": the sink writing a stream of batches (as the output ring feeds it) while its
/// Cassandra node is killed and started again. Under backpressure nothing may be dropped: the batches in flight retry,
/// the feeding thread waits for a free slot, and once the node is back every row is in the table exactly once.
/// </summary>
/// <remarks>
/// The node is one of its own with <c>commitlog_sync: batch</c>: with the default periodic sync a killed node forgets
/// what it acknowledged since the last sync (see <see cref="CassandraServer.DurableCommitLog"/>), a loss no client can
/// prevent. Run against a periodic node this test fails with 22,000 of 24,000 rows: the 2,000 acknowledged before the
/// kill were gone. The shared node of the collection keeps serving the other tests meanwhile.
/// </remarks>
[Collection(CassandraCollection.Name)]
public sealed class CassandraSinkOutageTests : IDisposable
{
    private const int Symbols = 16;
    private const int Rows = 24_000;
    private readonly SymbolTable _symbols = new(64);
    private readonly string _journal = Directory.CreateTempSubdirectory("lowlatency-cassandra-outage-").FullName;

    public void Dispose() => ServerProcess.DeleteDirectory(_journal);

    [CassandraFact]
    public async Task BatchingSink_NodeKilledAndRestartedMidStream_BackpressureAndRetriesThenEveryRowOnce()
    {
        using var server = CassandraServer.Start(durableCommitLog: true);
        var options = new CassandraSinkOptions
        {
            Cassandra = new CassandraOptions { Host = server.Host, Port = server.Port },
            Keyspace = "sink_outage",
        };
        var events = Enumerable.Range(0, Rows).Select(Row).ToArray();
        await using var writer = await CassandraSinkWriter.OpenAsync(options);
        using var sink = new BatchingSink<CassandraSinkWriter>(
            new BatchingSinkOptions
            {
                Name = "cassandra",
                BatchSize = 200,
                Overflow = OverflowPolicy.Backpressure,
                RetryMaxDelay = TimeSpan.FromSeconds(1),
                JournalDirectory = _journal,
            },
            writer,
            _symbols);

        var fed = 0;
        Exception? feederFailure = null;
        var feeder = new Thread(() =>
        {
            try
            {
                for (var i = 0; i < events.Length; i++)
                {
                    sink.OnEvent(in events[i], endOfBatch: i % 500 == 499 || i == events.Length - 1);
                    Volatile.Write(ref fed, i + 1);
                }
            }
#pragma warning disable CA1031 // Kept for the assertion below; thrown here it would crash the test host (the sink is disposed under a failed test).
            catch (Exception e)
#pragma warning restore CA1031
            {
                Volatile.Write(ref feederFailure, e);
            }
        }) { IsBackground = true, Name = "sink-feeder" };
        feeder.Start();

        Poll.Until(() => sink.Counters.EventsWritten >= 2_000, "the first rows written", TimeSpan.FromSeconds(60));
        server.Stop();
        Poll.Until(() => sink.Counters.Retrying > 0, "a batch retrying while the node is down", TimeSpan.FromSeconds(30));
        Poll.Until(() => sink.Counters.Backpressure.Waits > 0, "the feeding thread waiting for a free slot", TimeSpan.FromSeconds(30));
        var writtenWhileDown = sink.Counters.EventsWritten;
        Assert.True(Volatile.Read(ref fed) < Rows, $"the feeder got through all {Rows:N0} rows while the node was down: nothing held it back");
        Assert.Equal(0, sink.Counters.Failures);

        server.Start();
        Assert.True(feeder.Join(TimeSpan.FromSeconds(120)), $"the feeder is stuck at {Volatile.Read(ref fed):N0} of {Rows:N0} after the restart");
        Assert.Null(Volatile.Read(ref feederFailure));
        Assert.True(sink.Drain(TimeSpan.FromSeconds(60)), "the sink drained after the restart");

        var counters = sink.Counters;
        Assert.Equal((Rows, 0L, 0L), (counters.EventsWritten, counters.Failures, counters.Spilled.Events));
        Assert.True(counters.Retries > 0 && counters.EventsWritten > writtenWhileDown, $"{counters.Retries} retries, {writtenWhileDown:N0} rows written before the restart");

        // Every row, once, with its own values: (asset_name, timestamp) is the key, trades carries the row's number.
        await using var read = new CassandraConnection(options.Cassandra);
        var seen = new HashSet<int>();
        for (var s = 0; s < Symbols; s++)
        {
            await foreach (var page in read.QueryPagesAsync($"SELECT asset_name, trades, timestamp FROM {options.Keyspace}.assets WHERE asset_name = '{Symbol(s)}'"))
            {
                for (var row = 0; row < page.Count; row++)
                {
                    var number = page.GetInt32(row, 1);
                    Assert.True(seen.Add(number), $"row {number} is there twice");
                    Assert.Equal(Symbol(number % Symbols), page.GetString(row, 0));
                    Assert.Equal(OpenMs(number), page.GetTimestamp(row, 2).ToUnixTimeMilliseconds());
                }
            }
        }

        Assert.Equal(Rows, seen.Count);
    }

    private static string Symbol(int s) => $"OUTAGE{s:D2}USDT";

    private static long OpenMs(int i) => 1_723_161_240_000 + (i / Symbols * 60_000L);

    private OutputEvent Row(int i)
    {
        var e = new OutputEvent { Kind = OutputKind.Kline, SymbolId = _symbols.GetOrAdd(Symbol(i % Symbols)) };
        e.Kline.Data = new KlineData
        {
            OpenTimeNs = OpenMs(i) * 1_000_000,
            CloseTimeNs = (OpenMs(i) + 59_999) * 1_000_000,
            Open = Price.Parse("61837.63"),
            High = Price.Parse("61900"),
            Low = Price.Parse("61800.5"),
            Close = Price.Parse("61850.01"),
            Volume = Quantity.Parse("12.345"),
            QuoteVolume = Quantity.Parse("763456.789"),
            TradeCount = i,
            Interval = KlineInterval.Minute1,
            IsClosed = true,
            RecordId = Guid.NewGuid(),
        };
        e.Kline.EventTimeNs = (OpenMs(i) + 60_000) * 1_000_000;
        e.Kline.ReceiveTimeNs = (OpenMs(i) + 60_001) * 1_000_000;
        return e;
    }
}

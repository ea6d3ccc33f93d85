using System.Collections.Concurrent;
using LowLatency.Aggregation;
using LowLatency.Market;
using LowLatency.Parquet.Sink;
using LowLatency.Sinks.Batching;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Duckdb;

namespace LowLatency.Parquet.Tests;

/// <summary>
/// The cold-tier sink behind the sink framework: nothing is visible and no commit mark is acknowledged until the files
/// close; then the files sit under <c>candles/symbol=…/date=…/</c> and DuckDB reads the same values back.
/// </summary>
public sealed class ParquetSinkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lowlatency-parquet-sink-").FullName;
    private readonly SymbolTable _symbols = new(64);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [DuckdbFact]
    public void Drain_CandlesOfTwoSymbolsAndTwoDays_FilesAppearOnlyWhenClosedAndDuckdbReadsEveryValue()
    {
        var marks = new Acknowledged();
        var cold = Path.Combine(_dir, "cold");
        using var writer = new ParquetSinkWriter(new ParquetSinkOptions { Directory = cold, RollInterval = TimeSpan.FromHours(1) });
        using var sink = new BatchingSink<ParquetSinkWriter>(
            new BatchingSinkOptions { Name = "parquet", MaxInFlightBatches = 1, BatchSize = 100, JournalDirectory = Path.Combine(_dir, "journal") },
            writer,
            _symbols,
            marks);

        const long day = 86_400_000;
        var opens = new List<(string Symbol, long OpenMs)>();
        foreach (var symbol in (string[])["BTCUSDT", "ETHUSDT"])
        {
            for (var minute = 0; minute < 90; minute++)
            {
                opens.Add((symbol, (20_000 * day) - (45 * 60_000) + (minute * 60_000L))); // across midnight: two dates
            }
        }

        foreach (var (symbol, openMs) in opens)
        {
            sink.OnEvent(Candle(symbol, openMs), endOfBatch: false);
        }

        sink.OnEvent(new OutputEvent { Kind = OutputKind.Mark, MarkId = 1 }, endOfBatch: true);
        Poll.Until(() => sink.Counters.EventsWritten == opens.Count, "the batches accepted into the open files");
        Assert.Equal(0, writer.DurableThrough);
        Assert.Empty(marks.Ids); // accepted into open files: not committable yet
        Assert.Empty(Directory.GetFiles(cold, "*.parquet", SearchOption.AllDirectories)); // and nothing visible

        Assert.True(sink.Drain(TimeSpan.FromSeconds(30)));
        Assert.Equal([1L], marks.Ids);
        var files = Directory.GetFiles(cold, "*.parquet", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(cold, Path.GetDirectoryName(f)!)).Order().ToList();
        Assert.Equal(
            ["candles/symbol=BTCUSDT/date=2024-10-03", "candles/symbol=BTCUSDT/date=2024-10-04", "candles/symbol=ETHUSDT/date=2024-10-03", "candles/symbol=ETHUSDT/date=2024-10-04"],
            files.Select(f => f.Replace('\\', '/')));
        Assert.Empty(Directory.GetFiles(cold, "*.tmp", SearchOption.AllDirectories));

        using var db = new DuckdbConnection();
        var rows = db.Query(
            $"SELECT symbol, epoch_ms(open_time), CAST(open AS VARCHAR), CAST(close AS VARCHAR), trades, has_gap, buy_sell_ratio, date " +
            $"FROM read_parquet({DuckdbConnection.Literal(cold + "/candles/*/*/*.parquet")}, hive_partitioning = true) ORDER BY symbol, open_time");
        Assert.Equal(opens.Count, rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            var (symbol, openMs) = opens.OrderBy(o => o.Symbol, StringComparer.Ordinal).ThenBy(o => o.OpenMs).ElementAt(i);
            Assert.Equal(symbol, rows[i][0]);
            Assert.Equal(openMs.ToString(System.Globalization.CultureInfo.InvariantCulture), rows[i][1]);
            Assert.Equal("2601.12345678", rows[i][2]);
            Assert.Equal("-0.00000001", rows[i][3]);
            Assert.Equal("7", rows[i][4]);
            Assert.Null(rows[i][6]); // NaN metrics are absent
            Assert.Equal(DateTime.UnixEpoch.AddMilliseconds(openMs).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), rows[i][7]?[..10]);
        }
    }

    [Theory]
    [InlineData("BTCUSDT", "BTCUSDT")]
    [InlineData("../../etc", "..%2F..%2Fetc")]
    [InlineData("..", "%2E%2E")]
    [InlineData("币安", "%E5%B8%81%E5%AE%89")]
    [InlineData("A B/C\\D", "A%20B%2FC%5CD")]
    public void PartitionValue_SymbolFromTheInput_NeverLeavesItsDirectory(string symbol, string expected) =>
        Assert.Equal(expected, ParquetSinkWriter.PartitionValue(symbol)); // symbols come from the exchange or Kafka: untrusted

    [Fact]
    public async Task WriteAsync_DirectoryRemovedUnderTheOpenFiles_FailsClearlyAndAcknowledgesNothingMore()
    {
        var cold = Path.Combine(_dir, "gone");
        using var writer = new ParquetSinkWriter(new ParquetSinkOptions { Directory = cold, RollRows = 2, RollInterval = TimeSpan.FromHours(1) });
        var batch = new OutputBatch(4, _symbols);
        batch.Add(Candle("BTCUSDT", 60_000));
        await writer.WriteAsync(batch, CancellationToken.None); // one row: still open
        Directory.Delete(cold, recursive: true);
        batch.Add(Candle("BTCUSDT", 120_000)); // the second row reaches the roll
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => writer.WriteAsync(batch, CancellationToken.None).AsTask());
        Assert.Contains("could not be closed", failure.Message, StringComparison.Ordinal);
        Assert.False(writer.IsTransient(failure)); // not retried into the same broken state
        Assert.Equal(0, writer.DurableThrough);
        await Assert.ThrowsAsync<InvalidOperationException>(() => writer.WriteAsync(batch, CancellationToken.None).AsTask());
    }

    [DuckdbFact]
    public async Task Restart_InputReadAgainSinceTheLastCommit_RowsInClosedFilesAreNotWrittenTwice()
    {
        var cold = Path.Combine(_dir, "restart");
        var options = new ParquetSinkOptions { Directory = cold, RollRows = 25, RollInterval = TimeSpan.FromHours(1) };
        using (var first = new ParquetSinkWriter(options))
        {
            await WriteAsync(first, [.. Minutes("BTCUSDT", 0, 60), .. Minutes("ETHUSDT", 0, 10), Alert("BTCUSDT", 5, 100), Alert("BTCUSDT", 9, 130)]);
            await first.FlushAsync(CancellationToken.None);
            Assert.Equal(0, first.RowsDropped);
        }

        // The restart reads the input again from a commit before minute 40 (and before the alerts): what the closed files
        // hold is dropped, the rest is new.
        using (var second = new ParquetSinkWriter(options))
        {
            await WriteAsync(second, [.. Minutes("BTCUSDT", 40, 90), .. Minutes("ETHUSDT", 0, 15), Alert("BTCUSDT", 9, 130), Alert("BTCUSDT", 9, 131)]);
            await second.FlushAsync(CancellationToken.None);
            Assert.Equal(20 + 10 + 1, second.RowsDropped);
        }

        using var db = new DuckdbConnection();
        var candles = db.Query($"SELECT symbol, epoch_ms(open_time) // 60000, count(*) FROM read_parquet({DuckdbConnection.Literal(cold + "/candles/*/*/*.parquet")}) GROUP BY ALL ORDER BY ALL");
        Assert.Equal(
            [.. Enumerable.Range(0, 90).Select(m => $"BTCUSDT {m} 1"), .. Enumerable.Range(0, 15).Select(m => $"ETHUSDT {m} 1")],
            candles.Select(r => string.Join(' ', r)));
        var alerts = db.Query($"SELECT trade_id FROM read_parquet({DuckdbConnection.Literal(cold + "/alerts/*/*/*.parquet")}) ORDER BY ALL");
        Assert.Equal(["100", "130", "131"], alerts.Select(r => r[0]));
    }

    [DuckdbFact]
    public async Task Trades_WrittenOnlyWhenAskedAndNotTwiceAfterARestart_ReadBackAsTrades()
    {
        var cold = Path.Combine(_dir, "trades");
        using (var off = new ParquetSinkWriter(new ParquetSinkOptions { Directory = cold }))
        {
            Assert.False(off.WantsTrades); // off by default: a row per trade
        }

        var options = new ParquetSinkOptions { Directory = cold, Trades = true, RollInterval = TimeSpan.FromHours(1) };
        await WriteClosedAsync(options, Enumerable.Range(0, 50).Select(i => Trade("BTCUSDT", 1000 + i)));
        using (var second = new ParquetSinkWriter(options))
        {
            Assert.True(second.WantsTrades);
            await WriteAsync(second, Enumerable.Range(40, 20).Select(i => Trade("BTCUSDT", 1000 + i))); // read again from an older commit
            await second.FlushAsync(CancellationToken.None);
            Assert.Equal(10, second.RowsDropped);
        }

        using var db = new DuckdbConnection();
        Assert.Equal(
            "60 60 1000 1059 60123.45678901 0.00100000",
            string.Join(' ', db.Query($"SELECT count(*), count(DISTINCT trade_id), min(trade_id), max(trade_id), CAST(max(price) AS VARCHAR), CAST(min(quantity) AS VARCHAR) FROM read_parquet({DuckdbConnection.Literal(cold + "/trades/*/*/*.parquet")})").Single()));
        using var reader = new Datasets.ParquetTradeReader(Datasets.ParquetDataset.Files([Path.Combine(cold, "trades")]));
        var ids = new List<long>();
        while (reader.TryRead(out var trade))
        {
            ids.Add(trade.TradeId);
            Assert.Equal(trade.TradeId % 2 == 0, trade.IsBuyerMaker);
        }

        Assert.Equal(Enumerable.Range(1000, 60).Select(i => (long)i), ids);
    }

    [Fact]
    public async Task Restart_AfterACrashBetweenTheStateFileAndTheRenames_FinishesThePublishAndDeletesLeftovers()
    {
        var cold = Path.Combine(_dir, "interrupted");
        var options = new ParquetSinkOptions { Directory = cold, RollInterval = TimeSpan.FromHours(1) };
        await WriteClosedAsync(options, Minutes("BTCUSDT", 0, 30));

        // As if the process died after writing the state file but before renaming: the file is still sealed. Beside it,
        // a sealed file the state does not list (died before the state file) and a temporary file (died mid-write).
        var published = Assert.Single(Directory.GetFiles(cold, "*.parquet", SearchOption.AllDirectories));
        File.Move(published, published + ".sealed");
        var unlisted = Path.Combine(Path.GetDirectoryName(published)!, "part-x-00001.parquet.sealed");
        var partial = Path.Combine(Path.GetDirectoryName(published)!, "part-x-00001.parquet.sealed.0123.tmp");
        File.WriteAllText(unlisted, "sealed, but never recorded");
        File.WriteAllText(partial, "half a file");

        using (var second = new ParquetSinkWriter(options))
        {
            await WriteAsync(second, Minutes("BTCUSDT", 25, 35)); // the first row of the symbol recovers its directory
            Assert.Equal(5, second.RowsDropped);
            Assert.True(File.Exists(published), "the rename the state file lists was finished");
            Assert.False(File.Exists(unlisted), "an unlisted sealed file is deleted: its rows were never acknowledged");
            Assert.False(File.Exists(partial));
            await second.FlushAsync(CancellationToken.None);
        }

        long rows = 0;
        foreach (var file in Directory.GetFiles(cold, "*.parquet", SearchOption.AllDirectories))
        {
            using var reader = Reading.ParquetFileReader.Open(file);
            rows += reader.RowCount;
        }

        Assert.Equal(35, rows);
    }

    [Fact]
    public async Task Restart_DamagedStateFile_FailsNamingTheFileAndIsNotRetried()
    {
        var cold = Path.Combine(_dir, "damaged");
        var options = new ParquetSinkOptions { Directory = cold, RollInterval = TimeSpan.FromHours(1) };
        await WriteClosedAsync(options, Minutes("BTCUSDT", 0, 3));

        var state = Path.Combine(cold, "candles", "symbol=BTCUSDT", "_lowlatency_state.json");
        File.WriteAllText(state, "{\"version\":1,\"marks\":[{\"stream\":");
        using var second = new ParquetSinkWriter(options);
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => WriteAsync(second, Minutes("BTCUSDT", 3, 4)));
        Assert.Contains(state, failure.Message, StringComparison.Ordinal);
        Assert.False(second.IsTransient(failure));
    }

    private IEnumerable<OutputEvent> Minutes(string symbol, int from, int to) =>
        Enumerable.Range(from, to - from).Select(m => Candle(symbol, m * 60_000L));

    private OutputEvent Trade(string symbol, long id)
    {
        var symbolId = _symbols.GetOrAdd(symbol);
        return new OutputEvent
        {
            Kind = OutputKind.Trade,
            SymbolId = symbolId,
            Trade = new TradeRecord
            {
                Data = new TradeData { TradeId = id, Price = Price.Parse("60123.45678901"), Quantity = Quantity.Parse("0.001"), TradeTimeNs = id * 1_000_000_000, IsBuyerMaker = id % 2 == 0 },
                ReceiveTimeNs = (id * 1_000_000_000) + 1_500,
            },
        };
    }

    private OutputEvent Alert(string symbol, int minute, long tradeId)
    {
        var id = _symbols.GetOrAdd(symbol);
        return new OutputEvent
        {
            Kind = OutputKind.Alert,
            SymbolId = id,
            Alert = new Alert { SymbolId = id, Kind = AlertKind.WhaleTrade, TimeNs = minute * 60_000_000_000L, TradeId = tradeId, Price = Price.Parse("60000"), Value = 1, Threshold = 1 },
        };
    }

    /// <summary>A writer's run: the events, its files closed, the writer gone.</summary>
    private async Task WriteClosedAsync(ParquetSinkOptions options, IEnumerable<OutputEvent> events)
    {
        using var writer = new ParquetSinkWriter(options);
        await WriteAsync(writer, events);
        await writer.FlushAsync(CancellationToken.None);
    }

    private async Task WriteAsync(ParquetSinkWriter writer, IEnumerable<OutputEvent> events)
    {
        var batch = new OutputBatch(1024, _symbols);
        foreach (var e in events)
        {
            batch.Add(e);
        }

        await writer.WriteAsync(batch, CancellationToken.None);
    }

    private OutputEvent Candle(string symbol, long openMs) => SampleOutputs.Candle(_symbols, symbol, openMs);

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

using LowLatency.Aggregation;
using LowLatency.Market;
using LowLatency.Sinks.Batching;
using LowLatency.TestSupport.Postgres;
using static LowLatency.Postgres.Tests.PostgresTestRows;

namespace LowLatency.Postgres.Tests;

/// <summary>The writer behind the sink framework: output events in, committed rows out, against a real server.</summary>
public sealed class PostgresBatchWriterTests(PostgresServerFixture server) : IClassFixture<PostgresServerFixture>, IDisposable
{
    private readonly string _journal = Directory.CreateTempSubdirectory("lowlatency-pg-sink-").FullName;

    public void Dispose() => Directory.Delete(_journal, recursive: true);

    [PostgresFact]
    public async Task BatchingSink_CandlesAlertsAndTickers_CandlesAndAlertsCommitted()
    {
        await using var writer = await MigratedWriterAsync(server);
        var symbols = new SymbolTable();
        var btc = symbols.GetOrAdd("BTCUSDT");
        using (var sink = new BatchingSink<PostgresBatchWriter>(
            new BatchingSinkOptions { Name = "postgres", BatchSize = 7, JournalDirectory = _journal },
            new PostgresBatchWriter(writer),
            symbols))
        {
            for (var i = 0; i < 30; i++)
            {
                var openTimeNs = (1_723_075_200_000L + (i * 60_000L)) * 1_000_000;
                sink.OnEvent(
                    new OutputEvent
                    {
                        Kind = OutputKind.Candle,
                        SymbolId = btc,
                        Candle = new Candle { SymbolId = btc, IntervalNs = 60_000_000_000, OpenTimeNs = openTimeNs, Open = new Price(i + 1), TradeCount = i },
                        Metrics = new CandleMetrics(double.NaN, double.NaN, double.NaN, double.NaN, 0),
                    },
                    endOfBatch: false);
                sink.OnEvent(
                    new OutputEvent
                    {
                        Kind = OutputKind.Alert,
                        SymbolId = btc,
                        Alert = new Alert { Kind = AlertKind.WhaleTrade, SymbolId = btc, TimeNs = openTimeNs, TradeId = 1000 + i, Price = new Price(i + 1), Value = i, Threshold = 1 },
                    },
                    endOfBatch: false);
                sink.OnEvent(new OutputEvent { Kind = OutputKind.Ticker, SymbolId = btc }, endOfBatch: i % 5 == 4);
            }

            Assert.True(sink.Drain(TimeSpan.FromSeconds(30)));
            Assert.Equal(90, sink.Counters.EventsWritten);
        }

        var candles = await ReadCandlesAsync(server, writer.Options.Schema);
        Assert.Equal(Enumerable.Range(1, 30).Select(i => (long)i), candles.Select(c => c.Open));
        Assert.All(candles, c => Assert.Equal(("BTCUSDT", "1m"), (c.Symbol, c.Interval)));
        var alerts = await ReadAlertsAsync(server, writer.Options.Schema);
        Assert.Equal(Enumerable.Range(1000, 30).Select(i => $"BTCUSDT:whale_trade:{i}"), alerts.Select(a => a.Id));
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using LowLatency.Aggregation;
using LowLatency.Connectors.Replay;
using LowLatency.Host.Replay;
using LowLatency.Market;
using LowLatency.Parquet.Sink;
using LowLatency.Sinks.Batching;
using LowLatency.Sinks.Files;
using LowLatency.TestSupport.Duckdb;

namespace LowLatency.Host.Tests;

/// <summary><c>lowlatency replay</c> from Parquet: trades through the engine, and stored candles back out of the cold tier.</summary>
public sealed class ParquetReplayTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lowlatency-parquet-replay-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [DuckdbFact]
    public void Replay_TradesThatDuckdbWroteToParquet_GiveTheRecordingsCandles()
    {
        // The trades of a generated session, written to Parquet by another writer: DuckDB, with its own choices
        // (DECIMAL(18,8) prices, microsecond timestamps), one file per symbol under symbol=… directories.
        var generated = new GeneratedInput(_dir, 40_000, new MarketDataGeneratorOptions { Seed = 7, SymbolCount = 4, MeanGapNs = 10_000_000 });
        var csv = Path.Combine(_dir, "trades.csv");
        var trades = 0;
        using (var writer = new StreamWriter(csv, append: false, new UTF8Encoding(false)))
        {
            writer.WriteLine("symbol,trade_id,price,quantity,time_ms,is_buyer_maker");
            foreach (var (_, frame) in generated.Frames)
            {
                using var doc = JsonDocument.Parse(frame);
                var t = doc.RootElement.TryGetProperty("data", out var d) ? d : doc.RootElement;
                if (t.TryGetProperty("e", out var e) && e.GetString() == "trade")
                {
                    writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{t.GetProperty("s").GetString()},{t.GetProperty("t").GetInt64()},{t.GetProperty("p").GetString()},{t.GetProperty("q").GetString()},{t.GetProperty("T").GetInt64()},{(t.GetProperty("m").GetBoolean() ? "true" : "false")}"));
                    trades++;
                }
            }
        }

        var dataset = Path.Combine(_dir, "trades");
        using (var db = new DuckdbConnection())
        {
            db.Query(
                $$"""
                COPY (SELECT symbol, trade_id, CAST(price AS DECIMAL(18,8)) AS price, CAST(quantity AS DECIMAL(18,8)) AS quantity,
                             make_timestamp(time_ms * 1000) AS time, is_buyer_maker
                      FROM read_csv({{DuckdbConnection.Literal(csv)}}, header = true, types = {'price': 'VARCHAR', 'quantity': 'VARCHAR'})
                      ORDER BY time, trade_id)
                TO {{DuckdbConnection.Literal(dataset)}} (FORMAT parquet, PARTITION_BY (symbol), COMPRESSION snappy)
                """);
        }

        Assert.NotEmpty(Directory.GetFiles(dataset, "*.parquet", SearchOption.AllDirectories));
        var fromParquet = Path.Combine(_dir, "from-parquet");
        var console = new StringWriter(CultureInfo.InvariantCulture);
        Assert.True(ReplayCommand.Run([dataset, "--out", fromParquet, "--no-pin", "--quiet-alerts", "--intervals", "1s,1m"], console) == 0, console.ToString());
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"Trade {trades:N0}"), console.ToString(), StringComparison.Ordinal);
        Assert.Contains("rejected 0 frame(s)", console.ToString(), StringComparison.Ordinal);

        var expected = generated.ReplayCandles(_dir);
        Assert.True(expected.Count > 1000, $"{expected.Count} candles from the recording");
        var actual = File.ReadLines(Path.Combine(fromParquet, "candles.jsonl")).ToDictionary(DaemonTopics.CandleKey);
        Assert.Equal(expected.Count, actual.Count);
        var differing = expected.Where(e => actual.GetValueOrDefault(e.Key) != e.Value).Take(3).ToList();
        Assert.True(differing.Count == 0, string.Join("\n", differing.Select(e => $"{e.Value}\n{actual.GetValueOrDefault(e.Key)}")));
    }

    [Fact]
    public async Task Replay_ColdTierCandles_WritesTheCandlesTheEngineEmittedInTheOrderTheyClosed()
    {
        var symbols = new SymbolTable(16);
        var events = new List<OutputEvent>();
        var random = new Random(3);
        foreach (var symbol in (string[])["BTCUSDT", "ETHUSDT", "SOLUSDT"])
        {
            var id = symbols.GetOrAdd(symbol);
            for (var minute = 0; minute < 1500; minute++) // across a UTC midnight: two files per symbol
            {
                foreach (var intervalNs in (long[])[60_000_000_000, 300_000_000_000])
                {
                    if (intervalNs == 300_000_000_000 && minute % 5 != 4)
                    {
                        continue;
                    }

                    var open = random.NextInt64(1, 10_000_000_000_000);
                    var volume = random.NextInt64(0, 1_000_000_000_000);
                    events.Add(new OutputEvent
                    {
                        Kind = OutputKind.Candle,
                        SymbolId = id,
                        Candle = new Candle
                        {
                            SymbolId = id,
                            IntervalNs = intervalNs,
                            OpenTimeNs = (1_723_075_200_000_000_000L - (600 * 60_000_000_000L)) + ((minute + 1) * 60_000_000_000L) - intervalNs,
                            Open = new Price(open),
                            High = new Price(open + random.NextInt64(0, 1_000_000)),
                            Low = new Price(open - random.NextInt64(0, 1_000_000)),
                            Close = new Price(open + random.NextInt64(-1_000_000, 1_000_000)),
                            Volume = new Quantity(volume),
                            QuoteVolumeRaw = (Int128)volume * open / FixedPoint.Scale * FixedPoint.Scale,
                            TakerBuyVolume = new Quantity(volume / 3),
                            TakerBuyQuoteVolumeRaw = (Int128)(volume / 3) * open / FixedPoint.Scale * FixedPoint.Scale,
                            TradeCount = random.Next(0, 5000),
                            FirstTradeId = minute * 10_000L,
                            LastTradeId = (minute * 10_000L) + 9_999,
                            HasGap = random.Next(50) == 0,
                            LateTrades = random.Next(3),
                        },
                        Metrics = new CandleMetrics(random.NextDouble() - 0.5, minute % 7 == 0 ? double.NaN : random.NextDouble() * 3, double.NaN, random.NextDouble(), 0),
                    });
                }
            }
        }

        // The cold tier as the daemon writes it, and the file sink's lines for the same candles.
        var cold = Path.Combine(_dir, "cold");
        using (var sink = new ParquetSinkWriter(new ParquetSinkOptions { Directory = cold, RollInterval = TimeSpan.FromHours(1) }))
        {
            var batch = new OutputBatch(events.Count, symbols);
            foreach (var e in events)
            {
                batch.Add(e);
            }

            await sink.WriteAsync(batch, CancellationToken.None);
            await sink.FlushAsync(CancellationToken.None);
        }

        var direct = Path.Combine(_dir, "direct");
        using (var files = new OutputFileWriter(direct, symbols))
        {
            foreach (var e in events.OrderBy(e => e.Candle.CloseTimeNs))
            {
                files.Write(e);
            }
        }

        var replayed = Path.Combine(_dir, "replayed");
        var console = new StringWriter(CultureInfo.InvariantCulture);
        Assert.True(ReplayCommand.Run([Path.Combine(cold, "candles"), "--out", replayed], console) == 0, console.ToString());
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{events.Count:N0} candles"), console.ToString(), StringComparison.Ordinal);

        var expected = File.ReadAllLines(Path.Combine(direct, "candles.jsonl"));
        var actual = File.ReadAllLines(Path.Combine(replayed, "candles.jsonl"));
        Assert.Equal(expected.Order(StringComparer.Ordinal), actual.Order(StringComparer.Ordinal)); // every field, byte for byte
        var closeTimes = actual.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("close_time").GetInt64()).ToList();
        Assert.Equal(closeTimes.Order(), closeTimes); // merged across the files in the order the candles closed
    }

    [Fact]
    public void Replay_ParquetFileThatIsNeitherCandlesNorTrades_FailsNamingTheFileAndItsColumns()
    {
        Directory.CreateDirectory(_dir);
        var file = Path.Combine(_dir, "other.parquet");
        using (var writer = LowLatency.Parquet.Writing.ParquetFileWriter.Create(file, new LowLatency.Parquet.Writing.ParquetSchema(LowLatency.Parquet.Writing.ParquetColumn.Int64("x"))))
        {
            writer.WriteInt64(0, 1);
            writer.EndRow();
            writer.Complete();
        }

        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(1, ReplayCommand.Run([file, "--out", Path.Combine(_dir, "out")], TextWriter.Null));
        }
        finally
        {
            Console.SetError(previous);
        }

        Assert.Contains(file, error.ToString(), StringComparison.Ordinal);
        Assert.Contains("its columns are x", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Replay_TradesFileDamagedInsideAPage_FailsNamingTheFileInsteadOfCrashing()
    {
        Directory.CreateDirectory(_dir);
        var file = Path.Combine(_dir, "trades.parquet");
        using (var writer = LowLatency.Parquet.Writing.ParquetFileWriter.Create(file, ParquetSinkWriter.TradeSchema))
        {
            for (var i = 0; i < 20_000; i++)
            {
                writer.WriteBytes(0, "BTCUSDT"u8);
                writer.WriteInt64(1, i);
                writer.WriteInt64(2, 6_000_000_000_000 + (i * 7_919L % 100_003));
                writer.WriteInt64(3, 100_000 + i);
                writer.WriteInt64(4, 1_723_075_200_000 + i);
                writer.WriteBoolean(5, i % 3 == 0);
                writer.WriteInt64(6, (1_723_075_200_000 + i) * 1_000);
                writer.EndRow();
            }

            writer.Complete();
        }

        var bytes = File.ReadAllBytes(file);
        Array.Fill(bytes, (byte)0xFF, 64, 2_000); // the first column chunk's page, not the footer: the file opens, reading fails
        File.WriteAllBytes(file, bytes);

        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(1, ReplayCommand.Run([file, "--out", Path.Combine(_dir, "out"), "--no-pin"], TextWriter.Null));
        }
        finally
        {
            Console.SetError(previous);
        }

        Assert.Contains(file, error.ToString(), StringComparison.Ordinal);
    }
}

using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using LowLatency.Host.Replay;
using LowLatency.TestSupport;

namespace LowLatency.Host.Tests;

public sealed class ReplayCommandTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), "lowlatency-replay-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_out))
        {
            Directory.Delete(_out, recursive: true);
        }
    }

    private (int Exit, string Console) Replay(params string[] args)
    {
        var console = new StringWriter(CultureInfo.InvariantCulture);
        var exit = ReplayCommand.Run([.. args, "--out", _out, "--no-pin"], console);
        return (exit, console.ToString());
    }

    private List<JsonElement> Lines(string file) =>
        [.. File.ReadLines(Path.Combine(_out, file)).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    [Fact]
    public void Run_Generator_WritesCandlesAndPrintsTheSummary()
    {
        var (exit, console) = Replay("--generate", "200000", "--symbols", "10", "--wait", "busy");
        Assert.Equal(0, exit);
        Assert.Contains("(busy-spin)", console);
        Assert.Equal(Lines("alerts.jsonl").Count, console.Split('\n').Count(l => l.StartsWith("ALERT", StringComparison.Ordinal)));
        Assert.Contains("messages 200,000", console);
        Assert.Contains("rejected 0 frame(s)", console);
        Assert.Contains("trade-id gaps 0", console);
        var candles = Lines("candles.jsonl");
        Assert.NotEmpty(candles);
        Assert.All(candles, c => Assert.False(c.GetProperty("has_gap").GetBoolean()));
    }

    [Fact]
    public void Run_CsvFormat_SameRowsAsJsonLinesUnderAHeader()
    {
        string[] args = ["--generate", "100000", "--symbols", "5", "--quiet-alerts", "--shards", "1"];
        Assert.Equal(0, Replay(args).Exit);
        var jsonOut = _out + "-jsonl";
        Directory.Move(_out, jsonOut);
        try
        {
            Assert.Equal(0, Replay([.. args, "--format", "csv"]).Exit);
            foreach (var name in new[] { "candles", "alerts", "tickers" })
            {
                var json = File.ReadLines(Path.Combine(jsonOut, name + ".jsonl")).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
                var csv = File.ReadAllLines(Path.Combine(_out, name + ".csv"));
                Assert.NotEmpty(json); // 100k generated messages close candles, raise alerts and update tickers
                Assert.Equal(json.Count + 1, csv.Length);

                // The header is the JSON's property names in order; each row is the same values (numbers as written,
                // strings unquoted: none of ours holds a comma or quote; null as an empty field).
                Assert.Equal(string.Join(',', json[0].EnumerateObject().Select(p => p.Name)), csv[0]);
                for (var row = 0; row < json.Count; row++)
                {
                    var expected = string.Join(',', json[row].EnumerateObject().Select(p => p.Value.ValueKind switch
                    {
                        JsonValueKind.String => p.Value.GetString(),
                        JsonValueKind.Null => string.Empty,
                        _ => p.Value.GetRawText(),
                    }));
                    Assert.Equal(expected, csv[row + 1]);
                }
            }
        }
        finally
        {
            Directory.Delete(jsonOut, recursive: true);
        }
    }

    [Fact]
    public void Run_BadOption_ExitsWithTwo()
    {
        Assert.Equal(2, Replay("--speed", "fast").Exit);
        Assert.Equal(2, Replay("--ring-size", "1000").Exit);
        Assert.Equal(2, Replay("/no/such/file.gz").Exit);
        Assert.Equal(2, Replay("--wait", "sometimes").Exit);
        Assert.Equal(2, Replay("--format", "parquet").Exit);
    }

    [Fact]
    public void Run_GarbageAmongFrames_CountsRejectsAndKeepsGoing()
    {
        var file = Path.Combine(Path.GetTempPath(), $"lowlatency-garbage-{Guid.NewGuid():N}.txt");
        File.WriteAllLines(file,
        [
            """1723161253937085768 {"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255214,"s":"BTCUSDT","t":1,"p":"61837.64000000","q":"0.00100000","T":1723161255213,"m":false,"M":true}}""",
            """1723161253937085769 {"stream":"btcusdt@trade","data":{"e":"trade","E":17231612""",
            """1723161253937085770 [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[""",
            """not-a-timestamp {"a":1}""",
            """1723161253937085771 {"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256214,"s":"BTCUSDT","t":2,"p":"61837.65000000","q":"0.00200000","T":1723161256213,"m":true,"M":true}}""",
        ]);
        try
        {
            var (exit, console) = Replay(file);
            Assert.Equal(0, exit);
            Assert.Contains("rejected 2 frame(s)", console);
            Assert.Contains("1 unreadable line(s)", console);
            Assert.Contains("Trade 2", console);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private sealed record Trade(string Symbol, long Id, decimal Price, decimal Quantity, long TimeMs, bool BuyerMaker);

    /// <summary>The trades of a recording, read with System.Text.Json: independent of our decoder.</summary>
    private static List<Trade> ReadTrades(string path)
    {
        var trades = new List<Trade>();
        using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress), Encoding.UTF8);
        while (reader.ReadLine() is { } line)
        {
            var json = line[(line.IndexOf(' ', StringComparison.Ordinal) + 1)..];
            using var doc = JsonDocument.Parse(json);
            if (!doc.RootElement.TryGetProperty("data", out var data) || !data.TryGetProperty("e", out var e) || e.GetString() != "trade")
            {
                continue;
            }

            trades.Add(new Trade(
                data.GetProperty("s").GetString()!,
                data.GetProperty("t").GetInt64(),
                decimal.Parse(data.GetProperty("p").GetString()!, CultureInfo.InvariantCulture),
                decimal.Parse(data.GetProperty("q").GetString()!, CultureInfo.InvariantCulture),
                data.GetProperty("T").GetInt64(),
                data.GetProperty("m").GetBoolean()));
        }

        return trades;
    }

    private static decimal Dec(JsonElement e, string name) => decimal.Parse(e.GetProperty(name).GetString()!, CultureInfo.InvariantCulture);

    [DataFact]
    public void Run_RealBtcAndEthSessions_EveryOneSecondAndOneMinuteCandleEqualsTheReference()
    {
        var btc = TestData.PathOf("binance/recordings/spot_btcusdt_20240808.gz");
        var eth = TestData.PathOf("binance/recordings/spot_ethusdt_20240808.gz");
        var (exit, console) = Replay(btc, eth, "--intervals", "1s,1m");
        Assert.Equal(0, exit);
        Assert.Contains("rejected 0 frame(s)", console);

        var trades = ReadTrades(btc).Concat(ReadTrades(eth)).ToList();
        Assert.Equal(9_757 + 6_106, trades.Count);
        var candles = Lines("candles.jsonl");

        foreach (var (interval, ms) in new[] { ("1s", 1_000L), ("1m", 60_000L) })
        {
            var expected = trades
                .GroupBy(t => (t.Symbol, Open: t.TimeMs / ms * ms))
                .ToDictionary(g => g.Key, g => g.OrderBy(t => t.Id).ToList());
            var actual = candles.Where(c => c.GetProperty("interval").GetString() == interval).ToList();
            Assert.Equal(expected.Count, actual.Count);

            foreach (var c in actual)
            {
                var key = (c.GetProperty("symbol").GetString()!, c.GetProperty("open_time").GetInt64());
                Assert.True(expected.TryGetValue(key, out var g), $"unexpected candle {key}");
                var quote = g.Sum(t => t.Price * t.Quantity);
                Assert.Equal(g[0].Price, Dec(c, "open"));
                Assert.Equal(g.Max(t => t.Price), Dec(c, "high"));
                Assert.Equal(g.Min(t => t.Price), Dec(c, "low"));
                Assert.Equal(g[^1].Price, Dec(c, "close"));
                Assert.Equal(g.Sum(t => t.Quantity), Dec(c, "volume"));
                Assert.Equal(decimal.Truncate(quote * 100_000_000m) / 100_000_000m, Dec(c, "quote_volume"));
                Assert.Equal(g.Where(t => !t.BuyerMaker).Sum(t => t.Quantity), Dec(c, "taker_buy_volume"));
                Assert.Equal(g.Count, c.GetProperty("trades").GetInt32());
                Assert.Equal(g[0].Id, c.GetProperty("first_trade_id").GetInt64());
                Assert.Equal(g[^1].Id, c.GetProperty("last_trade_id").GetInt64());
                Assert.Equal(decimal.Truncate(quote / g.Sum(t => t.Quantity) * 100_000_000m) / 100_000_000m, Dec(c, "vwap"));
                Assert.False(c.GetProperty("has_gap").GetBoolean()); // the recordings' trade ids are consecutive
            }
        }
    }
}

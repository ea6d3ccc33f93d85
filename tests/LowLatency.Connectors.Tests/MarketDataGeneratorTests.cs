using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using LowLatency.Connectors.Replay;
using LowLatency.TestSupport;
using Xunit.Abstractions;

namespace LowLatency.Connectors.Tests;

public sealed class MarketDataGeneratorTests(ITestOutputHelper output)
{
    private static readonly string[] s_tradeFields = ["e", "E", "s", "t", "p", "q", "T", "m", "M"];
    private static readonly string[] s_bookTickerFields = ["u", "s", "b", "B", "a", "A"];
    private static readonly string[] s_depthFields = ["e", "E", "s", "U", "u", "b", "a"];

    [Fact]
    public void WriteNext_SameSeed_GivesByteIdenticalStream()
    {
        var first = HashOf(new MarketDataGenerator(new MarketDataGeneratorOptions { Seed = 42 }), 200_000);
        var second = HashOf(new MarketDataGenerator(new MarketDataGeneratorOptions { Seed = 42 }), 200_000);
        var other = HashOf(new MarketDataGenerator(new MarketDataGeneratorOptions { Seed = 43 }), 200_000);

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void WriteNext_Frames_AreValidJsonWithTheRealFieldLayoutAndSequences()
    {
        var generator = new MarketDataGenerator(new MarketDataGeneratorOptions { Seed = 7 });
        var buffer = new byte[generator.MaxFrameBytes];
        var lastTradeId = new Dictionary<string, long>();
        var lastDepthU = new Dictionary<string, long>();
        var lastUpdateId = new Dictionary<string, long>();
        var previousTimeNs = long.MinValue;
        var previousEventMs = long.MinValue;
        var consecutiveTrades = 0;
        var chainedDepths = 0;

        for (var n = 0; n < 100_000; n++)
        {
            var length = generator.WriteNext(buffer, out var eventTimeNs);
            Assert.True(eventTimeNs > previousTimeNs, "event times must increase");
            previousTimeNs = eventTimeNs;

            using var document = JsonDocument.Parse(buffer.AsMemory(0, length));
            var root = document.RootElement;
            Assert.Equal(["stream", "data"], root.EnumerateObject().Select(p => p.Name));
            var stream = root.GetProperty("stream").GetString()!;
            var data = root.GetProperty("data");
            var symbol = data.GetProperty("s").GetString()!;
            Assert.Equal(generator.Symbols[generator.LastSymbolIndex], symbol);
            var names = data.EnumerateObject().Select(p => p.Name).ToArray();

            switch (generator.LastKind)
            {
                case GeneratedFrameKind.Trade:
                    Assert.Equal(symbol.ToLowerInvariant() + "@trade", stream);
                    Assert.Equal(s_tradeFields, names);
                    Assert.Equal("trade", data.GetProperty("e").GetString());
                    AssertEventTime(data, eventTimeNs, ref previousEventMs);
                    var tradeId = data.GetProperty("t").GetInt64();
                    if (lastTradeId.TryGetValue(symbol, out var previousId))
                    {
                        Assert.Equal(previousId + 1, tradeId);
                        consecutiveTrades++;
                    }

                    lastTradeId[symbol] = tradeId;
                    AssertDecimal8(data.GetProperty("p").GetString()!, positive: true);
                    AssertDecimal8(data.GetProperty("q").GetString()!, positive: true);
                    Assert.InRange(data.GetProperty("E").GetInt64() - data.GetProperty("T").GetInt64(), 0, 1);
                    Assert.True(data.GetProperty("M").GetBoolean());
                    _ = data.GetProperty("m").GetBoolean();
                    break;

                case GeneratedFrameKind.BookTicker:
                    Assert.Equal(symbol.ToLowerInvariant() + "@bookTicker", stream);
                    Assert.Equal(s_bookTickerFields, names);
                    var u = data.GetProperty("u").GetInt64();
                    Assert.True(u > lastUpdateId.GetValueOrDefault(symbol), "bookTicker u must increase");
                    lastUpdateId[symbol] = u;
                    var bid = AssertDecimal8(data.GetProperty("b").GetString()!, positive: true);
                    var ask = AssertDecimal8(data.GetProperty("a").GetString()!, positive: true);
                    Assert.True(bid < ask, $"crossed book {bid} / {ask}");
                    AssertDecimal8(data.GetProperty("B").GetString()!, positive: true);
                    AssertDecimal8(data.GetProperty("A").GetString()!, positive: true);
                    break;

                case GeneratedFrameKind.DepthUpdate:
                    Assert.Equal(symbol.ToLowerInvariant() + "@depth@100ms", stream);
                    Assert.Equal(s_depthFields, names);
                    Assert.Equal("depthUpdate", data.GetProperty("e").GetString());
                    AssertEventTime(data, eventTimeNs, ref previousEventMs);
                    var first = data.GetProperty("U").GetInt64();
                    var last = data.GetProperty("u").GetInt64();
                    Assert.True(last >= first);
                    if (lastDepthU.TryGetValue(symbol, out var previousU))
                    {
                        Assert.Equal(previousU + 1, first);
                        chainedDepths++;
                    }

                    // A diff covers every update up to u, so u is at least the last bookTicker u (as in the recordings).
                    Assert.True(last >= lastUpdateId.GetValueOrDefault(symbol), "depth u must cover the symbol's last bookTicker u");
                    lastDepthU[symbol] = last;
                    lastUpdateId[symbol] = last;
                    AssertLevels(data.GetProperty("b"), descending: true);
                    AssertLevels(data.GetProperty("a"), descending: false);
                    break;
            }
        }

        Assert.True(consecutiveTrades > 10_000, $"only {consecutiveTrades} trade-id checks ran");
        Assert.True(chainedDepths > 3_000, $"only {chainedDepths} depth-chain checks ran");
    }

    [Fact]
    public void WriteNext_DefaultOptions_MixAndSkewAndSizesLikeTheRecordings()
    {
        var generator = new MarketDataGenerator();
        var buffer = new byte[generator.MaxFrameBytes];
        var counts = new long[3];
        var bytes = new long[3];
        var perSymbol = new long[generator.Symbols.Count];
        const int Frames = 400_000;
        for (var n = 0; n < Frames; n++)
        {
            var length = generator.WriteNext(buffer, out _);
            counts[(int)generator.LastKind]++;
            bytes[(int)generator.LastKind] += length;
            perSymbol[generator.LastSymbolIndex]++;
        }

        // BTCUSDT recording: 9,757 trade, 28,040 bookTicker, 3,451 depth of 41,248 frames.
        Assert.InRange(counts[(int)GeneratedFrameKind.Trade] / (double)Frames, 0.226, 0.247);
        Assert.InRange(counts[(int)GeneratedFrameKind.BookTicker] / (double)Frames, 0.670, 0.690);
        Assert.InRange(counts[(int)GeneratedFrameKind.DepthUpdate] / (double)Frames, 0.078, 0.090);

        // Real mean sizes (BTCUSDT): bookTicker 166 B, trade ≈ 188 B, depth ≈ 1.3 KB.
        Assert.InRange(bytes[(int)GeneratedFrameKind.BookTicker] / (double)counts[(int)GeneratedFrameKind.BookTicker], 130, 200);
        Assert.InRange(bytes[(int)GeneratedFrameKind.Trade] / (double)counts[(int)GeneratedFrameKind.Trade], 150, 220);
        Assert.InRange(bytes[(int)GeneratedFrameKind.DepthUpdate] / (double)counts[(int)GeneratedFrameKind.DepthUpdate], 900, 2_000);

        Assert.Equal(50, generator.Symbols.Count);
        Assert.Equal(["BTCUSDT", "ETHUSDT"], generator.Symbols.Take(2));
        Assert.Equal(50, generator.Symbols.Distinct().Count());
        Assert.True(perSymbol[0] > perSymbol[1] && perSymbol[1] > perSymbol[10] && perSymbol[10] > perSymbol[49], "activity must fall with rank");
        Assert.InRange(perSymbol[0] / (double)Frames, 0.19, 0.26); // Zipf s = 1 over 50: 1 / H(50) ≈ 0.222
        output.WriteLine($"mix trade/bookTicker/depth = {string.Join(" / ", counts.Select(c => (c / (double)Frames).ToString("P1")))}; mean bytes = {string.Join(" / ", bytes.Zip(counts, (b, c) => (b / (double)c).ToString("0")))}");
    }

    [Fact]
    public void WriteNext_AfterWarmUp_AllocatesNothing()
    {
        var generator = new MarketDataGenerator();
        var buffer = new byte[generator.MaxFrameBytes];
        long total = 0;
        Allocations.AssertNone(
            () =>
            {
                for (var i = 0; i < 10_000; i++)
                {
                    total += generator.WriteNext(buffer, out _);
                }
            },
            "MarketDataGenerator.WriteNext");
        Assert.True(total > 0);
    }

    [Fact]
    public void WriteNext_DestinationSmallerThanMaxFrame_Throws()
    {
        var generator = new MarketDataGenerator();
        Assert.Throws<ArgumentException>(() => generator.WriteNext(new byte[generator.MaxFrameBytes - 1], out _));
        Assert.Equal(0, generator.FramesWritten);
    }


    private static string HashOf(MarketDataGenerator generator, int frames)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[generator.MaxFrameBytes];
        Span<byte> time = stackalloc byte[8];
        for (var i = 0; i < frames; i++)
        {
            var length = generator.WriteNext(buffer, out var eventTimeNs);
            hash.AppendData(buffer, 0, length);
            BitConverter.TryWriteBytes(time, eventTimeNs);
            hash.AppendData(time);
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static void AssertEventTime(JsonElement data, long eventTimeNs, ref long previousEventMs)
    {
        var eventMs = data.GetProperty("E").GetInt64();
        Assert.Equal(eventTimeNs / 1_000_000, eventMs);
        Assert.True(eventMs >= previousEventMs, "E must not go back");
        previousEventMs = eventMs;
    }

    private static void AssertLevels(JsonElement side, bool descending)
    {
        var previous = descending ? decimal.MaxValue : decimal.MinValue;
        foreach (var level in side.EnumerateArray())
        {
            Assert.Equal(2, level.GetArrayLength());
            var price = AssertDecimal8(level[0].GetString()!, positive: true);
            AssertDecimal8(level[1].GetString()!, positive: false);
            Assert.True(descending ? price < previous : price > previous, $"levels out of order at {price}");
            previous = price;
        }
    }

    private static decimal AssertDecimal8(string text, bool positive)
    {
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        Assert.True(dot > 0 && text.Length - dot - 1 == 8, $"not an 8-decimal string: {text}");
        Assert.True(text.Where((c, i) => i != dot).All(char.IsAsciiDigit), $"not digits: {text}");
        var value = decimal.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(positive ? value > 0 : value >= 0, $"bad value {text}");
        return value;
    }
}

/// <summary>Trade-time realism: the candle aggregator relies on trade ids and times rising together, as on Binance.</summary>
public sealed class MarketDataGeneratorTradeTimeTests
{
    [Fact]
    public void WriteNext_TradeTimes_NeverDecreaseWithTradeIdAndNeverExceedEventTime()
    {
        var generator = new MarketDataGenerator(new MarketDataGeneratorOptions { Seed = 3, SymbolCount = 5 });
        var buffer = new byte[generator.MaxFrameBytes];
        var lastTime = new Dictionary<string, long>();
        var trades = 0;
        for (var i = 0; i < 200_000; i++)
        {
            var length = generator.WriteNext(buffer, out _);
            if (generator.LastKind != GeneratedFrameKind.Trade)
            {
                continue;
            }

            using var json = System.Text.Json.JsonDocument.Parse(buffer.AsMemory(0, length));
            var data = json.RootElement.GetProperty("data");
            var symbol = data.GetProperty("s").GetString()!;
            var tradeTime = data.GetProperty("T").GetInt64();
            Assert.True(tradeTime <= data.GetProperty("E").GetInt64(), "T after E");
            Assert.True(!lastTime.TryGetValue(symbol, out var previous) || tradeTime >= previous, $"{symbol}: T went back from {previous} to {tradeTime}");
            lastTime[symbol] = tradeTime;
            trades++;
        }

        Assert.True(trades > 10_000);
    }
}

using System.IO.Compression;
using System.Text;
using LowLatency.Codecs.Binance;
using LowLatency.Market;
using LowLatency.TestSupport;

namespace LowLatency.Codecs.Tests;

/// <summary>The decoder against real Binance data (see the data README): every frame, counts, sequences, exact values.</summary>
public sealed class BinanceRecordingTests
{
    [DataFact]
    public void Decode_SpotBtcusdtRecording_EveryFrameWithReadmeCounts() =>
        AssertRecording("binance/recordings/spot_btcusdt_20240808.gz", "BTCUSDT", trades: 9_757, bookTickers: 28_040, depthUpdates: 3_451, syncDiffIndex: 2);

    [DataFact]
    public void Decode_SpotEthusdtRecording_EveryFrameWithReadmeCounts() =>
        AssertRecording("binance/recordings/spot_ethusdt_20240808.gz", "ETHUSDT", trades: 6_106, bookTickers: 24_077, depthUpdates: 3_434, syncDiffIndex: null);

    [DataFact]
    public void Decode_CryptofeedSession_EveryFrameToStreamKind()
    {
        var lines = File.ReadAllLines(TestData.PathOf("binance/cryptofeed/BINANCE.ws.1.0"));
        Assert.StartsWith("wss://", lines[0]);
        var symbols = new SymbolTable();
        var decoder = new BinanceDecoder(symbols);
        var evt = MarketEvent.Create();
        var counts = new Dictionary<MarketEventKind, int>();
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var frame = line[(line.IndexOf(": ", StringComparison.Ordinal) + 2)..];
            var result = DecodeAll(decoder, Encoding.UTF8.GetBytes(frame), ref evt);
            Assert.True(result.Status == DecodeStatus.Ok, $"{result} for {frame}");
            Assert.Equal(ExpectedKind(frame), evt.Kind);
            counts[evt.Kind] = counts.GetValueOrDefault(evt.Kind) + 1;
        }

        Assert.Equal(265, counts.Values.Sum());
        Assert.Equal(4, counts.Count); // depth, bookTicker, aggTrade, kline all present
        Assert.Equal(["BLZETH", "LRCBTC", "NKNUSDT", "RUNEEUR"], Enumerable.Range(0, symbols.Count).Select(symbols.GetName).Order());
    }

    [DataFact]
    public void Decode_CryptofeedRestSnapshots_DepthSnapshots()
    {
        var decoder = new BinanceDecoder(new SymbolTable());
        var evt = MarketEvent.Create();
        var snapshots = 0;
        foreach (var line in File.ReadLines(TestData.PathOf("binance/cryptofeed/BINANCE.http.0.0")).Where(l => l.Contains(" -> ", StringComparison.Ordinal)))
        {
            var afterArrow = line[(line.IndexOf(" -> ", StringComparison.Ordinal) + 4)..];
            var json = afterArrow[(afterArrow.IndexOf(": ", StringComparison.Ordinal) + 2)..];
            var bytes = Encoding.UTF8.GetBytes(json);
            var cursor = default(DepthCursor);
            var levels = 0;
            DecodeResult result;
            do
            {
                result = decoder.Decode(bytes, ref evt, ref cursor);
                Assert.True(result.IsSuccess, result.ToString());
                Assert.Equal(MarketEventKind.DepthSnapshot, evt.Kind);
                levels += evt.Payload.Depth.BidCount + evt.Payload.Depth.AskCount;
            }
            while (result.Status == DecodeStatus.MoreChunks);

            Assert.Equal(CountOccurrences(json, "[\""), levels);
            snapshots++;
        }

        Assert.True(snapshots > 0);
    }

    [DataFact]
    public void Decode_BinanceNetSubscriptionScripts_PayloadsAndAcksToTheirKinds()
    {
        var decoder = new BinanceDecoder(new SymbolTable());
        var evt = MarketEvent.Create();
        var payloads = 0;
        foreach (var file in Directory.GetFiles(TestData.PathOf("binance/binance_net/Subscriptions_Spot_ExchangeData"), "*.txt"))
        {
            foreach (var (marker, json) in ScriptMessages(file))
            {
                var result = decoder.Decode(Encoding.UTF8.GetBytes(json), ref evt);
                if (marker == '<')
                {
                    Assert.True(result.Status == DecodeStatus.Ok, $"{result} for ack in {file}");
                    Assert.Equal(ControlKind.SubscriptionResult, evt.Payload.Control.ControlKind);
                    continue;
                }

                payloads++;
                if (Path.GetFileName(file) == "Concurrent.txt")
                {
                    // Binance.Net's concurrency script sends a kline with only "t": rejected, with the field named.
                    Assert.Equal(DecodeStatus.MissingField, result.Status);
                    Assert.Equal("kline: field 'T' missing", result.Reason);
                    continue;
                }

                Assert.True(result.Status == DecodeStatus.Ok, $"{result} in {file}");
                Assert.Equal(ExpectedKind(json), evt.Kind);
            }
        }

        Assert.Equal(10, payloads);
    }

    [DataFact]
    public void Decode_BinanceNetWebSocketApiScripts_UnsupportedWithoutThrowing()
    {
        var decoder = new BinanceDecoder(new SymbolTable());
        var evt = MarketEvent.Create();
        var payloads = 0;
        foreach (var file in Directory.GetFiles(TestData.PathOf("binance/binance_net/Socket_Spot_ExchangeData"), "*.txt"))
        {
            foreach (var (marker, json) in ScriptMessages(file).Where(m => m.Marker == '='))
            {
                var result = decoder.Decode(Encoding.UTF8.GetBytes(json), ref evt);
                Assert.Equal(DecodeStatus.Unsupported, result.Status);
                Assert.Equal("message: WebSocket API responses are not decoded", result.Reason);
                payloads++;
            }
        }

        Assert.True(payloads >= 10);
    }

    [DataFact]
    public void Decode_JsonTestSuiteRejects_NeverOkNeverThrows()
    {
        var decoder = new BinanceDecoder(new SymbolTable());
        var evt = MarketEvent.Create(4);
        var files = Directory.GetFiles(TestData.PathOf("json/JSONTestSuite/test_parsing"), "*.json");
        var rejected = 0;
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            var cursor = default(DepthCursor);
            var result = decoder.Decode(bytes, ref evt, ref cursor);
            for (var guard = 0; result.Status == DecodeStatus.MoreChunks; guard++)
            {
                Assert.True(guard < 1000, file);
                result = decoder.Decode(bytes, ref evt, ref cursor);
            }

            if (Path.GetFileName(file).StartsWith("n_", StringComparison.Ordinal))
            {
                Assert.True(!result.IsSuccess, $"{Path.GetFileName(file)} was accepted: {result}");
                Assert.Equal(MarketEventKind.Invalid, evt.Kind);
                rejected++;
            }
        }

        Assert.Equal(188, rejected);
    }

    [DataFact]
    public void Decode_TruncatedRealFrames_MalformedAtEveryOffset()
    {
        var decoder = new BinanceDecoder(new SymbolTable());
        var evt = MarketEvent.Create(8);
        var frames = ReadRecording("binance/recordings/spot_btcusdt_20240808.gz")
            .Select(l => l.Frame)
            .Where(f => f.Contains("@trade", StringComparison.Ordinal) || f.Contains("@bookTicker", StringComparison.Ordinal) || f.Contains("@depth", StringComparison.Ordinal))
            .DistinctBy(f => f[..25])
            .Take(3)
            .ToList();
        Assert.Equal(3, frames.Count);
        foreach (var frame in frames)
        {
            var bytes = Encoding.UTF8.GetBytes(frame);
            for (var length = 0; length < bytes.Length; length++)
            {
                var cursor = default(DepthCursor);
                var result = decoder.Decode(bytes.AsSpan(0, length), ref evt, ref cursor);
                Assert.True(result.Status == DecodeStatus.Malformed, $"{length}: {result}");
            }
        }
    }

    private static void AssertRecording(string path, string symbol, int trades, int bookTickers, int depthUpdates, int? syncDiffIndex)
    {
        var symbols = new SymbolTable();
        var decoder = new BinanceDecoder(symbols);
        var evt = MarketEvent.Create();
        var counts = new Dictionary<MarketEventKind, int>();
        long previousTradeId = -1, previousFinalUpdateId = -1, snapshotLastUpdateId = -1;
        var diffs = new List<(long U, long u)>();
        var lines = 0;
        var formatted = new byte[FixedPoint.MaxFormattedLength];
        foreach (var (receiveNs, frame) in ReadRecording(path))
        {
            lines++;
            var bytes = Encoding.UTF8.GetBytes(frame);
            var cursor = default(DepthCursor);
            var levels = 0;
            var chunk = 0;
            DecodeResult result;
            do
            {
                evt.ReceiveTimeNs = receiveNs;
                evt.SourcePosition = lines;
                result = decoder.Decode(bytes, ref evt, ref cursor);
                Assert.True(result.IsSuccess, $"line {lines}: {result}");
                if (evt.Kind is MarketEventKind.DepthUpdate or MarketEventKind.DepthSnapshot)
                {
                    Assert.Equal(chunk++, evt.Payload.Depth.ChunkIndex);
                    Assert.Equal(result.Status == DecodeStatus.Ok, evt.Payload.Depth.IsLastChunk);
                    levels += evt.Payload.Depth.BidCount + evt.Payload.Depth.AskCount;
                }
            }
            while (result.Status == DecodeStatus.MoreChunks);

            counts[evt.Kind] = counts.GetValueOrDefault(evt.Kind) + 1;
            Assert.Equal(receiveNs, evt.ReceiveTimeNs); // the decoder leaves the source's fields alone
            switch (evt.Kind)
            {
                case MarketEventKind.Trade:
                    ref var trade = ref evt.Payload.Trade;
                    Assert.Equal(symbol, symbols.GetName(evt.SymbolId));
                    if (previousTradeId >= 0)
                    {
                        Assert.Equal(previousTradeId + 1, trade.TradeId);
                    }

                    previousTradeId = trade.TradeId;
                    Assert.Equal(RawField(frame, "p"), Canonical(trade.Price.Mantissa, formatted));
                    Assert.Equal(RawField(frame, "q"), Canonical(trade.Quantity.Mantissa, formatted));
                    Assert.Equal(long.Parse(RawNumber(frame, "E")) * 1_000_000, evt.EventTimeNs);
                    Assert.Equal(RawNumber(frame, "m") == "true", trade.IsBuyerMaker);
                    break;
                case MarketEventKind.BookTicker:
                    ref var book = ref evt.Payload.BookTicker;
                    Assert.Equal(RawField(frame, "b"), Canonical(book.BidPrice.Mantissa, formatted));
                    Assert.Equal(RawField(frame, "A"), Canonical(book.AskQuantity.Mantissa, formatted));
                    Assert.Equal(long.Parse(RawNumber(frame, "u")), book.UpdateId);
                    Assert.True(book.BidPrice < book.AskPrice);
                    break;
                case MarketEventKind.DepthUpdate:
                    ref var depth = ref evt.Payload.Depth;
                    if (previousFinalUpdateId >= 0)
                    {
                        Assert.Equal(previousFinalUpdateId + 1, depth.FirstUpdateId);
                    }

                    previousFinalUpdateId = depth.FinalUpdateId;
                    diffs.Add((depth.FirstUpdateId, depth.FinalUpdateId));
                    Assert.Equal(CountOccurrences(frame, "[\""), levels);
                    break;
                case MarketEventKind.DepthSnapshot:
                    Assert.Equal(-1, evt.SymbolId); // a REST snapshot names no symbol
                    snapshotLastUpdateId = evt.Payload.Depth.LastUpdateId;
                    Assert.Equal(CountOccurrences(frame, "[\""), levels);
                    Assert.True(chunk > 1, "the 1000-level snapshot spans several 200-level chunks");
                    break;
                default:
                    Assert.Fail($"line {lines}: unexpected {evt.Kind}");
                    break;
            }
        }

        Assert.Equal(trades, counts.GetValueOrDefault(MarketEventKind.Trade));
        Assert.Equal(bookTickers, counts.GetValueOrDefault(MarketEventKind.BookTicker));
        Assert.Equal(depthUpdates, counts.GetValueOrDefault(MarketEventKind.DepthUpdate));
        Assert.Equal(1, counts.GetValueOrDefault(MarketEventKind.DepthSnapshot));
        Assert.Equal(trades + bookTickers + depthUpdates + 1, lines);

        // Binance's book-sync rule holds: the first diff with u > lastUpdateId has U <= lastUpdateId + 1. For BTCUSDT the
        // README says it is the third diff.
        var first = diffs.FindIndex(d => d.u > snapshotLastUpdateId);
        Assert.InRange(snapshotLastUpdateId + 1, diffs[first].U, diffs[first].u);
        if (syncDiffIndex is { } expected)
        {
            Assert.Equal(expected, first);
        }
    }

    private static DecodeResult DecodeAll(BinanceDecoder decoder, byte[] bytes, ref MarketEvent evt)
    {
        var cursor = default(DepthCursor);
        DecodeResult result;
        do
        {
            result = decoder.Decode(bytes, ref evt, ref cursor);
        }
        while (result.Status == DecodeStatus.MoreChunks);
        return result;
    }

    private static MarketEventKind ExpectedKind(string frame)
    {
        var stream = RawField(frame, "stream");
        return stream switch
        {
            _ when stream.Contains("@depth@", StringComparison.Ordinal) || stream.EndsWith("@depth", StringComparison.Ordinal) => MarketEventKind.DepthUpdate,
            _ when stream.Contains("@depth", StringComparison.Ordinal) => MarketEventKind.DepthSnapshot,
            _ when stream.EndsWith("@bookTicker", StringComparison.Ordinal) => MarketEventKind.BookTicker,
            _ when stream.EndsWith("@aggTrade", StringComparison.Ordinal) => MarketEventKind.AggTrade,
            _ when stream.EndsWith("@trade", StringComparison.Ordinal) => MarketEventKind.Trade,
            _ when stream.Contains("@kline_", StringComparison.Ordinal) => MarketEventKind.Kline,
            _ when stream.EndsWith("@miniTicker", StringComparison.Ordinal) => MarketEventKind.MiniTicker,
            _ when stream.Contains("@ticker", StringComparison.Ordinal) => MarketEventKind.Ticker,
            _ => throw new InvalidOperationException("unknown stream " + stream),
        };
    }

    /// <summary>The messages of a Binance.Net script: <c>&lt;</c> acks (placeholders filled in) and <c>=</c> payloads, inline or on the following lines.</summary>
    internal static List<(char Marker, string Json)> ScriptMessages(string file)
    {
        var messages = new List<(char, string)>();
        var lines = File.ReadAllLines(file);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Length == 0 || line[0] is not ('<' or '='))
            {
                continue;
            }

            var body = line[1..].TrimStart("0123456789".ToCharArray()).Trim();
            if (body.Length == 0)
            {
                var text = new StringBuilder();
                while (i + 1 < lines.Length && (lines[i + 1].Length == 0 || lines[i + 1][0] is not ('<' or '=' or '>')))
                {
                    text.AppendLine(lines[++i]);
                }

                body = text.ToString();
            }

            body = System.Text.RegularExpressions.Regex.Replace(body, @"\|[^|""]*\|", "1");
            messages.Add((line[0], body));
        }

        return messages;
    }

    internal static IEnumerable<(long ReceiveNs, string Frame)> ReadRecording(string relativePath)
    {
        using var file = File.OpenRead(TestData.PathOf(relativePath));
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        while (reader.ReadLine() is { } line)
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            yield return (long.Parse(line.AsSpan(0, space)), line[(space + 1)..]);
        }
    }

    /// <summary>The text of a string field <c>"name":"…"</c>, trimmed of trailing decimal zeros as FixedPoint formats it.</summary>
    private static string RawField(string frame, string name)
    {
        var key = "\"" + name + "\":\"";
        var start = frame.IndexOf(key, StringComparison.Ordinal);
        if (start < 0)
        {
            key = "\"" + name + "\": \"";
            start = frame.IndexOf(key, StringComparison.Ordinal);
        }

        Assert.True(start >= 0, $"no {name} in {frame}");
        start += key.Length;
        var text = frame[start..frame.IndexOf('"', start)];
        return name == "stream" || !text.Contains('.', StringComparison.Ordinal) ? text : text.TrimEnd('0').TrimEnd('.');
    }

    private static string RawNumber(string frame, string name)
    {
        var key = "\"" + name + "\":";
        var start = frame.IndexOf(key, StringComparison.Ordinal) + key.Length;
        var end = frame.IndexOfAny([',', '}'], start);
        return frame[start..end];
    }

    private static string Canonical(long mantissa, byte[] buffer)
    {
        Assert.True(FixedPoint.TryFormat(mantissa, buffer, out var written));
        return Encoding.ASCII.GetString(buffer, 0, written);
    }

    private static int CountOccurrences(string text, string what)
    {
        var count = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}

using System.IO.Compression;
using System.Text;
using System.Text.Json;
using LowLatency.Connectors.Binance;
using LowLatency.TestSupport;

namespace LowLatency.Connectors.Tests.Binance;

/// <summary>
/// The arbiter against real data (see the data README): every recorded frame read the same by both paths, bad JSON
/// never delivered, and a real session replayed over two lines that lag, drop and reconnect, checked against an oracle
/// built with System.Text.Json.
/// </summary>
public sealed class StreamArbiterRecordingTests
{
    [DataFact]
    public void Inspect_EveryRecordedFrame_FastPathAgreesWithGeneralPath()
    {
        var frames = RecordedFrames("binance/recordings/spot_btcusdt_20240808.gz")
            .Concat(RecordedFrames("binance/recordings/spot_ethusdt_20240808.gz"))
            .Concat(CryptofeedFrames())
            .ToList();
        var arbiter = new StreamArbiter(256, 2, 0);
        foreach (var stream in frames.Select(f => StreamOf(f)).Where(s => s is not null).Distinct())
        {
            arbiter.Register(stream!, 0);
        }

        var fast = 0;
        foreach (var frame in frames)
        {
            arbiter.InspectGeneral(frame, out var general);
            if (arbiter.TryInspectFast(frame, out var facts))
            {
                fast++;
                Assert.True(general.Equals(facts), $"{Encoding.UTF8.GetString(frame)}: fast {Describe(facts)}, general {Describe(general)}");
            }

            var expected = Oracle(frame);
            if (expected is { } e)
            {
                Assert.Equal(FrameType.Data, general.Type);
                Assert.Equal((e.Kind, e.First, e.Last), (general.Kind, general.First, general.Last));
                Assert.True(general.StreamId >= 0);
            }
        }

        // Every combined-stream frame of the recordings has Binance's exact shape; the two REST snapshots do not.
        Assert.Equal(frames.Count - 2, fast);
        Assert.Equal(41_249 + 33_618 - 2 + 265, fast);
    }

    [DataFact]
    public void Inspect_BinanceNetScripts_PayloadsAndAcksRecognised()
    {
        var arbiter = new StreamArbiter(64, 1, 0);
        var payloads = 0;
        var acks = 0;
        foreach (var file in Directory.GetFiles(TestData.PathOf("binance/binance_net/Subscriptions_Spot_ExchangeData"), "*.txt"))
        {
            foreach (var (kind, json) in ScriptMessages(File.ReadAllText(file)))
            {
                var bytes = Encoding.UTF8.GetBytes(System.Text.RegularExpressions.Regex.Replace(json, @"\|\w+\|", "1"));
                arbiter.Inspect(bytes, out var facts);
                if (kind == '<')
                {
                    Assert.Equal(FrameType.SubscriptionReply, facts.Type);
                    acks++;
                }
                else if (kind == '=')
                {
                    Assert.True(facts.Type == FrameType.Data, $"{Path.GetFileName(file)}: {facts.Type} {facts.Reason}");
                    payloads++;
                }
            }
        }

        Assert.True(payloads >= 8 && acks >= 8, $"{payloads} payloads, {acks} acks");
    }

    [DataFact]
    public void Arbitrate_JsonTestSuiteInvalidDocuments_NeverDeliveredNeverThrow()
    {
        var arbiter = StreamArbiterTests.Arbiter("btcusdt@trade");
        var files = Directory.GetFiles(TestData.PathOf("json/JSONTestSuite/test_parsing"), "n_*.json");
        Assert.True(files.Length > 150);
        foreach (var file in files)
        {
            var verdict = arbiter.Arbitrate(File.ReadAllBytes(file), 0, 0, 1, out _);
            Assert.True(verdict is Verdict.Malformed, $"{Path.GetFileName(file)}: {verdict}");
        }

        Assert.Equal(files.Length, arbiter.MalformedTotal);
        Assert.Equal(0, arbiter.Delivered);

        // Valid and implementation-defined documents: whatever they are, never data of a stream and never a crash.
        foreach (var file in Directory.GetFiles(TestData.PathOf("json/JSONTestSuite/test_parsing"), "*.json").Where(f => !Path.GetFileName(f).StartsWith("n_", StringComparison.Ordinal)))
        {
            var verdict = arbiter.Arbitrate(File.ReadAllBytes(file), 0, 0, 1, out _);
            Assert.True(verdict is not (Verdict.Deliver or Verdict.DeliverAfterGap), $"{Path.GetFileName(file)}: {verdict}");
        }
    }

    [DataFact]
    public void Arbitrate_RecordingOverTwoLinesThatLagDropAndReconnect_EveryTradeAndDepthUpdateOnceExceptWhatBothMissed()
    {
        var frames = RecordedFrames("binance/recordings/spot_btcusdt_20240808.gz").Where(f => StreamOf(f) is not null).ToArray();
        Assert.True(frames.Length > 41_000);

        // Line B receives frame k 50 frames after A does (a dozen trades). A is down for frames [10,000, 15,000), B for
        // its frames [12,000, 12,300): those 300 frames reach neither line. B goes down again at [30,000, 30,500) while A
        // is up. When A comes back it is 50 frames ahead of B.
        const int Lag = 50;
        var script = new LineScript[]
        {
            new(Position: 0, Lag: 0, Down: [(10_000, 15_000)]),
            new(Position: 2, Lag: Lag, Down: [(12_000, 12_300), (30_000, 30_500)]),
        };
        var result = Replay(frames, script, redundancy: 2);

        // Trades and depth updates: every one exactly once, in order, except those neither line received.
        var missedByBoth = Enumerable.Range(12_000, 300).ToHashSet();
        var sequenced = Enumerable.Range(0, frames.Length).Where(k => IsConsecutiveKind(frames[k])).ToList();
        Assert.Equal(sequenced.Where(k => !missedByBoth.Contains(k)), result.Delivered.Where(k => IsConsecutiveKind(frames[k])).Order());
        Assert.Equal(result.Delivered.Count, result.Delivered.Distinct().Count());
        AssertPerStreamOrder(frames, result.Delivered);

        // bookTicker too (its ids only increase): when A rejoins ahead of B, A's updates wait until B has delivered its
        // older ones still in flight, so none is made stale; each arrives once, in order.
        var bookTickers = Enumerable.Range(0, frames.Length).Where(k => !IsConsecutiveKind(frames[k]) && !missedByBoth.Contains(k));
        Assert.Equal(bookTickers, result.Delivered.Where(k => !IsConsecutiveKind(frames[k])).Order());

        // The gaps are exactly the trade and depth ids of the frames both lines missed (bookTicker ids are not consecutive).
        var expected = ExpectedGaps(frames, missedByBoth);
        Assert.Equal(2, expected.Count);
        Assert.Equal(expected, result.Gaps.Select(g => (g.Stream, g.FirstMissing, g.LastMissing)).ToList());
        Assert.True(result.HeldBack > 0, "A rejoined ahead of B: some of its frames waited for B");
    }

    [DataFact]
    public void Arbitrate_RecordingOverOneLineThatReconnects_GapIsEveryIdOfTheOutage()
    {
        var frames = RecordedFrames("binance/recordings/spot_btcusdt_20240808.gz").Where(f => StreamOf(f) is not null).ToArray();
        var result = Replay(frames, [new LineScript(Position: 0, Lag: 0, Down: [(20_000, 20_100)])], redundancy: 1);

        var lost = Enumerable.Range(20_000, 100).ToHashSet();
        Assert.Equal(Enumerable.Range(0, frames.Length).Where(k => !lost.Contains(k)), result.Delivered);
        Assert.Equal(ExpectedGaps(frames, lost), result.Gaps.Select(g => (g.Stream, g.FirstMissing, g.LastMissing)).ToList());
    }

    private sealed record LineScript(int Position, int Lag, (int From, int To)[] Down);

    private sealed record ReplayResult(List<int> Delivered, List<StreamGap> Gaps, long HeldBack);

    /// <summary>
    /// Plays the frames over the scripted lines in receive order (line L receives frame k at time k + lag; ties go to
    /// the line listed first) and records what the arbiter delivers. A line that comes back after being down takes its
    /// other position, as the client's reconnect does.
    /// </summary>
    private static ReplayResult Replay(byte[][] frames, LineScript[] lines, int redundancy)
    {
        var arbiter = new StreamArbiter(64, redundancy, gapHoldOffNs: 500_000_000);
        foreach (var stream in frames.Select(StreamOf).Distinct())
        {
            arbiter.Register(stream!, 0);
        }

        var positions = lines.Select(l => l.Position).ToArray();
        var up = new bool[lines.Length];
        for (var l = 0; l < lines.Length; l++)
        {
            arbiter.OpenSlot(0, positions[l]);
            up[l] = true;
        }

        var events = new List<(long Time, int Line, int Frame)>();
        for (var l = 0; l < lines.Length; l++)
        {
            for (var k = 0; k < frames.Length; k++)
            {
                events.Add((k + lines[l].Lag, l, k));
            }
        }

        // Held-back frames come back as copies: they are told apart by their bytes (each trade and depth frame is unique).
        var index = new Dictionary<string, int>();
        for (var k = 0; k < frames.Length; k++)
        {
            index.TryAdd(System.Text.Encoding.UTF8.GetString(frames[k]), k);
        }

        var driver = new ArbiterDriver(arbiter);
        foreach (var (time, l, k) in events.OrderBy(e => e.Time).ThenBy(e => e.Line))
        {
            var down = lines[l].Down.Any(w => k >= w.From && k < w.To);
            if (down)
            {
                if (up[l])
                {
                    arbiter.CloseSlot(0, positions[l]);
                    driver.ReleaseDue((time + 1) * 1_000); // the supervisor's pass after a line is lost
                    up[l] = false;
                }

                continue;
            }

            if (!up[l])
            {
                positions[l] ^= 1; // the reconnected line's new connection
                arbiter.OpenSlot(0, positions[l]);
                up[l] = true;
            }

            driver.Offer(positions[l], frames[k], (time + 1) * 1_000);
        }

        var delivered = driver.Delivered.Select(f => index[System.Text.Encoding.UTF8.GetString(f)]).ToList();
        var gaps = driver.Gaps;
        return new ReplayResult(delivered, gaps, arbiter.HeldBack);
    }

    private static void AssertPerStreamOrder(byte[][] frames, List<int> delivered)
    {
        foreach (var stream in delivered.GroupBy(k => StreamOf(frames[k])))
        {
            var ids = stream.Select(k => Oracle(frames[k])!.Value.Last).ToList();
            Assert.True(ids.SequenceEqual(ids.Order()), $"{stream.Key} delivered out of order");
        }
    }

    /// <summary>Per trade and depth stream, the ids of the frames in <paramref name="lost"/>, as contiguous ranges in frame order.</summary>
    private static List<(string Stream, long First, long Last)> ExpectedGaps(byte[][] frames, HashSet<int> lost)
    {
        var gaps = new List<(string Stream, long First, long Last, int ReportedAt)>();
        var open = new Dictionary<string, (long First, long Last)>();
        for (var k = 0; k < frames.Length; k++)
        {
            var facts = Oracle(frames[k])!.Value;
            if (facts.Kind is not (BinanceStreamKind.Trade or BinanceStreamKind.DepthUpdate))
            {
                continue;
            }

            var stream = StreamOf(frames[k])!;
            if (lost.Contains(k))
            {
                open[stream] = open.TryGetValue(stream, out var run) ? (run.First, facts.Last) : (facts.First, facts.Last);
            }
            else if (open.Remove(stream, out var run))
            {
                gaps.Add((stream, run.First, run.Last, k));
            }
        }

        // In the order the arbiter reports them: when the first frame after the hole arrives.
        return [.. gaps.OrderBy(g => g.ReportedAt).Select(g => (g.Stream, g.First, g.Last))];
    }

    private static IEnumerable<byte[]> RecordedFrames(string path)
    {
        using var reader = new StreamReader(new GZipStream(File.OpenRead(TestData.PathOf(path)), CompressionMode.Decompress));
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
            {
                yield return Encoding.UTF8.GetBytes(line[(line.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
            }
        }
    }

    private static IEnumerable<byte[]> CryptofeedFrames() =>
        File.ReadLines(TestData.PathOf("binance/cryptofeed/BINANCE.ws.1.0"))
            .Skip(1)
            .Where(l => l.Length > 0)
            .Select(l => Encoding.UTF8.GetBytes(l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..]));

    /// <summary>The messages of a Binance.Net script: lines starting with <c>&gt;</c>, <c>&lt;</c> or <c>=</c> and what follows up to the next.</summary>
    private static IEnumerable<(char Kind, string Json)> ScriptMessages(string script)
    {
        var kind = '\0';
        var json = new StringBuilder();
        foreach (var line in script.Split('\n'))
        {
            if (line.Length > 0 && line[0] is '>' or '<' or '=')
            {
                if (kind != '\0')
                {
                    yield return (kind, json.ToString());
                }

                kind = line[0];
                json.Clear().Append(line.AsSpan(1).TrimStart("0123456789")); // "<2 {…}": numbered in concurrent scripts
            }
            else
            {
                json.Append('\n').Append(line);
            }
        }

        if (kind != '\0')
        {
            yield return (kind, json.ToString());
        }
    }

    private static bool IsConsecutiveKind(byte[] frame) => Oracle(frame)!.Value.Kind is BinanceStreamKind.Trade or BinanceStreamKind.DepthUpdate;

    private static string? StreamOf(byte[] frame)
    {
        using var document = JsonDocument.Parse(frame);
        return document.RootElement.TryGetProperty("stream", out var stream) ? stream.GetString() : null;
    }

    /// <summary>The kind and sequence of a combined-stream frame, read with System.Text.Json; null for anything else.</summary>
    private static (BinanceStreamKind Kind, long First, long Last)? Oracle(byte[] frame)
    {
        using var document = JsonDocument.Parse(frame);
        if (!document.RootElement.TryGetProperty("data", out var data))
        {
            return null;
        }

        if (data.TryGetProperty("e", out var e))
        {
            return e.GetString() switch
            {
                "trade" => (BinanceStreamKind.Trade, data.GetProperty("t").GetInt64(), data.GetProperty("t").GetInt64()),
                "aggTrade" => (BinanceStreamKind.AggTrade, data.GetProperty("a").GetInt64(), data.GetProperty("a").GetInt64()),
                "depthUpdate" => (BinanceStreamKind.DepthUpdate, data.GetProperty("U").GetInt64(), data.GetProperty("u").GetInt64()),
                "kline" => (BinanceStreamKind.Kline, data.GetProperty("E").GetInt64(), data.GetProperty("E").GetInt64()),
                _ => null,
            };
        }

        return data.TryGetProperty("u", out var u) ? (BinanceStreamKind.BookTicker, u.GetInt64(), u.GetInt64()) : null;
    }

    private static string Describe(FrameFacts f) => $"{f.Type}/{f.Reason} {f.Kind} stream {f.StreamId} [{f.First}, {f.Last}] minor {f.Minor} id {f.RequestId}";
}

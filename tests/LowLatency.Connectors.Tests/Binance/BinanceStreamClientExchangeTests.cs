using System.Text;
using LowLatency.Connectors.Binance;
using LowLatency.LocalExchange;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Exchange;
using Xunit.Abstractions;

namespace LowLatency.Connectors.Tests.Binance;

/// <summary>
/// The client against the local exchange over real sockets (issue 5): the exchange plays a feed on its shared live
/// timeline, so what a connection misses while it is away is lost to it, as on Binance, and only the twin line or a
/// replacement opened in time can cover it. Every test checks what the handler got against the feed itself: each frame
/// of each subscribed stream once, in order, or inside exactly one reported gap. Nothing asserts a duration.
/// </summary>
public sealed class BinanceStreamClientExchangeTests(ITestOutputHelper output)
{
    internal const string BtcTrades = "btcusdt@trade";

    [DataFact]
    public async Task Receive_RecordingThroughDropsAndRotations_EveryFrameOnceInOrderPerStream()
    {
        // Both recorded sessions (6 streams) at 20x: about 17 s. One line is dropped every 1.5 s, always while its twin is
        // open with data, and every connection is rotated after 3 s; the exchange closes any that reaches 8 s itself.
        var feed = RecordedFeeds.BtcUsdtAndEthUsdt;
        await using var exchange = await ExchangeServer.StartAsync(new ExchangeServerOptions
        {
            Feed = feed,
            Speed = 20,
            StartPaused = true,
            MaxConnectionAge = TimeSpan.FromSeconds(8),
        });
        var handler = new FrameLog();
        await using var client = new BinanceStreamClient<FrameLog>(
            Options(exchange, feed.Streams) with { Redundancy = 2, RotateAfter = TimeSpan.FromSeconds(3) },
            handler,
            new TestLogger(output));
        client.Start();
        Poll.Until(() => SubscribedConnections(exchange, feed.Streams.Count) == 2, "both lines subscribed");
        exchange.Play();

        var drops = 0;
        var line = 0;
        while (!exchange.PlaybackCompleted.IsCompleted)
        {
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            // Drop only when both lines are open with data, so the twin covers it; alternate lines.
            var open = client.GetConnections().Where(c => c.State == BinanceConnectionState.Open && c.HasData && !c.IsReplacement).ToList();
            var victims = exchange.Connections.Where(c => c.Close is null && c.Streams.Count == feed.Streams.Count).ToList();
            if (open.Select(c => c.Line).Distinct().Count() == 2 && victims.Count >= 2)
            {
                victims[line++ % victims.Count].Abort();
                drops++;
            }
        }

        var expected = ExpectedFrames(feed, feed.Streams);
        Poll.Until(() => handler.Count == expected.Sum(s => s.Value.Count), "every recorded frame delivered", TimeSpan.FromSeconds(20), () => Describe(client, handler) + "\n" + Missing(expected, handler));
        output.WriteLine($"{drops} drops, {client.Counters.Rotations} rotations, {client.Counters.Reconnects} reconnects, {exchange.Connections.Count} connections");
        foreach (var (stream, frames) in expected)
        {
            Assert.Equal(frames, handler.FramesOf(stream));
        }

        Assert.Empty(handler.Gaps);
        Assert.True(drops >= 3, $"only {drops} drops");
        Assert.True(client.Counters.Rotations >= 2, $"only {client.Counters.Rotations} rotations");
        Assert.True(client.Counters.Reconnects >= 3);
        Assert.Equal(0, client.Counters.Malformed);
        Assert.DoesNotContain(exchange.Connections, c => c.Close?.Reason == CloseReason.MaxAge); // rotation came first
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Receive_ExchangeWithholdsATradeRange_OnGapReportsExactlyThatRange(int redundancy)
    {
        var feed = TradeFeed(count: 3_000, spacing: TimeSpan.FromMilliseconds(1));
        await using var exchange = await ExchangeServer.StartAsync(new ExchangeServerOptions { Feed = feed, StartPaused = true });
        Assert.Equal(250, exchange.Withhold(BtcTrades, 1_001, 1_250));
        var handler = new FrameLog();
        await using var client = new BinanceStreamClient<FrameLog>(Options(exchange, [BtcTrades]) with { Redundancy = redundancy }, handler, new TestLogger(output));
        client.Start();
        Poll.Until(() => SubscribedConnections(exchange, 1) == redundancy, "every line subscribed");
        exchange.Play();

        Poll.Until(() => handler.Count == 2_750, "every trade not withheld delivered", null, () => Describe(client, handler));
        Assert.Equal([.. Range(1, 1_000), .. Range(1_251, 3_000)], handler.TradeIds(BtcTrades));
        var gap = Assert.Single(handler.Gaps);
        Assert.Equal((BtcTrades, "BTCUSDT", BinanceStreamKind.Trade, 1_001L, 1_250L), (gap.Stream, gap.Symbol, gap.Kind, gap.FirstMissing, gap.LastMissing));
        Assert.Equal((1L, 250L), (client.Counters.Gaps, client.Counters.MissingIds));
    }

    [Fact]
    public async Task KeepAlive_ExchangePingsOften_EveryPingAnsweredAndTheConnectionStaysOpen()
    {
        // The exchange pings every 200 ms (100 times Binance's rate) and closes a connection whose ping is not echoed
        // within 5 s: short enough to fail the test, long enough for a shared 2-core machine's stalls.
        await using var exchange = await ExchangeServer.StartAsync(new ExchangeServerOptions
        {
            PingInterval = TimeSpan.FromMilliseconds(200),
            PongTimeout = TimeSpan.FromSeconds(5),
            MaxIncomingMessagesPerSecond = 50,
        });
        var handler = new FrameLog();
        await using var client = new BinanceStreamClient<FrameLog>(
            Options(exchange, [BtcTrades]) with { Redundancy = 1, SilenceTimeout = Timeout.InfiniteTimeSpan }, handler, new TestLogger(output));
        client.Start();
        var connection = await exchange.WaitForConnectionAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Poll.Until(() => connection.PingsSent >= 15 || connection.Close is not null, "fifteen pings sent");
        Assert.Null(connection.Close);
        Poll.Until(() => connection.Received.Count(m => m.Kind == IncomingKind.Pong) >= 14, "the pings answered with pongs", null, () => connection.ToString());
        Assert.Single(exchange.Connections);
        Assert.Equal(1, client.Counters.OpenConnections);
        Assert.Equal(0, client.Counters.Reconnects);
        Assert.True(client.Counters.PingsAnswered >= 14, $"{client.Counters.PingsAnswered} pings counted as answered");
    }

    [Fact]
    public async Task Receive_ServerShutdown_ReplacementOpenedAndNothingLost()
    {
        // One line: only the replacement opened on serverShutdown can cover what the doomed connection would miss.
        var feed = TradeFeed(count: 4_000, spacing: TimeSpan.FromMilliseconds(1));
        await using var exchange = await ExchangeServer.StartAsync(new ExchangeServerOptions { Feed = feed, StartPaused = true });
        var handler = new FrameLog();
        await using var client = new BinanceStreamClient<FrameLog>(Options(exchange, [BtcTrades]) with { Redundancy = 1 }, handler, new TestLogger(output));
        client.Start();
        Poll.Until(() => SubscribedConnections(exchange, 1) == 1, "subscribed");
        exchange.Play();

        Poll.Until(() => handler.Count >= 500, "streaming");
        var doomed = exchange.Connections[0];
        await exchange.SendServerShutdownAsync(TimeSpan.FromSeconds(5));
        Poll.Until(() => doomed.Close is not null, "the doomed connection closed", null, () => Describe(client, handler));
        await exchange.PlaybackCompleted.WaitAsync(TimeSpan.FromSeconds(30));

        Poll.Until(() => handler.Count == 4_000, "every trade delivered", null, () => Describe(client, handler));
        Assert.Equal(Range(1, 4_000), handler.TradeIds(BtcTrades));
        Assert.Empty(handler.Gaps);
        Assert.Equal((1L, 1L, 0L), (client.Counters.ServerShutdowns, client.Counters.ShutdownReplacements, client.Counters.Reconnects));
        Assert.Equal(2, exchange.Connections.Count);
        Assert.Equal(CloseReason.ClientClosed, doomed.Close!.Reason); // closed by the client once the replacement flowed, before the grace ran out
    }

    [Fact]
    public async Task Receive_RotatedConnectionLagging_KeptUntilItCaughtUpWithItsReplacementNothingLost()
    {
        // One line whose first connection is throttled to a quarter of the feed's rate, so it falls behind the live
        // timeline. Its replacement starts at the present: the old connection must stay until it has delivered the frames
        // in between (unthrottled half a second after the replacement opened; the hold-off is long enough for that).
        var feed = TradeFeed(count: 4_000, spacing: TimeSpan.FromMilliseconds(1));
        await using var exchange = await ExchangeServer.StartAsync(new ExchangeServerOptions { Feed = feed, StartPaused = true });
        var handler = new FrameLog();
        await using var client = new BinanceStreamClient<FrameLog>(
            Options(exchange, [BtcTrades]) with { Redundancy = 1, RotateAfter = TimeSpan.FromSeconds(1.5), GapHoldOff = TimeSpan.FromSeconds(10) },
            handler,
            new TestLogger(output));
        client.Start();
        Poll.Until(() => SubscribedConnections(exchange, 1) == 1, "subscribed");
        var lagging = exchange.Connections[0];
        lagging.Throttle(60_000);
        exchange.Play();

        Poll.Until(() => exchange.Connections.Count >= 2 && exchange.Connections[1].Streams.Count == 1, "the replacement subscribed", null, () => Describe(client, handler));
        await Task.Delay(500); // the replacement flows while the old connection still lags: not a wait for a result
        lagging.Throttle(0);
        Poll.Until(() => lagging.Close is not null, "the lagging connection rotated out", null, () => Describe(client, handler));
        await exchange.PlaybackCompleted.WaitAsync(TimeSpan.FromSeconds(30));
        Poll.Until(() => handler.Count + client.Counters.MissingIds >= 4_000, "every trade delivered or reported missing", null, () => Describe(client, handler));
        Assert.Empty(handler.Gaps);
        Assert.Equal(Range(1, 4_000), handler.TradeIds(BtcTrades));
        Assert.Equal(CloseReason.ClientClosed, lagging.Close!.Reason);
    }

    [Fact]
    public async Task Subscribe_ThreeThousandStreamsAtRunTime_AtMostFiveMessagesInAnyRollingSecondAtTheExchange()
    {
        await using var exchange = await ExchangeServer.StartAsync(new ExchangeServerOptions { MaxStreamsPerConnection = 4_000 });
        var handler = new FrameLog();
        await using var client = new BinanceStreamClient<FrameLog>(
            Options(exchange, [BtcTrades]) with { Redundancy = 1, MaxStreamsPerConnection = 4_000, SilenceTimeout = Timeout.InfiniteTimeSpan },
            handler,
            new TestLogger(output));
        client.Start();
        var connection = await exchange.WaitForConnectionAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Poll.Until(() => connection.Streams.Count == 1, "the first stream subscribed");

        client.Subscribe(Enumerable.Range(0, 3_000).Select(i => $"sym{i}usdt@trade"));
        Poll.Until(() => connection.Streams.Count == 3_001, "3,000 streams subscribed at run time", TimeSpan.FromSeconds(60), () => connection.ToString());
        Poll.Until(() => client.Counters.SubscriptionReplies == 15, "every SUBSCRIBE answered");

        var received = connection.Received;
        Assert.Equal(15, received.Count(m => m.Kind == IncomingKind.Text)); // 200 streams a message
        var busiest = received.Max(m => received.Count(n => n.At >= m.At && n.At < m.At + TimeSpan.FromSeconds(1)));
        Assert.True(busiest <= 5, $"{busiest} messages in one rolling second");
        Assert.Null(connection.Close);
        Assert.Single(exchange.Connections);
        Assert.Equal(0, client.Counters.ErrorReplies);
    }

    [Fact]
    public async Task Receive_MalformedFrames_CountedByReasonAndNeverFatal()
    {
        var feed = TradeFeed(count: 4_000, spacing: TimeSpan.FromMilliseconds(1));
        await using var exchange = await ExchangeServer.StartAsync(new ExchangeServerOptions { Feed = feed, StartPaused = true });
        var handler = new FrameLog();
        await using var client = new BinanceStreamClient<FrameLog>(Options(exchange, [BtcTrades]) with { Redundancy = 2 }, handler, new TestLogger(output));
        client.Start();
        Poll.Until(() => SubscribedConnections(exchange, 1) == 2, "both lines subscribed");
        exchange.Play();
        Poll.Until(() => handler.Count >= 500, "streaming");

        var connection = exchange.Connections[0];
        await connection.SendMalformedAsync(MalformedFrame.TruncatedJson);
        await connection.SendMalformedAsync(MalformedFrame.NotJson);
        await connection.SendMalformedAsync(MalformedFrame.Binary);
        await connection.SendTextAsync("{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\"}}");
        await connection.SendTextAsync("{\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\",\"t\":1}");
        Poll.Until(() => client.Counters.Malformed == 5, "five malformed frames counted", null, () => Describe(client, handler));
        Assert.Equal(2, client.Counters.MalformedOf(MalformedReason.InvalidJson));
        Assert.Equal(1, client.Counters.MalformedOf(MalformedReason.Binary));
        Assert.Equal(1, client.Counters.MalformedOf(MalformedReason.MissingSequence));
        Assert.Equal(1, client.Counters.MalformedOf(MalformedReason.NotCombined));

        // Invalid UTF-8: RFC 6455 lets a client fail the connection (1007); either way the twin covers it.
        await connection.SendMalformedAsync(MalformedFrame.InvalidUtf8);
        await exchange.PlaybackCompleted.WaitAsync(TimeSpan.FromSeconds(30));
        Poll.Until(() => handler.Count == 4_000, "every trade delivered", null, () => Describe(client, handler));
        Assert.Equal(Range(1, 4_000), handler.TradeIds(BtcTrades));
        Assert.Empty(handler.Gaps);
        Assert.Equal(0, client.Counters.HandlerFailures);
        output.WriteLine($"after invalid UTF-8: malformed {client.Counters.Malformed}, reconnects {client.Counters.Reconnects}, first connection close {connection.Close}");
    }

    /// <summary>Test defaults: the exchange's URL, supervision every 20 ms, quick reconnects.</summary>
    internal static BinanceStreamOptions Options(ExchangeServer exchange, IReadOnlyList<string> streams) => new()
    {
        Url = exchange.BaseUri,
        Streams = streams,
        SupervisionInterval = TimeSpan.FromMilliseconds(20),
        ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
        ReplacementTimeout = TimeSpan.FromSeconds(10),
    };

    internal static int SubscribedConnections(ExchangeServer exchange, int streams) => exchange.Connections.Count(c => c.Close is null && c.Streams.Count == streams);

    /// <summary>Trades 1..count of btcusdt@trade, <paramref name="spacing"/> apart on the feed's clock.</summary>
    internal static ExchangeFeed TradeFeed(int count, TimeSpan spacing) =>
        ExchangeFeed.FromFrames(Enumerable.Range(1, count).Select(id =>
            new FeedFrame(id * (long)spacing.TotalNanoseconds, BtcTrades, TradeData(id))));

    private static string TradeData(long id) =>
        $"{{\"e\":\"trade\",\"E\":{Frames.EventTime + id},\"s\":\"BTCUSDT\",\"t\":{id},\"p\":\"61837.64000000\",\"q\":\"0.00100000\",\"T\":{Frames.EventTime + id},\"m\":false,\"M\":true}}";

    /// <summary>The feed's combined frames of each of <paramref name="streams"/>, in the order played.</summary>
    private static Dictionary<string, List<string>> ExpectedFrames(ExchangeFeed feed, IReadOnlyList<string> streams)
    {
        var expected = streams.ToDictionary(s => s, _ => new List<string>());
        for (var i = 0; i < feed.Count; i++)
        {
            if (expected.TryGetValue(feed.StreamOf(i), out var frames))
            {
                frames.Add(Encoding.UTF8.GetString(feed.CombinedFrame(i).Span));
            }
        }

        return expected;
    }

    /// <summary>Per stream: how many expected frames were not delivered, and the first few of them.</summary>
    private static string Missing(Dictionary<string, List<string>> expected, FrameLog handler)
    {
        var report = new StringBuilder();
        foreach (var (stream, frames) in expected)
        {
            var delivered = handler.FramesOf(stream).ToHashSet();
            var missing = frames.Select((f, i) => (f, i)).Where(x => !delivered.Contains(x.f)).ToList();
            report.Append($"{stream}: expected {frames.Count}, delivered {delivered.Count}, missing {missing.Count}");
            foreach (var (frame, index) in missing.Take(4))
            {
                report.Append($"\n  #{index}: {frame[..Math.Min(frame.Length, 110)]}");
            }

            report.Append('\n');
        }

        return report.ToString();
    }

    internal static List<long> Range(long first, long last)
    {
        var ids = new List<long>();
        for (var id = first; id <= last; id++)
        {
            ids.Add(id);
        }

        return ids;
    }

    internal static string Describe(BinanceStreamClient<FrameLog> client, FrameLog handler)
    {
        var c = client.Counters;
        return $"delivered {c.Delivered} (handler {handler.Count}), duplicates {c.Duplicates}, held back {c.HeldBack} (released {c.ReleasedHeld}, held now {c.HeldNow}, overflows {c.HoldOverflows}), gaps {c.Gaps} ({c.MissingIds} ids), " +
               $"malformed {c.Malformed}, oversized {c.Oversized}, reconnects {c.Reconnects}, rotations {c.Rotations}, shutdown replacements {c.ShutdownReplacements}\n" +
               string.Join('\n', client.GetConnections());
    }
}

/// <summary>
/// An oversized frame against the local exchange, measured by the whole process's allocations: in the collection that
/// runs alone, so no other test's allocations count.
/// </summary>
[Collection(nameof(ProcessAllocationCollection))]
public sealed class BinanceStreamClientOversizedFrameTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Receive_FrameAboveMaxFrameBytes_CountedNotBufferedAndNothingLostOnTheTwin()
    {
        var feed = BinanceStreamClientExchangeTests.TradeFeed(count: 4_000, spacing: TimeSpan.FromMilliseconds(1));
        await using var exchange = await ExchangeServer.StartAsync(new ExchangeServerOptions { Feed = feed, StartPaused = true });
        var handler = new FrameLog();
        await using var client = new BinanceStreamClient<FrameLog>(
            BinanceStreamClientExchangeTests.Options(exchange, [BinanceStreamClientExchangeTests.BtcTrades]) with { Redundancy = 2, MaxFrameBytes = 256 * 1024 }, handler, new TestLogger(output));
        client.Start();
        Poll.Until(() => BinanceStreamClientExchangeTests.SubscribedConnections(exchange, 1) == 2, "both lines subscribed");
        exchange.Play();
        Poll.Until(() => handler.Count >= 500, "streaming");

        // 64 MiB in 64 KiB fragments, on one line: were it buffered whole, the process would allocate at least that.
        const long size = 64L * 1024 * 1024;
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await exchange.Connections[0].SendOversizedAsync(size);
        Poll.Until(() => client.Counters.Oversized == 1, "the oversized frame counted", null, () => BinanceStreamClientExchangeTests.Describe(client, handler));
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.True(allocated < size / 4, $"{allocated:N0} bytes allocated while a {size:N0}-byte frame was received");

        await exchange.PlaybackCompleted.WaitAsync(TimeSpan.FromSeconds(30));
        Poll.Until(() => handler.Count == 4_000, "every trade delivered", null, () => BinanceStreamClientExchangeTests.Describe(client, handler));
        Assert.Equal(BinanceStreamClientExchangeTests.Range(1, 4_000), handler.TradeIds(BinanceStreamClientExchangeTests.BtcTrades));
        Assert.Empty(handler.Gaps);
        Assert.Equal(0, client.Counters.Malformed);
    }
}

/// <summary>Every delivered frame as text, by stream, and every gap (the client serialises calls; the lock is for the test's reads).</summary>
internal sealed class FrameLog : IBinanceFrameHandler
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<string>> _frames = [];
    private readonly List<StreamGap> _gaps = [];
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public List<StreamGap> Gaps
    {
        get
        {
            lock (_lock)
            {
                return [.. _gaps];
            }
        }
    }

    public List<string> FramesOf(string stream)
    {
        lock (_lock)
        {
            return _frames.TryGetValue(stream, out var frames) ? [.. frames] : [];
        }
    }

    /// <summary>The trade ids <c>t</c> delivered on <paramref name="stream"/>, in delivery order.</summary>
    public List<long> TradeIds(string stream) =>
        [.. FramesOf(stream).Select(f => System.Text.Json.JsonDocument.Parse(f).RootElement.GetProperty("data").GetProperty("t").GetInt64())];

    public void OnFrame(ReadOnlySpan<byte> frame, long receiveTimeNs)
    {
        var text = Encoding.UTF8.GetString(frame);
        const string Prefix = "{\"stream\":\"";
        var stream = text.StartsWith(Prefix, StringComparison.Ordinal) ? text[Prefix.Length..text.IndexOf('"', Prefix.Length)] : string.Empty;
        lock (_lock)
        {
            if (!_frames.TryGetValue(stream, out var frames))
            {
                _frames[stream] = frames = [];
            }

            frames.Add(text);
        }

        Interlocked.Increment(ref _count);
    }

    public void OnGap(in StreamGap gap)
    {
        lock (_lock)
        {
            _gaps.Add(gap);
        }
    }
}

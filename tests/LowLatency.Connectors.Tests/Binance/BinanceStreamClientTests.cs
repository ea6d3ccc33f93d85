using System.Text;
using System.Text.Json;
using LowLatency.Connectors.Binance;
using LowLatency.LocalExchange;
using LowLatency.TestSupport;
using Xunit.Abstractions;

namespace LowLatency.Connectors.Tests.Binance;

/// <summary>
/// Smoke tests of the client over real sockets against the local exchange (<see cref="ExchangeServer"/>): redundant
/// lines, a line killed, rotation, oversized frames, run-time subscriptions, the silence watchdog, keep-alive. Every
/// test checks the one invariant that matters: each trade id played is delivered exactly once or reported in exactly one
/// gap. Nothing asserts a duration; waits poll with generous deadlines. The issue-5 scenarios (a recording through
/// drops, exchange-made gaps, serverShutdown, pacing, malformed frames) are in <see cref="BinanceStreamClientExchangeTests"/>.
/// </summary>
public sealed class BinanceStreamClientTests(ITestOutputHelper output)
{
    private const string Trades = "btcusdt@trade";

    [Theory]
    [InlineData(BinanceWebSocketTransport.Framed)]
    [InlineData(BinanceWebSocketTransport.ClientWebSocket)]
    public async Task Receive_TwoLinesGetTheSameFrames_EachTradeOnceAndServerPingAnswered(BinanceWebSocketTransport transport)
    {
        await using var exchange = await Exchange(TradeFeed(2_000));
        var handler = new RecordingHandler();
        await using var client = Client(Options(exchange) with { Redundancy = 2, Transport = transport }, handler);
        client.Start();
        Poll.Until(() => Subscribed(exchange) == 2, "both lines connected");
        Assert.All(exchange.Connections, c => Assert.Equal("/stream?streams=btcusdt@trade", c.RequestTarget));

        // The client answers the exchange's ping with the ping's payload (the exchange counts only such a pong); ours
        // counts it, ClientWebSocket's answer is invisible (-1).
        var first = exchange.Connections[0];
        await first.SendPingAsync();
        Poll.Until(() => first.Received.Any(m => m.Kind == IncomingKind.Pong), "a pong");
        Assert.Equal(transport == BinanceWebSocketTransport.Framed ? 1 : -1, client.Counters.PingsAnswered);

        exchange.Play();
        Poll.Until(() => handler.Count == 2_000 && client.Counters.Duplicates == 2_000, "2,000 trades delivered, 2,000 copies dropped", null, () => Describe(client, handler));
        AssertEveryIdOnceOrInAGap(handler, 1, 2_000);
        Assert.Empty(handler.Gaps);
        Assert.Equal(2_000, client.Counters.Delivered);
        Assert.True(client.Counters.FramesReceived >= 4_000);
        Assert.Equal(2, client.Counters.OpenConnections);
        var connections = client.GetConnections();
        Assert.Equal(2_000, connections.Sum(c => c.FramesDelivered));
        Assert.All(connections, c => Assert.True(c.HasData && c.State == BinanceConnectionState.Open));
        Assert.All(exchange.Connections, c => Assert.Null(c.Close));
    }

    [Fact]
    public async Task Receive_OneLineKilledWhileStreaming_TwinCarriesItNothingLostOrDoubled()
    {
        await using var exchange = await Exchange(TradeFeed(3_000));
        var handler = new RecordingHandler();
        await using var client = Client(Options(exchange) with { Redundancy = 2 }, handler);
        client.Start();
        Poll.Until(() => Subscribed(exchange) == 2, "both lines connected");
        exchange.Play();

        Poll.Until(() => handler.Count >= 1_000, "a third delivered");
        exchange.Connections[0].Abort();
        Poll.Until(() => exchange.Connections.Count >= 3 && Subscribed(exchange) == 2, "the killed line reconnected");

        Poll.Until(() => handler.Count == 3_000, "every trade delivered", null, () => Describe(client, handler));
        AssertEveryIdOnceOrInAGap(handler, 1, 3_000);
        Assert.Empty(handler.Gaps);
        Assert.True(client.Counters.Reconnects >= 1);
    }

    [Fact]
    public async Task Receive_RedundancyOneLineKilled_GapReportsExactlyTheIdsNotDelivered()
    {
        await using var exchange = await Exchange(TradeFeed(3_000));
        var handler = new RecordingHandler();
        await using var client = Client(Options(exchange) with { Redundancy = 1, ReconnectInitialDelay = TimeSpan.FromMilliseconds(200) }, handler);
        client.Start();
        Poll.Until(() => Subscribed(exchange) == 1, "connected");
        exchange.Play();

        Poll.Until(() => handler.Count >= 500, "streaming");
        exchange.Connections[0].Abort();
        Poll.Until(() => exchange.Connections.Count == 2, "reconnected");

        Poll.Until(() => handler.LastId == 3_000, "the last trade delivered", null, () => Describe(client, handler));
        AssertEveryIdOnceOrInAGap(handler, 1, 3_000);
        Assert.NotEmpty(handler.Gaps);
        Assert.Equal(handler.Gaps.Count, client.Counters.Gaps);
        Assert.Equal(handler.Gaps.Sum(g => g.Count), client.Counters.MissingIds);
        Assert.All(handler.Gaps, g => Assert.Equal((Trades, "BTCUSDT", BinanceStreamKind.Trade), (g.Stream, g.Symbol, g.Kind)));
        Assert.Equal(1, client.Counters.Reconnects);
    }

    [Fact]
    public async Task Receive_OlderThanRotateAfter_ReplacedBeforeTheOldClosesWithoutAGap()
    {
        await using var exchange = await Exchange(TradeFeed(8_000));
        var handler = new RecordingHandler();
        await using var client = Client(Options(exchange) with { Redundancy = 1, RotateAfter = TimeSpan.FromSeconds(1) }, handler);
        client.Start();
        Poll.Until(() => Subscribed(exchange) == 1, "connected");
        exchange.Play();

        Poll.Until(() => client.Counters.Rotations >= 2 && exchange.Connections.Count >= 3, "two rotations", null, () => Describe(client, handler));
        Poll.Until(() => exchange.Connections.Take(2).All(c => c.Close?.Reason == CloseReason.ClientClosed), "the rotated-out connections closed by the client");

        Poll.Until(() => handler.LastId == 8_000, "the last trade delivered", null, () => Describe(client, handler));
        AssertEveryIdOnceOrInAGap(handler, 1, 8_000);
        Assert.Empty(handler.Gaps);
        Assert.Equal(0, client.Counters.Reconnects);
    }

    [Theory]
    [InlineData(BinanceWebSocketTransport.Framed)]
    [InlineData(BinanceWebSocketTransport.ClientWebSocket)]
    public async Task Receive_FrameAboveMaxFrameBytes_DroppedFragmentByFragmentAndTheConnectionGoesOn(BinanceWebSocketTransport transport)
    {
        await using var exchange = await Exchange(feed: null);
        var handler = new RecordingHandler();
        await using var client = Client(Options(exchange) with { Redundancy = 1, MaxFrameBytes = 64 * 1024, ReceiveBufferBytes = 4 * 1024, Transport = transport }, handler);
        client.Start();
        Poll.Until(() => Subscribed(exchange) == 1, "connected");
        var connection = exchange.Connections[0];

        // 1 MiB in 16 fragments: far above the limit. Then a 40 KB frame, within it (the buffer grows), then a small one.
        await connection.SendOversizedAsync(1 << 20);
        await connection.SendTextAsync($"{{\"stream\":\"btcusdt@trade\",\"data\":{{\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\",\"t\":2,\"p\":\"{new string('9', 40_000)}\"}}}}");
        await connection.SendTextAsync(Encoding.UTF8.GetString(Frames.Trade(3)));

        Poll.Until(() => handler.LastId == 3, "the frames after the oversized one delivered", null, () => Describe(client, handler));
        Assert.Equal([2L, 3L], handler.Ids);
        Assert.Equal(1, client.Counters.Oversized);
        Assert.Equal(0, client.Counters.Malformed);
        Assert.Equal(BinanceConnectionState.Open, client.GetConnections().Single().State);
        Assert.Null(connection.Close);
    }

    [Fact]
    public async Task Subscribe_AtRunTime_BatchedPacedRepliedThenDeliveredAndUnsubscribeDropsInFlight()
    {
        await using var exchange = await Exchange(feed: null);
        var handler = new RecordingHandler();
        await using var client = Client(Options(exchange) with { Redundancy = 1, MaxStreamsPerControlMessage = 2 }, handler);
        client.Start();
        Poll.Until(() => Subscribed(exchange) == 1, "connected");
        var connection = exchange.Connections[0];

        string[] added = ["ethusdt@trade", "BNBUSDT@trade", "solusdt@trade", "xrpusdt@trade", "adausdt@trade"];
        client.Subscribe(added);
        Poll.Until(() => Texts(connection).Count == 3, "three SUBSCRIBE messages of at most two streams");
        var requests = Texts(connection).Select(t => JsonDocument.Parse(t).RootElement).ToList();
        Assert.All(requests, r => Assert.Equal("SUBSCRIBE", r.GetProperty("method").GetString()));
        Assert.Equal(
            ["ethusdt@trade", "bnbusdt@trade", "solusdt@trade", "xrpusdt@trade", "adausdt@trade"],
            requests.SelectMany(r => r.GetProperty("params").EnumerateArray().Select(p => p.GetString())));
        Assert.Equal(3, requests.Select(r => r.GetProperty("id").GetInt64()).Distinct().Count());
        Assert.Equal(3, client.Counters.ControlMessagesSent);

        // The exchange answers each one.
        Poll.Until(() => client.GetConnections().Single().AwaitingReplies == 0, "every SUBSCRIBE answered");
        Assert.Equal(3, client.Counters.SubscriptionReplies);
        Assert.Equal(6, connection.Streams.Count);
        await connection.SendTextAsync(Encoding.UTF8.GetString(Frames.Trade(77, "solusdt")));
        Poll.Until(() => handler.Count == 1, "a frame of a stream subscribed at run time delivered");

        client.Unsubscribe(["solusdt@trade"]);
        Poll.Until(() => Texts(connection).Count == 4, "an UNSUBSCRIBE");
        Assert.Contains("\"UNSUBSCRIBE\"", Texts(connection)[^1], StringComparison.Ordinal);
        await connection.SendTextAsync(Encoding.UTF8.GetString(Frames.Trade(78, "solusdt"))); // still in flight when the exchange reads the UNSUBSCRIBE
        Poll.Until(() => client.Counters.UnsubscribedFrames == 1, "the in-flight frame dropped");
        Assert.Equal(1, handler.Count);
    }

    [Fact]
    public async Task Handler_ReadsCountersAndSubscribesFromInsideOnFrame_NoDeadlock()
    {
        // The supervisor takes the delivery lock while holding its own (to register streams, open slots); a handler
        // runs under the delivery lock. Counters and Subscribe must therefore take no lock of the supervisor's.
        await using var exchange = await Exchange(TradeFeed(2_000), maxIncomingMessagesPerSecond: 1_000);
        var handler = new ReentrantHandler();
        await using var client = new BinanceStreamClient<ReentrantHandler>(
            Options(exchange) with { Redundancy = 2, SupervisionInterval = TimeSpan.FromMilliseconds(1) }, handler, new TestLogger(output));
        handler.Client = client;
        client.Start();
        Poll.Until(() => Subscribed(exchange) == 2, "connected");
        exchange.Play();

        Poll.Until(() => handler.Frames == 2_000, "every trade delivered while the handler called back into the client");
        Poll.Until(() => exchange.Connections.All(c => Texts(c).Any(t => t.Contains("\"SUBSCRIBE\"", StringComparison.Ordinal))), "the handler's subscriptions sent");
        Assert.True(handler.CountersRead >= 2_000);
    }

    [Fact]
    public async Task Watchdog_ConnectionSilentTooLong_DroppedAndReconnected()
    {
        await using var exchange = await Exchange(feed: null);
        var handler = new RecordingHandler();
        await using var client = Client(Options(exchange) with { Redundancy = 1, SilenceTimeout = TimeSpan.FromMilliseconds(300) }, handler);
        client.Start();

        Poll.Until(() => client.Counters.SilenceTimeouts >= 1 && exchange.Connections.Count >= 2, "the silent connection replaced");
        Poll.Until(() => exchange.Connections[0].Close is not null, "the silent connection closed");
    }

    [Theory]
    [InlineData(BinanceWebSocketTransport.Framed)]
    [InlineData(BinanceWebSocketTransport.ClientWebSocket)]
    public async Task KeepAlive_ServerNeverAnswersThePings_ConnectionAbortedCountedAndReconnected(BinanceWebSocketTransport transport)
    {
        // The exchange stops answering (no pongs, no data): the client aborts the connection once the pong is late.
        await using var exchange = await Exchange(feed: null);
        var handler = new RecordingHandler();
        await using var client = Client(
            Options(exchange) with
            {
                Redundancy = 1,
                KeepAliveInterval = TimeSpan.FromSeconds(1),
                KeepAliveTimeout = TimeSpan.FromSeconds(1),
                SilenceTimeout = Timeout.InfiniteTimeSpan,
                Transport = transport,
            },
            handler);
        client.Start();
        var first = await exchange.WaitForConnectionAsync().WaitAsync(Poll.DefaultTimeout);
        first.StopAnswering();

        Poll.Until(() => client.Counters.KeepAliveTimeouts >= 1 && exchange.Connections.Count >= 2, "the unanswered connection dropped and replaced", null, () => Describe(client, handler));
        Assert.Contains(first.Received, m => m.Kind == IncomingKind.Ping); // the client's keep-alive ping
        Assert.Equal(0, client.Counters.SilenceTimeouts);
    }

    [Fact]
    public async Task Connect_NothingListening_FailuresCountedAndRetried()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // a port nothing listens on: connections are refused

        var handler = new RecordingHandler();
        await using var client = Client(
            new BinanceStreamOptions
            {
                Url = new Uri($"ws://127.0.0.1:{port}"),
                Streams = [Trades],
                Redundancy = 1,
                ReconnectInitialDelay = TimeSpan.FromMilliseconds(10),
                ReconnectMaxDelay = TimeSpan.FromMilliseconds(80),
                SupervisionInterval = TimeSpan.FromMilliseconds(5),
            },
            handler);
        client.Start();

        Poll.Until(() => client.Counters.ConnectFailures >= 5, "five refused attempts");
        Assert.Equal(0, client.Counters.OpenConnections);
        Assert.Equal(0, handler.Count);
    }

    [Fact]
    public async Task StopAsync_WhileStreaming_ClosesEveryConnectionAndNoHandlerCallAfter()
    {
        await using var exchange = await Exchange(TradeFeed(20_000));
        var handler = new RecordingHandler();
        var client = Client(Options(exchange) with { Redundancy = 2 }, handler);
        client.Start();
        Poll.Until(() => Subscribed(exchange) == 2, "connected");
        exchange.Play();
        Poll.Until(() => handler.Count > 100, "streaming");

        await client.DisposeAsync();
        var count = handler.Count;
        Poll.Until(() => exchange.Connections.All(c => c.Close is not null), "every connection closed");
        Assert.All(exchange.Connections, c => Assert.Equal(CloseReason.ClientClosed, c.Close!.Reason));
        Poll.Never(() => handler.Count != count, "a handler call after StopAsync", TimeSpan.FromMilliseconds(200));
        Assert.Empty(client.GetConnections());
        Assert.Equal(0, client.Counters.OpenConnections);
    }

    /// <summary>An exchange on the shared timeline, paused until the test calls Play.</summary>
    private static Task<ExchangeServer> Exchange(ExchangeFeed? feed, int maxIncomingMessagesPerSecond = 5) =>
        ExchangeServer.StartAsync(new ExchangeServerOptions { Feed = feed, StartPaused = true, MaxIncomingMessagesPerSecond = maxIncomingMessagesPerSecond });

    /// <summary>Trades 1..count of btcusdt@trade, 1 ms apart: a busy symbol.</summary>
    private static ExchangeFeed TradeFeed(int count) =>
        ExchangeFeed.FromFrames(Enumerable.Range(1, count).Select(id =>
        {
            var frame = Encoding.UTF8.GetString(Frames.Trade(id));
            var data = frame[(frame.IndexOf("\"data\":", StringComparison.Ordinal) + 7)..^1];
            return new FeedFrame(id * 1_000_000L, Trades, data);
        }));

    private static int Subscribed(ExchangeServer exchange) => exchange.Connections.Count(c => c.Close is null && c.Streams.Count >= 1);

    private static List<string> Texts(ExchangeConnection connection) =>
        [.. connection.Received.Where(m => m.Kind == IncomingKind.Text).Select(m => m.Text!)];

    /// <summary>Test defaults: the exchange, one trade stream, supervision every 20 ms, quick reconnects.</summary>
    private static BinanceStreamOptions Options(ExchangeServer exchange) => new()
    {
        Url = exchange.BaseUri,
        Streams = [Trades],
        SupervisionInterval = TimeSpan.FromMilliseconds(20),
        ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
        ReplacementTimeout = TimeSpan.FromSeconds(10),
    };

    private BinanceStreamClient<RecordingHandler> Client(BinanceStreamOptions options, RecordingHandler handler) => new(options, handler, new TestLogger(output));

    /// <summary>Every id in [first, last] delivered once (in increasing order) or inside exactly one reported gap.</summary>
    private static void AssertEveryIdOnceOrInAGap(RecordingHandler handler, long first, long last)
    {
        var ids = handler.Ids;
        Assert.True(ids.SequenceEqual(ids.Order()) && ids.Distinct().Count() == ids.Count, "delivered once each, in order");
        var covered = ids.Concat(handler.Gaps.SelectMany(g => LongRange(g.FirstMissing, g.LastMissing))).Order().ToList();
        Assert.Equal(LongRange(first, last), covered);
    }

    private static IEnumerable<long> LongRange(long first, long last)
    {
        for (var id = first; id <= last; id++)
        {
            yield return id;
        }
    }

    private static string Describe(BinanceStreamClient<RecordingHandler> client, RecordingHandler handler)
    {
        var c = client.Counters;
        return $"delivered {c.Delivered} (handler {handler.Count}, last {handler.LastId}), duplicates {c.Duplicates}, held back {c.HeldBack}, " +
               $"gaps {c.Gaps} ({c.MissingIds} ids), malformed {c.Malformed}, reconnects {c.Reconnects}, rotations {c.Rotations}\n" +
               string.Join('\n', client.GetConnections());
    }
}

/// <summary>Reads the client's counters on every frame and subscribes a new stream every 100 frames, from inside OnFrame.</summary>
internal sealed class ReentrantHandler : IBinanceFrameHandler
{
    private long _frames;

    public BinanceStreamClient<ReentrantHandler>? Client { get; set; }

    public long Frames => Volatile.Read(ref _frames);

    public long CountersRead { get; private set; }

    public void OnFrame(ReadOnlySpan<byte> frame, long receiveTimeNs)
    {
        var client = Client!;
        _ = client.Counters.FramesReceived + client.Counters.Duplicates + client.Counters.OpenConnections;
        CountersRead++;
        var frames = Volatile.Read(ref _frames) + 1;
        if (frames % 100 == 0)
        {
            client.Subscribe([$"sym{frames}usdt@trade"]);
        }

        Volatile.Write(ref _frames, frames);
    }

    public void OnGap(in StreamGap gap)
    {
    }
}

/// <summary>Collects trade ids and gaps (the client serialises the calls; the lock is for the test thread's reads).</summary>
internal sealed class RecordingHandler : IBinanceFrameHandler
{
    private readonly Lock _lock = new();
    private readonly List<long> _ids = [];
    private readonly List<StreamGap> _gaps = [];

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _ids.Count;
            }
        }
    }

    public long LastId
    {
        get
        {
            lock (_lock)
            {
                return _ids.Count == 0 ? 0 : _ids[^1];
            }
        }
    }

    public List<long> Ids
    {
        get
        {
            lock (_lock)
            {
                return [.. _ids];
            }
        }
    }

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

    public void OnFrame(ReadOnlySpan<byte> frame, long receiveTimeNs)
    {
        using var document = JsonDocument.Parse(frame.ToArray());
        var id = document.RootElement.GetProperty("data").GetProperty("t").GetInt64();
        lock (_lock)
        {
            _ids.Add(id);
        }
    }

    public void OnGap(in StreamGap gap)
    {
        lock (_lock)
        {
            _gaps.Add(gap);
        }
    }
}

using System.Text.Json;
using LowLatency.Connectors.Binance;
using LowLatency.TestSupport;
using Xunit.Abstractions;

namespace LowLatency.Connectors.Tests.Binance;

/// <summary>
/// Smoke tests of the client over real sockets against <see cref="RawWebSocketServer"/> (to be replaced by the local
/// exchange): redundant lines, a line killed, serverShutdown, rotation, oversized frames, run-time subscriptions, the
/// silence watchdog. Every test checks the one invariant that matters: each trade id sent is delivered exactly once or
/// reported in exactly one gap. Nothing asserts a duration; waits poll with generous deadlines.
/// </summary>
public sealed class BinanceStreamClientTests(ITestOutputHelper output)
{
    private const string Trades = "btcusdt@trade";

    [Fact]
    public async Task Receive_TwoLinesGetTheSameFrames_EachTradeOnceAndServerPingAnswered()
    {
        using var server = new RawWebSocketServer();
        var handler = new RecordingHandler();
        await using var client = Client(Options(server) with { Redundancy = 2 }, handler);
        client.Start();
        Poll.Until(() => server.Open.Count == 2, "both lines connected");
        Assert.All(server.Connections, c => Assert.Equal("/stream?streams=btcusdt@trade", c.Target));

        // ClientWebSocket answers the server's ping with the ping's payload (Binance requires it within a minute).
        var first = server.Connections[0];
        first.SendPing("ping-7");
        Poll.Until(() => first.Received.Any(f => f.Opcode == 10 && f.Payload.AsSpan().SequenceEqual("ping-7"u8)), "a pong with the ping's payload");

        for (var id = 1; id <= 2_000; id++)
        {
            var frame = Frames.Trade(id);
            foreach (var connection in server.Connections)
            {
                connection.SendText(frame);
            }
        }

        Poll.Until(() => handler.Count == 2_000 && client.Counters.Duplicates == 2_000, "2,000 trades delivered, 2,000 copies dropped", null, () => Describe(client, handler));
        AssertEveryIdOnceOrInAGap(handler, 1, 2_000);
        Assert.Empty(handler.Gaps);
        Assert.Equal(2_000, client.Counters.Delivered);
        Assert.True(client.Counters.FramesReceived >= 4_000);
        Assert.Equal(2, client.Counters.OpenConnections);
        var connections = client.GetConnections();
        Assert.Equal(2_000, connections.Sum(c => c.FramesDelivered));
        Assert.All(connections, c => Assert.True(c.HasData && c.State == BinanceConnectionState.Open));
    }

    [Fact]
    public async Task Receive_OneLineKilledWhileStreaming_TwinCarriesItNothingLostOrDoubled()
    {
        using var server = new RawWebSocketServer();
        var handler = new RecordingHandler();
        await using var client = Client(Options(server) with { Redundancy = 2, ReconnectInitialDelay = TimeSpan.FromMilliseconds(50) }, handler);
        client.Start();
        Poll.Until(() => server.Open.Count == 2, "both lines connected");

        using var broadcast = new Broadcaster(server, count: 3_000);
        Poll.Until(() => broadcast.LastSent >= 1_000, "a third sent");
        server.Connections[0].Kill();
        Poll.Until(() => server.Connections.Count >= 3 && server.Open.Count == 2, "the killed line reconnected");
        broadcast.Finish();

        Poll.Until(() => handler.Count == 3_000, "every trade delivered", null, () => Describe(client, handler));
        AssertEveryIdOnceOrInAGap(handler, 1, 3_000);
        Assert.Empty(handler.Gaps);
        Assert.True(client.Counters.Reconnects >= 1);
    }

    [Fact]
    public async Task Receive_RedundancyOneLineKilled_GapReportsExactlyTheIdsNotDelivered()
    {
        using var server = new RawWebSocketServer();
        var handler = new RecordingHandler();
        await using var client = Client(Options(server) with { Redundancy = 1, ReconnectInitialDelay = TimeSpan.FromMilliseconds(200) }, handler);
        client.Start();
        Poll.Until(() => server.Open.Count == 1, "connected");

        using var broadcast = new Broadcaster(server, count: 3_000);
        Poll.Until(() => handler.Count >= 500, "streaming");
        server.Connections[0].Kill();
        Poll.Until(() => server.Connections.Count == 2, "reconnected");
        broadcast.Finish();

        Poll.Until(() => handler.LastId == 3_000, "the last trade delivered", null, () => Describe(client, handler));
        AssertEveryIdOnceOrInAGap(handler, 1, 3_000);
        Assert.NotEmpty(handler.Gaps);
        Assert.Equal(handler.Gaps.Count, client.Counters.Gaps);
        Assert.Equal(handler.Gaps.Sum(g => g.Count), client.Counters.MissingIds);
        Assert.All(handler.Gaps, g => Assert.Equal((Trades, "BTCUSDT", BinanceStreamKind.Trade), (g.Stream, g.Symbol, g.Kind)));
        Assert.Equal(1, client.Counters.Reconnects);
    }

    [Fact]
    public async Task Receive_ServerShutdown_ReplacementOpenedAtOnceAndSwappedInWithoutAGap()
    {
        using var server = new RawWebSocketServer();
        var handler = new RecordingHandler();
        await using var client = Client(Options(server) with { Redundancy = 1 }, handler);
        client.Start();
        Poll.Until(() => server.Open.Count == 1, "connected");

        using var broadcast = new Broadcaster(server, count: 3_000);
        Poll.Until(() => handler.Count >= 500, "streaming");
        var doomed = server.Connections[0];
        doomed.SendText("{\"e\":\"serverShutdown\",\"E\":1723161255214}");
        Poll.Until(() => client.Counters.ShutdownReplacements == 1 && server.Connections.Count == 2, "a replacement opened");
        Poll.Until(() => doomed.Received.Any(f => f.Opcode == 8), "the old connection closed by the client once the new one flowed", null, () => Describe(client, handler));
        broadcast.Finish();

        Poll.Until(() => handler.LastId == 3_000, "the last trade delivered", null, () => Describe(client, handler));
        AssertEveryIdOnceOrInAGap(handler, 1, 3_000);
        Assert.Empty(handler.Gaps);
        Assert.Equal(1, client.Counters.ServerShutdowns);
        Assert.Equal(0, client.Counters.Reconnects);
    }

    [Fact]
    public async Task Receive_OlderThanRotateAfter_ReplacedBeforeTheOldClosesWithoutAGap()
    {
        using var server = new RawWebSocketServer();
        var handler = new RecordingHandler();
        await using var client = Client(Options(server) with { Redundancy = 1, RotateAfter = TimeSpan.FromSeconds(1) }, handler);
        client.Start();
        Poll.Until(() => server.Open.Count == 1, "connected");

        using var broadcast = new Broadcaster(server, count: int.MaxValue);
        Poll.Until(() => client.Counters.Rotations >= 2 && server.Connections.Count >= 3, "two rotations", null, () => Describe(client, handler));
        Poll.Until(() => server.Connections.Take(2).All(c => c.Received.Any(f => f.Opcode == 8)), "the rotated-out connections closed by the client");
        var last = broadcast.Finish();

        Poll.Until(() => handler.LastId == last, "the last trade delivered", null, () => Describe(client, handler));
        AssertEveryIdOnceOrInAGap(handler, 1, last);
        Assert.Empty(handler.Gaps);
    }

    [Fact]
    public async Task Receive_FrameAboveMaxFrameBytes_DroppedFragmentByFragmentAndTheConnectionGoesOn()
    {
        using var server = new RawWebSocketServer();
        var handler = new RecordingHandler();
        await using var client = Client(Options(server) with { Redundancy = 1, MaxFrameBytes = 64 * 1024, ReceiveBufferBytes = 4 * 1024 }, handler);
        client.Start();
        Poll.Until(() => server.Open.Count == 1, "connected");
        var connection = server.Connections[0];

        // 1 MiB in 64 fragments: far above the limit. Then a 40 KB frame, within it (the buffer grows), then a small one.
        var huge = Frames.Utf8($"{{\"stream\":\"btcusdt@trade\",\"data\":{{\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\",\"t\":1,\"p\":\"{new string('9', 1 << 20)}\"}}}}");
        var large = Frames.Utf8($"{{\"stream\":\"btcusdt@trade\",\"data\":{{\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\",\"t\":2,\"p\":\"{new string('9', 40_000)}\"}}}}");
        Assert.True(connection.SendText(huge, fragments: 64));
        Assert.True(connection.SendText(large, fragments: 5));
        Assert.True(connection.SendText(Frames.Trade(3)));

        Poll.Until(() => handler.LastId == 3, "the frames after the oversized one delivered", null, () => Describe(client, handler));
        Assert.Equal([2L, 3L], handler.Ids);
        Assert.Equal(1, client.Counters.Oversized);
        Assert.Equal(0, client.Counters.Malformed);
        Assert.Equal(BinanceConnectionState.Open, client.GetConnections().Single().State);
    }

    [Fact]
    public async Task Subscribe_AtRunTime_BatchedPacedRepliedThenDeliveredAndUnsubscribeDropsInFlight()
    {
        using var server = new RawWebSocketServer();
        var handler = new RecordingHandler();
        await using var client = Client(Options(server) with { Redundancy = 1, MaxStreamsPerControlMessage = 2 }, handler);
        client.Start();
        Poll.Until(() => server.Open.Count == 1, "connected");
        var connection = server.Connections[0];

        string[] added = ["ethusdt@trade", "BNBUSDT@trade", "solusdt@trade", "xrpusdt@trade", "adausdt@trade"];
        client.Subscribe(added);
        Poll.Until(() => connection.ReceivedTexts.Count() == 3, "three SUBSCRIBE messages of at most two streams");
        var requests = connection.ReceivedTexts.Select(t => JsonDocument.Parse(t).RootElement).ToList();
        Assert.All(requests, r => Assert.Equal("SUBSCRIBE", r.GetProperty("method").GetString()));
        Assert.Equal(
            ["ethusdt@trade", "bnbusdt@trade", "solusdt@trade", "xrpusdt@trade", "adausdt@trade"],
            requests.SelectMany(r => r.GetProperty("params").EnumerateArray().Select(p => p.GetString())));
        Assert.Equal(3, requests.Select(r => r.GetProperty("id").GetInt64()).Distinct().Count());
        Assert.Equal(3, client.Counters.ControlMessagesSent);
        Assert.Equal(3, client.GetConnections().Single().AwaitingReplies);

        foreach (var request in requests)
        {
            connection.SendText($"{{\"result\":null,\"id\":{request.GetProperty("id").GetInt64()}}}");
        }

        Poll.Until(() => client.GetConnections().Single().AwaitingReplies == 0, "every SUBSCRIBE answered");
        Assert.Equal(3, client.Counters.SubscriptionReplies);
        connection.SendText(Frames.Trade(77, "solusdt"));
        Poll.Until(() => handler.Count == 1, "a frame of a stream subscribed at run time delivered");

        client.Unsubscribe(["solusdt@trade"]);
        Poll.Until(() => connection.ReceivedTexts.Count() == 4, "an UNSUBSCRIBE");
        Assert.Contains("\"UNSUBSCRIBE\"", connection.ReceivedTexts.Last(), StringComparison.Ordinal);
        connection.SendText(Frames.Trade(78, "solusdt")); // still in flight when the server reads the UNSUBSCRIBE
        Poll.Until(() => client.Counters.UnsubscribedFrames == 1, "the in-flight frame dropped");
        Assert.Equal(1, handler.Count);
    }

    [Fact]
    public async Task Handler_ReadsCountersAndSubscribesFromInsideOnFrame_NoDeadlock()
    {
        // The supervisor takes the delivery lock while holding its own (to register streams, open slots); a handler
        // runs under the delivery lock. Counters and Subscribe must therefore take no lock of the supervisor's.
        using var server = new RawWebSocketServer();
        var handler = new ReentrantHandler();
        await using var client = new BinanceStreamClient<ReentrantHandler>(
            Options(server) with { Redundancy = 2, SupervisionInterval = TimeSpan.FromMilliseconds(1) }, handler, new TestLogger(output));
        handler.Client = client;
        client.Start();
        Poll.Until(() => server.Open.Count == 2, "connected");

        using var broadcast = new Broadcaster(server, count: 2_000);
        broadcast.Finish();
        Poll.Until(() => handler.Frames == 2_000, "every trade delivered while the handler called back into the client");
        Poll.Until(() => server.Connections.All(c => c.ReceivedTexts.Count(t => t.Contains("\"SUBSCRIBE\"", StringComparison.Ordinal)) >= 1), "the handler's subscriptions sent");
        Assert.True(handler.CountersRead >= 2_000);
    }

    [Fact]
    public async Task Watchdog_ConnectionSilentTooLong_DroppedAndReconnected()
    {
        using var server = new RawWebSocketServer();
        var handler = new RecordingHandler();
        await using var client = Client(
            Options(server) with { Redundancy = 1, SilenceTimeout = TimeSpan.FromMilliseconds(300), ReconnectInitialDelay = TimeSpan.FromMilliseconds(50) },
            handler);
        client.Start();

        Poll.Until(() => client.Counters.SilenceTimeouts >= 1 && server.Connections.Count >= 2, "the silent connection replaced");
        Assert.True(server.Connections[0].IsClosed);
    }

    [Fact]
    public async Task KeepAlive_ServerNeverAnswersThePings_ConnectionAbortedCountedAndReconnected()
    {
        // The raw server records pings but never answers them: ClientWebSocket aborts the connection once the pong is late.
        using var server = new RawWebSocketServer();
        var handler = new RecordingHandler();
        await using var client = Client(
            Options(server) with
            {
                Redundancy = 1,
                KeepAliveInterval = TimeSpan.FromSeconds(1),
                KeepAliveTimeout = TimeSpan.FromSeconds(1),
                SilenceTimeout = Timeout.InfiniteTimeSpan,
                ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
            },
            handler);
        client.Start();

        Poll.Until(() => client.Counters.KeepAliveTimeouts >= 1 && server.Connections.Count >= 2, "the unanswered connection dropped and replaced", null, () => Describe(client, handler));
        Assert.Contains(server.Connections[0].Received, f => f.Opcode == 9 && f.Payload.Length == 8); // ClientWebSocket's ping
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
        using var server = new RawWebSocketServer();
        var handler = new RecordingHandler();
        var client = Client(Options(server) with { Redundancy = 2 }, handler);
        client.Start();
        Poll.Until(() => server.Open.Count == 2, "connected");
        using var broadcast = new Broadcaster(server, count: int.MaxValue);
        Poll.Until(() => handler.Count > 100, "streaming");

        await client.DisposeAsync();
        var count = handler.Count;
        Poll.Until(() => server.Connections.All(c => c.Received.Any(f => f.Opcode == 8) || c.IsClosed), "every connection closed");
        Poll.Never(() => handler.Count != count, "a handler call after StopAsync", TimeSpan.FromMilliseconds(200));
        Assert.Empty(client.GetConnections());
        Assert.Equal(0, client.Counters.OpenConnections);
    }

    /// <summary>Test defaults: the raw server, one trade stream, supervision every 20 ms.</summary>
    private static BinanceStreamOptions Options(RawWebSocketServer server) => new()
    {
        Url = server.Url,
        Streams = [Trades],
        SupervisionInterval = TimeSpan.FromMilliseconds(20),
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

    /// <summary>Sends trades 1, 2, 3, … to every open connection of the server (a new one joins at the current id, as on Binance).</summary>
    private sealed class Broadcaster : IDisposable
    {
        private readonly Thread _thread;
        private readonly int _count;
        private volatile bool _stop;
        private long _lastSent;

        public Broadcaster(RawWebSocketServer server, int count)
        {
            _count = count;
            _thread = new Thread(() =>
            {
                for (var id = 1L; id <= _count && !_stop; id++)
                {
                    var frame = Frames.Trade(id);
                    foreach (var connection in server.Open)
                    {
                        connection.SendText(frame);
                    }

                    Volatile.Write(ref _lastSent, id);
                    if (id % 4 == 0)
                    {
                        Thread.Sleep(1); // ~1,000-4,000 trades a second: a busy symbol
                    }
                }
            })
            { IsBackground = true, Name = "broadcast" };
            _thread.Start();
        }

        public long LastSent => Volatile.Read(ref _lastSent);

        /// <summary>Sends what remains of a finite run (or stops an endless one) and returns the last id sent.</summary>
        public long Finish()
        {
            if (_count == int.MaxValue)
            {
                _stop = true;
            }

            _thread.Join();
            return LastSent;
        }

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
        }
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

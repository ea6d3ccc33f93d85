using System.Net.Sockets;
using System.Net.WebSockets;
using LowLatency.Connectors.WebSockets;
using LowLatency.Telemetry;

namespace LowLatency.Connectors.Binance;

/// <summary>The life of one connection.</summary>
public enum BinanceConnectionState
{
    /// <summary>TCP, TLS and the WebSocket upgrade are under way.</summary>
    Connecting,

    /// <summary>Receiving.</summary>
    Open,

    /// <summary>Replaced or stopping: the close frame is sent, frames still arriving are arbitrated as usual.</summary>
    Closing,

    /// <summary>Gone; <see cref="BinanceConnectionInfo.CloseReason"/> says why.</summary>
    Closed,
}

/// <summary>A snapshot of one connection, for tests and diagnostics (allocates; not for the hot path).</summary>
/// <param name="Id">Unique per client, increasing.</param>
/// <param name="Group">The stream group it serves.</param>
/// <param name="Line">The line within the group (0 … Redundancy - 1).</param>
/// <param name="State">Where it is in its life.</param>
/// <param name="Url">The URL it opened.</param>
/// <param name="IsReplacement">Opened beside a live connection of its line (rotation or serverShutdown), not yet swapped in.</param>
/// <param name="Age">Time since it opened (since it started connecting while <see cref="BinanceConnectionState.Connecting"/>).</param>
/// <param name="HasData">Whether it has received a data frame.</param>
/// <param name="PendingControlMessages">SUBSCRIBE/UNSUBSCRIBE messages waiting for the pacer.</param>
/// <param name="AwaitingReplies">Control messages sent and not yet answered.</param>
/// <param name="ServerShutdown">Whether the server announced its shutdown on it.</param>
/// <param name="FramesReceived">Messages received (data, control, oversized).</param>
/// <param name="FramesDelivered">Data frames it received first and delivered.</param>
/// <param name="Oversized">Frames above <see cref="BinanceStreamOptions.MaxFrameBytes"/>, dropped.</param>
/// <param name="CloseReason">Why it closed or is closing; null while open.</param>
public sealed record BinanceConnectionInfo(
    int Id,
    int Group,
    int Line,
    BinanceConnectionState State,
    Uri Url,
    bool IsReplacement,
    TimeSpan Age,
    bool HasData,
    int PendingControlMessages,
    int AwaitingReplies,
    bool ServerShutdown,
    long FramesReceived,
    long FramesDelivered,
    long Oversized,
    string? CloseReason);

/// <summary>
/// One WebSocket to Binance: connects, then receives until closed, aborted or lost, handing every complete message to
/// the client's delivery (<see cref="BinanceStreamClient{THandler}.Deliver"/>). It never reconnects: the client's
/// supervisor replaces it.
/// </summary>
/// <remarks>
/// <para>
/// The socket, the upgrade and the framing are the transport's (<see cref="WebSocketTransport"/>, chosen by
/// <see cref="BinanceStreamOptions.Transport"/>): by default ours (<see cref="FramedWebSocket"/>), whose thread reads and
/// delivers every frame of a read in place, stamped with the read's time. Keep-alive pings
/// (<see cref="BinanceStreamOptions.KeepAliveInterval"/> with <see cref="BinanceStreamOptions.KeepAliveTimeout"/>) abort
/// the connection when the pong is late: counted as a keep-alive timeout.
/// </para>
/// <para>
/// Threads: the receive thread writes the per-frame counters (plain fields, one writer); the supervisor thread reads
/// them with <c>Volatile.Read</c> and owns the control queue, the pacer and the request ids. The counters are not
/// padded: the supervisor reads them a few times a second, far too rarely for false sharing to cost the receive thread
/// anything measurable.
/// </para>
/// </remarks>
internal sealed class BinanceConnection<THandler> : IWebSocketEvents
    where THandler : IBinanceFrameHandler
{
    private readonly BinanceStreamClient<THandler> _client;
    private readonly BinanceStreamOptions _options;
    private readonly WebSocketTransport _transport;
    private readonly Queue<(bool Subscribe, string[] Streams)> _control = new(); // supervisor thread only
    private int _state; // BinanceConnectionState
    private string? _closeReason;
    private long _openedNs;
    private long _closingSinceNs;
    private long _framesReceived;
    private long _oversized;
    private long _earlyDuplicates;
    private long _lastFrameNs;
    private bool _hasData;
    private bool _serverShutdown;
    private int _awaitingReplies;
    private int _sending;
    private long _nextRequestId = 1;

    public BinanceConnection(BinanceStreamClient<THandler> client, BinanceStreamOptions options, int id, int group, int line, int position, Uri url, long nowNs)
    {
        _client = client;
        _options = options;
        Id = id;
        Group = group;
        Line = line;
        Position = position;
        Url = url;
        StartedNs = nowNs;
        Pacer = new ControlMessagePacer(options.SubscribeBudgetPerSecond, ControlWindowNs);
        _transport = WebSocketTransport.Create(options.Transport, new WebSocketSettings(
            options.ConnectTimeout, options.KeepAliveInterval, options.KeepAliveTimeout, options.ReceiveBufferBytes, options.MaxFrameBytes,
            options.CertificateValidation, $"binance-ws-{id}"));
    }

    /// <summary>
    /// The pacing window: one second, plus a tenth for the network: two messages sent a second apart can arrive closer
    /// together than that, and the exchange counts arrivals.
    /// </summary>
    internal static long ControlWindowNs => 1_100_000_000;

    public int Id { get; }

    public int Group { get; }

    public int Line { get; }

    /// <summary>The arbiter position it delivers under (two per line: current and replacement).</summary>
    public int Position { get; }

    public Uri Url { get; }

    public long StartedNs { get; }

    public ControlMessagePacer Pacer { get; }

    /// <summary>The receive loop; completes when the connection is closed.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    public BinanceConnectionState State => (BinanceConnectionState)Volatile.Read(ref _state);

    public bool IsClosed => State == BinanceConnectionState.Closed;

    /// <summary>When it opened (0 before).</summary>
    public long OpenedNs => Volatile.Read(ref _openedNs);

    public long ClosingSinceNs => Volatile.Read(ref _closingSinceNs);

    public long LastFrameNs => Volatile.Read(ref _lastFrameNs);

    public long FramesReceived => Volatile.Read(ref _framesReceived);

    public long Oversized => Volatile.Read(ref _oversized);

    /// <summary>Server pings answered (-1 where the transport cannot see them).</summary>
    public long PingsAnswered => _transport.PingsAnswered;

    /// <summary>Copies dropped as settled duplicates before the delivery lock (receive loop writes, anyone reads).</summary>
    public long EarlyDuplicates => Volatile.Read(ref _earlyDuplicates);

    public bool HasData => Volatile.Read(ref _hasData);

    public bool ServerShutdown => Volatile.Read(ref _serverShutdown);

    public int AwaitingReplies => Volatile.Read(ref _awaitingReplies);

    /// <summary>Control messages waiting for the pacer (supervisor thread).</summary>
    public int PendingControlMessages => _control.Count;

    /// <summary>Whether the connection carries all its streams: data arrived and every control message was answered (supervisor thread).</summary>
    public bool IsReady => State == BinanceConnectionState.Open && HasData && _control.Count == 0 && AwaitingReplies == 0 && Volatile.Read(ref _sending) == 0;

    public string? CloseReason => Volatile.Read(ref _closeReason);

    /// <summary>Starts connecting and receiving.</summary>
    public void Start() => Completion = RunAsync();

    /// <summary>Queues a SUBSCRIBE or UNSUBSCRIBE of <paramref name="streams"/> (supervisor thread).</summary>
    public void EnqueueControl(bool subscribe, string[] streams) => _control.Enqueue((subscribe, streams));

    /// <summary>When the next queued control message may go, or <see cref="long.MaxValue"/> if none waits (supervisor thread).</summary>
    public long NextControlNs(long nowNs) =>
        _control.Count == 0 || State != BinanceConnectionState.Open || Volatile.Read(ref _sending) != 0 ? long.MaxValue : Pacer.NextAllowedNs(nowNs);

    /// <summary>Sends the next queued control message if the pacer allows it now and none is in flight (supervisor thread).</summary>
    public bool TrySendControl(long nowNs)
    {
        if (_control.Count == 0 || State != BinanceConnectionState.Open || Volatile.Read(ref _sending) != 0 || !Pacer.TryAcquire(nowNs))
        {
            return false;
        }

        var (subscribe, streams) = _control.Dequeue();
        var message = BinanceStreamPlan.ControlMessage(subscribe, streams, _nextRequestId++);
        Interlocked.Increment(ref _awaitingReplies);
        Volatile.Write(ref _sending, 1);
        _ = SendAsync(message);
        return true;
    }

    /// <summary>Starts the close handshake; frames keep arriving until the server's close frame (or <see cref="Abort"/>).</summary>
    public void BeginClose(string reason, long nowNs)
    {
        SetReason(reason);
        if (Interlocked.CompareExchange(ref _state, (int)BinanceConnectionState.Closing, (int)BinanceConnectionState.Open) != (int)BinanceConnectionState.Open)
        {
            if (State == BinanceConnectionState.Connecting)
            {
                Abort(reason);
            }

            return;
        }

        Volatile.Write(ref _closingSinceNs, nowNs);
        _ = CloseOutputAsync();
    }

    /// <summary>Drops the socket at once; the receive loop ends with it.</summary>
    public void Abort(string reason)
    {
        SetReason(reason);
        if (State != BinanceConnectionState.Closed)
        {
            if (Volatile.Read(ref _closingSinceNs) == 0)
            {
                Volatile.Write(ref _closingSinceNs, WallClock.UnixNanoseconds());
            }

            _transport.Abort();
        }
    }

    /// <summary>A twin's copy was dropped before the lock (receive loop).</summary>
    internal void CountEarlyDuplicate() => _earlyDuplicates++;

    /// <summary>The first data frame arrived (receive loop, once).</summary>
    internal void OnFirstData()
    {
        Volatile.Write(ref _hasData, true);
        _client.Wake();
    }

    /// <summary>A reply to one of our control messages arrived (receive loop).</summary>
    internal void OnReply()
    {
        var awaiting = Volatile.Read(ref _awaitingReplies);
        while (awaiting > 0)
        {
            var seen = Interlocked.CompareExchange(ref _awaitingReplies, awaiting - 1, awaiting);
            if (seen == awaiting)
            {
                break;
            }

            awaiting = seen;
        }

        _client.Wake();
    }

    /// <summary>The server announced its shutdown on this connection (receive loop).</summary>
    internal void OnServerShutdown()
    {
        Volatile.Write(ref _serverShutdown, true);
        _client.Wake();
    }

    public BinanceConnectionInfo Describe(long nowNs, bool isReplacement, long delivered)
    {
        var opened = OpenedNs;
        return new BinanceConnectionInfo(
            Id,
            Group,
            Line,
            State,
            Url,
            isReplacement,
            TimeSpan.FromTicks((nowNs - (opened != 0 ? opened : StartedNs)) / 100),
            HasData,
            PendingControlMessages,
            AwaitingReplies,
            ServerShutdown,
            FramesReceived,
            delivered,
            Oversized,
            CloseReason);
    }

    private void SetReason(string reason) => Interlocked.CompareExchange(ref _closeReason, reason, null);

    private async Task RunAsync()
    {
        try
        {
            await _transport.RunAsync(Url, this).ConfigureAwait(false);
            SetReason(_transport.CloseDescription ?? "closed while connecting");
        }
        catch (TimeoutException e)
        {
            SetReason(e.Message);
        }
        catch (WebSocketKeepAliveException e)
        {
            SetReason(e.Message);
            _client.OnKeepAliveTimeout();
        }
        catch (Exception e)
        {
            // Whatever ends a connection (socket, TLS, HTTP upgrade, protocol, a disposed socket) is handled the same
            // way: the supervisor replaces it. The reason is kept for the log and the connection snapshot.
            SetReason(e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message);
        }
        finally
        {
            Volatile.Write(ref _state, (int)BinanceConnectionState.Closed);
            _transport.Dispose();
            _client.OnEnded();
        }
    }

    bool IWebSocketEvents.OnOpened()
    {
        Volatile.Write(ref _openedNs, WallClock.UnixNanoseconds());
        if (Interlocked.CompareExchange(ref _state, (int)BinanceConnectionState.Open, (int)BinanceConnectionState.Connecting) != (int)BinanceConnectionState.Connecting)
        {
            return false; // closed while connecting
        }

        _client.OnOpened(this);
        return true;
    }

    void IWebSocketEvents.OnMessage(ReadOnlySpan<byte> payload, bool isText, long receivedNs)
    {
        _lastFrameNs = receivedNs;
        _framesReceived++;
        if (isText)
        {
            _client.Deliver(this, payload, receivedNs);
        }
        else
        {
            _client.DeliverBinary();
        }
    }

    void IWebSocketEvents.OnOversized(long receivedNs)
    {
        _lastFrameNs = receivedNs;
        _framesReceived++;
        _oversized++;
    }

    private async Task SendAsync(byte[] message)
    {
        try
        {
            await _transport.SendTextAsync(message).ConfigureAwait(false);
            _client.OnControlSent();
        }
        catch (Exception e) when (e is WebSocketException or SocketException or ObjectDisposedException or InvalidOperationException or IOException or OperationCanceledException)
        {
            Abort($"sending a control message failed: {e.Message}");
        }
        finally
        {
            Volatile.Write(ref _sending, 0);
            _client.Wake();
        }
    }

    private async Task CloseOutputAsync()
    {
        try
        {
            await _transport.CloseOutputAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or SocketException or ObjectDisposedException or InvalidOperationException or IOException or OperationCanceledException)
        {
            _transport.Abort();
        }
    }
}

using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace LowLatency.LocalExchange;

/// <summary>
/// One client connection: its subscriptions and format, the record a test inspects (every message and pong with its
/// arrival time, frames sent, when and why it closed), and the faults a test injects into it.
/// </summary>
/// <remarks>
/// Three loops share the socket: the receive loop (control requests, pings, pongs, close), the feed sender and the pinger.
/// Every write to the output pipe happens under <see cref="_writeLock"/>, so frames never interleave; the sender holds
/// it for one batch (at most <see cref="BatchBytes"/>) at a time, so responses and pings wait for one batch at most.
/// </remarks>
public sealed class ExchangeConnection
{
    /// <summary>The most bytes of market data written between two flushes.</summary>
    private const int BatchBytes = 256 * 1024;

    private readonly LocalExchange _exchange;
    private readonly ConnectionContext _context;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _receiveEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<ConnectionClose> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // By the feed's stream id: the virtual frame index from which the stream is delivered, or -1 when not subscribed.
    // Written under _writeLock by the receive loop; read by the sender (which holds the lock while it writes).
    private readonly long[] _subscribedFrom;
    private readonly List<string> _streams = [];                 // subscription order, as LIST_SUBSCRIPTIONS answers; lock: itself
    private readonly List<IncomingMessage> _received = [];       // lock: itself
    private readonly List<(byte[] Payload, long Timestamp)> _outstandingPings = []; // lock: itself
    private readonly Queue<long> _recentMessages = new();        // receive loop only: timestamps inside the rate window
    private readonly ArrayBufferWriter<byte> _message = new();   // receive loop only: a fragmented message being assembled
    private WebSocketOpcode _messageOpcode;

    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ConnectionClose? _close;
    private Task _serverClose = Task.CompletedTask;
    private volatile bool _combined;
    private volatile bool _silent;
    private long _throttleBytesPerSecond;
    private long _cursor;        // the next virtual frame index the sender looks at; written by the sender only
    private long _framesSent;
    private long _bytesSent;
    private int _pingsSent;
    private int _pingInFlight;

    internal ExchangeConnection(LocalExchange exchange, ConnectionContext context, int number, string target, bool combined, long cursor)
    {
        _exchange = exchange;
        _context = context;
        _input = context.Transport.Input;
        _output = context.Transport.Output;
        Number = number;
        RequestTarget = target;
        _combined = combined;
        _cursor = cursor;
        ConnectedAt = exchange.Elapsed;
        _subscribedFrom = new long[exchange.Feed.Streams.Count];
        Array.Fill(_subscribedFrom, -1);
        _throttleBytesPerSecond = exchange.Options.ThrottleBytesPerSecond;
    }

    /// <summary>1 for the first connection the exchange accepted, then 2, 3, ...</summary>
    public int Number { get; }

    /// <summary>The request target the client connected to, e.g. <c>/stream?streams=btcusdt@trade</c>.</summary>
    public string RequestTarget { get; }

    /// <summary>When the upgrade completed, since the exchange started.</summary>
    public TimeSpan ConnectedAt { get; }

    /// <summary>Whether payloads are wrapped as <c>{"stream":…,"data":…}</c> (<c>/stream</c>, or SET_PROPERTY combined).</summary>
    public bool Combined => _combined;

    /// <summary>The streams subscribed now, in subscription order.</summary>
    public IReadOnlyList<string> Streams
    {
        get
        {
            lock (_streams)
            {
                return [.. _streams];
            }
        }
    }

    /// <summary>Every message and control frame the client sent, in arrival order, with arrival times.</summary>
    public IReadOnlyList<IncomingMessage> Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>Market-data frames sent so far.</summary>
    public long FramesSent => Volatile.Read(ref _framesSent);

    /// <summary>Bytes of market-data frames sent so far, WebSocket headers included.</summary>
    public long BytesSent => Volatile.Read(ref _bytesSent);

    /// <summary>Pings the server has sent.</summary>
    public int PingsSent => Volatile.Read(ref _pingsSent);

    /// <summary>When and why the connection ended; null while it is open.</summary>
    public ConnectionClose? Close => Volatile.Read(ref _close);

    /// <summary>Completes when the connection has ended, with when and why.</summary>
    public Task<ConnectionClose> Closed => _closed.Task;

    /// <summary>Whether the connection has stopped answering (<see cref="StopAnswering"/>).</summary>
    public bool IsSilent => _silent;

    /// <summary>
    /// Abruptly drops the connection: a TCP reset, no close frame. The client sees a connection reset (or an end of
    /// stream), as when a server crashes or a network path dies.
    /// </summary>
    public void Abort() => AbortCore(CloseReason.Aborted, "aborted by the test");

    /// <summary>Closes the connection cleanly: a close frame with <paramref name="status"/>, the client's reply, then TCP close.</summary>
    public Task CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.EndpointUnavailable, string description = "closed by the test") =>
        BeginServerClose(CloseReason.ClosedByServer, status, description);

    /// <summary>
    /// Silences the connection without closing it: no more market data, no pong to the client's pings, no answer to
    /// its requests or its close frame, no pings from the server (so no pong timeout either). Incoming messages are
    /// still read and recorded. What the timeline plays meanwhile is lost to the connection.
    /// </summary>
    public void StopAnswering()
    {
        _silent = true;
        Wake();
    }

    /// <summary>Ends <see cref="StopAnswering"/>: data resumes from the timeline's present, pings from now.</summary>
    public void ResumeAnswering()
    {
        _silent = false;
        Wake();
    }

    /// <summary>Limits the market data sent to this connection to <paramref name="bytesPerSecond"/>; 0 removes the limit.</summary>
    public void Throttle(long bytesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytesPerSecond);
        Volatile.Write(ref _throttleBytesPerSecond, bytesPerSecond);
        Wake();
    }

    /// <summary>
    /// Sends <c>{"e":"serverShutdown","E":&lt;ms&gt;}</c> (not wrapped, on combined connections too), keeps streaming, and closes the
    /// connection (1001) when <paramref name="grace"/> has passed.
    /// </summary>
    public async Task SendServerShutdownAsync(TimeSpan grace)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await SendAsync(WebSocketOpcode.Text, Encoding.UTF8.GetBytes($"{{\"e\":\"serverShutdown\",\"E\":{now}}}")).ConfigureAwait(false);
        _ = CloseAfterAsync(grace);
    }

    /// <summary>Sends one broken frame of the given kind.</summary>
    public Task SendMalformedAsync(MalformedFrame kind)
    {
        var stream = Streams is [var first, ..] ? first : "btcusdt@trade";
        var whole = $"{{\"stream\":\"{stream}\",\"data\":{{\"e\":\"trade\",\"E\":1723161255343,\"s\":\"BTCUSDT\",\"t\":3735683259,\"p\":\"61837.63000000\"}}}}";
        return kind switch
        {
            MalformedFrame.TruncatedJson => SendAsync(WebSocketOpcode.Text, Encoding.UTF8.GetBytes(whole[..(whole.Length / 2)])),
            MalformedFrame.InvalidUtf8 => SendAsync(WebSocketOpcode.Text, [.. "{\"stream\":\""u8, 0xC3, 0x28, 0xFF, .. "\",\"data\":{}}"u8]),
            MalformedFrame.NotJson => SendAsync(WebSocketOpcode.Text, "this is not JSON"u8.ToArray()),
            MalformedFrame.Binary => SendAsync(WebSocketOpcode.Binary, [0x00, 0x01, 0x02, 0xFF]),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    /// <summary>
    /// Sends one text message of exactly <paramref name="sizeBytes"/> bytes, a valid combined-stream JSON frame padded with
    /// spaces, generated piece by piece so the server never holds it: in fragments of <paramref name="fragmentBytes"/>
    /// (a text frame then continuation frames), or as one frame with a 64-bit length when <paramref name="fragmentBytes"/>
    /// is 0. The market data of this connection waits until it has been written.
    /// </summary>
    public async Task SendOversizedAsync(long sizeBytes, int fragmentBytes = 64 * 1024)
    {
        var head = "{\"stream\":\"oversized@test\",\"data\":{}"u8.ToArray();
        ArgumentOutOfRangeException.ThrowIfLessThan(sizeBytes, head.Length + 1);
        ArgumentOutOfRangeException.ThrowIfNegative(fragmentBytes);
        var padding = new byte[64 * 1024];
        Array.Fill(padding, (byte)' ');
        var frameBytes = fragmentBytes == 0 ? sizeBytes : fragmentBytes;
        try
        {
            var token = _closing.Token;
            await _writeLock.WaitAsync(token).ConfigureAwait(false);
            try
            {
                // The message is head, spaces, "}": byte i is known from i alone, so it is written a piece at a time.
                for (long frameStart = 0; frameStart < sizeBytes; frameStart += frameBytes)
                {
                    var frameEnd = Math.Min(sizeBytes, frameStart + frameBytes);
                    var opcode = frameStart == 0 ? WebSocketOpcode.Text : WebSocketOpcode.Continuation;
                    var header = _output.GetSpan(WebSocketFrames.MaxServerHeaderBytes);
                    _output.Advance(WebSocketFrames.WriteHeader(header, opcode, fin: frameEnd == sizeBytes, frameEnd - frameStart));
                    for (var position = frameStart; position < frameEnd;)
                    {
                        var pieceEnd = Math.Min(frameEnd, position + padding.Length);
                        if (position < head.Length)
                        {
                            var n = (int)Math.Min(head.Length - position, pieceEnd - position);
                            _output.Write(head.AsSpan((int)position, n));
                            position += n;
                        }

                        var spacesEnd = Math.Min(pieceEnd, sizeBytes - 1);
                        if (position < spacesEnd)
                        {
                            _output.Write(padding.AsSpan(0, (int)(spacesEnd - position)));
                            position = spacesEnd;
                        }

                        if (position < pieceEnd)
                        {
                            _output.Write("}"u8);
                            position++;
                        }

                        if ((await _output.FlushAsync(token).ConfigureAwait(false)).IsCompleted)
                        {
                            return;
                        }
                    }
                }
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException or ConnectionResetException)
        {
            // The connection closed under the message (a client that refuses oversized messages does that).
        }
    }

    /// <summary>Sends one text message as it is (say, an event type the client does not know).</summary>
    public Task SendTextAsync(string text) => SendAsync(WebSocketOpcode.Text, Encoding.UTF8.GetBytes(text));

    /// <summary>Sends a ping now (besides the periodic ones); it must be answered within the pong timeout like any other.</summary>
    public Task SendPingAsync()
    {
        var payload = RegisterPing();
        return SendAsync(WebSocketOpcode.Ping, payload);
    }

    /// <summary>A one-line account of the connection for test failure messages.</summary>
    public override string ToString() =>
        $"connection {Number} {RequestTarget}: {Streams.Count} stream(s), {FramesSent} frames sent, {Received.Count} received, " +
        $"{PingsSent} pings, {(Close is { } c ? $"closed at {c.At.TotalSeconds:0.000} s: {c.Reason} ({c.Description})" : "open")}";

    internal bool IsOpen => Volatile.Read(ref _close) is null;

    /// <summary>Subscribes before the upgrade response goes out (streams named in the URL).</summary>
    internal void SubscribeAtConnect(IReadOnlyList<string> streams) => Subscribe(streams);

    internal async Task RunAsync()
    {
        var sender = SendFeedAsync();
        var pinger = PingAsync();
        var age = _exchange.Options.MaxConnectionAge;
        if (age > TimeSpan.Zero)
        {
            _ = CloseAfterAsync(age, CloseReason.MaxAge, "connection reached its maximum age");
        }

        try
        {
            await ReceiveAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ConnectionResetException or ConnectionAbortedException or OperationCanceledException or InvalidOperationException)
        {
            TrySetClose(CloseReason.ClientDisconnected, ex.Message);
        }
        finally
        {
            TrySetClose(CloseReason.ClientDisconnected, "end of stream");
            _receiveEnded.TrySetResult();
            StopLoops();
            await Volatile.Read(ref _serverClose).ConfigureAwait(false);
            await Task.WhenAll(sender, pinger).ConfigureAwait(false);
            _closed.TrySetResult(_close!);
        }
    }

    internal void AbortCore(CloseReason reason, string description)
    {
        if (!TrySetClose(reason, description))
        {
            return;
        }

        StopLoops();
        try
        {
            // Linger 0 turns the close into a TCP reset rather than a FIN after the pending data.
            if (_context.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket)
            {
                socket.LingerState = new LingerOption(true, 0);
            }
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
            // Already closed: nothing to reset.
        }

        _context.Abort(new ConnectionAbortedException(description));
    }

    /// <summary>The server closes the connection: a close frame, then the client's reply (or a timeout), then TCP close.</summary>
    internal Task BeginServerClose(CloseReason reason, WebSocketCloseStatus status, string description)
    {
        if (!TrySetClose(reason, $"{(int)status} {description}"))
        {
            return _closed.Task;
        }

        var close = ServerCloseAsync(status, description);
        Volatile.Write(ref _serverClose, close);
        return close;
    }

    private async Task ServerCloseAsync(WebSocketCloseStatus status, string description)
    {
        StopLoops();
        var timeout = _exchange.Options.CloseHandshakeTimeout;
        try
        {
            if (await _writeLock.WaitAsync(timeout).ConfigureAwait(false))
            {
                try
                {
                    using var flushTimeout = new CancellationTokenSource(timeout);
                    WebSocketFrames.WriteFrame(_output, WebSocketOpcode.Close, ClosePayload(status, description));
                    await _output.FlushAsync(flushTimeout.Token).ConfigureAwait(false);
                }
                finally
                {
                    _writeLock.Release();
                }
            }

            await _receiveEnded.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or IOException or InvalidOperationException or ConnectionResetException)
        {
            // The client did not take the close frame or did not answer it: the TCP close below ends it anyway.
        }
        finally
        {
            _input.CancelPendingRead(); // ends the receive loop, after which Kestrel closes the socket
        }
    }

    private bool TrySetClose(CloseReason reason, string description) =>
        Interlocked.CompareExchange(ref _close, new ConnectionClose(_exchange.Elapsed, reason, description), null) is null;

    private void StopLoops()
    {
        if (!_closing.IsCancellationRequested)
        {
            try
            {
                _closing.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Cancelled and disposed concurrently: the loops are stopping already.
            }
        }

        Wake();
    }

    private void Wake() =>
        Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private async Task CloseAfterAsync(TimeSpan delay, CloseReason reason = CloseReason.ServerShutdown, string description = "server shutdown")
    {
        try
        {
            await Task.Delay(delay, _closing.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await BeginServerClose(reason, WebSocketCloseStatus.EndpointUnavailable, description).ConfigureAwait(false);
    }

    private async Task SendAsync(WebSocketOpcode opcode, byte[] payload)
    {
        var token = _closing.Token;
        try
        {
            await _writeLock.WaitAsync(token).ConfigureAwait(false);
            try
            {
                WebSocketFrames.WriteFrame(_output, opcode, payload);
                await _output.FlushAsync(token).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException or ConnectionResetException)
        {
            // The connection is closing: what was not sent is lost, as on a real socket.
        }
    }

    // ---- market data ----

    private async Task SendFeedAsync()
    {
        await Task.Yield(); // run beside the receive loop, not inside the accept path
        var token = _closing.Token;
        var timeline = _exchange.Timeline;
        var total = _exchange.TotalFrames;
        var perConnection = _exchange.Options.Mode == FeedMode.PerConnection;
        var throttle = new ThrottleState();
        try
        {
            while (!token.IsCancellationRequested)
            {
                var wake = Volatile.Read(ref _wake).Task;
                var tick = timeline.Tick; // before Published: see Timeline
                var limit = perConnection ? total : timeline.Published;
                var cursor = Volatile.Read(ref _cursor);
                if (_silent || !HasSubscriptions())
                {
                    if (!perConnection)
                    {
                        Volatile.Write(ref _cursor, Math.Max(cursor, limit)); // a live feed: what passes now is lost
                    }

                    await (perConnection ? wake : Task.WhenAny(wake, tick)).ConfigureAwait(false);
                    continue;
                }

                if (cursor >= limit)
                {
                    await (perConnection || cursor >= total ? wake : Task.WhenAny(wake, tick)).ConfigureAwait(false);
                    continue;
                }

                var rate = Volatile.Read(ref _throttleBytesPerSecond);
                var budget = rate > 0 ? throttle.Available(rate) : BatchBytes;
                if (budget <= 0)
                {
                    await Task.WhenAny(Task.Delay(throttle.WaitFor(rate), token), wake).ConfigureAwait(false);
                    continue;
                }

                await _writeLock.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    var written = WriteFrames(limit, Math.Min(budget, BatchBytes));
                    throttle.Spend(written);
                    var flush = await _output.FlushAsync(token).ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        return;
                    }
                }
                finally
                {
                    _writeLock.Release();
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException or ConnectionResetException)
        {
            // Closing, or the client went away; the receive loop records why.
        }
    }

    // Writes the subscribed, not withheld frames from the cursor on, until the limit or about maxBytes; no await, no allocation.
    private long WriteFrames(long limit, long maxBytes)
    {
        var feed = _exchange.Feed;
        var bytes = feed.Bytes;
        var withheld = _exchange.Withheld;
        var count = feed.Count;
        var combined = _combined;
        var cursor = _cursor;
        long written = 0;
        long frames = 0;
        var index = (int)(cursor % count);
        while (cursor < limit && written < maxBytes)
        {
            ref readonly var entry = ref feed.EntryAt(index);
            var from = Volatile.Read(ref _subscribedFrom[entry.StreamId]);
            if (from >= 0 && cursor >= from && !withheld[index])
            {
                var payload = combined ? bytes.AsSpan(entry.Offset, entry.Length) : bytes.AsSpan(entry.DataOffset, entry.DataLength);
                written += WebSocketFrames.WriteFrame(_output, WebSocketOpcode.Text, payload);
                frames++;
            }

            cursor++;
            if (++index == count)
            {
                index = 0;
            }
        }

        Volatile.Write(ref _cursor, cursor);
        Volatile.Write(ref _framesSent, _framesSent + frames);
        Volatile.Write(ref _bytesSent, _bytesSent + written);
        return written;
    }

    private bool HasSubscriptions()
    {
        lock (_streams)
        {
            return _streams.Count > 0;
        }
    }

    /// <summary>A token bucket of bytes: fills at the rate, holds at most a tenth of a second's worth.</summary>
    private sealed class ThrottleState
    {
        private double _tokens;
        private long _last = Stopwatch.GetTimestamp();

        public long Available(long rate)
        {
            var now = Stopwatch.GetTimestamp();
            _tokens = Math.Min(_tokens + Stopwatch.GetElapsedTime(_last, now).TotalSeconds * rate, Math.Max(1, rate / 10.0));
            _last = now;
            return (long)_tokens; // a batch may overshoot by one frame; the debt is paid by waiting
        }

        public void Spend(long bytes) => _tokens -= bytes;

        public TimeSpan WaitFor(long rate) => TimeSpan.FromSeconds(Math.Max(0.001, (1 - _tokens) / rate));
    }

    // ---- control: subscriptions, pings ----

    private void Subscribe(IReadOnlyList<string> streams)
    {
        // From now: the present of the timeline, or (per connection) the sender's position.
        var from = _exchange.Options.Mode == FeedMode.PerConnection ? Volatile.Read(ref _cursor) : _exchange.Timeline.Published;
        lock (_streams)
        {
            foreach (var stream in streams)
            {
                if (!_streams.Contains(stream))
                {
                    _streams.Add(stream);
                    if (_exchange.Feed.TryGetStreamId(stream, out var id))
                    {
                        Volatile.Write(ref _subscribedFrom[id], from);
                    }
                }
            }
        }

        Wake();
    }

    private void Unsubscribe(IReadOnlyList<string> streams)
    {
        lock (_streams)
        {
            foreach (var stream in streams)
            {
                if (_streams.Remove(stream) && _exchange.Feed.TryGetStreamId(stream, out var id))
                {
                    Volatile.Write(ref _subscribedFrom[id], -1);
                }
            }
        }
    }

    private async Task HandleRequestAsync(byte[] utf8)
    {
        var request = ControlProtocol.Parse(utf8, out var error);
        if (request is null)
        {
            await SendAsync(WebSocketOpcode.Text, Encoding.UTF8.GetBytes(error!)).ConfigureAwait(false);
            return;
        }

        string response;
        switch (request.Method)
        {
            case ControlMethod.Subscribe or ControlMethod.Unsubscribe:
                var names = ControlProtocol.StreamNames(request, out error);
                if (names is null)
                {
                    response = error!;
                    break;
                }

                if (request.Method == ControlMethod.Unsubscribe)
                {
                    Unsubscribe(names);
                    response = ControlProtocol.Result(request.Id, "null");
                    break;
                }

                int after;
                lock (_streams)
                {
                    after = _streams.Union(names).Count();
                }

                var max = _exchange.Options.MaxStreamsPerConnection;
                if (after > max)
                {
                    response = ControlProtocol.Error(request.Id, ControlProtocol.InvalidRequest,
                        $"Invalid request: too many streams: {after} requested, at most {max} per connection");
                    break;
                }

                // The answer goes out before the first frame of the new streams: subscribe while holding the write lock.
                await WriteResponseThenAsync(ControlProtocol.Result(request.Id, "null"), () => Subscribe(names)).ConfigureAwait(false);
                return;
            case ControlMethod.ListSubscriptions:
                response = ControlProtocol.Result(request.Id, ControlProtocol.StringArray(Streams));
                break;
            case ControlMethod.SetProperty:
                response = SetProperty(request);
                break;
            default:
                response = request.Params is { ValueKind: System.Text.Json.JsonValueKind.Array } p && p.GetArrayLength() == 1 &&
                    p[0].ValueKind == System.Text.Json.JsonValueKind.String
                    ? p[0].GetString() == "combined"
                        ? ControlProtocol.Result(request.Id, _combined ? "true" : "false")
                        : ControlProtocol.Error(request.Id, ControlProtocol.UnknownProperty, "Unknown property")
                    : ControlProtocol.Error(request.Id, ControlProtocol.InvalidRequest, "Invalid request: property name must be a string");
                break;
        }

        await SendAsync(WebSocketOpcode.Text, Encoding.UTF8.GetBytes(response)).ConfigureAwait(false);
    }

    private string SetProperty(ControlRequest request)
    {
        if (request.Params is not { ValueKind: System.Text.Json.JsonValueKind.Array } p || p.GetArrayLength() != 2 ||
            p[0].ValueKind != System.Text.Json.JsonValueKind.String)
        {
            return ControlProtocol.Error(request.Id, ControlProtocol.InvalidRequest, "Invalid request: property name must be a string");
        }

        if (p[0].GetString() != "combined")
        {
            return ControlProtocol.Error(request.Id, ControlProtocol.UnknownProperty, "Unknown property");
        }

        if (p[1].ValueKind is not (System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False))
        {
            return ControlProtocol.Error(request.Id, ControlProtocol.InvalidValueType, "Invalid value type: expected Boolean");
        }

        _combined = p[1].GetBoolean();
        return ControlProtocol.Result(request.Id, "null");
    }

    private async Task WriteResponseThenAsync(string response, Action afterWrite)
    {
        var token = _closing.Token;
        try
        {
            await _writeLock.WaitAsync(token).ConfigureAwait(false);
            try
            {
                WebSocketFrames.WriteFrame(_output, WebSocketOpcode.Text, Encoding.UTF8.GetBytes(response));
                afterWrite();
                await _output.FlushAsync(token).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException or ConnectionResetException)
        {
            // Closing.
        }
    }

    private byte[] RegisterPing()
    {
        var payload = Encoding.ASCII.GetBytes(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        lock (_outstandingPings)
        {
            _outstandingPings.Add((payload, Stopwatch.GetTimestamp()));
        }

        Interlocked.Increment(ref _pingsSent);
        return payload;
    }

    private async Task PingAsync()
    {
        var interval = _exchange.Options.PingInterval;
        var timeout = _exchange.Options.PongTimeout;
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        var token = _closing.Token;
        var nextPing = Stopwatch.GetTimestamp() + (long)(interval.TotalSeconds * Stopwatch.Frequency);
        try
        {
            while (!token.IsCancellationRequested)
            {
                var now = Stopwatch.GetTimestamp();
                long? oldest;
                lock (_outstandingPings)
                {
                    oldest = _outstandingPings.Count > 0 ? _outstandingPings[0].Timestamp : null;
                }

                if (_silent)
                {
                    nextPing = now + (long)(interval.TotalSeconds * Stopwatch.Frequency);
                    oldest = null;
                }
                else if (oldest is { } sent && Stopwatch.GetElapsedTime(sent, now) >= timeout)
                {
                    _ = BeginServerClose(CloseReason.PongTimeout, WebSocketCloseStatus.PolicyViolation, $"no pong within {timeout.TotalSeconds:0.###} s");
                    return;
                }
                else if (now >= nextPing)
                {
                    // The ping counts as sent when it is due, even if a client that does not read keeps it queued behind
                    // data: that client does not pong either, and must time out.
                    var payload = RegisterPing();
                    if (Interlocked.Exchange(ref _pingInFlight, 1) == 0)
                    {
                        _ = SendPingInBackgroundAsync(payload);
                    }

                    nextPing = now + (long)(interval.TotalSeconds * Stopwatch.Frequency);
                    lock (_outstandingPings)
                    {
                        oldest = _outstandingPings[0].Timestamp;
                    }
                }

                var wakeAt = oldest is { } o ? Math.Min(nextPing, o + (long)(timeout.TotalSeconds * Stopwatch.Frequency)) : nextPing;
                var delay = TimeSpan.FromSeconds(Math.Max(0.001, (double)(wakeAt - Stopwatch.GetTimestamp()) / Stopwatch.Frequency));
                await Task.WhenAny(Task.Delay(delay, token), Volatile.Read(ref _wake).Task).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Closing.
        }
    }

    private async Task SendPingInBackgroundAsync(byte[] payload)
    {
        try
        {
            await SendAsync(WebSocketOpcode.Ping, payload).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _pingInFlight, 0);
        }
    }

    private void OnPong(ReadOnlySpan<byte> payload)
    {
        lock (_outstandingPings)
        {
            for (var i = 0; i < _outstandingPings.Count; i++)
            {
                if (payload.SequenceEqual(_outstandingPings[i].Payload))
                {
                    _outstandingPings.RemoveRange(0, i + 1); // answers this ping and every earlier one
                    return;
                }
            }
        }
    }

    // ---- receive ----

    private async Task ReceiveAsync()
    {
        var maxMessage = _exchange.Options.MaxIncomingMessageBytes;
        while (true)
        {
            var result = await _input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                return; // the server closed the connection
            }

            var status = WebSocketFrames.TryParse(buffer, maxMessage, out var header);
            if (status == FrameStatus.Incomplete)
            {
                _input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }

                continue;
            }

            if (status != FrameStatus.Complete)
            {
                // The framing cannot be trusted any more: close, and read no further.
                _input.AdvanceTo(buffer.End);
                if (status == FrameStatus.TooBig)
                {
                    CloseTooBig();
                }
                else
                {
                    _ = BeginServerClose(CloseReason.ProtocolError, WebSocketCloseStatus.ProtocolError, "protocol error");
                }

                return;
            }

            var payload = new byte[header.PayloadLength];
            WebSocketFrames.Unmask(buffer, header, payload);
            _input.AdvanceTo(buffer.GetPosition(header.HeaderLength + header.PayloadLength));
            if (!await HandleFrameAsync(header, payload).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    // False when the receive loop must end: the close handshake is over, or the client broke the framing.
    private async ValueTask<bool> HandleFrameAsync(ClientFrameHeader header, byte[] payload)
    {
        // Once the server has sent its close frame only the client's close frame matters (RFC 6455 §5.5.1); a silenced
        // connection reads and records, and answers nothing.
        var quiet = !IsOpen || _silent;
        switch (header.Opcode)
        {
            case WebSocketOpcode.Ping:
                Record(IncomingKind.Ping, null);
                if (!quiet && WithinRate())
                {
                    await SendAsync(WebSocketOpcode.Pong, payload).ConfigureAwait(false);
                }

                return true;
            case WebSocketOpcode.Pong:
                Record(IncomingKind.Pong, null);
                OnPong(payload);
                if (!quiet)
                {
                    WithinRate();
                }

                return true;
            case WebSocketOpcode.Close:
                var status = payload.Length >= 2 ? (payload[0] << 8) | payload[1] : 1005;
                var reason = $"{status} {(payload.Length > 2 ? Encoding.UTF8.GetString(payload, 2, payload.Length - 2) : string.Empty)}".TrimEnd();
                Record(IncomingKind.Close, reason);
                if (_silent)
                {
                    return true; // a hung server does not answer the close either; the client's TCP close ends it
                }

                if (TrySetClose(CloseReason.ClientClosed, reason))
                {
                    StopLoops();
                    await ReplyCloseAsync(payload.AsSpan(0, Math.Min(2, payload.Length)).ToArray()).ConfigureAwait(false);
                }

                return false; // either the client's close or its answer to ours: the handshake is complete
            default:
                return await HandleDataFrameAsync(header, payload, quiet).ConfigureAwait(false);
        }
    }

    private async ValueTask<bool> HandleDataFrameAsync(ClientFrameHeader header, byte[] payload, bool quiet)
    {
        var startsMessage = header.Opcode != WebSocketOpcode.Continuation;
        var inMessage = _messageOpcode != WebSocketOpcode.Continuation;
        if (startsMessage == inMessage)
        {
            // A new message inside a fragmented one, or a continuation of nothing.
            _ = BeginServerClose(CloseReason.ProtocolError, WebSocketCloseStatus.ProtocolError, "unexpected continuation or data frame");
            return false;
        }

        if (_message.WrittenCount + payload.Length > _exchange.Options.MaxIncomingMessageBytes)
        {
            CloseTooBig();
            return false;
        }

        if (startsMessage)
        {
            _messageOpcode = header.Opcode;
        }

        _message.Write(payload);
        if (!header.Fin)
        {
            return true;
        }

        var opcode = _messageOpcode;
        var message = _message.WrittenSpan.ToArray();
        _message.ResetWrittenCount();
        _messageOpcode = WebSocketOpcode.Continuation;

        Record(opcode == WebSocketOpcode.Text ? IncomingKind.Text : IncomingKind.Binary, opcode == WebSocketOpcode.Text ? Encoding.UTF8.GetString(message) : null);
        if (!quiet && WithinRate() && opcode == WebSocketOpcode.Text)
        {
            await HandleRequestAsync(message).ConfigureAwait(false);
        }

        return true;
    }

    // Counts one incoming message against the sliding one-second window; over the limit, starts closing the connection
    // (the receive loop goes on until the client answers the close).
    private bool WithinRate()
    {
        var now = Stopwatch.GetTimestamp();
        _recentMessages.Enqueue(now);
        while (Stopwatch.GetElapsedTime(_recentMessages.Peek(), now) >= TimeSpan.FromSeconds(1))
        {
            _recentMessages.Dequeue();
        }

        var max = _exchange.Options.MaxIncomingMessagesPerSecond;
        if (_recentMessages.Count <= max)
        {
            return true;
        }

        _ = BeginServerClose(CloseReason.RateLimited, WebSocketCloseStatus.PolicyViolation, $"too many messages: more than {max} in one second");
        return false;
    }

    private void CloseTooBig() => _ = BeginServerClose(CloseReason.MessageTooBig, WebSocketCloseStatus.MessageTooBig,
        $"message larger than {_exchange.Options.MaxIncomingMessageBytes} bytes");

    private async Task ReplyCloseAsync(byte[] status)
    {
        try
        {
            if (await _writeLock.WaitAsync(_exchange.Options.CloseHandshakeTimeout).ConfigureAwait(false))
            {
                try
                {
                    using var timeout = new CancellationTokenSource(_exchange.Options.CloseHandshakeTimeout);
                    WebSocketFrames.WriteFrame(_output, WebSocketOpcode.Close, status);
                    await _output.FlushAsync(timeout.Token).ConfigureAwait(false);
                }
                finally
                {
                    _writeLock.Release();
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException or ConnectionResetException)
        {
            // The client is gone already.
        }
    }

    private void Record(IncomingKind kind, string? text)
    {
        lock (_received)
        {
            _received.Add(new IncomingMessage(_exchange.Elapsed, kind, text));
        }
    }

    private static byte[] ClosePayload(WebSocketCloseStatus status, string description)
    {
        var reason = Encoding.UTF8.GetBytes(description);
        var payload = new byte[2 + Math.Min(reason.Length, WebSocketFrames.MaxControlPayloadBytes - 2)];
        payload[0] = (byte)((int)status >> 8);
        payload[1] = (byte)status;
        reason.AsSpan(0, payload.Length - 2).CopyTo(payload.AsSpan(2));
        return payload;
    }
}

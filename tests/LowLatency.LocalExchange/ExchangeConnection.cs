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
public sealed partial class ExchangeConnection
{
    /// <summary>The most bytes of market data written between two flushes.</summary>
    private const int BatchBytes = 256 * 1024;

    private readonly ExchangeServer _exchange;
    private readonly ConnectionContext _context;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _receiveEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<ConnectionClose> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // By the feed's stream id: the virtual frame index from which the stream is delivered, or -1 when not subscribed.
    // Written by the receive loop (a SUBSCRIBE under _writeLock, so its answer goes out before the stream's first frame),
    // read by the sender; Volatile on both sides, each element being one aligned long. An UNSUBSCRIBE takes effect at
    // the sender's next frame, so a batch already being written may still carry the stream.
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

    internal ExchangeConnection(ExchangeServer exchange, ConnectionContext context, int number, string target, bool combined, long cursor)
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
        catch (Exception ex) when (IsConnectionGone(ex))
        {
            // The connection closed under the message (a client that refuses oversized messages does that).
        }
    }

    /// <summary>Sends one text message as it is (say, an event type the client does not know).</summary>
    public Task SendTextAsync(string text) => SendAsync(WebSocketOpcode.Text, Encoding.UTF8.GetBytes(text));

    /// <summary>Sends a ping now (besides any periodic ones); it must be answered within the pong timeout like any other.</summary>
    public Task SendPingAsync()
    {
        var payload = RegisterPing();
        Wake(); // the pinger now has a deadline to watch
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
        catch (Exception ex) when (IsConnectionGone(ex))
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
        catch (Exception ex) when (ex is TimeoutException || IsConnectionGone(ex))
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
        _closing.Cancel();
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
        catch (Exception ex) when (IsConnectionGone(ex))
        {
            // The connection is closing: what was not sent is lost, as on a real socket.
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

    // How a write or read ends when the connection is closing or gone: cancelled by the close, a reset or aborted
    // socket (ConnectionAbortedException is an OperationCanceledException), or a pipe completed under it.
    private static bool IsConnectionGone(Exception ex) =>
        ex is OperationCanceledException or IOException or InvalidOperationException or ConnectionResetException;
}

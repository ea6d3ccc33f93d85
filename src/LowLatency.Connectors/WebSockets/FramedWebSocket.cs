using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using LowLatency.Telemetry;

namespace LowLatency.Connectors.WebSockets;

/// <summary>
/// Our RFC 6455 client: TCP (and TLS for <c>wss</c>) from the BCL, the upgrade (<see cref="WebSocketUpgrade"/>) and
/// the framing (<see cref="WebSocketReceiver"/>) ours, the whole connection on one thread of its own with blocking reads.
/// </summary>
/// <remarks>
/// <para>
/// Why not <c>ClientWebSocket</c>: it costs one <c>ReceiveAsync</c> per message, measured at 0.62 µs of CPU per Binance
/// frame on this project's machine (async state machines, its receive lock, per-message UTF-8 validation, a copy out of
/// its buffer), and its reads complete on the thread pool, one more thread wake-up per burst. Here one blocking read of
/// up to the receive buffer delivers every frame it holds, in place; the thread is woken by the kernel directly (the
/// socket stays blocking: no async call ever touches it, which on Linux would turn it non-blocking for good and route
/// blocking reads through the socket engine's epoll thread). Measured in docs/PERFORMANCE.md ("Our WebSocket framing").
/// </para>
/// <para>
/// Everything the server may send is handled: pings are answered at once with a pong carrying their payload (from the
/// receive thread; counted in <see cref="PingsAnswered"/>), pongs end the keep-alive wait, a close frame is answered
/// with a close frame and ends the connection, a protocol violation sends close 1002 and fails it. Sends (pongs,
/// keep-alive pings, SUBSCRIBEs, the close) are masked with a fresh random key each (§5.3) and written one at a time
/// under a lock, synchronously: a few dozen bytes into the socket's send buffer. A send that blocks for
/// <see cref="SendTimeoutMs"/> (a server that stopped reading) fails and aborts the connection.
/// </para>
/// <para>
/// Connecting (DNS, TCP, TLS, upgrade) also runs on the thread, bounded by <see cref="WebSocketSettings.ConnectTimeout"/>:
/// a timer disposes the socket, which on Linux unblocks a pending connect or read.
/// </para>
/// </remarks>
internal sealed class FramedWebSocket(WebSocketSettings settings) : WebSocketTransport, IWebSocketFrameSink
{
    /// <summary>How long a send may block before the connection is aborted.</summary>
    public const int SendTimeoutMs = 10_000;

    /// <summary>How long, after the close handshake, the server is given to close the TCP connection first.</summary>
    public const int CloseLingerMs = 1_000;

    private const int OpClose = 0x8;
    private const int OpPing = 0x9;
    private const int OpPong = 0xA;
    private const int OpText = 0x1;

    private readonly Lock _sendLock = new();
    private Socket? _socket;
    private Stream? _stream;
    private WebSocketReceiver? _receiver;
    private IWebSocketEvents? _events;
    private Timer? _keepAlive;
    private volatile bool _aborted;
    private volatile bool _connectTimedOut;
    private volatile bool _keepAliveExpired;
    private bool _closeSent; // under _sendLock
    private long _pingsAnswered;
    private long _pingSentTimestamp; // an unanswered keep-alive ping's time (0: none)
    private long _pingPayload;
    private long _lastPingTimestamp;

    public override long PingsAnswered => Volatile.Read(ref _pingsAnswered);

    public override Task RunAsync(Uri url, IWebSocketEvents events)
    {
        _events = events;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Run(url, events);
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = settings.ThreadName,
        };
        thread.Start();
        return done.Task;
    }

    public override Task SendTextAsync(byte[] message) => Task.Run(() => Send(OpText, message));

    public override Task CloseOutputAsync() => Task.Run(() => SendClose(1000));

    public override void Abort()
    {
        _aborted = true;
        _keepAlive?.Dispose();
        _socket?.Dispose(); // a blocked read or connect returns at once (Linux)
    }

    public override void Dispose()
    {
        Abort();
        _stream?.Dispose();
        _receiver?.Dispose();
    }

    void IWebSocketFrameSink.OnMessage(ReadOnlySpan<byte> payload, bool isText, long receivedNs) => _events!.OnMessage(payload, isText, receivedNs);

    void IWebSocketFrameSink.OnOversized(long receivedNs) => _events!.OnOversized(receivedNs);

    void IWebSocketFrameSink.OnPing(ReadOnlySpan<byte> payload)
    {
        Send(OpPong, payload);
        _pingsAnswered++;
    }

    void IWebSocketFrameSink.OnPong(ReadOnlySpan<byte> payload)
    {
        if (payload.Length == sizeof(long) && BinaryPrimitives.ReadInt64BigEndian(payload) == Volatile.Read(ref _pingPayload))
        {
            Volatile.Write(ref _pingSentTimestamp, 0);
        }
    }

    private void Run(Uri url, IWebSocketEvents events)
    {
        var opened = false;
        try
        {
            Connect(url);
            if (!events.OnOpened())
            {
                return;
            }

            opened = true;
            StartKeepAlive();
            var stream = _stream!;
            var receiver = _receiver!;
            if (receiver.Pending > 0 && receiver.Commit(0, WallClock.UnixNanoseconds()))
            {
                OnCloseFrame(receiver, stream);
                return;
            }

            while (true)
            {
                var read = stream.Read(receiver.FreeSpace);
                if (read == 0)
                {
                    throw new IOException("the server closed the TCP connection without a close frame");
                }

                if (receiver.Commit(read, WallClock.UnixNanoseconds()))
                {
                    OnCloseFrame(receiver, stream);
                    return;
                }
            }
        }
        catch (WebSocketProtocolException)
        {
            TrySendClose(1002);
            throw;
        }
        catch (Exception e) when (!opened && _connectTimedOut)
        {
            throw new TimeoutException($"connect timed out after {settings.ConnectTimeout.TotalSeconds:0.###} s", e);
        }
        catch (Exception) when (_keepAliveExpired)
        {
            throw new WebSocketKeepAliveException($"no pong within {settings.KeepAliveTimeout.TotalSeconds:0.###} s of a keep-alive ping");
        }
        finally
        {
            _keepAlive?.Dispose();
            _socket?.Dispose();
        }
    }

    // DNS, TCP, TLS and the upgrade, blocking, bounded by the connect timeout.
    private void Connect(Uri url)
    {
        var secure = url.Scheme is "wss" or "https";
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, SendTimeout = SendTimeoutMs };
        _socket = socket;
        using var timer = new Timer(static state => ((FramedWebSocket)state!).OnConnectTimeout(), this, settings.ConnectTimeout, Timeout.InfiniteTimeSpan);
        if (_aborted)
        {
            throw new ObjectDisposedException(nameof(Socket), "aborted while connecting");
        }

        socket.Connect(url.IdnHost, url.Port);
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        if (secure)
        {
            var tls = new SslStream(stream, leaveInnerStreamOpen: false, settings.CertificateValidation);
            _stream = tls;
            tls.AuthenticateAsClient(new SslClientAuthenticationOptions { TargetHost = url.IdnHost });
            stream = tls;
        }

        _stream = stream;
        var receiver = new WebSocketReceiver(this, settings.ReceiveBufferBytes, settings.MaxMessageBytes);
        _receiver = receiver;
        var key = WebSocketUpgrade.NewKey();
        stream.Write(WebSocketUpgrade.Request(url, key));
        var head = ArrayPool<byte>.Shared.Rent(WebSocketUpgrade.MaxResponseHeadBytes);
        try
        {
            var length = 0;
            int headLength;
            while ((headLength = WebSocketUpgrade.HeadLength(head.AsSpan(0, length))) < 0)
            {
                if (length == WebSocketUpgrade.MaxResponseHeadBytes)
                {
                    throw new IOException($"the server's answer to the upgrade has no end within {WebSocketUpgrade.MaxResponseHeadBytes} bytes");
                }

                var read = stream.Read(head, length, WebSocketUpgrade.MaxResponseHeadBytes - length);
                if (read == 0)
                {
                    throw new IOException("the server closed the connection during the upgrade");
                }

                length += read;
            }

            if (WebSocketUpgrade.Check(head.AsSpan(0, headLength), key) is { } refusal)
            {
                throw new IOException(refusal);
            }

            receiver.Append(head.AsSpan(headLength, length - headLength)); // frames that came with the 101
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(head);
        }
    }

    private void OnConnectTimeout()
    {
        _connectTimedOut = true;
        _socket?.Dispose();
    }

    // The server's close frame: answer it (§5.5.1; 1005/1006/1015 may not be sent), then let the server close TCP
    // first (§7.1.1): closing with unread bytes (a ping in flight) would reset the connection, and a reset can destroy
    // our close frame before the server reads it.
    private void OnCloseFrame(WebSocketReceiver receiver, Stream stream)
    {
        CloseDescription = DescribeClose(receiver.CloseStatus, receiver.CloseReason);
        TrySendClose(receiver.CloseStatus is 1005 or 1006 or 1015 ? 1000 : receiver.CloseStatus);
        try
        {
            var socket = _socket!;
            socket.ReceiveTimeout = CloseLingerMs;
            var deadline = Environment.TickCount64 + CloseLingerMs;
            while (Environment.TickCount64 < deadline && stream.Read(receiver.FreeSpace) > 0)
            {
                // Discard what follows the close frame until the server closes the connection.
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // Timed out or reset: the connection is over either way.
        }
    }

    private void StartKeepAlive()
    {
        var interval = settings.KeepAliveInterval;
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        var timeout = settings.KeepAliveTimeout;
        var period = timeout > TimeSpan.Zero && timeout < interval ? timeout : interval;
        period = TimeSpan.FromTicks(Math.Max(period.Ticks / 4, TimeSpan.TicksPerMillisecond * 10));
        _lastPingTimestamp = Stopwatch.GetTimestamp();
        _keepAlive = new Timer(static state => ((FramedWebSocket)state!).OnKeepAliveTick(), this, period, period);
        if (_aborted)
        {
            _keepAlive.Dispose();
        }
    }

    // Sends a keep-alive ping every interval; aborts the connection when one stays unanswered past the timeout.
    private void OnKeepAliveTick()
    {
        var now = Stopwatch.GetTimestamp();
        var sent = Volatile.Read(ref _pingSentTimestamp);
        if (sent != 0)
        {
            var timeout = settings.KeepAliveTimeout;
            if (timeout > TimeSpan.Zero && Stopwatch.GetElapsedTime(sent, now) >= timeout)
            {
                _keepAliveExpired = true;
                Abort();
            }

            return;
        }

        if (Stopwatch.GetElapsedTime(_lastPingTimestamp, now) < settings.KeepAliveInterval)
        {
            return;
        }

        _lastPingTimestamp = now;
        var payload = Volatile.Read(ref _pingPayload) + 1;
        Volatile.Write(ref _pingPayload, payload);
        Volatile.Write(ref _pingSentTimestamp, now);
        Span<byte> bytes = stackalloc byte[sizeof(long)];
        BinaryPrimitives.WriteInt64BigEndian(bytes, payload);
        try
        {
            Send(OpPing, bytes);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Abort();
        }
    }

    private void SendClose(int status)
    {
        Span<byte> payload = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)status);
        Send(OpClose, payload);
    }

    private void TrySendClose(int status)
    {
        try
        {
            SendClose(status);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The connection is going anyway.
        }
    }

    // One masked frame (§5.3), written whole under the send lock. Nothing is sent after the close frame (dropped silently).
    private void Send(int opcode, ReadOnlySpan<byte> payload)
    {
        var header = payload.Length < 126 ? 6 : payload.Length <= ushort.MaxValue ? 8 : 14;
        var frame = ArrayPool<byte>.Shared.Rent(header + payload.Length);
        try
        {
            frame[0] = (byte)(0x80 | opcode);
            if (payload.Length < 126)
            {
                frame[1] = (byte)(0x80 | payload.Length);
            }
            else if (payload.Length <= ushort.MaxValue)
            {
                frame[1] = 0x80 | 126;
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length);
            }
            else
            {
                frame[1] = 0x80 | 127;
                BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)payload.Length);
            }

            var mask = frame.AsSpan(header - 4, 4);
            RandomNumberGenerator.Fill(mask);
            WebSocketMask.Apply(payload, mask, frame.AsSpan(header, payload.Length));
            lock (_sendLock)
            {
                if (_closeSent)
                {
                    return; // a pong or ping racing our close: nothing may follow it (§5.5.1)
                }

                var stream = _stream ?? throw new InvalidOperationException("not connected");
                stream.Write(frame, 0, header + payload.Length);
                _closeSent = opcode == OpClose;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }
}

/// <summary>The masking of RFC 6455 §5.3: byte i is XORed with byte i mod 4 of the key.</summary>
internal static class WebSocketMask
{
    /// <summary>Writes <paramref name="source"/> masked with <paramref name="key"/> (4 bytes) into <paramref name="destination"/>; the same call unmasks.</summary>
    public static void Apply(ReadOnlySpan<byte> source, ReadOnlySpan<byte> key, Span<byte> destination)
    {
        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = (byte)(source[i] ^ key[i & 3]);
        }
    }
}

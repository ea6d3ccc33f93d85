using System.Buffers;
using System.Net.WebSockets;
using LowLatency.Telemetry;

namespace LowLatency.Connectors.WebSockets;

/// <summary>
/// The BCL's <see cref="ClientWebSocket"/> as a transport: for what <see cref="FramedWebSocket"/> does not do (an HTTP
/// proxy from the environment, HTTP/2), at about twice its CPU per message.
/// </summary>
/// <remarks>
/// <c>ReceiveAsync(Memory&lt;byte&gt;)</c> into one buffer rented from <see cref="ArrayPool{T}"/>, fragments appended
/// until the message ends; the receive time is stamped as soon as the last fragment is in, then the message is handed
/// over in place on the thread the read completed on (a thread-pool thread). Its ValueTask path is pooled, so after
/// warm-up a message costs no allocation. No cancellation token is passed to the reads (a registration per read is
/// avoidable cost); the loop is ended by <see cref="Abort"/> or by the close handshake. A message above the limit is read
/// into the same buffer fragment by fragment and dropped, never buffered whole. ClientWebSocket answers the server's
/// pings itself, unseen (<see cref="PingsAnswered"/> is -1), but only while a receive is pending; its keep-alive pings
/// abort the socket when the pong is late, which ends the pending read as cancelled.
/// </remarks>
internal sealed class ClientWebSocketTransport : WebSocketTransport
{
    private readonly WebSocketSettings _settings;
    private readonly ClientWebSocket _socket = new();
    private byte[] _buffer;
    private int _capacity;

    public ClientWebSocketTransport(WebSocketSettings settings)
    {
        _settings = settings;
        _buffer = ArrayPool<byte>.Shared.Rent(settings.ReceiveBufferBytes);
        _capacity = Math.Min(_buffer.Length, settings.MaxMessageBytes);
        _socket.Options.KeepAliveInterval = settings.KeepAliveInterval;
        _socket.Options.KeepAliveTimeout = settings.KeepAliveTimeout;
        if (settings.CertificateValidation is { } validation)
        {
            _socket.Options.RemoteCertificateValidationCallback = validation;
        }
    }

    public override long PingsAnswered => -1;

    public override async Task RunAsync(Uri url, IWebSocketEvents events)
    {
        var opened = false;
        try
        {
            using (var timeout = new CancellationTokenSource(_settings.ConnectTimeout))
            {
                try
                {
                    await _socket.ConnectAsync(url, timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException e) when (timeout.IsCancellationRequested)
                {
                    throw new TimeoutException($"connect timed out after {_settings.ConnectTimeout.TotalSeconds:0.###} s", e);
                }
            }

            if (!events.OnOpened())
            {
                _socket.Abort(); // closed while connecting
                return;
            }

            opened = true;
            await ReceiveLoopAsync(events).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (opened)
        {
            // Nothing of ours cancels a read: ClientWebSocket's keep-alive aborted the socket (no pong in time).
            throw new WebSocketKeepAliveException($"no pong within {_settings.KeepAliveTimeout.TotalSeconds:0.###} s of a keep-alive ping");
        }
    }

    public override async Task SendTextAsync(byte[] message) =>
        await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);

    public override async Task CloseOutputAsync()
    {
        try
        {
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or InvalidOperationException or IOException or OperationCanceledException)
        {
            _socket.Abort();
        }
    }

    public override void Abort() => _socket.Abort();

    public override void Dispose()
    {
        _socket.Dispose();
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task ReceiveLoopAsync(IWebSocketEvents events)
    {
        var length = 0;
        var discarding = false;
        while (true)
        {
            var result = await _socket.ReceiveAsync(_buffer.AsMemory(length, _capacity - length), CancellationToken.None).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                CloseDescription = DescribeClose((int?)_socket.CloseStatus, _socket.CloseStatusDescription);
                return;
            }

            length += result.Count;
            if (!result.EndOfMessage)
            {
                if (length == _capacity)
                {
                    if (!discarding && _capacity < _settings.MaxMessageBytes)
                    {
                        Grow(length);
                    }
                    else
                    {
                        discarding = true; // too large: keep reading its fragments into the same buffer and drop them
                        length = 0;
                    }
                }

                continue;
            }

            var receivedNs = WallClock.UnixNanoseconds();
            if (discarding)
            {
                discarding = false;
                events.OnOversized(receivedNs);
            }
            else
            {
                events.OnMessage(_buffer.AsSpan(0, length), result.MessageType == WebSocketMessageType.Text, receivedNs);
            }

            length = 0;
        }
    }

    /// <summary>Doubles the buffer (up to the message limit), keeping the <paramref name="length"/> bytes read so far.</summary>
    private void Grow(int length)
    {
        var capacity = (int)Math.Min((long)_capacity * 2, _settings.MaxMessageBytes);
        var bigger = ArrayPool<byte>.Shared.Rent(capacity);
        _buffer.AsSpan(0, length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
        _capacity = Math.Min(bigger.Length, _settings.MaxMessageBytes);
    }
}

using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;

namespace LowLatency.LocalExchange;

// What the client sends: frames, control requests and their answers, subscriptions, and the server's pings.
public sealed partial class ExchangeConnection
{
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
            case ControlMethod.GetProperty:
                response = GetProperty(request);
                break;
            default:
                throw new UnreachableException();
        }

        await SendAsync(WebSocketOpcode.Text, Encoding.UTF8.GetBytes(response)).ConfigureAwait(false);
    }

    // Combined payloads are the only property Binance has.
    private string GetProperty(ControlRequest request)
    {
        if (request.Params is not { ValueKind: JsonValueKind.Array } p || p.GetArrayLength() != 1 || p[0].ValueKind != JsonValueKind.String)
        {
            return ControlProtocol.Error(request.Id, ControlProtocol.InvalidRequest, "Invalid request: property name must be a string");
        }

        return p[0].GetString() == "combined"
            ? ControlProtocol.Result(request.Id, _combined ? "true" : "false")
            : ControlProtocol.Error(request.Id, ControlProtocol.UnknownProperty, "Unknown property");
    }

    private string SetProperty(ControlRequest request)
    {
        if (request.Params is not { ValueKind: JsonValueKind.Array } p || p.GetArrayLength() != 2 ||
            p[0].ValueKind != JsonValueKind.String)
        {
            return ControlProtocol.Error(request.Id, ControlProtocol.InvalidRequest, "Invalid request: property name must be a string");
        }

        if (p[0].GetString() != "combined")
        {
            return ControlProtocol.Error(request.Id, ControlProtocol.UnknownProperty, "Unknown property");
        }

        if (p[1].ValueKind is not (JsonValueKind.True or JsonValueKind.False))
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
        catch (Exception ex) when (IsConnectionGone(ex))
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
        // Without periodic pings the loop still runs: it times out the pings a test sends with SendPingAsync.
        var interval = _exchange.Options.PingInterval;
        var intervalTicks = interval > TimeSpan.Zero ? (long)(interval.TotalSeconds * Stopwatch.Frequency) : long.MaxValue / 2;
        var timeout = _exchange.Options.PongTimeout;
        var token = _closing.Token;
        var nextPing = Stopwatch.GetTimestamp() + intervalTicks;
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
                    nextPing = now + intervalTicks;
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

                    nextPing = now + intervalTicks;
                    lock (_outstandingPings)
                    {
                        oldest = _outstandingPings[0].Timestamp;
                    }
                }

                var wakeAt = oldest is { } o ? Math.Min(nextPing, o + (long)(timeout.TotalSeconds * Stopwatch.Frequency)) : nextPing;
                var delay = TimeSpan.FromSeconds(Math.Clamp((double)(wakeAt - Stopwatch.GetTimestamp()) / Stopwatch.Frequency, 0.001, 3600));
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
        catch (Exception ex) when (IsConnectionGone(ex))
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
}

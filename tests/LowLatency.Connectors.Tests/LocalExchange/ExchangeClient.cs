using System.Buffers;
using System.Net.WebSockets;
using System.Text;

namespace LowLatency.Connectors.Tests.LocalExchange;

/// <summary>One whole message as a <see cref="ClientWebSocket"/> received it.</summary>
internal readonly record struct ClientMessage(WebSocketMessageType Type, string? Text, int Length, WebSocketCloseStatus? CloseStatus, string? CloseDescription);

/// <summary>
/// A plain <see cref="ClientWebSocket"/> with whole-message receives and deadlines, as the tests of the local exchange use
/// it. A receive that times out stays pending and is picked up by the next call, so waiting for "nothing more" does not
/// tear the socket down (cancelling a ClientWebSocket receive aborts the socket).
/// </summary>
internal sealed class ExchangeClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly ArrayBufferWriter<byte> _message = new();
    private Task<ClientMessage>? _pending;

    private ExchangeClient(ClientWebSocket socket) => Socket = socket;

    public ClientWebSocket Socket { get; }

    public static async Task<ExchangeClient> ConnectAsync(Uri uri, Action<ClientWebSocketOptions>? configure = null)
    {
        var socket = new ClientWebSocket();
        configure?.Invoke(socket.Options);
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await socket.ConnectAsync(uri, timeout.Token);
        return new ExchangeClient(socket);
    }

    public async Task SendAsync(string text)
    {
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
    }

    /// <summary>The next whole message; fails the test if none arrives within the timeout.</summary>
    public async Task<ClientMessage> ReceiveAsync(TimeSpan? timeout = null) =>
        await TryReceiveAsync(timeout ?? DefaultTimeout) ?? throw new TimeoutException("No message from the exchange within the timeout.");

    /// <summary>The next whole message, or null if none arrives within <paramref name="timeout"/> (the receive stays pending).</summary>
    public async Task<ClientMessage?> TryReceiveAsync(TimeSpan timeout)
    {
        _pending ??= ReceiveWholeAsync();
        if (await Task.WhenAny(_pending, Task.Delay(timeout)) != _pending)
        {
            return null;
        }

        var message = await _pending;
        _pending = null;
        return message;
    }

    /// <summary>The next <paramref name="count"/> text messages.</summary>
    public async Task<List<string>> ReceiveTextsAsync(int count)
    {
        var texts = new List<string>(count);
        while (texts.Count < count)
        {
            var message = await ReceiveAsync();
            Assert.True(message.Type == WebSocketMessageType.Text, $"Expected text message {texts.Count + 1} of {count}, got {message}");
            texts.Add(message.Text!);
        }

        return texts;
    }

    /// <summary>Sends a control request and returns its response, skipping market data that arrives before it.</summary>
    public async Task<string> RequestAsync(string request)
    {
        await SendAsync(request);
        while (true)
        {
            var message = await ReceiveAsync();
            Assert.True(message.Type == WebSocketMessageType.Text, $"Expected the response to {request}, got {message}");
            if (message.Text!.StartsWith("{\"result\"", StringComparison.Ordinal) || message.Text.StartsWith("{\"error\"", StringComparison.Ordinal))
            {
                return message.Text;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Socket.Abort();
        Socket.Dispose();
        if (_pending is not null)
        {
            try
            {
                await _pending;
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The receive the test did not wait for ends with the socket.
            }
        }
    }

    private async Task<ClientMessage> ReceiveWholeAsync()
    {
        _message.ResetWrittenCount();
        while (true)
        {
            var result = await Socket.ReceiveAsync(_message.GetMemory(64 * 1024), CancellationToken.None);
            _message.Advance(result.Count);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return new ClientMessage(result.MessageType, null, 0, Socket.CloseStatus, Socket.CloseStatusDescription);
            }

            if (result.EndOfMessage)
            {
                var text = result.MessageType == WebSocketMessageType.Text ? Encoding.UTF8.GetString(_message.WrittenSpan) : null;
                return new ClientMessage(result.MessageType, text, _message.WrittenCount, null, null);
            }
        }
    }
}

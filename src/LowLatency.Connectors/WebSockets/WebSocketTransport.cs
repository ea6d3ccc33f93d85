using System.Net.Security;

namespace LowLatency.Connectors.WebSockets;

/// <summary>What a <see cref="WebSocketTransport"/> tells the connection that owns it. Called on the receive thread.</summary>
internal interface IWebSocketEvents
{
    /// <summary>The upgrade succeeded. False when the owner no longer wants the connection (closed while connecting): the transport ends.</summary>
    bool OnOpened();

    /// <summary>A whole message, valid only during the call; <paramref name="receivedNs"/> is the time of the read that completed it.</summary>
    void OnMessage(ReadOnlySpan<byte> payload, bool isText, long receivedNs);

    /// <summary>A message above the size limit ended; it was dropped without being buffered.</summary>
    void OnOversized(long receivedNs);
}

/// <summary>The settings a transport needs (from the client's options).</summary>
/// <param name="ConnectTimeout">TCP, TLS and the upgrade together.</param>
/// <param name="KeepAliveInterval">How often to ping the server; zero: never.</param>
/// <param name="KeepAliveTimeout">How long a ping may stay unanswered before the connection is aborted (infinite: no limit).</param>
/// <param name="ReceiveBufferBytes">The receive buffer.</param>
/// <param name="MaxMessageBytes">Longer messages are dropped and counted.</param>
/// <param name="CertificateValidation">For wss: replaces the system's certificate check (tests); null: the system's.</param>
/// <param name="ThreadName">The receive thread's name, where the transport has one.</param>
internal readonly record struct WebSocketSettings(
    TimeSpan ConnectTimeout,
    TimeSpan KeepAliveInterval,
    TimeSpan KeepAliveTimeout,
    int ReceiveBufferBytes,
    int MaxMessageBytes,
    RemoteCertificateValidationCallback? CertificateValidation,
    string ThreadName);

/// <summary>A connection ended because a keep-alive ping went unanswered for too long.</summary>
internal sealed class WebSocketKeepAliveException(string message) : IOException(message);

/// <summary>
/// One client WebSocket: connects, then receives until the connection ends, handing messages to an
/// <see cref="IWebSocketEvents"/>. Two implementations: <see cref="FramedWebSocket"/> (ours, the default: RFC 6455
/// framing over a socket read by a thread of its own) and <see cref="ClientWebSocketTransport"/> (the BCL's
/// <c>ClientWebSocket</c>, for what ours lacks: proxies, HTTP/2).
/// </summary>
internal abstract class WebSocketTransport : IDisposable
{
    /// <summary>
    /// Connects to <paramref name="url"/> and receives until the connection ends. Completes when the server closed it
    /// with a close frame (<see cref="CloseDescription"/>); faults with why otherwise: <see cref="TimeoutException"/>
    /// when connecting took too long, <see cref="WebSocketKeepAliveException"/> when a keep-alive ping went unanswered,
    /// anything else (socket, TLS, upgrade, protocol, abort) as it happened.
    /// </summary>
    public abstract Task RunAsync(Uri url, IWebSocketEvents events);

    /// <summary>Sends a text message (a SUBSCRIBE); completes when written. Any thread; messages go one at a time.</summary>
    public abstract Task SendTextAsync(byte[] message);

    /// <summary>Sends the close frame (1000); messages keep arriving until the server's close frame ends <see cref="RunAsync"/>.</summary>
    public abstract Task CloseOutputAsync();

    /// <summary>Drops the connection at once; <see cref="RunAsync"/> ends with it.</summary>
    public abstract void Abort();

    /// <summary>Set when the server closed the connection with a close frame: its code and reason, in words.</summary>
    public string? CloseDescription { get; protected set; }

    /// <summary>Pings of the server answered; -1 where the transport cannot see them.</summary>
    public abstract long PingsAnswered { get; }

    public abstract void Dispose();

    /// <summary>The transport <paramref name="kind"/> names.</summary>
    public static WebSocketTransport Create(Binance.BinanceWebSocketTransport kind, in WebSocketSettings settings) => kind switch
    {
        Binance.BinanceWebSocketTransport.ClientWebSocket => new ClientWebSocketTransport(settings),
        _ => new FramedWebSocket(settings),
    };

    /// <summary>"closed by the server (code reason)".</summary>
    protected static string DescribeClose(int? status, string? reason) =>
        status is { } code ? $"closed by the server ({code} {reason})".Replace(" )", ")", StringComparison.Ordinal) : "closed by the server";
}

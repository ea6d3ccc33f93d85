using Microsoft.Extensions.Logging;

namespace LowLatency.LocalExchange;

/// <summary>How the feed reaches the connections.</summary>
public enum FeedMode
{
    /// <summary>
    /// A live exchange: one timeline plays the feed at <see cref="ExchangeServerOptions.Speed"/>, and a connection gets
    /// the frames of its streams from the moment it subscribed; what is played while a client is away is lost to it.
    /// </summary>
    SharedTimeline,

    /// <summary>
    /// A throughput source: each connection gets the whole feed (all loops) for its streams, from the first frame, as fast
    /// as it can take it, from its first subscription on. <see cref="ExchangeServerOptions.Speed"/> is ignored.
    /// </summary>
    PerConnection,
}

/// <summary>Options of <see cref="ExchangeServer"/>; every default is documented where it is declared (Binance's values).</summary>
public sealed class ExchangeServerOptions
{
    /// <summary>The value of <see cref="Speed"/> that plays the feed as fast as possible.</summary>
    public const double AsFastAsPossible = double.PositiveInfinity;

    /// <summary>The frames to play. Default null: no frames; connections are accepted and control messages answered.</summary>
    public ExchangeFeed? Feed { get; init; }

    /// <summary>The port on 127.0.0.1. Default 0: an ephemeral port (see <see cref="ExchangeServer.BaseUri"/>).</summary>
    public int Port { get; init; }

    /// <summary>Shared live timeline or the whole feed per connection. Default <see cref="FeedMode.SharedTimeline"/>.</summary>
    public FeedMode Mode { get; init; } = FeedMode.SharedTimeline;

    /// <summary>
    /// Playback speed of the shared timeline as a multiple of the feed's own time (10 = ten times faster). Default 1:
    /// real time. 0 or <see cref="AsFastAsPossible"/>: every frame is released at once.
    /// </summary>
    public double Speed { get; init; } = 1;

    /// <summary>How many times the feed is played; 0 plays it until the exchange stops. Default 1.</summary>
    public int Loops { get; init; } = 1;

    /// <summary>
    /// Whether the shared timeline waits for <see cref="ExchangeServer.Play"/> (so a test can connect and subscribe before the
    /// first frame). Default false: it starts playing when the exchange has started.
    /// </summary>
    public bool StartPaused { get; init; }

    /// <summary>Most streams one connection may subscribe to; more is refused with an error. Default 1024 (Binance).</summary>
    public int MaxStreamsPerConnection { get; init; } = 1024;

    /// <summary>
    /// Most incoming messages per second per connection, over any sliding one-second window: text and binary messages,
    /// pings and pongs all count, as on Binance. A connection that sends more is closed (1008, policy violation).
    /// Default 5 (Binance). Note that <see cref="System.Net.WebSockets.ClientWebSocket"/> sends an unsolicited pong every
    /// <see cref="System.Net.WebSockets.ClientWebSocketOptions.KeepAliveInterval"/> (30 s) and answers every ping, so a
    /// test that pings faster than every 200 ms must raise this limit.
    /// </summary>
    public int MaxIncomingMessagesPerSecond { get; init; } = 5;

    /// <summary>The largest incoming message (a control request) accepted; larger closes with 1009. Default 1 MiB.</summary>
    public int MaxIncomingMessageBytes { get; init; } = 1024 * 1024;

    /// <summary>How long a connection may live before the server closes it (1001). Default 24 h (Binance); zero: forever.</summary>
    public TimeSpan MaxConnectionAge { get; init; } = TimeSpan.FromHours(24);

    /// <summary>How often the server pings every connection. Default 20 s (Binance spot); zero: never.</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long a ping may stay unanswered before the connection is closed (1008). Only a pong that echoes an outstanding
    /// ping's payload answers it: unsolicited pongs are allowed but do not keep a connection alive, as Binance documents.
    /// Default 1 minute (Binance spot).
    /// </summary>
    public TimeSpan PongTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Bytes per second of market data each new connection may be sent; 0: unlimited. Default 0.</summary>
    public long ThrottleBytesPerSecond { get; init; }

    /// <summary>
    /// How long a server-initiated close waits for the client's close frame before the TCP connection is closed anyway.
    /// Default 2 s.
    /// </summary>
    public TimeSpan CloseHandshakeTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Where Kestrel and the exchange log. Default null: no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }
}

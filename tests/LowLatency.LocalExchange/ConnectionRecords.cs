namespace LowLatency.LocalExchange;

/// <summary>What a client sent.</summary>
public enum IncomingKind
{
    /// <summary>A text message (a control request such as SUBSCRIBE); counts against the message rate.</summary>
    Text,

    /// <summary>A binary message; counts against the message rate and is otherwise ignored.</summary>
    Binary,

    /// <summary>A ping frame; counts against the message rate and is answered with a pong (unless silenced).</summary>
    Ping,

    /// <summary>A pong frame; counts against the message rate and answers an outstanding ping if it echoes its payload.</summary>
    Pong,

    /// <summary>A close frame.</summary>
    Close,
}

/// <summary>One message or control frame a client sent, with its arrival time at the server.</summary>
/// <param name="At">Arrival time since the exchange started (see <see cref="ExchangeServer.Elapsed"/>).</param>
/// <param name="Kind">What arrived.</param>
/// <param name="Text">The text of a text message; the status and reason of a close; null otherwise.</param>
public readonly record struct IncomingMessage(TimeSpan At, IncomingKind Kind, string? Text);

/// <summary>Why a connection ended.</summary>
public enum CloseReason
{
    /// <summary>The client started the close handshake.</summary>
    ClientClosed,

    /// <summary>The client's TCP connection ended (or was reset) without a close handshake.</summary>
    ClientDisconnected,

    /// <summary>The client broke RFC 6455 (an unmasked frame, reserved bits, a bad control frame): closed with 1002.</summary>
    ProtocolError,

    /// <summary>The client sent a message larger than <see cref="ExchangeServerOptions.MaxIncomingMessageBytes"/>: closed with 1009.</summary>
    MessageTooBig,

    /// <summary>More than <see cref="ExchangeServerOptions.MaxIncomingMessagesPerSecond"/> messages in a second: closed with 1008.</summary>
    RateLimited,

    /// <summary>A ping stayed unanswered for <see cref="ExchangeServerOptions.PongTimeout"/>: closed with 1008.</summary>
    PongTimeout,

    /// <summary>The connection reached <see cref="ExchangeServerOptions.MaxConnectionAge"/>: closed with 1001.</summary>
    MaxAge,

    /// <summary>The grace after a <c>serverShutdown</c> event ran out: closed with 1001.</summary>
    ServerShutdown,

    /// <summary>A test closed it cleanly (<see cref="ExchangeConnection.CloseAsync"/>, <see cref="DropKind.Close"/>).</summary>
    ClosedByServer,

    /// <summary>A test dropped it abruptly (<see cref="ExchangeConnection.Abort"/>, <see cref="DropKind.Abort"/>): TCP reset.</summary>
    Aborted,

    /// <summary>The exchange was disposed.</summary>
    ExchangeStopped,
}

/// <summary>When and why a connection ended.</summary>
/// <param name="At">When the close began, since the exchange started.</param>
/// <param name="Reason">Why.</param>
/// <param name="Description">Details: the close status sent or received, the limit that was exceeded.</param>
public sealed record ConnectionClose(TimeSpan At, CloseReason Reason, string Description);

/// <summary>How a test drops connections.</summary>
public enum DropKind
{
    /// <summary>An abrupt TCP reset: no close frame, no FIN (a crashed server or a cut network).</summary>
    Abort,

    /// <summary>A clean WebSocket close handshake (1001, going away), then TCP close.</summary>
    Close,
}

/// <summary>Broken frames a test can make the exchange send.</summary>
public enum MalformedFrame
{
    /// <summary>A text frame with the first half of a combined-stream frame: valid UTF-8, invalid JSON.</summary>
    TruncatedJson,

    /// <summary>A text frame whose bytes are not UTF-8 (RFC 6455 requires a client to fail the connection: 1007).</summary>
    InvalidUtf8,

    /// <summary>A text frame of plain words: valid UTF-8, not JSON at all.</summary>
    NotJson,

    /// <summary>A binary frame, which Binance's JSON streams never send.</summary>
    Binary,
}

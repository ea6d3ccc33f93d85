using System.Net.Security;

namespace LowLatency.Connectors.Binance;

/// <summary>The WebSocket implementation under a <see cref="BinanceStreamClient{THandler}"/> (<c>BINANCE_WS_TRANSPORT</c>).</summary>
public enum BinanceWebSocketTransport
{
    /// <summary>
    /// Ours (<c>framed</c>, the default): RFC 6455 framing over a socket (and TLS for <c>wss</c>) read by a thread of
    /// its own; every frame of a read is delivered in place. About half of ClientWebSocket's CPU per message, and one
    /// thread wake-up less per burst. No HTTP proxy support.
    /// </summary>
    Framed,

    /// <summary>
    /// The BCL's <c>ClientWebSocket</c> (<c>clientwebsocket</c>): for an HTTP proxy (it honours <c>HTTPS_PROXY</c>) or
    /// anything else ours lacks. Its server-ping answers cannot be counted.
    /// </summary>
    ClientWebSocket,
}

/// <summary>
/// Options of a <see cref="BinanceStreamClient{THandler}"/>. Every default is documented where it is declared; every
/// timing is an option, so tests against a local exchange can run the 24 h rotation, silence and reconnects in seconds.
/// The environment variables of the original connector (read by the host, not here) are named on their options.
/// </summary>
public sealed record BinanceStreamOptions
{
    /// <summary>
    /// Frames the transport sends on its own that count against Binance's per-connection message limit: the pong
    /// answering the server's ping (every 20 s).
    /// </summary>
    internal const int ReservedForPongs = 1;

    /// <summary>
    /// The base endpoint (<c>BINANCE_WS_URL</c>). Default <c>wss://stream.binance.com:9443</c>. The client opens
    /// <c>{base}/stream?streams=a/b/c</c>; a trailing <c>/ws</c> or <c>/stream</c> is ignored, so the original connector's
    /// value works as it is. <c>wss://data-stream.binance.vision</c> serves market data only.
    /// </summary>
    public Uri Url { get; init; } = new("wss://stream.binance.com:9443");

    /// <summary>
    /// Where odd-numbered lines connect instead of <see cref="Url"/>, so that twins take different routes (for example
    /// <c>wss://stream.binance.com:443</c> or <c>wss://data-stream.binance.vision</c>). Default null: every line uses
    /// <see cref="Url"/>.
    /// </summary>
    public Uri? SecondaryUrl { get; init; }

    /// <summary>
    /// The streams to subscribe at start (<c>BINANCE_STREAMS</c>, comma-separated: <see cref="ParseStreams"/>), e.g.
    /// <c>btcusdt@trade</c>, <c>ethusdt@depth@100ms</c>. Default none. More can be added at run time
    /// (<see cref="BinanceStreamClient{THandler}.Subscribe"/>).
    /// </summary>
    public IReadOnlyList<string> Streams { get; init; } = [];

    /// <summary>Streams per connection. Default 1,024, Binance's limit; more streams are split evenly over more connections.</summary>
    public int MaxStreamsPerConnection { get; init; } = 1024;

    /// <summary>
    /// The longest URL a connection opens. Default 4,000 characters: Binance was measured to refuse URLs longer than
    /// about 8,000 (unicorn-binance-websocket-api, 2019), and half leaves room for change. Streams that do not fit are
    /// subscribed by SUBSCRIBE messages once the connection is open.
    /// </summary>
    public int MaxUrlLength { get; init; } = 4_000;

    /// <summary>
    /// Streams per SUBSCRIBE/UNSUBSCRIBE message. Default 200: a SUBSCRIBE of about 440 streams was seen to fail without
    /// a reply (ccxws#161), so large subscriptions are split.
    /// </summary>
    public int MaxStreamsPerControlMessage { get; init; } = 200;

    /// <summary>
    /// Binance's limit on messages a client sends per connection per second, pings and pongs included. Default 5 (spot).
    /// The client's own SUBSCRIBE/UNSUBSCRIBE messages get what the transport does not use: one per second is left for
    /// the pong answering the server's ping, and one more for the keep-alive ping (or unsolicited pong) when
    /// <see cref="KeepAliveInterval"/> is on, since the pacer does not see them. With the defaults: 3 per rolling second.
    /// </summary>
    public int ControlMessagesPerSecond { get; init; } = 5;

    /// <summary>How long opening a connection (TCP, TLS, upgrade) may take (<c>WS_CONNECTION_TIMEOUT</c>, seconds). Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The first reconnect delay after a connection that delivered data is lost. Default 250 ms.</summary>
    public TimeSpan ReconnectInitialDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The longest reconnect delay (<c>RECONNECT_MAX_DELAY_SECONDS</c>). Default 30 s. Each failed attempt doubles the
    /// delay up to this; the count restarts once a connection delivers data.
    /// </summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The share of a reconnect delay taken away at random, 0 to 1. Default 0.5: a delay d becomes uniform in
    /// (d/2, d], so connections lost together do not return together.
    /// </summary>
    public double ReconnectJitter { get; init; } = 0.5;

    /// <summary>
    /// The WebSocket implementation (<c>BINANCE_WS_TRANSPORT</c>). Default <see cref="BinanceWebSocketTransport.Framed"/>, ours.
    /// </summary>
    public BinanceWebSocketTransport Transport { get; init; } = BinanceWebSocketTransport.Framed;

    /// <summary>For <c>wss</c>: replaces the system's check of the server certificate (tests with a self-signed one); null: the system's.</summary>
    internal RemoteCertificateValidationCallback? CertificateValidation { get; init; }

    /// <summary>
    /// How often the client pings the server (<c>PING_INTERVAL_SECONDS</c>). Default 20 s. Zero turns keep-alive off.
    /// The server pings every 20 s itself; those are answered at once with the ping's payload (by ClientWebSocket, while
    /// a receive is pending, which its receive loop always has).
    /// </summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long the client waits for the pong to its keep-alive ping before it aborts the connection. Default 10 s.
    /// <see cref="Timeout.InfiniteTimeSpan"/>: no limit (ClientWebSocket then sends unsolicited pongs instead), which
    /// does not detect a dead connection.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A connection that received no frame for this long is dropped and reconnected (the silence watchdog). Default
    /// 60 s. Keep-alive catches a dead socket; this catches a live one that stopped sending data. Quiet streams
    /// (illiquid symbols' trades) may need more. <see cref="Timeout.InfiniteTimeSpan"/> turns it off.
    /// </summary>
    public TimeSpan SilenceTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The age at which a connection is replaced: a new one is opened first and the old one closed once the new one is
    /// ready. Default 23 h, an hour before Binance's 24 h limit.
    /// </summary>
    public TimeSpan RotateAfter { get; init; } = TimeSpan.FromHours(23);

    /// <summary>
    /// How long the old connection stays open after its replacement (rotation, serverShutdown) connected when the
    /// replacement has not yet delivered data with all its subscriptions confirmed, or the old one has not yet delivered
    /// the frames queued before the point where the replacement started (it lags). Default 30 s.
    /// </summary>
    public TimeSpan ReplacementTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a closing connection waits for the server's close frame before it is aborted. Default 2 s.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long frames that arrived ahead of a live twin wait for it to deliver what lies before them, while it makes no
    /// progress on the stream, before the hole is reported as a gap (see <c>StreamArbiter</c>). Default 5 s. Twins
    /// normally differ by well under a millisecond and a hold ends as soon as the twin catches up, so this bounds only
    /// the double fault of a connection joining ahead of a twin that then stalls. It is long because a twin that looks
    /// stalled may only be starved of CPU (a shared machine can pause a receive loop for a second or more), and
    /// reporting the hole then loses the frames the twin was about to deliver. The frames wait in a bounded buffer
    /// (<see cref="HoldBackFrames"/>, <see cref="HoldBackBytes"/>).
    /// </summary>
    public TimeSpan GapHoldOff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The most frames kept, over all streams, while they wait for a lagging twin to fill the hole below them (the
    /// arbiter's reorder buffer). Default 16,384. A hole that does not fit is reported at once: memory stays bounded.
    /// </summary>
    public int HoldBackFrames { get; init; } = 16_384;

    /// <summary>The most bytes the reorder buffer keeps (see <see cref="HoldBackFrames"/>). Default 16 MiB.</summary>
    public long HoldBackBytes { get; init; } = 16L << 20;

    /// <summary>
    /// The largest frame accepted, in bytes. Default 4 MiB (the largest Binance stream frames, all-market ticker arrays,
    /// are around 1 MB). A larger message is skipped as its bytes arrive, dropped and counted as oversized, never
    /// buffered whole.
    /// </summary>
    public int MaxFrameBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// Each connection's receive buffer at start, in bytes (rented from <c>ArrayPool</c>). Default 64 KiB; it doubles,
    /// up to <see cref="MaxFrameBytes"/>, when a frame needs it.
    /// </summary>
    public int ReceiveBufferBytes { get; init; } = 64 * 1024;

    /// <summary>
    /// Live connections per group of streams. Default 2: twins that receive the same frames, the first copy delivered
    /// and the other dropped (A/B line arbitration), so a connection lost, rotated or shut down by the server loses
    /// nothing while its twin stays up. With 1, a lost connection leaves a gap that is reported.
    /// </summary>
    public int Redundancy { get; init; } = 2;

    /// <summary>The most streams the client can ever know (subscribed now or before). Default 16,384.</summary>
    public int StreamCapacity { get; init; } = 16_384;

    /// <summary>
    /// How often the supervisor checks connections when nothing wakes it sooner (rotation, silence, reconnect delays,
    /// paced SUBSCRIBEs). Default 100 ms. Drops, serverShutdown and first data wake it at once.
    /// </summary>
    public TimeSpan SupervisionInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Splits <c>BINANCE_STREAMS</c>: names separated by commas, slashes or white space (so a combined-stream path
    /// <c>a/b/c</c> works too), normalised and de-duplicated (<see cref="BinanceStreamPlan.NormalizeStream"/>).
    /// </summary>
    public static IReadOnlyList<string> ParseStreams(string? value) =>
        string.IsNullOrWhiteSpace(value)
            ? []
            : BinanceStreamPlan.NormalizeStreams(value.Split([',', '/', ' ', '\t', '\n', '\r', ';'], StringSplitOptions.RemoveEmptyEntries));

    /// <summary>
    /// Control messages the client may send per rolling second: <see cref="ControlMessagesPerSecond"/> less what
    /// the transport sends on its own (the pong to the server's ping, and the keep-alive frame when it is on).
    /// </summary>
    public int SubscribeBudgetPerSecond => ControlMessagesPerSecond - ReservedForPongs - (KeepAliveInterval > TimeSpan.Zero ? 1 : 0);

    /// <summary>The URL line <paramref name="line"/> connects to.</summary>
    public Uri UrlForLine(int line) => line % 2 == 1 && SecondaryUrl is not null ? SecondaryUrl : Url;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Url);
        ArgumentNullException.ThrowIfNull(Streams);
        _ = BinanceStreamPlan.StreamRoot(Url);
        if (SecondaryUrl is not null)
        {
            _ = BinanceStreamPlan.StreamRoot(SecondaryUrl);
        }

        Positive(MaxStreamsPerConnection, nameof(MaxStreamsPerConnection));
        Positive(MaxStreamsPerControlMessage, nameof(MaxStreamsPerControlMessage));
        Positive(Redundancy, nameof(Redundancy));
        Positive(StreamCapacity, nameof(StreamCapacity));
        Positive(ReceiveBufferBytes, nameof(ReceiveBufferBytes));
        if (MaxUrlLength < 64)
        {
            throw new ArgumentException($"{nameof(MaxUrlLength)} must be at least 64, not {MaxUrlLength}.");
        }

        if (MaxFrameBytes < ReceiveBufferBytes)
        {
            throw new ArgumentException($"{nameof(MaxFrameBytes)} ({MaxFrameBytes}) must be at least {nameof(ReceiveBufferBytes)} ({ReceiveBufferBytes}).");
        }

        if (SubscribeBudgetPerSecond < 1)
        {
            throw new ArgumentException(
                $"{nameof(ControlMessagesPerSecond)} ({ControlMessagesPerSecond}) leaves no room for SUBSCRIBE messages once the pongs and keep-alive frames the transport sends are counted.");
        }

        if (ReconnectJitter is < 0 or > 1 || double.IsNaN(ReconnectJitter))
        {
            throw new ArgumentException($"{nameof(ReconnectJitter)} must be within 0 and 1, not {ReconnectJitter}.");
        }

        Positive(ConnectTimeout, nameof(ConnectTimeout));
        Positive(ReconnectInitialDelay, nameof(ReconnectInitialDelay));
        Positive(ReconnectMaxDelay, nameof(ReconnectMaxDelay));
        Positive(RotateAfter, nameof(RotateAfter));
        Positive(ReplacementTimeout, nameof(ReplacementTimeout));
        Positive(CloseTimeout, nameof(CloseTimeout));
        Positive(SupervisionInterval, nameof(SupervisionInterval));
        if (SilenceTimeout != Timeout.InfiniteTimeSpan)
        {
            Positive(SilenceTimeout, nameof(SilenceTimeout));
        }

        if (KeepAliveInterval < TimeSpan.Zero || (KeepAliveTimeout < TimeSpan.Zero && KeepAliveTimeout != Timeout.InfiniteTimeSpan) || GapHoldOff < TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(KeepAliveInterval)}, {nameof(KeepAliveTimeout)} and {nameof(GapHoldOff)} may not be negative.");
        }

        if (HoldBackFrames < 0 || HoldBackBytes < 0)
        {
            throw new ArgumentException($"{nameof(HoldBackFrames)} ({HoldBackFrames}) and {nameof(HoldBackBytes)} ({HoldBackBytes}) may not be negative.");
        }

        if (ReconnectMaxDelay < ReconnectInitialDelay)
        {
            throw new ArgumentException($"{nameof(ReconnectMaxDelay)} ({ReconnectMaxDelay}) is below {nameof(ReconnectInitialDelay)} ({ReconnectInitialDelay}).");
        }
    }

    private static void Positive(int value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentException($"{name} must be positive, not {value}.");
        }
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{name} must be positive, not {value}.");
        }
    }
}

namespace LowLatency.Connectors.Binance;

/// <summary>
/// The client's counters, for metrics: any thread may read them at any time (each a <c>Volatile.Read</c> of a field
/// its owner writes, so possibly a moment stale, never torn). Totals include closed connections.
/// </summary>
/// <remarks>
/// Owners: the arbiter's counts (delivered, duplicates, gaps, malformed, replies, …) are written under the delivery
/// lock; reconnects, rotations and the other connection events by the supervisor thread; keep-alive timeouts and sent
/// control messages by connection tasks (<c>Interlocked</c>, they are rare); frames received, oversized and
/// duplicates dropped before the lock per connection by its receive loop, summed on read.
/// </remarks>
public sealed class BinanceStreamCounters
{
    private readonly StreamArbiter _arbiter;
    private readonly Func<ConnectionTotals> _connections;

    internal long ReconnectsField;
    internal long ConnectFailuresField;
    internal long RotationsField;
    internal long ShutdownReplacementsField;
    internal long SilenceTimeoutsField;
    internal long KeepAliveTimeoutsField;
    internal long ControlMessagesSentField;
    internal long HandlerFailuresField;

    internal BinanceStreamCounters(StreamArbiter arbiter, Func<ConnectionTotals> connections)
    {
        _arbiter = arbiter;
        _connections = connections;
    }

    /// <summary>Messages received by every connection: data, control and oversized (twins' copies counted each).</summary>
    public long FramesReceived => _connections().Frames;

    /// <summary>Data frames handed to the handler.</summary>
    public long Delivered => _arbiter.Delivered;

    /// <summary>Data frames dropped because another connection delivered them first (most found so without the lock).</summary>
    public long Duplicates => _arbiter.Duplicates + _connections().EarlyDuplicates;

    /// <summary>Data frames that would have left a hole a live twin was still filling: kept in the reorder buffer meanwhile.</summary>
    public long HeldBack => _arbiter.HeldBack;

    /// <summary>Frames waiting in the reorder buffer now (a gauge).</summary>
    public int HeldNow => _arbiter.HeldFrames;

    /// <summary>Held-back frames delivered later, once their hole was filled or reported.</summary>
    public long ReleasedHeld => _arbiter.ReleasedHeld;

    /// <summary>Holes reported at once because the reorder buffer was full.</summary>
    public long HoldOverflows => _arbiter.HoldOverflows;

    /// <summary>Holes in a stream's ids that no connection filled (each reported once through <see cref="IBinanceFrameHandler.OnGap"/>).</summary>
    public long Gaps => _arbiter.Gaps;

    /// <summary>Ids inside those holes.</summary>
    public long MissingIds => _arbiter.MissingIds;

    /// <summary>Frames of streams never subscribed, dropped.</summary>
    public long UnknownStreams => _arbiter.UnknownStreams;

    /// <summary>Frames of streams unsubscribed, still in flight, dropped.</summary>
    public long UnsubscribedFrames => _arbiter.UnsubscribedFrames;

    /// <summary>Malformed frames of every reason, dropped.</summary>
    public long Malformed => _arbiter.MalformedTotal;

    /// <summary>Frames above <see cref="BinanceStreamOptions.MaxFrameBytes"/>, dropped without being buffered.</summary>
    public long Oversized => _connections().Oversized;

    /// <summary>Replies to SUBSCRIBE/UNSUBSCRIBE.</summary>
    public long SubscriptionReplies => _arbiter.SubscriptionReplies;

    /// <summary>Error replies (logged).</summary>
    public long ErrorReplies => _arbiter.ErrorReplies;

    /// <summary>serverShutdown events received.</summary>
    public long ServerShutdowns => _arbiter.ServerShutdowns;

    /// <summary>
    /// Reconnect attempts: connections started to replace one that was lost or never opened (not rotations or
    /// serverShutdown replacements, not a line's first connection).
    /// </summary>
    public long Reconnects => Volatile.Read(ref ReconnectsField);

    /// <summary>Connection attempts that never opened (refused, timed out, upgrade rejected).</summary>
    public long ConnectFailures => Volatile.Read(ref ConnectFailuresField);

    /// <summary>Replacements opened because a connection reached <see cref="BinanceStreamOptions.RotateAfter"/>.</summary>
    public long Rotations => Volatile.Read(ref RotationsField);

    /// <summary>Replacements opened because the server announced its shutdown.</summary>
    public long ShutdownReplacements => Volatile.Read(ref ShutdownReplacementsField);

    /// <summary>Connections dropped by the silence watchdog.</summary>
    public long SilenceTimeouts => Volatile.Read(ref SilenceTimeoutsField);

    /// <summary>Connections aborted because the pong to a keep-alive ping was late.</summary>
    public long KeepAliveTimeouts => Volatile.Read(ref KeepAliveTimeoutsField);

    /// <summary>SUBSCRIBE/UNSUBSCRIBE messages sent.</summary>
    public long ControlMessagesSent => Volatile.Read(ref ControlMessagesSentField);

    /// <summary>Frames whose handler call threw (the frame is lost to the handler; the client goes on).</summary>
    public long HandlerFailures => Volatile.Read(ref HandlerFailuresField);

    /// <summary>Connections open now (closing ones included).</summary>
    public int OpenConnections => _connections().Open;

    /// <summary>Malformed frames of one reason.</summary>
    public long MalformedOf(MalformedReason reason) => _arbiter.Malformed(reason);

    /// <summary>
    /// Server pings answered with a pong, over all connections. -1 with the ClientWebSocket transport, which answers
    /// pings inside its receive path and reports neither the ping nor the pong.
    /// </summary>
    public long PingsAnswered => _connections().Pings;
}

/// <summary>Counts summed over connections.</summary>
internal struct ConnectionTotals
{
    public long Frames;
    public long Oversized;
    public long EarlyDuplicates;
    public long Pings;
    public int Open;
}

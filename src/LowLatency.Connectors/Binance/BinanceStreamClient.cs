using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using LowLatency.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LowLatency.Connectors.Binance;

/// <summary>
/// The Binance WebSocket client: combined streams over redundant connections, arbitrated into one gap-checked
/// sequence per stream and handed to one <typeparamref name="THandler"/>.
/// </summary>
/// <typeparam name="THandler">The consumer; a struct lets the JIT devirtualise its calls.</typeparam>
/// <remarks>
/// <para>
/// Streams are split into groups of at most <see cref="BinanceStreamOptions.MaxStreamsPerConnection"/>; every group is
/// served by <see cref="BinanceStreamOptions.Redundancy"/> lines, each line one live connection at a time (two while a
/// replacement overlaps it). All connections of a group receive the same frames; <c>StreamArbiter</c> delivers the
/// first copy and drops the others, so while one line reconnects, rotates or is replaced after a serverShutdown its
/// twin carries the group and nothing is lost. Holes no line fills are reported as <see cref="StreamGap"/>s.
/// </para>
/// <para>
/// Delivery: each connection's receive thread delivers (with the ClientWebSocket transport, the thread-pool thread its
/// read completed on). It scans the frame outside any lock, then takes the
/// delivery lock (<see cref="Lock"/>) for the arbiter's decision and the handler call, so the handler sees one call at
/// a time and may publish into the single-producer ring directly. This is the lowest-latency correct option: a frame
/// is handed over with no copy and no thread hop, and the lock is mostly uncontended (twins deliver the same frame
/// microseconds apart; the second finds a duplicate in tens of ns). A dedicated delivery thread would add a copy and a
/// wake-up (tens of µs when it sleeps) or burn a core spinning, on a machine whose cores go to the pinned shards.
/// </para>
/// <para>
/// Supervision: one dedicated thread (<c>binance-ws-supervisor</c>) owns the connections' lives: it opens lines,
/// reconnects lost ones after an exponential, jittered delay, opens a replacement when a connection reaches
/// <see cref="BinanceStreamOptions.RotateAfter"/> or the server announces its shutdown and swaps it in once it is ready,
/// drops connections that stay silent, paces SUBSCRIBE/UNSUBSCRIBE messages, and logs gap and malformed-frame summaries.
/// It wakes on those events or every <see cref="BinanceStreamOptions.SupervisionInterval"/>; it never touches frames.
/// </para>
/// </remarks>
public sealed class BinanceStreamClient<THandler> : IAsyncDisposable
    where THandler : IBinanceFrameHandler
{
    private readonly BinanceStreamOptions _options;
    private readonly ILogger _log;
    private readonly StreamArbiter _arbiter;
    private readonly Lock _delivery = new();
    private readonly Lock _state = new(); // the supervisor's state: groups, lines, requests; held by DoWork and snapshots
    private readonly AutoResetEvent _wake = new(false);
    private readonly List<StreamGroup> _groups = [];
    private readonly Dictionary<string, StreamGroup> _groupOf = new(StringComparer.Ordinal);
    private readonly List<BinanceConnection<THandler>> _closing = [];
    private readonly ConcurrentQueue<(bool Subscribe, IReadOnlyList<string> Streams)> _requests = new(); // lock-free: a handler may subscribe
    private readonly Random _random = new();
    private readonly long _supervisionNs;
    private THandler _handler;
    private Thread? _supervisor;
    private volatile bool _stopping;
    private int _nextConnectionId;
    private long _nextSummaryNs;
    private long _loggedGaps;
    private long _loggedMissing;
    private long _loggedMalformed;
    private BinanceConnection<THandler>[] _live = []; // every connection not yet retired; replaced (release) by the supervisor
    private long _retiredFrames;
    private long _retiredOversized;
    private long _retiredEarlyDuplicates;
    private long _retiredPings;
    private volatile bool _disposed;

    /// <summary>Plans the initial stream groups; nothing connects until <see cref="Start"/>.</summary>
    /// <exception cref="ArgumentException">An option is out of range or a stream name is invalid.</exception>
    public BinanceStreamClient(BinanceStreamOptions options, THandler handler, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _handler = handler;
        _log = logger ?? NullLogger.Instance;
        _arbiter = new StreamArbiter(
            options.StreamCapacity, options.Redundancy, ToNs(options.GapHoldOff), options.HoldBackFrames, options.HoldBackBytes, options.MaxFrameBytes);
        _supervisionNs = ToNs(options.SupervisionInterval);
        Counters = new BinanceStreamCounters(_arbiter, ConnectionTotals);
        foreach (var streams in BinanceStreamPlan.Partition(BinanceStreamPlan.NormalizeStreams(options.Streams), options.MaxStreamsPerConnection))
        {
            CreateGroup(streams);
        }
    }

    /// <summary>The options in force.</summary>
    public BinanceStreamOptions Options => _options;

    /// <summary>The client's counters (any thread).</summary>
    public BinanceStreamCounters Counters { get; }

    /// <summary>
    /// The handler, by reference (a struct handler's state lives here). Read it only when no frame can arrive (before
    /// <see cref="Start"/>, after <see cref="StopAsync"/>) or under the handler's own synchronisation.
    /// </summary>
    public ref THandler Handler => ref _handler;

    /// <summary>The streams subscribed now, by group (a snapshot; takes the supervisor's lock, so not from the handler).</summary>
    public IReadOnlyList<IReadOnlyList<string>> StreamGroups
    {
        get
        {
            lock (_state)
            {
                return [.. _groups.Select(g => (IReadOnlyList<string>)[.. g.Streams])];
            }
        }
    }

    /// <summary>Starts the supervisor, which opens every line's connection at once.</summary>
    public void Start()
    {
        lock (_state)
        {
            if (_supervisor is not null || _stopping)
            {
                throw new InvalidOperationException("The client was started already.");
            }

            BinanceStreamLog.Starting(_log, _groupOf.Count, _groups.Count, _options.Redundancy);
            _supervisor = new Thread(Supervise) { IsBackground = true, Name = "binance-ws-supervisor" };
        }

        _supervisor.Start();
    }

    /// <summary>
    /// Subscribes <paramref name="streams"/> (names as in <see cref="BinanceStreamOptions.Streams"/>; ones subscribed
    /// already are ignored). They join the least-loaded groups with room, whose connections send paced SUBSCRIBE
    /// messages, or new groups with connections of their own. Any thread; returns at once.
    /// </summary>
    /// <exception cref="ArgumentException">A name is invalid (nothing is subscribed then).</exception>
    public void Subscribe(IEnumerable<string> streams) => Request(subscribe: true, streams);

    /// <summary>Unsubscribes <paramref name="streams"/>; frames of theirs still in flight are dropped. Any thread; returns at once.</summary>
    public void Unsubscribe(IEnumerable<string> streams) => Request(subscribe: false, streams);

    /// <summary>
    /// Snapshots of every connection: the lines' current ones and replacements, then those closing. Takes the
    /// supervisor's lock: not from inside the handler (the supervisor may be waiting for the delivery lock the handler
    /// holds). <see cref="Counters"/>, <see cref="Subscribe"/> and <see cref="Unsubscribe"/> are safe there.
    /// </summary>
    public IReadOnlyList<BinanceConnectionInfo> GetConnections()
    {
        var now = WallClock.UnixNanoseconds();
        lock (_state)
        {
            var list = new List<BinanceConnectionInfo>();
            foreach (var group in _groups)
            {
                foreach (var line in group.Lines)
                {
                    if (line.Current is { } current)
                    {
                        list.Add(current.Describe(now, isReplacement: false, _arbiter.DeliveredBy(current.Group, current.Position)));
                    }

                    if (line.Replacement is { } replacement)
                    {
                        list.Add(replacement.Describe(now, isReplacement: true, _arbiter.DeliveredBy(replacement.Group, replacement.Position)));
                    }
                }
            }

            foreach (var closing in _closing)
            {
                list.Add(closing.Describe(now, isReplacement: false, _arbiter.DeliveredBy(closing.Group, closing.Position)));
            }

            return list;
        }
    }

    /// <summary>Drops connection <paramref name="connectionId"/> as if the network had (tests: a line lost).</summary>
    internal bool Abort(int connectionId, string reason)
    {
        lock (_state)
        {
            foreach (var connection in _live)
            {
                if (connection.Id == connectionId)
                {
                    connection.Abort(reason);
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// Stops the supervisor, closes every connection (the close handshake, then an abort after
    /// <see cref="BinanceStreamOptions.CloseTimeout"/>) and waits for their receive loops to end. No handler call
    /// happens after it returns.
    /// </summary>
    public async Task StopAsync()
    {
        _stopping = true;
        _wake.Set();
        var supervisor = _supervisor;
        if (supervisor is not null && supervisor != Thread.CurrentThread)
        {
            supervisor.Join();
        }

        List<BinanceConnection<THandler>> connections;
        lock (_state)
        {
            connections = [.. _live];
        }

        var now = WallClock.UnixNanoseconds();
        foreach (var connection in connections)
        {
            connection.BeginClose("client stopped", now);
        }

        var all = Task.WhenAll(connections.Select(c => c.Completion));
        await Task.WhenAny(all, Task.Delay(_options.CloseTimeout)).ConfigureAwait(false);
        foreach (var connection in connections)
        {
            connection.Abort("client stopped");
        }

        await all.ConfigureAwait(false);
        lock (_state)
        {
            foreach (var connection in connections)
            {
                Retire(connection);
            }

            // Nothing can fill a hole any more: what the lines received and held back is delivered, gaps reported.
            ReleaseDueHolds(WallClock.UnixNanoseconds());

            foreach (var group in _groups)
            {
                foreach (var line in group.Lines)
                {
                    line.Current = null;
                    line.Replacement = null;
                }
            }

            _closing.Clear();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _disposed = true;
        _wake.Dispose();
    }

    // ---- Delivery (receive loops) ----------------------------------------------------------------------------------

    /// <summary>Arbitrates one text frame received by <paramref name="connection"/> and delivers it if it is new.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Deliver(BinanceConnection<THandler> connection, ReadOnlySpan<byte> frame, long receiveTimeNs)
    {
        _arbiter.Inspect(frame, out var facts); // outside the lock: twins scan in parallel
        if (_arbiter.IsSettledDuplicate(in facts, connection.Group, connection.Position))
        {
            connection.CountEarlyDuplicate(); // the twin's copy: no lock, no wait for the first copy's handler call
            if (!connection.HasData)
            {
                connection.OnFirstData(); // a line that only ever trails still counts as flowing (rotation, backoff)
            }

            return;
        }

        Verdict verdict;
        Exception? failure = null;
        lock (_delivery)
        {
            verdict = _arbiter.Decide(in facts, frame, connection.Group, connection.Position, receiveTimeNs, out var gap);
            if (verdict <= Verdict.DeliverAfterGap)
            {
                try
                {
                    if (verdict == Verdict.DeliverAfterGap)
                    {
                        _handler.OnGap(in gap);
                    }

                    _handler.OnFrame(frame, receiveTimeNs);
                }
                catch (Exception e)
                {
                    Counters.HandlerFailuresField++;
                    failure = e;
                }

                if (_arbiter.HasHeld(facts.StreamId))
                {
                    failure ??= ReleaseHeld(facts.StreamId, force: false, receiveTimeNs); // what this frame unblocked
                }
            }
            else if (verdict == Verdict.Release)
            {
                failure = ReleaseHeld(facts.StreamId, force: true, receiveTimeNs);
            }
        }

        if (facts.Type != FrameType.Data || failure is not null || !connection.HasData)
        {
            AfterDelivery(connection, verdict, in facts, frame, failure);
        }
    }

    /// <summary>
    /// Delivers the held-back frames of <paramref name="streamId"/> that are due: those that continue its sequence, or
    /// with <paramref name="force"/> all of them, each gap reported first. Under the delivery lock; returns the first
    /// handler failure (counted), if any.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Exception? ReleaseHeld(int streamId, bool force, long nowNs)
    {
        Exception? failure = null;
        while (_arbiter.TryTakeHeld(streamId, force, nowNs, out var held))
        {
            try
            {
                if (held.HasGap)
                {
                    _handler.OnGap(in held.Gap);
                }

                _handler.OnFrame(held.Frame, held.ReceiveTimeNs);
            }
            catch (Exception e)
            {
                Counters.HandlerFailuresField++;
                failure ??= e;
            }
            finally
            {
                _arbiter.Recycle(ref held);
            }
        }

        return failure;
    }

    /// <summary>
    /// Releases every hold that must end now: its hole waited the hold-off, or the twin it waited for closed (see
    /// <c>StreamArbiter.NextDueHold</c>). The supervisor's pass, and the end of <see cref="StopAsync"/>. Returns the
    /// next hold-off deadline (ns), or <see cref="long.MaxValue"/>.
    /// </summary>
    private long ReleaseDueHolds(long nowNs)
    {
        if (_arbiter.HeldFrames == 0)
        {
            return long.MaxValue;
        }

        Exception? failure = null;
        long deadline;
        lock (_delivery)
        {
            int stream;
            while ((stream = _arbiter.NextDueHold(nowNs)) >= 0)
            {
                failure ??= ReleaseHeld(stream, force: true, nowNs);
            }

            deadline = _arbiter.NextHoldDeadline();
        }

        if (failure is not null)
        {
            BinanceStreamLog.HandlerFailed(_log, failure);
        }

        return deadline;
    }

    /// <summary>Counts a binary message (Binance sends text): dropped.</summary>
    internal void DeliverBinary()
    {
        lock (_delivery)
        {
            _arbiter.CountMalformed(MalformedReason.Binary);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AfterDelivery(BinanceConnection<THandler> connection, Verdict verdict, in FrameFacts facts, ReadOnlySpan<byte> frame, Exception? failure)
    {
        if (failure is not null)
        {
            BinanceStreamLog.HandlerFailed(_log, failure);
        }

        switch (verdict)
        {
            case Verdict.SubscriptionReply:
                connection.OnReply();
                break;
            case Verdict.ErrorReply:
                BinanceStreamLog.ErrorReply(_log, connection.Id, Encoding.UTF8.GetString(frame[..Math.Min(frame.Length, 512)]));
                connection.OnReply();
                break;
            case Verdict.ServerShutdown:
                connection.OnServerShutdown();
                break;
        }

        if (facts.Type == FrameType.Data && !connection.HasData)
        {
            connection.OnFirstData();
        }
    }

    // ---- Connection events -----------------------------------------------------------------------------------------

    internal void Wake()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            _wake.Set();
        }
        catch (ObjectDisposedException)
        {
            // a send that completed after DisposeAsync: nothing left to wake
        }
    }

    internal void OnOpened(BinanceConnection<THandler> connection)
    {
        BinanceStreamLog.Opened(_log, connection.Id, connection.Group, connection.Line, connection.Url);
        Wake(); // SUBSCRIBEs may be waiting for it
    }

    /// <summary>A connection's receive loop ended: the supervisor retires it and decides what follows.</summary>
    internal void OnEnded() => Wake();

    /// <summary>Whether everything the connection has received is delivered (see <c>StreamArbiter.IsCaughtUp</c>).</summary>
    private bool IsCaughtUp(BinanceConnection<THandler> connection)
    {
        lock (_delivery)
        {
            return _arbiter.IsCaughtUp(connection.Group, connection.Position);
        }
    }

    internal void OnKeepAliveTimeout() => Interlocked.Increment(ref Counters.KeepAliveTimeoutsField);

    internal void OnControlSent() => Interlocked.Increment(ref Counters.ControlMessagesSentField);

    // ---- Supervisor ------------------------------------------------------------------------------------------------

    private void Supervise()
    {
        while (!_stopping)
        {
            var waitNs = _supervisionNs;
            try
            {
                var nowNs = WallClock.UnixNanoseconds();
                lock (_state)
                {
                    waitNs = DoWork(nowNs);
                }

                // Outside the state lock: a handler blocked on a full ring must not stall snapshots of the connections.
                waitNs = Math.Min(waitNs, Math.Max(0, ReleaseDueHolds(nowNs) - nowNs));
            }
            catch (Exception e)
            {
                // A bug must not end supervision (and with it every reconnect) or the process: log it and go on.
                BinanceStreamLog.SupervisorFailed(_log, e);
            }

            _wake.WaitOne(TimeSpan.FromTicks(Math.Clamp(waitNs / 100, TimeSpan.TicksPerMillisecond, _supervisionNs / 100)));
        }
    }

    /// <summary>One pass of supervision at time <paramref name="nowNs"/>; returns the ns until the next pass is needed. Under the state lock.</summary>
    private long DoWork(long nowNs)
    {
        ApplyRequests();
        var next = nowNs + _supervisionNs;
        var closeTimeoutNs = ToNs(_options.CloseTimeout);
        for (var i = _closing.Count - 1; i >= 0; i--)
        {
            var closing = _closing[i];
            if (closing.IsClosed)
            {
                Retire(closing);
                _closing.RemoveAt(i);
            }
            else if (nowNs - closing.ClosingSinceNs >= closeTimeoutNs)
            {
                closing.Abort($"no close frame within {_options.CloseTimeout.TotalSeconds:0.###} s");
            }
            else
            {
                next = Math.Min(next, closing.ClosingSinceNs + closeTimeoutNs);
            }
        }

        foreach (var group in _groups)
        {
            foreach (var line in group.Lines)
            {
                next = Math.Min(next, SuperviseLine(group, line, nowNs));
            }
        }

        Summarise(nowNs);
        return Math.Max(0, next - nowNs);
    }

    private long SuperviseLine(StreamGroup group, Line line, long nowNs)
    {
        var next = long.MaxValue;
        if (line.Replacement is { IsClosed: true } failed)
        {
            Retire(failed);
            line.Replacement = null;
            line.ReplacementFailures++;
            line.ReplacementRetryNs = nowNs + ReconnectDelayNs(line.ReplacementFailures);
        }

        if (line.Current is { IsClosed: true } ended)
        {
            Retire(ended);
            line.Current = null;
            if (line.Replacement is { } replacement)
            {
                line.Current = replacement;
                line.Replacement = null;
                line.ReplacementFailures = 0;
                BinanceStreamLog.Replaced(_log, replacement.Id, ended.Id, group.Index, line.Index, " (the old one closed first)");
            }
            else
            {
                line.Attempts = ended.HasData ? 1 : line.Attempts + 1;
                var delayNs = ReconnectDelayNs(line.Attempts);
                line.NextAttemptNs = nowNs + delayNs;
                BinanceStreamLog.Reconnecting(_log, group.Index, line.Index, TimeSpan.FromTicks(delayNs / 100), line.Attempts);
            }
        }

        if (line.Current is null)
        {
            if (nowNs >= line.NextAttemptNs)
            {
                line.Current = Open(group, line, nowNs);
                if (line.Current is not null && line.Opened++ > 0)
                {
                    Counters.ReconnectsField++;
                }
            }

            next = Math.Min(next, line.Current is null ? Math.Max(line.NextAttemptNs, nowNs + TimeSpan.NanosecondsPerTick) : long.MaxValue);
        }

        if (line.Current is { State: BinanceConnectionState.Open } current)
        {
            if (current.HasData)
            {
                line.Attempts = 0;
            }

            next = Math.Min(next, ReplaceIfDue(group, line, current, nowNs));
            next = Math.Min(next, WatchSilence(group, current, nowNs));
        }

        if (line.Replacement is { State: BinanceConnectionState.Open } candidate && line.Current is { } old && old != candidate)
        {
            var ready = candidate.IsReady && IsCaughtUp(candidate);
            var deadline = candidate.OpenedNs + ToNs(_options.ReplacementTimeout);
            if (ready || nowNs >= deadline || old.IsClosed)
            {
                line.Current = candidate;
                line.Replacement = null;
                line.ReplacementFailures = 0;
                lock (_delivery)
                {
                    _arbiter.CloseSlot(old.Group, old.Position); // its lag must not hold anything back any more
                }

                old.BeginClose(ready ? "replaced" : "replaced before its successor was ready", nowNs);
                _closing.Add(old);
                BinanceStreamLog.Replaced(_log, candidate.Id, old.Id, group.Index, line.Index, ready ? string.Empty : " (successor not ready in time)");
            }
            else
            {
                next = Math.Min(next, deadline);
            }
        }

        foreach (var connection in (ReadOnlySpan<BinanceConnection<THandler>?>)[line.Current, line.Replacement])
        {
            if (connection is not null)
            {
                connection.TrySendControl(nowNs);
                next = Math.Min(next, connection.NextControlNs(nowNs));
            }
        }

        return next;
    }

    /// <summary>Opens a replacement when the connection is due for rotation or the server announced its shutdown.</summary>
    private long ReplaceIfDue(StreamGroup group, Line line, BinanceConnection<THandler> current, long nowNs)
    {
        var rotateAtNs = current.OpenedNs + ToNs(_options.RotateAfter);
        if (line.Replacement is not null)
        {
            return long.MaxValue;
        }

        var shutdown = current.ServerShutdown;
        if (!shutdown && nowNs < rotateAtNs)
        {
            return rotateAtNs;
        }

        if (nowNs < line.ReplacementRetryNs)
        {
            return line.ReplacementRetryNs;
        }

        var replacement = Open(group, line, nowNs);
        if (replacement is null)
        {
            return nowNs + _supervisionNs; // both positions still taken by a connection that is closing
        }

        line.Replacement = replacement;
        if (shutdown)
        {
            Counters.ShutdownReplacementsField++;
        }
        else
        {
            Counters.RotationsField++;
        }

        BinanceStreamLog.Replacing(_log, current.Id, group.Index, line.Index, shutdown ? "the server announced its shutdown" : $"open for {_options.RotateAfter}");
        return long.MaxValue;
    }

    /// <summary>Drops a connection that has received nothing for <see cref="BinanceStreamOptions.SilenceTimeout"/>.</summary>
    private long WatchSilence(StreamGroup group, BinanceConnection<THandler> current, long nowNs)
    {
        if (_options.SilenceTimeout == Timeout.InfiniteTimeSpan || group.Streams.Count == 0)
        {
            return long.MaxValue;
        }

        var silenceNs = ToNs(_options.SilenceTimeout);
        var since = Math.Max(current.LastFrameNs, current.OpenedNs);
        if (nowNs - since < silenceNs)
        {
            return since + silenceNs;
        }

        Counters.SilenceTimeoutsField++;
        BinanceStreamLog.Silent(_log, current.Id, _options.SilenceTimeout);
        current.Abort($"no frame for {_options.SilenceTimeout}");
        return long.MaxValue;
    }

    /// <summary>Opens a connection for <paramref name="line"/> at a free position, or returns null if both are taken.</summary>
    private BinanceConnection<THandler>? Open(StreamGroup group, Line line, long nowNs)
    {
        var free = line.Occupants[0] is null ? 0 : line.Occupants[1] is null ? 1 : -1;
        if (free < 0)
        {
            return null;
        }

        var position = (2 * line.Index) + free;
        var plan = BinanceStreamPlan.PlanConnection(_options.UrlForLine(line.Index), group.Streams, _options.MaxUrlLength, _options.MaxStreamsPerControlMessage);
        lock (_delivery)
        {
            _arbiter.OpenSlot(group.Index, position);
        }

        var connection = new BinanceConnection<THandler>(this, _options, ++_nextConnectionId, group.Index, line.Index, position, plan.Url, nowNs);
        foreach (var batch in plan.SubscribeBatches)
        {
            connection.EnqueueControl(subscribe: true, batch);
        }

        line.Occupants[free] = connection;
        Volatile.Write(ref _live, [.. _live, connection]);
        connection.Start();
        return connection;
    }

    /// <summary>A connection is gone: free its position, keep its counts, log why.</summary>
    private void Retire(BinanceConnection<THandler> connection)
    {
        var line = _groups[connection.Group].Lines[connection.Line];
        var index = Array.IndexOf(line.Occupants, connection);
        if (index < 0)
        {
            return; // retired already
        }

        line.Occupants[index] = null;
        lock (_delivery)
        {
            _arbiter.CloseSlot(connection.Group, connection.Position);
        }

        // Counted into the retired totals before it leaves the snapshot: a reader may count it twice for a moment, never
        // lose it.
        Volatile.Write(ref _retiredFrames, _retiredFrames + connection.FramesReceived);
        Volatile.Write(ref _retiredOversized, _retiredOversized + connection.Oversized);
        Volatile.Write(ref _retiredEarlyDuplicates, _retiredEarlyDuplicates + connection.EarlyDuplicates);
        Volatile.Write(ref _retiredPings, _retiredPings + Math.Max(connection.PingsAnswered, 0));
        Volatile.Write(ref _live, [.. _live.Where(c => c != connection)]);
        if (connection.OpenedNs == 0)
        {
            Counters.ConnectFailuresField++;
        }

        BinanceStreamLog.Closed(_log, connection.Id, connection.Group, connection.Line, connection.FramesReceived, connection.CloseReason ?? "closed");
    }

    /// <summary>Exponential delay with jitter for attempt <paramref name="attempt"/> (1 = the first retry).</summary>
    private long ReconnectDelayNs(int attempt) =>
        ReconnectDelayNs(attempt, _options.ReconnectInitialDelay, _options.ReconnectMaxDelay, _options.ReconnectJitter, _random.NextDouble());

    /// <summary>
    /// <c>min(max, initial × 2^(attempt - 1))</c>, less up to <paramref name="jitter"/> of it at random
    /// (<paramref name="random01"/> in [0, 1)).
    /// </summary>
    internal static long ReconnectDelayNs(int attempt, TimeSpan initial, TimeSpan max, double jitter, double random01)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 40);
        var delayNs = Math.Min(ToNs(initial) * Math.Pow(2, exponent), ToNs(max));
        return (long)(delayNs * (1 - (jitter * random01)));
    }

    private void Request(bool subscribe, IEnumerable<string> streams)
    {
        var names = BinanceStreamPlan.NormalizeStreams(streams);
        if (names.Count == 0)
        {
            return;
        }

        _requests.Enqueue((subscribe, names));
        Wake();
    }

    private void ApplyRequests()
    {
        while (_requests.TryDequeue(out var request))
        {
            if (request.Subscribe)
            {
                AddStreams(request.Streams);
            }
            else
            {
                RemoveStreams(request.Streams);
            }
        }
    }

    private void AddStreams(IReadOnlyList<string> streams)
    {
        var added = new Dictionary<StreamGroup, List<string>>();
        var overflow = new List<string>();
        foreach (var stream in streams)
        {
            if (_groupOf.ContainsKey(stream))
            {
                continue;
            }

            StreamGroup? target = null;
            foreach (var group in _groups)
            {
                if (group.Streams.Count < _options.MaxStreamsPerConnection && (target is null || group.Streams.Count < target.Streams.Count))
                {
                    target = group;
                }
            }

            if (target is null)
            {
                overflow.Add(stream);
                continue;
            }

            target.Streams.Add(stream);
            _groupOf.Add(stream, target);
            if (!added.TryGetValue(target, out var list))
            {
                added.Add(target, list = []);
            }

            list.Add(stream);
        }

        var total = added.Values.Sum(l => l.Count) + overflow.Count;
        if (total == 0)
        {
            return;
        }

        var newGroups = BinanceStreamPlan.Partition(overflow, _options.MaxStreamsPerConnection);
        BinanceStreamLog.Subscribing(_log, total, newGroups.Count);
        lock (_delivery)
        {
            foreach (var (group, list) in added)
            {
                foreach (var stream in list)
                {
                    _arbiter.Register(stream, group.Index); // before the SUBSCRIBE: its first frame must find the stream
                }
            }
        }

        foreach (var (group, list) in added)
        {
            EnqueueForLiveConnections(group, subscribe: true, list);
        }

        foreach (var streamsOfGroup in newGroups)
        {
            CreateGroup(streamsOfGroup); // its lines connect in this pass, with the streams in their URLs
        }
    }

    private void RemoveStreams(IReadOnlyList<string> streams)
    {
        var removed = new Dictionary<StreamGroup, List<string>>();
        foreach (var stream in streams)
        {
            if (_groupOf.Remove(stream, out var group))
            {
                group.Streams.Remove(stream);
                if (!removed.TryGetValue(group, out var list))
                {
                    removed.Add(group, list = []);
                }

                list.Add(stream);
            }
        }

        if (removed.Count == 0)
        {
            return;
        }

        BinanceStreamLog.Unsubscribing(_log, removed.Values.Sum(l => l.Count));
        lock (_delivery)
        {
            foreach (var list in removed.Values)
            {
                foreach (var stream in list)
                {
                    if (_arbiter.TryGetStream(stream, out var id))
                    {
                        _arbiter.Deactivate(id);
                    }
                }
            }
        }

        foreach (var (group, list) in removed)
        {
            EnqueueForLiveConnections(group, subscribe: false, list);
        }
    }

    private void EnqueueForLiveConnections(StreamGroup group, bool subscribe, List<string> streams)
    {
        var batches = BinanceStreamPlan.Batch(streams, _options.MaxStreamsPerControlMessage);
        foreach (var line in group.Lines)
        {
            foreach (var connection in (ReadOnlySpan<BinanceConnection<THandler>?>)[line.Current, line.Replacement])
            {
                if (connection is { IsClosed: false })
                {
                    foreach (var batch in batches)
                    {
                        connection.EnqueueControl(subscribe, batch);
                    }
                }
            }
        }
    }

    private void CreateGroup(IReadOnlyList<string> streams)
    {
        var group = new StreamGroup(_groups.Count, streams, _options.Redundancy);
        _groups.Add(group);
        lock (_delivery)
        {
            foreach (var stream in streams)
            {
                _groupOf.Add(stream, group);
                _arbiter.Register(stream, group.Index);
            }
        }
    }

    /// <summary>Logs what the receive loops counted since the last summary (they never log per frame).</summary>
    private void Summarise(long nowNs)
    {
        if (nowNs < _nextSummaryNs)
        {
            return;
        }

        _nextSummaryNs = nowNs + 1_000_000_000;
        var gaps = _arbiter.Gaps;
        if (gaps != _loggedGaps)
        {
            StreamGap latest;
            lock (_delivery)
            {
                latest = _arbiter.LastGap;
            }

            var missing = _arbiter.MissingIds;
            BinanceStreamLog.Gaps(_log, gaps - _loggedGaps, missing - _loggedMissing, gaps, latest.ToString());
            _loggedGaps = gaps;
            _loggedMissing = missing;
        }

        var malformed = _arbiter.MalformedTotal;
        if (malformed != _loggedMalformed)
        {
            BinanceStreamLog.Malformed(_log, malformed - _loggedMalformed, malformed);
            _loggedMalformed = malformed;
        }
    }

    /// <summary>Sums over the connections: lock-free (a snapshot array and fields their owners write), so any thread may ask.</summary>
    private ConnectionTotals ConnectionTotals()
    {
        var totals = new ConnectionTotals
        {
            Frames = Volatile.Read(ref _retiredFrames),
            Oversized = Volatile.Read(ref _retiredOversized),
            EarlyDuplicates = Volatile.Read(ref _retiredEarlyDuplicates),
            Pings = _options.Transport == BinanceWebSocketTransport.ClientWebSocket ? -1 : Volatile.Read(ref _retiredPings),
        };
        foreach (var connection in Volatile.Read(ref _live))
        {
            totals.Pings += Math.Max(connection.PingsAnswered, 0);
            totals.Frames += connection.FramesReceived;
            totals.Oversized += connection.Oversized;
            totals.EarlyDuplicates += connection.EarlyDuplicates;
            if (connection.State is BinanceConnectionState.Open or BinanceConnectionState.Closing)
            {
                totals.Open++;
            }
        }

        return totals;
    }

    private static long ToNs(TimeSpan value) => value == Timeout.InfiniteTimeSpan ? long.MaxValue : value.Ticks * TimeSpan.NanosecondsPerTick;

    /// <summary>One set of at most MaxStreamsPerConnection streams and the lines that carry it.</summary>
    private sealed class StreamGroup(int index, IReadOnlyList<string> streams, int redundancy)
    {
        public int Index { get; } = index;

        public List<string> Streams { get; } = [.. streams];

        public Line[] Lines { get; } = [.. Enumerable.Range(0, redundancy).Select(i => new Line(i))];
    }

    /// <summary>One line of a group: its current connection, the replacement overlapping it, and its reconnect state.</summary>
    private sealed class Line(int index)
    {
        public int Index { get; } = index;

        public BinanceConnection<THandler>? Current { get; set; }

        public BinanceConnection<THandler>? Replacement { get; set; }

        /// <summary>The connections holding the line's two positions, until retired (closing ones included).</summary>
        public BinanceConnection<THandler>?[] Occupants { get; } = new BinanceConnection<THandler>?[2];

        /// <summary>Consecutive attempts that delivered no data.</summary>
        public int Attempts { get; set; }

        public long NextAttemptNs { get; set; }

        public int ReplacementFailures { get; set; }

        public long ReplacementRetryNs { get; set; }

        /// <summary>Connections opened on this line so far.</summary>
        public int Opened { get; set; }
    }
}

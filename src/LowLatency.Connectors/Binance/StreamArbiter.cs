using System.Runtime.CompilerServices;
using LowLatency.Market;

namespace LowLatency.Connectors.Binance;

/// <summary>Why a frame was not delivered as data (counted per reason, never fatal).</summary>
public enum MalformedReason : byte
{
    /// <summary>Not one well-formed JSON object (syntax, nesting deeper than the scanner allows, bytes after it).</summary>
    InvalidJson,

    /// <summary>A market event without the combined-stream wrapper (the client only opens <c>/stream</c> URLs).</summary>
    NotCombined,

    /// <summary>A wrapper whose <c>stream</c> is missing or not a string.</summary>
    MissingStream,

    /// <summary>A payload without its sequence field (<c>t</c>, <c>a</c>, <c>U</c>/<c>u</c>, <c>u</c>, <c>lastUpdateId</c>,
    /// <c>E</c>), with one that is not an integer, or with <c>U</c> above <c>u</c>.</summary>
    MissingSequence,

    /// <summary>An object that is neither a stream frame nor a control reply.</summary>
    Unrecognised,

    /// <summary>A binary WebSocket message (Binance streams send text).</summary>
    Binary,
}

/// <summary>What a frame is, as far as arbitration cares.</summary>
internal enum FrameType : byte
{
    Data,
    SubscriptionReply,
    ErrorReply,
    ServerShutdown,
    Malformed,
}

/// <summary>The arbiter's decision about one frame.</summary>
internal enum Verdict : byte
{
    /// <summary>New data in sequence: deliver.</summary>
    Deliver,

    /// <summary>New data after ids no connection delivered: report the gap, then deliver.</summary>
    DeliverAfterGap,

    /// <summary>Delivered already (by the twin that was ahead): drop.</summary>
    Duplicate,

    /// <summary>
    /// Would leave a hole that a live twin, still behind, is about to fill: kept in the reorder buffer and delivered
    /// (<see cref="StreamArbiter.TryTakeHeld"/>) once the hole is filled or reported.
    /// </summary>
    HeldBack,

    /// <summary>
    /// The hole below this frame is given up (hold-off over, no twin below it, or the reorder buffer full) while
    /// earlier frames of the stream are held: the frame joined them, and the caller releases them all in order with
    /// <see cref="StreamArbiter.TryTakeHeld"/> (force), gaps reported.
    /// </summary>
    Release,

    /// <summary>A stream no longer subscribed (frames still in flight after UNSUBSCRIBE): drop.</summary>
    Unsubscribed,

    /// <summary>A stream never subscribed: drop (it cannot be deduplicated against anything).</summary>
    UnknownStream,

    /// <summary>Counted by reason and dropped.</summary>
    Malformed,

    /// <summary><c>{"result":…,"id":N}</c>: the reply to a SUBSCRIBE/UNSUBSCRIBE.</summary>
    SubscriptionReply,

    /// <summary><c>{"error":{…},"id":N}</c> or <c>{"code":…,"msg":…}</c>.</summary>
    ErrorReply,

    /// <summary><c>{"e":"serverShutdown","E":…}</c>: open a replacement connection at once.</summary>
    ServerShutdown,
}

/// <summary>What <see cref="StreamArbiter.Inspect"/> read from a frame.</summary>
internal struct FrameFacts
{
    public FrameType Type;
    public MalformedReason Reason;
    public BinanceStreamKind Kind;

    /// <summary>The stream's id, or -1 if it is not one the arbiter knows.</summary>
    public int StreamId;

    /// <summary>
    /// The sequence: trade <c>t</c>, aggTrade <c>a</c>, depthUpdate <c>U</c>, bookTicker <c>u</c>, partial depth
    /// <c>lastUpdateId</c>, otherwise the event time <c>E</c> (ms as sent).
    /// </summary>
    public long First;

    /// <summary>depthUpdate <c>u</c>; <see cref="First"/> for every other kind.</summary>
    public long Last;

    /// <summary>kline <c>k.t</c> (orders two klines of one event time); 0 for other kinds.</summary>
    public long Minor;

    /// <summary>A reply's request id; -1 if absent or not a number.</summary>
    public long RequestId;
}

/// <summary>
/// A/B line arbitration for Binance combined streams: of the copies of one frame that the redundant connections
/// receive, the first is delivered and the others dropped, and per stream a jump in the sequence ids is reported as a
/// gap with the exact missing range. Control replies, errors and serverShutdown are recognised and never delivered as
/// data; malformed frames are counted by reason.
/// </summary>
/// <remarks>
/// <para>
/// Ordering per kind (<see cref="BinanceStreamKind"/>): trade, aggTrade and depthUpdate ids are consecutive, so a frame
/// whose ids are all at or below the last delivered one is a duplicate, one that starts at most one above it is
/// delivered, and one that starts further up reveals a gap <c>[last + 1, first - 1]</c>. bookTicker and partial depth
/// ids only increase: anything not above the last is a duplicate, never a gap. Klines, tickers and other events are
/// ordered by event time <c>E</c> (klines then by open time <c>k.t</c>, since a closing and an opening kline may share
/// one <c>E</c>): not later is a duplicate.
/// </para>
/// <para>
/// Hold-off. A connection that (re)joins while its twin is flowing may be ahead of it: its first frame can carry id 500
/// while the twin has delivered 497 and has 498 and 499 in flight. Delivering 500 would report 498–499 as missing and
/// then drop the twin's copies as duplicates, losing them. So a frame that would leave a hole is held back (dropped
/// from this connection) while another live connection of the same stream group has already received the stream and
/// is still below the hole's end: it will fill the hole. Held-back frames are kept, in id order, in a bounded reorder
/// buffer (StreamArbiter.Hold.cs) and delivered as soon as the twin has filled the hole. If the hole is not filled
/// within <c>gapHoldOffNs</c>, or the twin it waits for closes, or the buffer is full, the hole is taken as real:
/// reported as a gap, then the held frames are delivered. The cost is latency, never data: a frame waits at most the
/// hold-off for a lagging twin, and only when the lines disagree (a connection rejoining ahead of its twin, a burst in
/// which the faster one is two or more ids ahead). The same rule covers rotation and start-up. Kinds whose ids are not
/// consecutive cannot show a hole, so for them a connection that has not joined the stream's flow yet (a new one)
/// holds its frames while a live twin is below them, and joins once the twin has reached them (see DecideJoin).
/// </para>
/// <para>
/// Threads: <see cref="Inspect"/> is pure apart from the lock-free stream lookup (<see cref="SymbolTable"/>), so each
/// receive loop scans its frame in parallel; everything else mutates shared state and must run under the client's
/// delivery lock (<see cref="BinanceStreamClient{THandler}"/>), which also orders it with the handler calls. Counters
/// are plain fields written under that lock and read by any thread with <c>Volatile.Read</c> (atomic on 64-bit, at
/// worst a moment stale). They are not padded: every writer already holds the lock whose cache line moves with it, and
/// readers are metrics scrapes.
/// </para>
/// <para>
/// Memory is allocated once: per stream (capacity fixed at construction) the last sequence and hold-off state, and per
/// stream and connection position the last id that position has seen. Slots are (group, position): a group is one set
/// of at most 1024 streams served by <c>redundancy</c> lines, and each line owns two positions so that a rotation's
/// replacement runs beside the connection it replaces.
/// </para>
/// </remarks>
internal sealed partial class StreamArbiter
{
    /// <summary>The last sequence of a stream that has delivered nothing yet.</summary>
    public const long NoSequence = long.MinValue;

    private static readonly int s_malformedReasons = Enum.GetValues<MalformedReason>().Length;

    private readonly SymbolTable _streams;
    private readonly int _positions;
    private readonly long _gapHoldOffNs;

    // Per stream id.
    private readonly long[] _last;
    private readonly long[] _lastMinor;
    private readonly long[] _holdSinceNs; // when a frame of the stream was first held back; 0 = none since the last delivery
    private readonly int[] _group;
    private readonly bool[] _active;
    private readonly string[] _symbols;

    // Per stream id × position: the highest sequence that position has received, valid while _seenEpoch matches the
    // position's current epoch (so a position reused by a new connection starts blank without clearing the arrays).
    private readonly long[] _seen;
    private readonly int[] _seenEpoch;

    // Per stream id × position, for kinds whose ids are not consecutive: the epoch of the connection there once it has
    // joined the stream's flow (its twin has reached the point where it started, see DecideJoin).
    private readonly int[] _joinedEpoch;

    // Per group × position: the epoch of the connection there, 0 while none is live; frames it won.
    private int[] _slotEpoch = new int[16];
    private long[] _slotDelivered = new long[16];
    private int _nextEpoch = 1;

    private long _delivered;
    private long _duplicates;
    private long _heldBack;
    private long _gaps;
    private long _missingIds;
    private long _unknownStreams;
    private long _unsubscribed;
    private long _subscriptionReplies;
    private long _errorReplies;
    private long _serverShutdowns;
    private readonly long[] _malformed = new long[s_malformedReasons];
    private StreamGap _lastGap;

    /// <summary>Creates an arbiter for up to <paramref name="streamCapacity"/> streams.</summary>
    /// <param name="streamCapacity">The most streams ever registered (ids are never reused).</param>
    /// <param name="redundancy">Lines per stream group; each has two positions.</param>
    /// <param name="gapHoldOffNs">How long a hole may wait for a live twin to fill it, in ns.</param>
    /// <param name="maxHeldFrames">The most frames the reorder buffer holds for lagging twins.</param>
    /// <param name="maxHeldBytes">The most bytes it holds.</param>
    /// <param name="maxFrameBytes">The largest frame (sizes the buffer's pool).</param>
    public StreamArbiter(int streamCapacity, int redundancy, long gapHoldOffNs, int maxHeldFrames = 16_384, long maxHeldBytes = 16L << 20, int maxFrameBytes = 4 << 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(streamCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(redundancy, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(gapHoldOffNs);
        _streams = new SymbolTable(streamCapacity);
        _positions = 2 * redundancy;
        _gapHoldOffNs = gapHoldOffNs;
        _last = new long[streamCapacity];
        _lastMinor = new long[streamCapacity];
        _holdSinceNs = new long[streamCapacity];
        _group = new int[streamCapacity];
        _active = new bool[streamCapacity];
        _symbols = new string[streamCapacity];
        _seen = new long[streamCapacity * _positions];
        _seenEpoch = new int[streamCapacity * _positions];
        _joinedEpoch = new int[streamCapacity * _positions];
        InitialiseHold(streamCapacity, maxHeldFrames, maxHeldBytes, maxFrameBytes);
    }

    /// <summary>Connection positions per group (two per line).</summary>
    public int PositionsPerGroup => _positions;

    /// <summary>Streams registered so far (ids 0 … Count - 1).</summary>
    public int StreamCount => _streams.Count;

    public long Delivered => Volatile.Read(ref _delivered);

    public long Duplicates => Volatile.Read(ref _duplicates);

    public long HeldBack => Volatile.Read(ref _heldBack);

    public long Gaps => Volatile.Read(ref _gaps);

    public long MissingIds => Volatile.Read(ref _missingIds);

    public long UnknownStreams => Volatile.Read(ref _unknownStreams);

    public long UnsubscribedFrames => Volatile.Read(ref _unsubscribed);

    public long SubscriptionReplies => Volatile.Read(ref _subscriptionReplies);

    public long ErrorReplies => Volatile.Read(ref _errorReplies);

    public long ServerShutdowns => Volatile.Read(ref _serverShutdowns);

    public long Malformed(MalformedReason reason) => Volatile.Read(ref _malformed[(int)reason]);

    public long MalformedTotal
    {
        get
        {
            long total = 0;
            for (var i = 0; i < _malformed.Length; i++)
            {
                total += Volatile.Read(ref _malformed[i]);
            }

            return total;
        }
    }

    /// <summary>The most recent gap (read under the delivery lock: a struct is not read atomically).</summary>
    public StreamGap LastGap => _lastGap;

    /// <summary>The name of stream <paramref name="streamId"/>.</summary>
    public string StreamName(int streamId) => _streams.GetName(streamId);

    /// <summary>Whether <paramref name="stream"/> was ever registered, and its id.</summary>
    public bool TryGetStream(string stream, out int streamId) => _streams.TryGetId(System.Text.Encoding.UTF8.GetBytes(stream), out streamId);

    /// <summary>
    /// Registers <paramref name="stream"/> (a validated name, see <see cref="BinanceStreamPlan.NormalizeStream"/>) as
    /// subscribed in <paramref name="group"/> and returns its id. A stream subscribed again after an UNSUBSCRIBE starts
    /// from a blank sequence: what happened while it was not subscribed is not a gap. Under the delivery lock.
    /// </summary>
    public int Register(string stream, int group)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(group);
        var id = _streams.GetOrAdd(stream);
        if (id < 0)
        {
            throw new InvalidOperationException(
                id == SymbolTable.Full
                    ? $"More than {_streams.Capacity} streams registered; raise BinanceStreamOptions.StreamCapacity."
                    : $"Stream name '{stream}' is empty or longer than {SymbolTable.MaxSymbolBytes} bytes.");
        }

        if (!_active[id] || _group[id] != group)
        {
            _last[id] = NoSequence;
            _lastMinor[id] = 0;
            DiscardHeld(id);
            _seenEpoch.AsSpan(id * _positions, _positions).Clear();
            _joinedEpoch.AsSpan(id * _positions, _positions).Clear();
        }

        _group[id] = group;
        _symbols[id] ??= BinanceStreamPlan.SymbolOf(stream);
        _active[id] = true;
        return id;
    }

    /// <summary>Marks a stream unsubscribed: its frames still in flight are dropped. Under the delivery lock.</summary>
    public void Deactivate(int streamId)
    {
        _active[streamId] = false;
        DiscardHeld(streamId);
    }

    /// <summary>A new connection takes position <paramref name="position"/> of <paramref name="group"/>. Under the delivery lock.</summary>
    public void OpenSlot(int group, int position)
    {
        var slot = SlotOf(group, position);
        EnsureSlots(slot + 1);
        _slotEpoch[slot] = _nextEpoch++;
        _slotDelivered[slot] = 0;
    }

    /// <summary>The connection at the position is closing or gone: no frame waits for it any more. Under the delivery lock.</summary>
    public void CloseSlot(int group, int position)
    {
        var slot = SlotOf(group, position);
        if (slot < _slotEpoch.Length)
        {
            _slotEpoch[slot] = 0;
        }
    }

    /// <summary>
    /// Whether every frame the connection at the position has received is delivered (by it or another): no stream of
    /// the group has an id it saw beyond the last one delivered, held back for a twin that lags. A replacement is swapped
    /// in only then, because it started at the live present: the connection it replaces may still have frames queued
    /// before that point, and closing it earlier would lose them. Under the delivery lock; O(streams), rotations only.
    /// </summary>
    public bool IsCaughtUp(int group, int position)
    {
        var slot = SlotOf(group, position);
        var epoch = slot < _slotEpoch.Length ? _slotEpoch[slot] : 0;
        if (epoch == 0)
        {
            return true;
        }

        var count = _streams.Count;
        for (var s = 0; s < count; s++)
        {
            var seenIndex = (s * _positions) + position;
            if (_active[s] && _group[s] == group && _seenEpoch[seenIndex] == epoch && _last[s] != NoSequence && _seen[seenIndex] > _last[s])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Frames the connection at the position delivered first (any thread; a moment stale).</summary>
    public long DeliveredBy(int group, int position)
    {
        var slot = SlotOf(group, position);
        var delivered = Volatile.Read(ref _slotDelivered);
        return slot < delivered.Length ? Volatile.Read(ref delivered[slot]) : 0;
    }

    /// <summary>Counts a frame dropped before inspection (binary). Under the delivery lock.</summary>
    public void CountMalformed(MalformedReason reason) => _malformed[(int)reason]++;

    /// <summary><see cref="Inspect"/> then <see cref="Decide"/>: the whole decision for one frame. Under the delivery lock.</summary>
    public Verdict Arbitrate(ReadOnlySpan<byte> frame, int group, int position, long receiveTimeNs, out StreamGap gap)
    {
        Inspect(frame, out var facts);
        return Decide(in facts, frame, group, position, receiveTimeNs, out gap);
    }

    /// <summary>
    /// Whether the frame is certainly a copy of one delivered already, judged without the delivery lock: the common
    /// case of a twin's second copy, which then never waits for the lock (nor for the handler call the first copy may
    /// still be in). False means "not sure": the caller decides under the lock with <see cref="Decide"/>. Records the
    /// sighting for the hold-off rule as <see cref="Decide"/> would. Any thread; the caller counts what it drops.
    /// </summary>
    /// <remarks>
    /// Lock-free reads of state written under the lock: <c>_last[s]</c> is a 64-bit value (atomic on the 64-bit
    /// platforms we run on) that only grows while the stream stays subscribed, so a stale read can only make a frame look
    /// newer than it is and send it to the lock: never a false duplicate. It drops back only when a stream is
    /// subscribed again (<see cref="Register"/>), and a frame of the new subscription cannot race that reset: it arrives
    /// only after the SUBSCRIBE the supervisor sends once <see cref="Register"/> has returned (ordered by the lock's
    /// release and the socket calls in between). The position's own <c>_seen</c> entries are written only by its
    /// connection's receive loop (here and in <see cref="Decide"/>), value then epoch with release stores; a reader under
    /// the lock that sees the epoch sees the value, and one that reads a stale value takes the twin as further behind
    /// and at worst holds a frame back a little longer. Event-time kinds are left to the lock when the times are equal
    /// (the open time breaks the tie).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsSettledDuplicate(in FrameFacts facts, int group, int position)
    {
        var s = facts.StreamId;
        if (facts.Type != FrameType.Data || s < 0)
        {
            return false;
        }

        var last = Volatile.Read(ref _last[s]);
        var duplicate = last != NoSequence && facts.Kind switch
        {
            BinanceStreamKind.Trade or BinanceStreamKind.AggTrade or BinanceStreamKind.DepthUpdate => facts.Last <= last,
            BinanceStreamKind.BookTicker or BinanceStreamKind.PartialDepth => facts.First <= last,
            _ => facts.First < last,
        };
        if (!duplicate)
        {
            return false;
        }

        // The sighting: a twin that only ever trails must still count as having the stream, or a hole on the line ahead
        // would not wait for it. The value first, then the epoch that validates it (release).
        var seenIndex = (s * _positions) + position;
        var slot = SlotOf(group, position);
        var epochs = Volatile.Read(ref _slotEpoch);
        var epoch = (uint)slot < (uint)epochs.Length ? epochs[slot] : 0;
        if (epoch != 0 && (_seenEpoch[seenIndex] != epoch || _seen[seenIndex] < facts.Last))
        {
            Volatile.Write(ref _seen[seenIndex], facts.Last);
            Volatile.Write(ref _seenEpoch[seenIndex], epoch);
        }

        if (epoch != 0 && _joinedEpoch[seenIndex] != epoch)
        {
            Volatile.Write(ref _joinedEpoch[seenIndex], epoch); // a copy of a delivered frame: this connection trails, so it has joined
        }

        return true;
    }

    /// <summary>
    /// Decides what to do with an inspected frame received by the connection at (<paramref name="group"/>,
    /// <paramref name="position"/>) and updates the stream's state. After delivering a <see cref="Verdict.Deliver"/> or
    /// <see cref="Verdict.DeliverAfterGap"/> frame the caller releases what it unblocked (<see cref="HasHeld"/>,
    /// <see cref="TryTakeHeld"/>); after <see cref="Verdict.Release"/> it releases the stream's held frames by force.
    /// <paramref name="frame"/> is copied only when the frame is held back. Under the delivery lock.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Verdict Decide(in FrameFacts facts, ReadOnlySpan<byte> frame, int group, int position, long receiveTimeNs, out StreamGap gap)
    {
        gap = default;
        var s = facts.StreamId;
        if (facts.Type != FrameType.Data || s < 0 || !_active[s] || _group[s] != group)
        {
            return DecideRare(in facts, group);
        }

        var seenIndex = (s * _positions) + position;
        var slot = SlotOf(group, position);
        var epoch = (uint)slot < (uint)_slotEpoch.Length ? _slotEpoch[slot] : 0;
        if (_seenEpoch[seenIndex] != epoch || _seen[seenIndex] < facts.Last)
        {
            _seen[seenIndex] = facts.Last;
            _seenEpoch[seenIndex] = epoch;
        }

        var last = _last[s];
        switch (facts.Kind)
        {
            case BinanceStreamKind.Trade:
            case BinanceStreamKind.AggTrade:
            case BinanceStreamKind.DepthUpdate:
                if (last != NoSequence)
                {
                    if (facts.Last <= last)
                    {
                        _duplicates++;
                        return Verdict.Duplicate;
                    }

                    if (facts.First > last + 1)
                    {
                        return DecideHole(in facts, frame, group, position, slot, receiveTimeNs, out gap);
                    }
                }

                break;
            case BinanceStreamKind.BookTicker:
            case BinanceStreamKind.PartialDepth:
                if (last != NoSequence && facts.First <= last)
                {
                    _duplicates++;
                    _joinedEpoch[seenIndex] = epoch; // it trails its twin: whatever it has, the twin had first
                    return Verdict.Duplicate;
                }

                if (last != NoSequence && _joinedEpoch[seenIndex] != epoch)
                {
                    return DecideJoin(in facts, frame, group, position, slot, receiveTimeNs);
                }

                _joinedEpoch[seenIndex] = epoch;
                break;
            default:
                if (last != NoSequence && (facts.First < last || (facts.First == last && facts.Minor <= _lastMinor[s])))
                {
                    _duplicates++;
                    _joinedEpoch[seenIndex] = epoch;
                    return Verdict.Duplicate;
                }

                if (last != NoSequence && _joinedEpoch[seenIndex] != epoch)
                {
                    return DecideJoin(in facts, frame, group, position, slot, receiveTimeNs);
                }

                _joinedEpoch[seenIndex] = epoch;
                break;
        }

        Accept(in facts, slot);
        return Verdict.Deliver;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Accept(in FrameFacts facts, int slot)
    {
        var s = facts.StreamId;
        _last[s] = facts.Last;
        _lastMinor[s] = facts.Minor;
        _holdSinceNs[s] = 0;
        _delivered++;
        if ((uint)slot < (uint)_slotDelivered.Length)
        {
            _slotDelivered[slot]++;
        }
    }

    /// <summary>
    /// A frame whose first id is beyond the last delivered + 1: hold it back while a live twin is below the hole, or
    /// give the hole up and report it.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Verdict DecideHole(in FrameFacts facts, ReadOnlySpan<byte> frame, int group, int position, int slot, long receiveTimeNs, out StreamGap gap)
    {
        gap = default;
        var s = facts.StreamId;
        var holeEnd = facts.First - 1;
        var holdSince = _holdSinceNs[s];
        var waitedEnough = holdSince != 0 && receiveTimeNs - holdSince >= _gapHoldOffNs;
        if (!waitedEnough && IsAnyTwinBelow(s, group, position, holeEnd))
        {
            if (Hold(in facts, frame, slot, receiveTimeNs, force: false))
            {
                if (holdSince == 0)
                {
                    _holdSinceNs[s] = Math.Max(receiveTimeNs, 1);
                }

                _heldBack++;
                return Verdict.HeldBack;
            }

            _holdOverflows++; // bounded memory before waiting: the hole is reported now
        }

        var head = _heldHead[s];
        if (head != NoEntry && _heldEntries[head].First < facts.First)
        {
            // Earlier frames of the stream are held: they go first, with the gaps between them.
            Hold(in facts, frame, slot, receiveTimeNs, force: true);
            return Verdict.Release;
        }

        gap = ReportGap(s, facts.Kind, holeEnd, receiveTimeNs);
        Accept(in facts, slot);
        return Verdict.DeliverAfterGap;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Verdict DecideRare(in FrameFacts facts, int group)
    {
        switch (facts.Type)
        {
            case FrameType.Malformed:
                _malformed[(int)facts.Reason]++;
                return Verdict.Malformed;
            case FrameType.SubscriptionReply:
                _subscriptionReplies++;
                return Verdict.SubscriptionReply;
            case FrameType.ErrorReply:
                _errorReplies++;
                return Verdict.ErrorReply;
            case FrameType.ServerShutdown:
                _serverShutdowns++;
                return Verdict.ServerShutdown;
        }

        var s = facts.StreamId;
        if (s < 0)
        {
            _unknownStreams++;
            return Verdict.UnknownStream;
        }

        // Inactive, or subscribed in another group: frames in flight from before an UNSUBSCRIBE (or a move).
        _ = group;
        _unsubscribed++;
        return Verdict.Unsubscribed;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int SlotOf(int group, int position) => (group * _positions) + position;

    private void EnsureSlots(int count)
    {
        if (count <= _slotEpoch.Length)
        {
            return;
        }

        var size = Math.Max(count, _slotEpoch.Length * 2);
        var epochs = new int[size];
        var delivered = new long[size];
        _slotEpoch.CopyTo(epochs, 0);
        _slotDelivered.CopyTo(delivered, 0);
        Volatile.Write(ref _slotEpoch, epochs); // IsSettledDuplicate reads it without the lock
        Volatile.Write(ref _slotDelivered, delivered); // DeliveredBy reads it from other threads
    }
}

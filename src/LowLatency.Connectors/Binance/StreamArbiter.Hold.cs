using System.Buffers;
using System.Runtime.CompilerServices;

namespace LowLatency.Connectors.Binance;

/// <summary>A held-back frame taken out of the arbiter for delivery (see <see cref="StreamArbiter.TryTakeHeld"/>).</summary>
internal struct HeldRelease
{
    /// <summary>The frame's bytes (rented; give them back with <see cref="StreamArbiter.Recycle"/>).</summary>
    public byte[] Bytes;

    public int Length;

    /// <summary>When the frame was received (before it waited).</summary>
    public long ReceiveTimeNs;

    /// <summary>Whether <see cref="Gap"/> must be reported before the frame.</summary>
    public bool HasGap;

    public StreamGap Gap;

    public readonly ReadOnlySpan<byte> Frame => Bytes.AsSpan(0, Length);
}

/// <summary>
/// The reorder buffer behind the hold-off rule: a frame that would leave a hole while a live twin is still below it is
/// copied here, in id order per stream, and delivered once the twin has filled the hole (or, after the hold-off, once
/// the hole is reported). Bounded: at most <c>maxHeldFrames</c> frames and <c>maxHeldBytes</c> bytes; a hole that
/// cannot be held within them is reported at once (bounded memory before waiting).
/// </summary>
/// <remarks>
/// Holding is the rare path (a connection rejoining ahead of its twin, a twin stalled for a moment); the steady state
/// never enters it. Entries come from a pool preallocated at construction; bytes from a private
/// <see cref="ArrayPool{T}"/> that keeps what it has handed out, so a warm client allocates nothing here either.
/// Everything runs under the client's delivery lock.
/// </remarks>
internal sealed partial class StreamArbiter
{
    private const int NoEntry = -1;

    private HeldEntry[] _heldEntries = [];
    private int[] _heldHead = [];
    private int[] _heldTail = [];
    private int[] _heldBySeen = []; // per stream × position: frames of that connection held now
    private ArrayPool<byte> _heldPool = ArrayPool<byte>.Shared;
    private int _maxHeldFrames;
    private long _maxHeldBytes;
    private int _freeEntry = NoEntry;
    private int _heldFrames;
    private long _heldBytes;
    private long _holdOverflows;
    private long _releasedHeld;

    /// <summary>Frames held back now, waiting for a twin (any thread; a moment stale).</summary>
    public int HeldFrames => Volatile.Read(ref _heldFrames);

    /// <summary>Bytes of the frames held back now.</summary>
    public long HeldBytes => Volatile.Read(ref _heldBytes);

    /// <summary>Holes reported early because the reorder buffer was full.</summary>
    public long HoldOverflows => Volatile.Read(ref _holdOverflows);

    /// <summary>Held-back frames delivered later (the rest were duplicates by then, or dropped with their stream).</summary>
    public long ReleasedHeld => Volatile.Read(ref _releasedHeld);

    /// <summary>Whether stream <paramref name="streamId"/> has frames held back. Under the delivery lock.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool HasHeld(int streamId) => _heldFrames != 0 && _heldHead[streamId] != NoEntry;

    /// <summary>
    /// Takes the next held frame of <paramref name="streamId"/> that may be delivered now: the first held one if it
    /// continues the stream's sequence, or, with <paramref name="force"/>, whatever comes first, after the gap before it.
    /// Copies delivered meanwhile by a twin are dropped on the way. False when nothing is due; the frames left wait
    /// again, their hold-off counted from <paramref name="nowNs"/>. The caller delivers the frame, then calls
    /// <see cref="Recycle"/>. Under the delivery lock.
    /// </summary>
    public bool TryTakeHeld(int streamId, bool force, long nowNs, out HeldRelease release)
    {
        release = default;
        int entry;
        while ((entry = _heldHead[streamId]) != NoEntry)
        {
            ref var held = ref _heldEntries[entry];
            if (IsStale(streamId, in held))
            {
                // The twin delivered it meanwhile: the connection that held it has reached the flow.
                _duplicates++;
                var stale = held;
                _heldPool.Return(Unlink(streamId, entry));
                MarkJoined(streamId, in stale);
                continue;
            }

            var last = _last[streamId];
            var consecutive = IsConsecutive(held.Kind);
            var due = last == NoSequence
                || (consecutive ? held.First <= last + 1 : !IsAnyTwinBelow(streamId, _group[streamId], excludePosition: -1, held.First - 1));
            if (!due && !force)
            {
                _holdSinceNs[streamId] = Math.Max(nowNs, 1); // progress was made: the rest waits afresh
                return false;
            }

            if (!due && consecutive)
            {
                release.HasGap = true;
                release.Gap = ReportGap(streamId, held.Kind, held.First - 1, nowNs);
            }

            release.Length = held.Length;
            release.ReceiveTimeNs = held.ReceiveTimeNs;
            _last[streamId] = held.Last;
            _lastMinor[streamId] = held.Minor;
            _delivered++;
            _releasedHeld++;
            if ((uint)held.Slot < (uint)_slotDelivered.Length)
            {
                _slotDelivered[held.Slot]++;
            }

            var taken = held;
            release.Bytes = Unlink(streamId, entry);
            MarkJoined(streamId, in taken);
            _holdSinceNs[streamId] = _heldHead[streamId] == NoEntry ? 0 : Math.Max(nowNs, 1);
            return true;
        }

        _holdSinceNs[streamId] = 0;
        return false;
    }

    /// <summary>Gives a released frame's bytes back to the pool. Under the delivery lock.</summary>
    public void Recycle(ref HeldRelease release)
    {
        if (release.Bytes is { } bytes)
        {
            release.Bytes = null!;
            _heldPool.Return(bytes);
        }
    }

    /// <summary>
    /// The next stream whose held frames must be released now (forced): its hole has waited the hold-off, or no live
    /// connection is below the first held frame any more (the twin it waited for has closed), or it is due already. -1
    /// if none. Under the delivery lock; O(streams) while anything is held, nothing otherwise.
    /// </summary>
    public int NextDueHold(long nowNs)
    {
        if (_heldFrames == 0)
        {
            return -1;
        }

        var count = _streams.Count;
        for (var s = 0; s < count; s++)
        {
            var head = _heldHead[s];
            if (head == NoEntry)
            {
                continue;
            }

            ref readonly var held = ref _heldEntries[head];
            var holdSince = _holdSinceNs[s];
            if (_last[s] == NoSequence || IsStale(s, in held) || (IsConsecutive(held.Kind) && held.First <= _last[s] + 1)
                || holdSince == 0 || nowNs - holdSince >= _gapHoldOffNs || !IsAnyTwinBelow(s, _group[s], excludePosition: -1, held.First - 1))
            {
                return s;
            }
        }

        return -1;
    }

    /// <summary>When the earliest hold-off ends (ns), or <see cref="long.MaxValue"/> if nothing is held. Under the delivery lock.</summary>
    public long NextHoldDeadline()
    {
        if (_heldFrames == 0)
        {
            return long.MaxValue;
        }

        var deadline = long.MaxValue;
        var count = _streams.Count;
        for (var s = 0; s < count; s++)
        {
            if (_heldHead[s] != NoEntry && _holdSinceNs[s] != 0)
            {
                deadline = Math.Min(deadline, _holdSinceNs[s] + _gapHoldOffNs);
            }
        }

        return deadline;
    }

    private void InitialiseHold(int streamCapacity, int maxHeldFrames, long maxHeldBytes, int maxFrameBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxHeldFrames);
        ArgumentOutOfRangeException.ThrowIfNegative(maxHeldBytes);
        _maxHeldFrames = maxHeldFrames;
        _maxHeldBytes = maxHeldBytes;
        _heldEntries = new HeldEntry[maxHeldFrames + 1]; // one over the limit: a forced hold of the frame that gives up waiting
        for (var i = 0; i < _heldEntries.Length; i++)
        {
            _heldEntries[i].Next = i + 1 < _heldEntries.Length ? i + 1 : NoEntry;
        }

        _freeEntry = 0;
        _heldHead = new int[streamCapacity];
        _heldTail = new int[streamCapacity];
        _heldBySeen = new int[streamCapacity * _positions];
        _heldHead.AsSpan().Fill(NoEntry);
        _heldTail.AsSpan().Fill(NoEntry);

        // Arrays are kept once returned: after the first holds, holding allocates nothing.
        _heldPool = ArrayPool<byte>.Create(Math.Max(maxFrameBytes, 16), Math.Max(maxHeldFrames + 1, 1));
    }

    /// <summary>
    /// Copies the frame into the reorder buffer in id order. <paramref name="force"/> ignores the limits (by one frame at
    /// most, released at once by the caller). False if it does not fit. A copy of a frame held already is dropped as a
    /// duplicate (and counts as held). Under the delivery lock.
    /// </summary>
    private bool Hold(in FrameFacts facts, ReadOnlySpan<byte> frame, int slot, long receiveTimeNs, bool force)
    {
        var s = facts.StreamId;
        if (!force && (_heldFrames >= _maxHeldFrames || _heldBytes + frame.Length > _maxHeldBytes))
        {
            return false;
        }

        // Find the entry to insert after (the common case: after the tail).
        var after = _heldTail[s];
        if (after != NoEntry && facts.First <= _heldEntries[after].First)
        {
            after = NoEntry;
            for (var e = _heldHead[s]; e != NoEntry && _heldEntries[e].First <= facts.First; e = _heldEntries[e].Next)
            {
                if (_heldEntries[e].First == facts.First && _heldEntries[e].Minor == facts.Minor)
                {
                    _duplicates++;
                    return true; // held already, from another line
                }

                after = e;
            }
        }

        var entry = _freeEntry;
        if (entry == NoEntry)
        {
            return false; // cannot happen: a forced hold is followed by its release before the next
        }

        ref var held = ref _heldEntries[entry];
        _freeEntry = held.Next;
        var bytes = _heldPool.Rent(Math.Max(frame.Length, 1));
        frame.CopyTo(bytes);
        held = new HeldEntry
        {
            Bytes = bytes,
            Length = frame.Length,
            First = facts.First,
            Last = facts.Last,
            Minor = facts.Minor,
            Kind = facts.Kind,
            ReceiveTimeNs = receiveTimeNs,
            Slot = slot,
            Epoch = (uint)slot < (uint)_slotEpoch.Length ? _slotEpoch[slot] : 0,
        };
        if (after == NoEntry)
        {
            held.Next = _heldHead[s];
            _heldHead[s] = entry;
        }
        else
        {
            held.Next = _heldEntries[after].Next;
            _heldEntries[after].Next = entry;
        }

        if (held.Next == NoEntry)
        {
            _heldTail[s] = entry;
        }

        _heldFrames++;
        _heldBytes += frame.Length;
        _heldBySeen[(s * _positions) + (slot % _positions)]++;
        return true;
    }

    /// <summary>Removes the head entry of the stream's list and returns its bytes.</summary>
    private byte[] Unlink(int streamId, int entry)
    {
        ref var held = ref _heldEntries[entry];
        var bytes = held.Bytes!;
        _heldHead[streamId] = held.Next;
        if (held.Next == NoEntry)
        {
            _heldTail[streamId] = NoEntry;
        }

        _heldFrames--;
        _heldBytes -= held.Length;
        _heldBySeen[(streamId * _positions) + (held.Slot % _positions)]--;
        held = new HeldEntry { Next = _freeEntry };
        _freeEntry = entry;
        return bytes;
    }

    /// <summary>Drops every frame held for the stream (unsubscribed, or subscribed afresh).</summary>
    private void DiscardHeld(int streamId)
    {
        int entry;
        while ((entry = _heldHead[streamId]) != NoEntry)
        {
            _unsubscribed++;
            _heldPool.Return(Unlink(streamId, entry));
        }

        _holdSinceNs[streamId] = 0;
    }

    /// <summary>
    /// A frame of a kind whose ids are not consecutive (bookTicker, partial depth, klines, tickers) that is newer than
    /// the last delivered, from a connection that has not joined the stream's flow yet: a line that (re)connected or a
    /// rotation's replacement starts at the live present, possibly ahead of its twin. Delivering it would make the
    /// twin's older updates still in flight stale, and they would be dropped: lost, with no id jump to tell. So it waits
    /// in the reorder buffer while a live twin is below it. The connection joins once its twin has reached a frame it
    /// held (the held copy is then a duplicate and the twin's delivered), or when no twin is below it; from then on it
    /// delivers as it receives. The hold-off and the buffer's bounds apply as to holes.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Verdict DecideJoin(in FrameFacts facts, ReadOnlySpan<byte> frame, int group, int position, int slot, long receiveTimeNs)
    {
        var s = facts.StreamId;
        var holdSince = _holdSinceNs[s];
        var waitedEnough = holdSince != 0 && receiveTimeNs - holdSince >= _gapHoldOffNs;
        if (!waitedEnough && IsAnyTwinBelow(s, group, position, facts.First - 1))
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

            _holdOverflows++;
        }

        var head = _heldHead[s];
        if (head != NoEntry && _heldEntries[head].First < facts.First)
        {
            Hold(in facts, frame, slot, receiveTimeNs, force: true); // earlier held frames go first
            return Verdict.Release;
        }

        _joinedEpoch[(s * _positions) + (slot % _positions)] = (uint)slot < (uint)_slotEpoch.Length ? _slotEpoch[slot] : 0;
        Accept(in facts, slot);
        return Verdict.Deliver;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsConsecutive(BinanceStreamKind kind) =>
        kind is BinanceStreamKind.Trade or BinanceStreamKind.AggTrade or BinanceStreamKind.DepthUpdate;

    /// <summary>Whether a held frame is not newer than what the stream has delivered (the rule of <see cref="Decide"/>).</summary>
    private bool IsStale(int streamId, in HeldEntry held)
    {
        var last = _last[streamId];
        return last != NoSequence && held.Kind switch
        {
            BinanceStreamKind.Trade or BinanceStreamKind.AggTrade or BinanceStreamKind.DepthUpdate => held.Last <= last,
            BinanceStreamKind.BookTicker or BinanceStreamKind.PartialDepth => held.First <= last,
            _ => held.First < last || (held.First == last && held.Minor <= _lastMinor[streamId]),
        };
    }

    /// <summary>
    /// The twin has reached the last frame the connection that held <paramref name="held"/> had waiting (called once
    /// the entry is unlinked): that connection has joined the stream's flow, if it is still there and has nothing
    /// else held. Until then its later frames, further ahead, must keep waiting.
    /// </summary>
    private void MarkJoined(int streamId, in HeldEntry held)
    {
        var seenIndex = (streamId * _positions) + (held.Slot % _positions);
        if (_heldBySeen[seenIndex] == 0 && (uint)held.Slot < (uint)_slotEpoch.Length && _slotEpoch[held.Slot] == held.Epoch)
        {
            _joinedEpoch[seenIndex] = held.Epoch;
        }
    }

    /// <summary>Whether a live connection other than <paramref name="excludePosition"/> has received the stream and is below <paramref name="holeEnd"/>.</summary>
    private bool IsAnyTwinBelow(int streamId, int group, int excludePosition, long holeEnd)
    {
        var baseSlot = SlotOf(group, 0);
        for (var q = 0; q < _positions; q++)
        {
            var twinSlot = baseSlot + q;
            if (q == excludePosition || twinSlot >= _slotEpoch.Length)
            {
                continue;
            }

            var twinEpoch = _slotEpoch[twinSlot];
            var seenIndex = (streamId * _positions) + q;
            if (twinEpoch != 0 && _seenEpoch[seenIndex] == twinEpoch && _seen[seenIndex] < holeEnd)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Records the gap from the stream's last id to <paramref name="holeEnd"/>.</summary>
    private StreamGap ReportGap(int streamId, BinanceStreamKind kind, long holeEnd, long receiveTimeNs)
    {
        var gap = new StreamGap(streamId, _streams.GetName(streamId), _symbols[streamId], kind, _last[streamId] + 1, holeEnd, receiveTimeNs);
        _lastGap = gap;
        _gaps++;
        _missingIds += holeEnd - _last[streamId];
        return gap;
    }

    private struct HeldEntry
    {
        public byte[]? Bytes;
        public int Length;
        public long First;
        public long Last;
        public long Minor;
        public long ReceiveTimeNs;
        public int Slot;
        public int Epoch;
        public int Next;
        public BinanceStreamKind Kind;
    }
}

using LowLatency.Connectors.Binance;

namespace LowLatency.Connectors.Tests.Binance;

/// <summary>
/// Drives a <see cref="StreamArbiter"/> as the client does: a delivered frame is followed by the held-back frames it
/// unblocked, <see cref="Verdict.Release"/> releases the stream's held frames by force, and the supervisor's pass
/// releases holds that are due. Records every frame delivered (copies) and every gap, in delivery order.
/// </summary>
internal sealed class ArbiterDriver(StreamArbiter arbiter, int group = 0)
{
    public List<byte[]> Delivered { get; } = [];

    public List<StreamGap> Gaps { get; } = [];

    /// <summary>Decides one frame received at <paramref name="position"/> and delivers what it lets through.</summary>
    public Verdict Offer(int position, byte[] frame, long nowNs = 1)
    {
        arbiter.Inspect(frame, out var facts);
        var verdict = arbiter.Decide(in facts, frame, group, position, nowNs, out var gap);
        if (verdict is Verdict.Deliver or Verdict.DeliverAfterGap)
        {
            if (verdict == Verdict.DeliverAfterGap)
            {
                Gaps.Add(gap);
            }

            Delivered.Add(frame);
            if (arbiter.HasHeld(facts.StreamId))
            {
                Release(facts.StreamId, force: false, nowNs);
            }
        }
        else if (verdict == Verdict.Release)
        {
            Release(facts.StreamId, force: true, nowNs);
        }

        return verdict;
    }

    /// <summary>The supervisor's pass at <paramref name="nowNs"/>: releases every hold that is due.</summary>
    public void ReleaseDue(long nowNs)
    {
        int stream;
        while ((stream = arbiter.NextDueHold(nowNs)) >= 0)
        {
            Release(stream, force: true, nowNs);
        }
    }

    /// <summary>The trade ids (<c>t</c>) delivered, in order.</summary>
    public List<long> TradeIds() => [.. Delivered.Select(Frames.TradeId)];

    private void Release(int stream, bool force, long nowNs)
    {
        while (arbiter.TryTakeHeld(stream, force, nowNs, out var held))
        {
            if (held.HasGap)
            {
                Gaps.Add(held.Gap);
            }

            Delivered.Add(held.Frame.ToArray());
            arbiter.Recycle(ref held);
        }
    }
}

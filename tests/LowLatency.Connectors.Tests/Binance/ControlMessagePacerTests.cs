using LowLatency.Connectors.Binance;

namespace LowLatency.Connectors.Tests.Binance;

/// <summary>The SUBSCRIBE/UNSUBSCRIBE pacer on a fake clock (times are plain numbers; nothing waits).</summary>
public sealed class ControlMessagePacerTests
{
    private const long Second = 1_000_000_000;

    [Fact]
    public void TryAcquire_LimitReached_NextAllowedWhenTheOldestSendIsAWindowOld()
    {
        var pacer = new ControlMessagePacer(limit: 3, windowNs: Second);

        Assert.True(pacer.TryAcquire(0));
        Assert.True(pacer.TryAcquire(100));
        Assert.True(pacer.TryAcquire(200));
        Assert.False(pacer.TryAcquire(300));
        Assert.Equal(Second, pacer.NextAllowedNs(300));
        Assert.False(pacer.TryAcquire(Second - 1));
        Assert.True(pacer.TryAcquire(Second));
        Assert.Equal(Second + 100, pacer.NextAllowedNs(Second));
        Assert.Equal(4, pacer.Sent);
    }

    [Fact]
    public void NextAllowedNs_BelowTheLimit_Now()
    {
        var pacer = new ControlMessagePacer(limit: 2, windowNs: Second);
        Assert.Equal(5, pacer.NextAllowedNs(5));
        pacer.TryAcquire(5);
        Assert.Equal(6, pacer.NextAllowedNs(6));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void TryAcquire_AnySequenceOfAttempts_NeverMoreThanTheLimitInAnyWindow(int limit)
    {
        var random = new Random(limit);
        var pacer = new ControlMessagePacer(limit, Second);
        var sent = new List<long>();
        var now = 0L;
        for (var attempt = 0; attempt < 5_000; attempt++)
        {
            now += random.Next(4) == 0 ? random.NextInt64(Second) : random.NextInt64(Second / 50); // bursts and pauses
            if (pacer.TryAcquire(now))
            {
                sent.Add(now);
            }
        }

        // The rule Binance enforces: no (limit + 1) messages within any window, wherever it starts.
        for (var i = limit; i < sent.Count; i++)
        {
            Assert.True(sent[i] - sent[i - limit] >= Second, $"{limit + 1} sends within {sent[i] - sent[i - limit]} ns");
        }

        // And it does not starve: demand is higher than the limit most of the time, so sends come close to it.
        Assert.True(sent.Count > now / Second * limit / 2, $"{sent.Count} sends in {now / Second} s");
    }

    [Fact]
    public void TryAcquire_SteadyDemand_LimitPerWindowExactly()
    {
        var pacer = new ControlMessagePacer(limit: 3, windowNs: Second);
        var sent = 0;
        for (var now = 0L; now < 10 * Second; now += Second / 1_000)
        {
            sent += pacer.TryAcquire(now) ? 1 : 0;
        }

        Assert.Equal(30, sent); // 3 per second over 10 s, where a token bucket of 3 would have let 32 through
    }

    [Fact]
    public void Options_SubscribeBudget_LeavesRoomForThePongsClientWebSocketSends()
    {
        Assert.Equal(3, new BinanceStreamOptions().SubscribeBudgetPerSecond);
        Assert.Equal(4, new BinanceStreamOptions { KeepAliveInterval = TimeSpan.Zero }.SubscribeBudgetPerSecond);
        Assert.Throws<ArgumentException>(() => new BinanceStreamOptions { ControlMessagesPerSecond = 2 }.Validate());
        new BinanceStreamOptions { ControlMessagesPerSecond = 2, KeepAliveInterval = TimeSpan.Zero }.Validate();
    }

    [Fact]
    public void ControlWindow_OneSecondAndATenth()
    {
        Assert.Equal(1_100_000_000, BinanceConnection<NoHandler>.ControlWindowNs);
    }

    private struct NoHandler : IBinanceFrameHandler
    {
        public readonly void OnFrame(ReadOnlySpan<byte> frame, long receiveTimeNs)
        {
        }

        public readonly void OnGap(in StreamGap gap)
        {
        }
    }
}

using System.Runtime.CompilerServices;

namespace LowLatency.Market.Tests;

public sealed class MarketEventTests
{
    [Fact]
    public void SizeOf_MarketEvent_IsAtMost256Bytes()
    {
        // The levels live in a separate array; the struct itself is the ring slot and must stay small.
        Assert.InRange(Unsafe.SizeOf<MarketEvent>(), 1, 256);
        Assert.InRange(Unsafe.SizeOf<MarketPayload>(), Unsafe.SizeOf<TickerData>(), Unsafe.SizeOf<TickerData>());
    }

    [Fact]
    public void Create_WithCapacity_PreallocatesLevels()
    {
        var evt = MarketEvent.Create(7);
        Assert.Equal(7, evt.Levels.Length);
        Assert.Equal(MarketEventKind.None, evt.Kind);
        Assert.Equal(-1, evt.SymbolId);
        Assert.Equal(MarketEvent.DefaultLevelCapacity, MarketEvent.Create().Levels.Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => MarketEvent.Create(0));
    }

    [Fact]
    public void BidsAndAsks_SplitLevelsByCounts()
    {
        var evt = MarketEvent.Create(4);
        evt.Levels[0] = new PriceLevel(new Price(1), new Quantity(2));
        evt.Levels[1] = new PriceLevel(new Price(3), new Quantity(4));
        evt.Levels[2] = new PriceLevel(new Price(5), new Quantity(6));
        evt.Payload.Depth.BidCount = 1;
        evt.Payload.Depth.AskCount = 2;
        Assert.Equal(new Price(1), evt.Bids[0].Price);
        Assert.Equal(2, evt.Asks.Length);
        Assert.Equal(new Price(5), evt.Asks[1].Price);
    }
}

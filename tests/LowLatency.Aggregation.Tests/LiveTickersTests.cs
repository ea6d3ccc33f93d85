using LowLatency.Market;
using LowLatency.TestSupport;

namespace LowLatency.Aggregation.Tests;

public sealed class LiveTickersTests
{
    [Fact]
    public void Updates_FromAllThreeSources_CombineIntoOneTicker()
    {
        var tickers = new LiveTickers(8);
        tickers.On24hTicker(2, Price.Parse("100"), Price.Parse("80"), Price.Parse("110"), Price.Parse("75"), Quantity.Parse("1000"), Quantity.Parse("90000"), 1234, 1_000, 1_100);
        tickers.OnTrade(2, Price.Parse("101"), Quantity.Parse("0.5"), 2_000, 2_100);
        tickers.OnBookTicker(2, 77, Price.Parse("100.9"), Quantity.Parse("3"), Price.Parse("101.1"), Quantity.Parse("4"), 2_200);

        ref readonly var t = ref tickers[2];
        Assert.Equal(Price.Parse("101"), t.LastPrice);
        Assert.Equal(Price.Parse("21"), t.PriceChange);
        Assert.Equal(26.25m, t.PriceChangePercent / 1e8m);
        Assert.Equal(Price.Parse("0.2"), t.Spread);
        Assert.Equal(1234, t.TradeCount);
        Assert.Equal(2_000, t.EventTimeNs);
        Assert.Equal(2_200, t.UpdatedAtNs);
    }

    [Fact]
    public void OlderUpdates_AreIgnoredAndCounted()
    {
        var tickers = new LiveTickers(8);
        tickers.OnTrade(0, Price.Parse("10"), Quantity.Parse("1"), 5_000, 5_000);
        tickers.OnTrade(0, Price.Parse("9"), Quantity.Parse("1"), 4_000, 5_100);          // older event time
        tickers.OnBookTicker(0, 10, Price.Parse("9.9"), Quantity.Parse("1"), Price.Parse("10.1"), Quantity.Parse("1"), 5_200);
        tickers.OnBookTicker(0, 9, Price.Parse("1"), Quantity.Parse("1"), Price.Parse("2"), Quantity.Parse("1"), 5_300);   // older update id

        Assert.Equal(Price.Parse("10"), tickers[0].LastPrice);
        Assert.Equal(Price.Parse("9.9"), tickers[0].BidPrice);
        Assert.Equal(2, tickers.StaleUpdates);
        Assert.Equal(0, tickers[0].PriceChangePercent); // no 24 h ticker yet
    }

    [Fact]
    public void Updates_AllocateNothing()
    {
        var tickers = new LiveTickers(64);
        Allocations.AssertNone(
            () =>
            {
                for (var i = 1; i <= 10_000; i++)
                {
                    tickers.OnTrade(i % 64, new Price(i), new Quantity(1), i, i);
                    tickers.OnBookTicker(i % 64, i, new Price(i), new Quantity(1), new Price(i + 1), new Quantity(1), i);
                }
            },
            "ticker updates");
    }
}

using LowLatency.Market;
using LowLatency.TestSupport;

namespace LowLatency.Aggregation.Tests;

public sealed class CandleMetricsTests
{
    private static Candle Closed(int symbol, string open, string close, string volume = "10", string takerBuy = "4") => new()
    {
        SymbolId = symbol,
        IntervalIndex = 0,
        Open = Price.Parse(open),
        Close = Price.Parse(close),
        Volume = Quantity.Parse(volume),
        TakerBuyVolume = Quantity.Parse(takerBuy),
    };

    [Fact]
    public void OnCandleClosed_ChangeAndBuySellRatio()
    {
        var calculator = new CandleMetricsCalculator(4, 1);
        var m = calculator.OnCandleClosed(Closed(0, "100", "103"));
        Assert.Equal(3.0, m.PriceChangePercent, 12);
        Assert.Equal(4.0 / 6.0, m.BuySellRatio, 12);
        Assert.False(m.HasLogReturn);
        Assert.True(double.IsNaN(m.RollingVolatility));

        Assert.Equal(double.PositiveInfinity, calculator.OnCandleClosed(Closed(1, "1", "1", "5", "5")).BuySellRatio);
        Assert.True(double.IsNaN(calculator.OnCandleClosed(Closed(2, "1", "1", "0", "0")).BuySellRatio));
    }

    [Fact]
    public void RollingVolatility_IsTheSampleStdOfTheLastWindowLogReturns()
    {
        var calculator = new CandleMetricsCalculator(2, 1, window: 3);
        string[] closes = ["100", "101", "99", "102", "102", "98.5"];
        var metrics = closes.Select(c => calculator.OnCandleClosed(Closed(1, c, c))).ToList();

        var returns = closes.Skip(1).Select((c, i) => Math.Log(double.Parse(c, System.Globalization.CultureInfo.InvariantCulture) / double.Parse(closes[i], System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        for (var i = 2; i < closes.Length; i++)
        {
            var window = returns[Math.Max(0, i - 3)..i];
            var mean = window.Average();
            var expected = Math.Sqrt(window.Sum(r => (r - mean) * (r - mean)) / (window.Length - 1));
            Assert.Equal(expected, metrics[i].RollingVolatility, 12);
            Assert.Equal(window.Length, metrics[i].RollingCount);
        }

        // Other symbols keep their own history.
        Assert.False(calculator.OnCandleClosed(Closed(0, "5", "5")).HasLogReturn);
    }

    [Fact]
    public void OnCandleClosed_AllocatesNothing()
    {
        var calculator = new CandleMetricsCalculator(16, 1);
        var candle = Closed(3, "100", "101");
        Allocations.AssertNone(
            () =>
            {
                for (var i = 0; i < 10_000; i++)
                {
                    candle.Close = new Price(10_000_000_000 + i);
                    calculator.OnCandleClosed(candle);
                }
            },
            "candle metrics");
    }
}

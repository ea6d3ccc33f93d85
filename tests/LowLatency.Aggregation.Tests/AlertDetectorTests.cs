using LowLatency.Market;
using LowLatency.TestSupport;

namespace LowLatency.Aggregation.Tests;

public sealed class AlertDetectorTests
{
    private struct CollectingSink : IAlertSink
    {
        public List<Alert> Alerts;

        public readonly void OnAlert(in Alert alert) => Alerts.Add(alert);
    }

    [Theory]
    [InlineData("60000", "1.66666666", false)] // 99,999.9996
    [InlineData("60000", "1.66666667", true)]  // 100,000.0002
    [InlineData("100000", "1", false)]         // exactly the threshold is not above it
    public void OnTrade_NotionalAboveThreshold_IsAWhale(string price, string quantity, bool expected)
    {
        var detector = new AlertDetector();
        var sink = new CollectingSink { Alerts = [] };
        Assert.Equal(expected, detector.OnTrade(3, 42, Price.Parse(price), Quantity.Parse(quantity), 1_000, ref sink));
        if (expected)
        {
            var alert = Assert.Single(sink.Alerts);
            Assert.Equal(AlertKind.WhaleTrade, alert.Kind);
            Assert.Equal(42, alert.TradeId);
            Assert.Equal(100_000m, alert.Threshold / 1e8m);
            Assert.True(alert.Value > alert.Threshold);
        }
    }

    private static Candle Minute(string open, string close, decimal quoteVolume) => new()
    {
        SymbolId = 1,
        IntervalNs = 60_000_000_000,
        OpenTimeNs = 120_000_000_000,
        Open = Price.Parse(open),
        Close = Price.Parse(close),
        QuoteVolumeRaw = (Int128)(long)(quoteVolume * 1e8m) * 100_000_000,
        FirstTradeId = 7,
    };

    [Fact]
    public void OnCandleClosed_VolumeAndPriceSpikes_AreDetectedOnOneMinuteCandlesOnly()
    {
        var detector = new AlertDetector();
        var sink = new CollectingSink { Alerts = [] };

        Assert.Equal(0, detector.OnCandleClosed(Minute("100", "102", 1_000_000m), ref sink)); // exactly 2 %, exactly 1 M
        Assert.Equal(1, detector.OnCandleClosed(Minute("100", "102.00000001", 10m), ref sink));
        Assert.Equal(1, detector.OnCandleClosed(Minute("100", "97.9", 10m), ref sink));      // down moves count too
        Assert.Equal(1, detector.OnCandleClosed(Minute("100", "100", 1_000_000.01m), ref sink));
        var second = Minute("100", "150", 5_000_000m);
        second.IntervalNs = 1_000_000_000;
        Assert.Equal(0, detector.OnCandleClosed(second, ref sink));

        Assert.Equal([AlertKind.PriceSpike, AlertKind.PriceSpike, AlertKind.VolumeSpike], sink.Alerts.Select(a => a.Kind));
        Assert.Equal(2.1m, sink.Alerts[1].Value / 1e8m);
    }

    [Fact]
    public void AlertId_IsDeterministicAndDistinguishesKinds()
    {
        var detector = new AlertDetector();
        var first = new CollectingSink { Alerts = [] };
        var again = new CollectingSink { Alerts = [] };
        detector.OnCandleClosed(Minute("100", "110", 2_000_000m), ref first);
        detector.OnCandleClosed(Minute("100", "110", 2_000_000m), ref again);
        Assert.Equal(first.Alerts.Select(a => a.Id), again.Alerts.Select(a => a.Id));
        Assert.NotEqual(first.Alerts[0].Id, first.Alerts[1].Id);
    }

    [Fact]
    public void Thresholds_AreConfigurable()
    {
        var detector = new AlertDetector(new AlertOptions { WhaleNotional = 10m, PriceSpikePercent = 0.5m, VolumeSpikeQuoteVolume = 1m });
        var sink = new CollectingSink { Alerts = [] };
        Assert.True(detector.OnTrade(0, 1, Price.Parse("11"), Quantity.Parse("1"), 0, ref sink));
        Assert.Equal(2, detector.OnCandleClosed(Minute("100", "100.6", 2m), ref sink));
    }

    private struct CountingSink : IAlertSink
    {
        public int Count;

        public void OnAlert(in Alert alert) => Count++;
    }

    [Fact]
    public void Detection_AllocatesNothing()
    {
        var detector = new AlertDetector();
        var sink = new CountingSink();
        var candle = Minute("100", "110", 2_000_000m);
        Allocations.AssertNone(
            () =>
            {
                for (var i = 0; i < 10_000; i++)
                {
                    detector.OnTrade(0, i, new Price(6_000_000_000_000), new Quantity(200_000_000 + i), i, ref sink);
                    detector.OnCandleClosed(candle, ref sink);
                }
            },
            "alert detection");
        Assert.True(sink.Count > 0);
    }
}

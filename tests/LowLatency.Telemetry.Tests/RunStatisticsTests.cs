namespace LowLatency.Telemetry.Tests;

public sealed class RunStatisticsTests
{
    [Fact]
    public void Of_OddCount_MedianIsMiddleValue()
    {
        RunStatistics statistics = RunStatistics.Of([160.2, 140.1, 152.3]);

        Assert.Equal(3, statistics.Runs);
        Assert.Equal(152.3, statistics.Median);
        Assert.Equal(140.1, statistics.Min);
        Assert.Equal(160.2, statistics.Max);
        Assert.Equal((160.2 + 140.1 + 152.3) / 3, statistics.Mean, 12);
    }

    [Fact]
    public void Of_EvenCount_MedianIsAverageOfMiddleValues()
    {
        RunStatistics statistics = RunStatistics.Of([40, 10, 30, 20]);

        Assert.Equal(25, statistics.Median);
        Assert.Equal(10, statistics.Min);
        Assert.Equal(40, statistics.Max);
        Assert.Equal(25, statistics.Mean);
    }

    [Fact]
    public void Of_SingleRun_HasZeroSpread()
    {
        RunStatistics statistics = RunStatistics.Of([7.5]);

        Assert.Equal(7.5, statistics.Median);
        Assert.Equal(0, statistics.SpreadPercent);
    }

    [Fact]
    public void SpreadPercent_IsRangeOverMedian()
    {
        RunStatistics statistics = RunStatistics.Of([90, 100, 110]);

        Assert.Equal(20, statistics.SpreadPercent, 12);
    }

    [Fact]
    public void SpreadPercent_ZeroMedianWithDifferentRuns_IsInfinity()
    {
        Assert.Equal(double.PositiveInfinity, RunStatistics.Of([-1, 0, 1]).SpreadPercent);
    }

    [Fact]
    public void ToString_PrintsMedianRangeAndHalfSpread()
    {
        RunStatistics statistics = RunStatistics.Of([152.3, 140.1, 160.2]);

        Assert.Equal("median 152.3 (min 140.1, max 160.2, spread ±6.6%)", statistics.ToString());
    }

    [Fact]
    public void Of_Empty_Throws()
    {
        Assert.Throws<ArgumentException>(() => RunStatistics.Of([]));
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Of_NonFiniteRun_Throws(double run)
    {
        Assert.Throws<ArgumentException>(() => RunStatistics.Of([1, run, 2]));
    }
}

namespace LowLatency.Telemetry.Tests;

public sealed class LatencyHistogramTests
{
    // Default precision: 11 sub-bucket bits keep every value within 2^-10 of itself.
    private const double RelativePrecision = 1.0 / 1024;

    [Fact]
    public void Constructor_DefaultConfiguration_Uses32BucketsOf1024Counts()
    {
        var histogram = new LatencyHistogram();

        Assert.Equal(LatencyHistogram.DefaultHighestTrackableValue, histogram.HighestTrackableValue);
        Assert.Equal(11, histogram.SubBucketBits);
        // 2^41 < 1 h in ns < 2^42: buckets 0..31, plus bucket 0's lower half = 33 halves of 1024 counts (264 KiB).
        Assert.Equal(33 * 1024, histogram.CountsLength);
    }

    [Theory]
    [InlineData(0, 11)]
    [InlineData(-1, 11)]
    [InlineData(1000, 1)]
    [InlineData(1000, 19)]
    public void Constructor_InvalidConfiguration_Throws(long highestTrackableValue, int subBucketBits)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LatencyHistogram(highestTrackableValue, subBucketBits));
    }

    [Theory]
    [InlineData(50)]
    [InlineData(90)]
    [InlineData(99)]
    [InlineData(99.9)]
    [InlineData(99.99)]
    public void GetValueAtPercentile_Uniform1To1Million_WithinPrecisionAboveExact(double percentile)
    {
        var histogram = new LatencyHistogram();
        for (long value = 1; value <= 1_000_000; value++)
        {
            histogram.Record(value);
        }

        // With values 1..N the sample at rank ceil(p·N) is the rank itself.
        long exact = (long)Math.Round(percentile / 100 * 1_000_000);
        long actual = histogram.GetValueAtPercentile(percentile);

        // Upper-bound representative: never below the exact value, at most one bucket width above it.
        Assert.InRange(actual, exact, exact + (long)(exact * RelativePrecision));
        Assert.True(Math.Abs(actual - exact) / (double)exact <= 0.001, $"p{percentile}: {actual} vs {exact}");
    }

    [Fact]
    public void Record_Uniform1To1Million_MinMaxCountMeanAreExact()
    {
        var histogram = new LatencyHistogram();
        for (long value = 1; value <= 1_000_000; value++)
        {
            histogram.Record(value);
        }

        Assert.Equal(1_000_000, histogram.TotalCount);
        Assert.Equal(1, histogram.Min);
        Assert.Equal(1_000_000, histogram.Max);
        Assert.Equal(500_000.5, histogram.Mean);
        Assert.Equal(1_000_000, histogram.GetValueAtPercentile(100));
        Assert.Equal(0, histogram.OverflowCount);
        Assert.Equal(0, histogram.NegativeCount);
    }

    [Fact]
    public void Record_ValuesFrom1NsTo10s_EachBucketRepresentativeWithinPrecision()
    {
        var histogram = new LatencyHistogram();
        foreach (long value in ValuesAcrossMagnitudes())
        {
            histogram.Reset();
            histogram.Record(value);
            // A second, far larger value keeps Max from capping the representative, so the bucket itself is checked.
            histogram.Record(100_000_000_000);

            long representative = histogram.GetValueAtPercentile(50);

            Assert.InRange(representative, value, value + (long)(value * RelativePrecision));
        }
    }

    [Fact]
    public void Record_ValuesBelowSubBucketCount_AreExact()
    {
        var histogram = new LatencyHistogram();
        for (long value = 0; value < 2048; value++)
        {
            histogram.Reset();
            histogram.Record(value);
            histogram.Record(1_000_000);

            Assert.Equal(value, histogram.GetValueAtPercentile(50));
        }
    }

    [Fact]
    public void Record_AboveHighestTrackableValue_ClampsAndCountsOverflow()
    {
        var histogram = new LatencyHistogram(highestTrackableValue: 1_000_000);
        histogram.Record(10);
        histogram.Record(5_000_000);
        histogram.Record(long.MaxValue);

        Assert.Equal(3, histogram.TotalCount);
        Assert.Equal(2, histogram.OverflowCount);
        Assert.Equal(0, histogram.NegativeCount);
        Assert.Equal(1_000_000, histogram.Max);
        Assert.Equal(1_000_000, histogram.GetValueAtPercentile(100));
        Assert.Equal(1_000_000, histogram.GetValueAtPercentile(99));
        Assert.Equal((10 + 2 * 1_000_000) / 3.0, histogram.Mean);
    }

    [Fact]
    public void Record_AtHighestTrackableValue_IsNotOverflow()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(LatencyHistogram.DefaultHighestTrackableValue);

        Assert.Equal(0, histogram.OverflowCount);
        Assert.Equal(LatencyHistogram.DefaultHighestTrackableValue, histogram.Max);
    }

    [Fact]
    public void Record_HighestTrackableValueIsLongMaxValue_RecordsLongMaxValue()
    {
        var histogram = new LatencyHistogram(long.MaxValue);
        histogram.Record(long.MaxValue);
        histogram.Record(1);

        Assert.Equal(0, histogram.OverflowCount);
        Assert.Equal(long.MaxValue, histogram.GetValueAtPercentile(100));
        Assert.Equal(long.MaxValue, histogram.GetValueAtPercentile(75));
        Assert.Equal(1, histogram.GetValueAtPercentile(50));
    }

    [Fact]
    public void Record_NegativeValue_RecordsZeroAndCountsNegative()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(-5);
        histogram.Record(long.MinValue);
        histogram.Record(100);

        Assert.Equal(3, histogram.TotalCount);
        Assert.Equal(2, histogram.NegativeCount);
        Assert.Equal(0, histogram.OverflowCount);
        Assert.Equal(0, histogram.Min);
        Assert.Equal(100, histogram.Max);
        Assert.Equal(0, histogram.GetValueAtPercentile(50));
        Assert.Equal(100 / 3.0, histogram.Mean);
    }

    [Fact]
    public void RecordValues_Count_EqualsRecordingEachValue()
    {
        var batched = new LatencyHistogram(1_000_000);
        var single = new LatencyHistogram(1_000_000);
        long[] values = [3, 4_000, 123_456, 2_000_000, -7];
        foreach (long value in values)
        {
            batched.RecordValues(value, 5);
            for (int i = 0; i < 5; i++)
            {
                single.Record(value);
            }
        }

        Assert.Equal(single.Summarize(), batched.Summarize());
        Assert.Equal(5, batched.OverflowCount);
        Assert.Equal(5, batched.NegativeCount);
        Assert.Equal(25, batched.TotalCount);
    }

    [Fact]
    public void RecordValues_ZeroCount_RecordsNothing()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(50);
        histogram.RecordValues(1, 0);
        histogram.RecordValues(1_000_000, 0);

        Assert.Equal(1, histogram.TotalCount);
        Assert.Equal(50, histogram.Min);
        Assert.Equal(50, histogram.Max);
    }

    [Fact]
    public void RecordValues_NegativeCount_Throws()
    {
        var histogram = new LatencyHistogram();

        Assert.Throws<ArgumentOutOfRangeException>(() => histogram.RecordValues(10, -1));
        Assert.Equal(0, histogram.TotalCount);
    }

    [Fact]
    public void GetValueAtPercentile_Empty_ReturnsZero()
    {
        var histogram = new LatencyHistogram();

        Assert.Equal(0, histogram.GetValueAtPercentile(50));
        Assert.Equal(0, histogram.GetValueAtPercentile(100));
        Assert.Equal(0, histogram.Min);
        Assert.Equal(0, histogram.Max);
        Assert.Equal(0, histogram.Mean);
        Assert.Equal(default, histogram.Summarize());
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(100.1)]
    [InlineData(double.NaN)]
    public void GetValueAtPercentile_OutOfRange_Throws(double percentile)
    {
        var histogram = new LatencyHistogram();
        histogram.Record(1);

        Assert.Throws<ArgumentOutOfRangeException>(() => histogram.GetValueAtPercentile(percentile));
    }

    [Fact]
    public void GetValueAtPercentile_Zero_ReturnsBucketOfMin()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(1_000_000);
        histogram.Record(7);

        Assert.Equal(7, histogram.GetValueAtPercentile(0));
    }

    [Fact]
    public void GetValueAtPercentile_NeverExceedsMax()
    {
        var histogram = new LatencyHistogram();
        // 1,000,001 sits in a bucket 512 wide; its highest equivalent value is above it, Max caps that.
        histogram.Record(1_000_001);

        Assert.Equal(1_000_001, histogram.GetValueAtPercentile(50));
    }

    [Fact]
    public void Summarize_KnownDistribution_ReportsEveryFigure()
    {
        var histogram = new LatencyHistogram();
        histogram.RecordValues(100, 9_000);
        histogram.RecordValues(1_000, 900);
        histogram.RecordValues(10_000, 90);
        histogram.RecordValues(100_000, 9);
        histogram.RecordValues(1_000_000, 1);

        LatencySummary summary = histogram.Summarize();

        Assert.Equal(10_000, summary.Count);
        Assert.Equal(100, summary.Min);
        Assert.Equal(100, summary.P50);
        Assert.Equal(100, summary.P90);
        Assert.InRange(summary.P99, 1_000, 1_000 + 1);
        Assert.InRange(summary.P999, 10_000, 10_000 + 10);
        Assert.InRange(summary.P9999, 100_000, 100_000 + 100);
        Assert.Equal(1_000_000, summary.Max);
        Assert.Equal((100 * 9_000 + 1_000 * 900 + 10_000 * 90 + 100_000 * 9 + 1_000_000) / 10_000.0, summary.Mean);
        Assert.StartsWith("count 10000, min 100, mean 460.0, p50 100, p90 100, p99 ", summary.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Reset_AfterRecording_ForgetsEverything()
    {
        var histogram = new LatencyHistogram(1_000);
        histogram.Record(5);
        histogram.Record(5_000);
        histogram.Record(-5);

        histogram.Reset();

        Assert.Equal(0, histogram.TotalCount);
        Assert.Equal(0, histogram.OverflowCount);
        Assert.Equal(0, histogram.NegativeCount);
        Assert.Equal(default, histogram.Summarize());

        histogram.Record(42);
        Assert.Equal(42, histogram.Min);
        Assert.Equal(42, histogram.Max);
        Assert.Equal(42, histogram.GetValueAtPercentile(50));
    }

    [Fact]
    public void Add_TwoHalves_EqualsRecordingIntoOne()
    {
        var whole = new LatencyHistogram(10_000_000);
        var first = new LatencyHistogram(10_000_000);
        var second = new LatencyHistogram(10_000_000);
        var random = new Random(42);
        for (int i = 0; i < 100_000; i++)
        {
            // Log-uniform over ~1 .. 2^25 so the values exercise many buckets, overflow and a few negatives.
            long value = (long)Math.Pow(2, random.NextDouble() * 25) - (i % 1000 == 0 ? 10 : 0);
            whole.Record(value);
            (i % 3 == 0 ? first : second).Record(value);
        }

        first.Add(second);

        Assert.Equal(whole.Summarize(), first.Summarize());
        Assert.Equal(whole.OverflowCount, first.OverflowCount);
        Assert.Equal(whole.NegativeCount, first.NegativeCount);
        Assert.True(whole.OverflowCount > 0 && whole.NegativeCount > 0, "the data should exercise both clamps");
        for (double percentile = 0; percentile <= 100; percentile += 0.5)
        {
            Assert.Equal(whole.GetValueAtPercentile(percentile), first.GetValueAtPercentile(percentile));
        }
    }

    [Fact]
    public void Add_EmptyIntoRecorded_KeepsMinAndMax()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(10);
        histogram.Record(20);

        histogram.Add(new LatencyHistogram());

        Assert.Equal(2, histogram.TotalCount);
        Assert.Equal(10, histogram.Min);
        Assert.Equal(20, histogram.Max);
    }

    [Theory]
    [InlineData(1_000_000, 11)]
    [InlineData(LatencyHistogram.DefaultHighestTrackableValue, 10)]
    public void Add_DifferentConfiguration_Throws(long highestTrackableValue, int subBucketBits)
    {
        var histogram = new LatencyHistogram();
        var other = new LatencyHistogram(highestTrackableValue, subBucketBits);
        other.Record(1);

        Assert.Throws<ArgumentException>(() => histogram.Add(other));
        Assert.Equal(0, histogram.TotalCount);
    }

    [Fact]
    public void Record_AfterWarmUp_AllocatesNothing()
    {
        var histogram = new LatencyHistogram(1_000_000_000);
        long[] values = new long[1_000_000];
        ulong state = 0x9E3779B97F4A7C15;
        for (int i = 0; i < values.Length; i++)
        {
            // xorshift64 spread over ~40 bits so some values overflow, plus a few negatives: every clamp path runs.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values[i] = i % 4096 == 0 ? -1_000 : (long)(state >> (24 + (int)(state & 15)));
        }

        RecordAll(histogram, values);
        histogram.Reset();

        long before = GC.GetAllocatedBytesForCurrentThread();
        RecordAll(histogram, values);
        long after = GC.GetAllocatedBytesForCurrentThread();

        Assert.Equal(0, after - before);
        Assert.Equal(values.Length + values.Length / 10, histogram.TotalCount);
        Assert.True(histogram.OverflowCount > 0 && histogram.NegativeCount > 0, "every clamp path should have run");
    }

    private static void RecordAll(LatencyHistogram histogram, long[] values)
    {
        foreach (long value in values)
        {
            histogram.Record(value);
        }

        for (int i = 0; i < values.Length; i += 10)
        {
            histogram.RecordValues(values[i], 1);
        }
    }

    private static IEnumerable<long> ValuesAcrossMagnitudes()
    {
        // Every power of two from 1 ns to past 10 s, its neighbours (the bucket edges), and decimal steps 1, 2, 5.
        for (int bit = 0; bit <= 34; bit++)
        {
            long power = 1L << bit;
            yield return power - 1;
            yield return power;
            yield return power + 1;
            yield return power + power / 3;
        }

        for (long decade = 1; decade <= 10_000_000_000; decade *= 10)
        {
            yield return decade;
            yield return 2 * decade;
            yield return 5 * decade;
            yield return 9_999 * decade / 1_000;
        }
    }
}

using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LowLatency.Telemetry;

/// <summary>
/// A log-linear histogram of non-negative <see cref="long"/> values (typically nanoseconds), in the design of
/// HdrHistogram: each power of two is split into 2^(<see cref="SubBucketBits"/> - 1) linear sub-buckets, so every
/// recorded value is kept with a relative error of at most 2^-(SubBucketBits - 1) (1/1024 ≈ 0.1% by default)
/// in constant memory.
/// </summary>
/// <remarks>
/// <para>
/// Single writer, not thread-safe: one thread records (the consumer that measures the latency); read
/// percentiles on that thread or after it has stopped, or give each thread its own histogram and
/// <see cref="Add"/> them at the end of a run. There are no volatile or interlocked fields on purpose, so a
/// record costs a few plain stores.
/// </para>
/// <para>
/// Recording never throws and never allocates. The histogram holds values in [0, <see cref="HighestTrackableValue"/>]:
/// a value above that range is recorded as <see cref="HighestTrackableValue"/> and counted in
/// <see cref="OverflowCount"/>; a negative value (a clock step or skew between two timestamps) is recorded as 0 and
/// counted in <see cref="NegativeCount"/>. Clamped values still count in <see cref="TotalCount"/>, so the count always
/// equals the number of samples, and <see cref="Min"/>, <see cref="Max"/> and <see cref="Mean"/> describe the clamped
/// values, consistently with the percentiles.
/// </para>
/// <para>
/// Layout, for b = <see cref="SubBucketBits"/> and half = 2^(b-1): bucket 0 covers [0, 2^b) at resolution 1;
/// bucket k ≥ 1 covers [2^(b-1+k), 2^(b+k)) at resolution 2^k. The lower half of bucket k would repeat bucket k-1
/// at a coarser resolution, so only its upper half is stored: bucket k occupies counts[(k+1)·half, (k+2)·half).
/// The default configuration (1 hour in ns, 11 bits) has 32 buckets, 33,792 counts, 264 KiB.
/// </para>
/// </remarks>
public sealed class LatencyHistogram
{
    /// <summary>Default <see cref="HighestTrackableValue"/>: one hour in nanoseconds.</summary>
    public const long DefaultHighestTrackableValue = 3_600_000_000_000;

    /// <summary>Default <see cref="SubBucketBits"/>: 2048 linear sub-buckets, relative error ≤ 1/1024.</summary>
    public const int DefaultSubBucketBits = 11;

    /// <summary>Smallest accepted <see cref="SubBucketBits"/>; below it the error (≥ 100%) makes the histogram useless.</summary>
    public const int MinSubBucketBits = 2;

    /// <summary>Largest accepted <see cref="SubBucketBits"/>; as HdrHistogram's 5 significant digits, memory grows as 2^bits.</summary>
    public const int MaxSubBucketBits = 18;

    private readonly long[] _counts;
    private readonly long _highestTrackableValue;
    private readonly int _subBucketBits;
    private readonly int _subBucketHalfCountMagnitude;
    private readonly int _leadingZeroCountBase;
    private readonly ulong _subBucketMask;

    private long _totalCount;
    private long _min = long.MaxValue;
    private long _max;
    private long _overflowCount;
    private long _negativeCount;

    // A double rather than a long: it cannot wrap, even when long.MaxValue-sized values are recorded, and stays
    // exact while the sum is below 2^53 (104 days of summed nanoseconds), which covers any run we measure.
    private double _sum;

    /// <param name="highestTrackableValue">Largest value kept without clamping; at least 1.
    /// Defaults to <see cref="DefaultHighestTrackableValue"/> (one hour in ns).</param>
    /// <param name="subBucketBits">Precision: values are kept with a relative error of at most 2^-(subBucketBits - 1).
    /// Between <see cref="MinSubBucketBits"/> and <see cref="MaxSubBucketBits"/>; defaults to
    /// <see cref="DefaultSubBucketBits"/> (≤ 0.1%).</param>
    public LatencyHistogram(long highestTrackableValue = DefaultHighestTrackableValue, int subBucketBits = DefaultSubBucketBits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(highestTrackableValue, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(subBucketBits, MinSubBucketBits);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(subBucketBits, MaxSubBucketBits);

        _highestTrackableValue = highestTrackableValue;
        _subBucketBits = subBucketBits;
        _subBucketHalfCountMagnitude = subBucketBits - 1;
        _leadingZeroCountBase = 64 - subBucketBits;
        _subBucketMask = (1UL << subBucketBits) - 1;

        // A value of n significant bits (n ≥ b) lands in bucket n - b; bucket 0 also takes every smaller value.
        int significantBits = 64 - BitOperations.LeadingZeroCount((ulong)highestTrackableValue);
        int bucketCount = Math.Max(1, significantBits - subBucketBits + 1);
        _counts = new long[(bucketCount + 1) << _subBucketHalfCountMagnitude];
    }

    /// <summary>Largest value recorded without clamping.</summary>
    public long HighestTrackableValue => _highestTrackableValue;

    /// <summary>Precision: 2^SubBucketBits linear sub-buckets in bucket 0, relative error ≤ 2^-(SubBucketBits - 1).</summary>
    public int SubBucketBits => _subBucketBits;

    /// <summary>Number of values recorded, including clamped ones.</summary>
    public long TotalCount => _totalCount;

    /// <summary>Exact smallest recorded value (after clamping); 0 when empty.</summary>
    public long Min => _totalCount == 0 ? 0 : _min;

    /// <summary>Exact largest recorded value (after clamping); 0 when empty.</summary>
    public long Max => _max;

    /// <summary>Exact mean of the recorded values (after clamping); 0 when empty.</summary>
    public double Mean => _totalCount == 0 ? 0 : _sum / _totalCount;

    /// <summary>Values above <see cref="HighestTrackableValue"/>, recorded as <see cref="HighestTrackableValue"/>.</summary>
    public long OverflowCount => _overflowCount;

    /// <summary>Negative values, recorded as 0.</summary>
    public long NegativeCount => _negativeCount;

    /// <summary>Length of the counts array (its memory is 8 bytes per entry).</summary>
    internal int CountsLength => _counts.Length;

    /// <summary>Records one value. Never throws, never allocates; out-of-range values are clamped and counted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(long value)
    {
        // One unsigned compare catches both negative values and values above the range.
        if ((ulong)value > (ulong)_highestTrackableValue)
        {
            value = Clamp(value, 1);
        }

        CountAt(value)++;
        _totalCount++;
        _sum += value;
        _min = Math.Min(_min, value);
        _max = Math.Max(_max, value);
    }

    /// <summary>Records <paramref name="count"/> occurrences of <paramref name="value"/>; a count of 0 records nothing.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative: a caller bug, never a data problem.</exception>
    public void RecordValues(long value, long count)
    {
        if (count <= 0)
        {
            if (count < 0)
            {
                ThrowNegativeCount(count);
            }

            // Leave Min and Max alone: nothing was recorded.
            return;
        }

        if ((ulong)value > (ulong)_highestTrackableValue)
        {
            value = Clamp(value, count);
        }

        CountAt(value) += count;
        _totalCount += count;
        _sum += (double)value * count;
        _min = Math.Min(_min, value);
        _max = Math.Max(_max, value);
    }

    /// <summary>
    /// The value at or below which <paramref name="percentile"/>% of the recorded values lie, reported as the highest
    /// value equivalent to the bucket holding that rank (an upper bound within the precision, as HdrHistogram's
    /// highestEquivalentValue), and never above <see cref="Max"/>. Percentile 100 returns <see cref="Max"/> exactly;
    /// an empty histogram returns 0. Scans the counts: for reports, not for the hot path.
    /// </summary>
    /// <param name="percentile">Between 0 and 100 inclusive (99.9 for p99.9).</param>
    public long GetValueAtPercentile(double percentile)
    {
        if (!(percentile >= 0 && percentile <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "Percentile must be between 0 and 100.");
        }

        if (_totalCount == 0)
        {
            return 0;
        }

        if (percentile == 100)
        {
            return _max;
        }

        // Rank of the sample that covers the percentile. Nudging the percentile down one ulp first keeps 99.9% of 1e6
        // at rank 999,000 instead of the 999,001 that rounding up (0.999 * 1e6 = 999000.0000000001) would give.
        double fractionalRank = Math.Max(Math.BitDecrement(percentile), 0) / 100 * _totalCount;
        long rank = Math.Max(1, (long)Math.Ceiling(fractionalRank));

        long seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Min(HighestEquivalentValue(i), _max);
            }
        }

        // Unreachable while the counts sum to TotalCount, which every mutator maintains.
        return _max;
    }

    /// <summary>
    /// For each of the ascending <paramref name="upperBounds"/>, how many recorded values lie at or below it (within the
    /// precision: a bound's own counter is included whole), into <paramref name="counts"/>; returns the number of values
    /// seen in the whole scan. One pass over the counts: for scrapes and reports, not for the hot path.
    /// </summary>
    /// <remarks>
    /// May run on another thread while the single writer records (a metrics scrape): each count is read once with a
    /// plain 64-bit load, so the result is a consistent-enough snapshot whose cumulative counts never decrease and whose
    /// returned total equals the last cumulative count, as a Prometheus histogram needs; it may lag TotalCount slightly.
    /// </remarks>
    public long CumulativeCounts(ReadOnlySpan<long> upperBounds, Span<long> counts)
    {
        if (counts.Length < upperBounds.Length)
        {
            throw new ArgumentException("One count per bound is needed.", nameof(counts));
        }

        long seen = 0;
        int bound = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            while (bound < upperBounds.Length && upperBounds[bound] < LowestEquivalentValue(i))
            {
                counts[bound++] = seen;
            }

            seen += Volatile.Read(ref _counts[i]);
        }

        while (bound < upperBounds.Length)
        {
            counts[bound++] = seen;
        }

        return seen;
    }

    /// <summary>Count, min, mean, p50, p90, p99, p99.9, p99.99 and max in one value for a report.</summary>
    public LatencySummary Summarize() => new(
        _totalCount,
        Min,
        Mean,
        GetValueAtPercentile(50),
        GetValueAtPercentile(90),
        GetValueAtPercentile(99),
        GetValueAtPercentile(99.9),
        GetValueAtPercentile(99.99),
        Max);

    /// <summary>Forgets every recorded value and counter, keeping the configuration and the memory.</summary>
    public void Reset()
    {
        Array.Clear(_counts);
        _totalCount = 0;
        _sum = 0;
        _min = long.MaxValue;
        _max = 0;
        _overflowCount = 0;
        _negativeCount = 0;
    }

    /// <summary>Adds every value recorded in <paramref name="other"/> (e.g. per-thread histograms merged after a run).</summary>
    /// <exception cref="ArgumentException"><paramref name="other"/> has a different configuration, so its buckets do not line up.</exception>
    public void Add(LatencyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other._highestTrackableValue != _highestTrackableValue || other._subBucketBits != _subBucketBits)
        {
            throw new ArgumentException(
                $"Cannot add a histogram of highestTrackableValue {other._highestTrackableValue} and subBucketBits {other._subBucketBits} " +
                $"to one of {_highestTrackableValue} and {_subBucketBits}.",
                nameof(other));
        }

        long[] counts = _counts;
        long[] otherCounts = other._counts;
        for (int i = 0; i < counts.Length; i++)
        {
            counts[i] += otherCounts[i];
        }

        _totalCount += other._totalCount;
        _sum += other._sum;
        _min = Math.Min(_min, other._min);
        _max = Math.Max(_max, other._max);
        _overflowCount += other._overflowCount;
        _negativeCount += other._negativeCount;
    }

    /// <summary>Index of the counter for a value already within [0, HighestTrackableValue].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int GetIndex(long value)
    {
        // OR-ing the mask gives every value below 2^bits the same leading-zero count, so they all fall in bucket 0
        // without a branch; above it, each extra significant bit moves the value one bucket up.
        int bucket = _leadingZeroCountBase - BitOperations.LeadingZeroCount((ulong)value | _subBucketMask);

        // value >> bucket is the sub-bucket: in [half, 2·half) for bucket ≥ 1, which places bucket k at
        // [(k+1)·half, (k+2)·half) in the counts (see the class remarks).
        return (bucket << _subBucketHalfCountMagnitude) + (int)(value >> bucket);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref long CountAt(long value)
    {
        // The caller has clamped value into [0, HighestTrackableValue] and the constructor sized the counts for
        // that range, so the index is in bounds and the bounds check can go.
        return ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_counts), GetIndex(value));
    }

    /// <summary>Largest value that shares the counter at <paramref name="index"/>.</summary>
    private long LowestEquivalentValue(int index)
    {
        int bucket = Math.Max(0, (index >> _subBucketHalfCountMagnitude) - 1);
        return (index - (long)(bucket << _subBucketHalfCountMagnitude)) << bucket;
    }

    private long HighestEquivalentValue(int index)
    {
        // Inverse of GetIndex: bucket 0 spans indices [0, 2·half), bucket k ≥ 1 spans [(k+1)·half, (k+2)·half).
        int bucket = Math.Max(0, (index >> _subBucketHalfCountMagnitude) - 1);
        long subBucket = index - (bucket << _subBucketHalfCountMagnitude);
        long lowestEquivalentValue = subBucket << bucket;
        return lowestEquivalentValue + (1L << bucket) - 1;
    }

    // Off the inlined fast path: out-of-range values are rare and counting them should not cost the common case.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private long Clamp(long value, long count)
    {
        if (value < 0)
        {
            _negativeCount += count;
            return 0;
        }

        _overflowCount += count;
        return _highestTrackableValue;
    }

    [DoesNotReturn]
    private static void ThrowNegativeCount(long count) =>
        throw new ArgumentOutOfRangeException(nameof(count), count, "Count must not be negative.");
}

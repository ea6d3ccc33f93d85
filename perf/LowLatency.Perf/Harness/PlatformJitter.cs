using System.Diagnostics;
using System.Globalization;
using LowLatency.Ring;

namespace LowLatency.Perf.Harness;

/// <summary>How much time one CPU's pinned thread lost to things outside the process during a <see cref="PlatformJitter"/> probe.</summary>
/// <param name="Cpu">The CPU probed (null when pinning is off).</param>
/// <param name="Affinity">What pinning achieved.</param>
/// <param name="Gaps">Gaps longer than <see cref="PlatformJitter.GapThresholdNanoseconds"/> between two clock reads.</param>
/// <param name="GapsOver100Microseconds">Of those, gaps over 100 µs.</param>
/// <param name="GapsOver1Millisecond">Of those, gaps over 1 ms.</param>
/// <param name="MaxGapNanoseconds">The longest gap.</param>
/// <param name="LostPercent">The time inside gaps, in percent of the probe.</param>
internal sealed record CpuJitter(
    int? Cpu, AffinityResult Affinity, long Gaps, long GapsOver100Microseconds, long GapsOver1Millisecond, long MaxGapNanoseconds, double LostPercent)
{
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{(Cpu is { } cpu ? $"cpu{cpu}" : "thread")} lost {LostPercent:F2}% ({Gaps:N0} gaps, {GapsOver100Microseconds:N0} > 100 us, {GapsOver1Millisecond:N0} > 1 ms, max {MaxGapNanoseconds / 1000.0:N0} us)");
}

/// <summary>
/// The machine's own noise floor, in the manner of jHiccup: one thread per CPU, pinned like the scenarios' threads, does
/// nothing but read the <see cref="Stopwatch"/>; every gap between two reads longer than
/// <see cref="GapThresholdNanoseconds"/> is time that thread did not run (an interrupt, another task, the hypervisor
/// descheduling the virtual CPU). A latency percentile beyond 100% minus the lost share measures the machine, not the ring.
/// </summary>
internal static class PlatformJitter
{
    /// <summary>Gaps shorter than 10 µs are the clock read itself and cache misses; longer ones are the thread not running.</summary>
    public const long GapThresholdNanoseconds = 10_000;

    /// <summary>Probes every CPU at once for <paramref name="duration"/>.</summary>
    public static IReadOnlyList<CpuJitter> Measure(TimeSpan duration, bool pin)
    {
        var cpus = Environment.ProcessorCount;
        var results = new CpuJitter[cpus];
        var threads = new DedicatedThread[cpus];
        var gate = new StartGate();
        var ticks = (long)(duration.TotalSeconds * Stopwatch.Frequency);
        for (var i = 0; i < cpus; i++)
        {
            var index = i;
            int? cpu = pin ? i : null;
            threads[i] = DedicatedThread.Start($"jitter-{i}", cpu, () =>
            {
                gate.Wait();
                results[index] = Probe(cpu, threads[index].Affinity, ticks);
            });
        }

        gate.Open();
        foreach (var thread in threads)
        {
            thread.Join(duration + TimeSpan.FromSeconds(30));
        }

        return [.. results.Where(r => r is not null)];
    }

    private static CpuJitter Probe(int? cpu, AffinityResult affinity, long ticks)
    {
        var threshold = Timing.NanosecondsToTicks(GapThresholdNanoseconds);
        var over100Us = Timing.NanosecondsToTicks(100_000);
        var over1Ms = Timing.NanosecondsToTicks(1_000_000);
        long gaps = 0, gapsOver100Us = 0, gapsOver1Ms = 0, max = 0, lost = 0;
        var start = Stopwatch.GetTimestamp();
        var end = start + ticks;
        var previous = start;
        while (previous < end)
        {
            var now = Stopwatch.GetTimestamp();
            var gap = now - previous;
            if (gap > threshold)
            {
                gaps++;
                lost += gap;
                gapsOver100Us += gap > over100Us ? 1 : 0;
                gapsOver1Ms += gap > over1Ms ? 1 : 0;
                max = Math.Max(max, gap);
            }

            previous = now;
        }

        return new CpuJitter(cpu, affinity, gaps, gapsOver100Us, gapsOver1Ms, Timing.TicksToNanoseconds(max), 100.0 * lost / (previous - start));
    }
}

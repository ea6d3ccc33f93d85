using System.Diagnostics;
using System.Globalization;

namespace LowLatency.Perf.Harness;

/// <summary>
/// How busy the machine was apart from this process, from Linux's /proc/stat and /proc/self/stat. The harness runs on
/// shared machines: a scenario measured while something else used half the CPUs is not comparable with a quiet one, and
/// the report says so instead of leaving the reader to guess.
/// </summary>
/// <param name="MachineBusyTicks">CPU time spent by anything (user, nice, system, irq, softirq, steal), in clock ticks.</param>
/// <param name="MachineTotalTicks">Busy plus idle and I/O wait, in clock ticks.</param>
/// <param name="ProcessTicks">This process's user plus system time, in clock ticks.</param>
internal readonly record struct CpuUsage(long MachineBusyTicks, long MachineTotalTicks, long ProcessTicks)
{
    /// <summary>A sample, or null where /proc is not available.</summary>
    public static CpuUsage? Capture()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            // "cpu  user nice system idle iowait irq softirq steal guest guest_nice"; guest time is already in user.
            var machine = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long busy = Field(machine, 1) + Field(machine, 2) + Field(machine, 3) + Field(machine, 6) + Field(machine, 7) + Field(machine, 8);
            long total = busy + Field(machine, 4) + Field(machine, 5);

            // "pid (comm) state ppid ... utime stime ...": utime and stime are fields 14 and 15 (1-based). comm may hold
            // spaces, so split what follows its closing parenthesis, where field 3 (state) comes first.
            var self = File.ReadAllText("/proc/self/stat");
            var afterComm = self[(self.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long process = Field(afterComm, 14 - 3) + Field(afterComm, 15 - 3);
            return new CpuUsage(busy, total, process);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or OverflowException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// The share of the machine's CPU time (all cores) used by other processes and the hypervisor between two samples, in
    /// percent; null when either sample is missing or no time passed.
    /// </summary>
    public static double? OthersPercent(CpuUsage? before, CpuUsage? after)
    {
        if (before is not { } b || after is not { } a || a.MachineTotalTicks <= b.MachineTotalTicks)
        {
            return null;
        }

        var others = (a.MachineBusyTicks - b.MachineBusyTicks) - (a.ProcessTicks - b.ProcessTicks);
        return Math.Clamp(100.0 * others / (a.MachineTotalTicks - b.MachineTotalTicks), 0, 100);
    }

    /// <summary>
    /// Waits until other processes use less than <paramref name="thresholdPercent"/> of the machine over two consecutive
    /// <paramref name="sample"/>s, or until <paramref name="limit"/> has passed. <c>dotnet run</c> starts the harness
    /// while the build it just ran is still winding down (compiler server, MSBuild nodes), which would otherwise land in
    /// the first scenario. Returns how long it waited and the last share measured (null where unknown).
    /// </summary>
    public static (TimeSpan Waited, double? OthersPercent) WaitForQuiet(TimeSpan sample, double thresholdPercent, TimeSpan limit)
    {
        var start = Stopwatch.GetTimestamp();
        double? last = null;
        var quietSamples = 0;
        while (quietSamples < 2 && Stopwatch.GetElapsedTime(start) < limit)
        {
            var before = Capture();
            Thread.Sleep(sample);
            last = OthersPercent(before, Capture());
            if (last is null)
            {
                break;
            }

            quietSamples = last < thresholdPercent ? quietSamples + 1 : 0;
        }

        return (Stopwatch.GetElapsedTime(start), last);
    }

    private static long Field(string[] fields, int index) => long.Parse(fields[index], NumberStyles.None, CultureInfo.InvariantCulture);
}

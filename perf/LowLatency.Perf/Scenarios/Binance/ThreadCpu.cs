using System.Globalization;
using System.Text;

namespace LowLatency.Perf.Scenarios.Binance;

/// <summary>
/// CPU time of this process's threads, summed by thread name, and of the exchange's process, from Linux's
/// <c>/proc/&lt;pid&gt;/task/&lt;tid&gt;/stat</c> (user + system, in clock ticks of 10 ms): where a run's time went. Empty
/// elsewhere. Reading allocates (strings): take the first snapshot right after the window opens and subtract
/// <see cref="AllocatedBytes"/> from the window's figure.
/// </summary>
/// <remarks>
/// A thread that ends inside the window takes its ticks with it (a thread-pool thread retired by the pool): its name's
/// figure is then too low, or left out when the difference is negative. A rough account, not a profiler.
/// </remarks>
internal sealed class ThreadCpu
{
    private const double SecondsPerTick = 0.01; // USER_HZ is 100 on every Linux the runtime supports

    private readonly Dictionary<string, long> _ticks;

    private ThreadCpu(Dictionary<string, long> ticks, long allocatedBytes)
    {
        _ticks = ticks;
        AllocatedBytes = allocatedBytes;
    }

    /// <summary>What taking this snapshot allocated on the calling thread.</summary>
    public long AllocatedBytes { get; }

    /// <summary>Ticks by thread name (pool threads share one name), plus <paramref name="processName"/> (default
    /// <c>exchange</c>) for the whole process <paramref name="exchangePid"/> (a server the run talks to).</summary>
    public static ThreadCpu Capture(int exchangePid, string processName = "exchange")
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var ticks = new Dictionary<string, long>(StringComparer.Ordinal);
        if (OperatingSystem.IsLinux())
        {
            foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
            {
                if (TryReadTicks(Path.Combine(task, "stat"), out var name, out var used))
                {
                    ticks[name] = ticks.GetValueOrDefault(name) + used;
                }
            }

            if (TryReadTicks($"/proc/{exchangePid}/stat", out _, out var exchange))
            {
                ticks[processName] = exchange;
            }
        }

        return new ThreadCpu(ticks, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>
    /// µs of CPU per message between <paramref name="start"/> and <paramref name="end"/>, by thread name, largest first,
    /// e.g. <c>cpu µs/msg: .NET TP Worker 0.61, shard-0 0.40, exchange 0.33</c> (names under 0.01 left out).
    /// </summary>
    public static string PerMessage(ThreadCpu start, ThreadCpu end, long messages)
    {
        if (end._ticks.Count == 0 || messages <= 0)
        {
            return "";
        }

        var text = new StringBuilder("cpu µs/msg:");
        foreach (var (name, ticks) in end._ticks.Select(p => (p.Key, p.Value - start._ticks.GetValueOrDefault(p.Key))).OrderByDescending(p => p.Item2))
        {
            var micros = ticks * SecondsPerTick * 1e6 / messages;
            if (micros >= 0.01)
            {
                text.Append(CultureInfo.InvariantCulture, $" {name} {micros:0.00},");
            }
        }

        return text.ToString().TrimEnd(',');
    }

    // The second field is "(comm)", which may hold spaces and parentheses: the fields after it follow the last ')'.
    private static bool TryReadTicks(string path, out string name, out long ticks)
    {
        name = "";
        ticks = 0;
        string stat;
        try
        {
            stat = File.ReadAllText(path);
        }
        catch (IOException)
        {
            return false; // the thread ended meanwhile
        }

        var open = stat.IndexOf('(', StringComparison.Ordinal);
        var close = stat.LastIndexOf(')');
        if (open < 0 || close < open)
        {
            return false;
        }

        name = stat[(open + 1)..close];
        var fields = stat[(close + 2)..].Split(' ');

        // After the name: state (3), ppid ... utime is field 14 and stime field 15 of the whole line, 11 and 12 here.
        return fields.Length > 12
            && long.TryParse(fields[11], NumberStyles.None, CultureInfo.InvariantCulture, out var user)
            && long.TryParse(fields[12], NumberStyles.None, CultureInfo.InvariantCulture, out var system)
            && (ticks = user + system) >= 0;
    }
}

using System.Runtime.InteropServices;

namespace LowLatency.Ring;

/// <summary>The outcome of a request to pin a thread to a CPU.</summary>
public enum AffinityResult
{
    /// <summary>No CPU was requested.</summary>
    NotRequested,

    /// <summary>The thread runs only on the requested CPU.</summary>
    Pinned,

    /// <summary>Pinning is not implemented on this operating system; the thread runs unpinned.</summary>
    NotSupported,

    /// <summary>The CPU number is negative or beyond what a CPU mask holds (1024); the thread runs unpinned.</summary>
    InvalidCpu,

    /// <summary>The operating system refused: the CPU does not exist or is not allowed (e.g. by a cgroup's cpuset); the thread runs unpinned.</summary>
    Failed,
}

/// <summary>Pins the calling thread to one CPU (Linux <c>sched_setaffinity</c>); elsewhere reports <see cref="AffinityResult.NotSupported"/>.</summary>
public static partial class ThreadAffinity
{
    /// <summary>cpu_set_t in glibc is 1024 bits.</summary>
    private const int CpuSetWords = 1024 / 64;

    /// <summary>Whether this operating system supports pinning.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>Pins the calling thread to <paramref name="cpu"/>. Never throws; the result says what happened.</summary>
    public static AffinityResult PinCurrentThread(int cpu)
    {
        if (!IsSupported)
        {
            return AffinityResult.NotSupported;
        }

        // Only the mask's range is checked here: the CPUs a process may use need not be 0..ProcessorCount-1 (a
        // container limited to CPUs 2-3, say), so whether the CPU exists and is allowed is the kernel's answer.
        if ((uint)cpu >= CpuSetWords * 64)
        {
            return AffinityResult.InvalidCpu;
        }

        Span<ulong> mask = stackalloc ulong[CpuSetWords];
        mask.Clear();
        mask[cpu / 64] = 1UL << (cpu % 64);
        unsafe
        {
            fixed (ulong* p = mask)
            {
                // pid 0 = the calling thread.
                return SchedSetAffinity(0, CpuSetWords * sizeof(ulong), p) == 0 ? AffinityResult.Pinned : AffinityResult.Failed;
            }
        }
    }

    /// <summary>The CPU the calling thread is running on now, or -1 where unknown.</summary>
    public static int CurrentCpu() => IsSupported ? SchedGetCpu() : -1;

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static unsafe partial int SchedSetAffinity(int pid, nint cpuSetSize, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_getcpu")]
    private static partial int SchedGetCpu();
}

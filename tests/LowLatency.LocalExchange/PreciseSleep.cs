using System.Runtime.InteropServices;

namespace LowLatency.LocalExchange;

/// <summary>
/// Sleeps of microseconds on Linux: <c>clock_nanosleep</c> on the monotonic clock, with the thread's timer slack (50 µs
/// by default, by which the kernel may defer a wake-up to batch timers) cut to 1 µs.
/// </summary>
internal static partial class PreciseSleep
{
    private const int ClockMonotonic = 1;
    private const int PrSetTimerSlack = 29;
    private const int Interrupted = 4; // EINTR

    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>Asks the kernel to wake the calling thread within 1 µs of its timers (best effort).</summary>
    public static void UseFineTimerSlack() => _ = Prctl(PrSetTimerSlack, 1_000, 0, 0, 0);

    /// <summary>Sleeps the calling thread for about <paramref name="nanoseconds"/>.</summary>
    public static void Sleep(long nanoseconds)
    {
        var request = new Timespec { Seconds = nanoseconds / 1_000_000_000, Nanoseconds = nanoseconds % 1_000_000_000 };
        Timespec remaining;
        int result;
        while ((result = ClockNanosleep(ClockMonotonic, 0, in request, out remaining)) == Interrupted)
        {
            request = remaining;
        }

        if (result != 0)
        {
            throw new InvalidOperationException($"clock_nanosleep failed with error {result}.");
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    // Returns 0 or the error number itself (not -1 and errno).
    [LibraryImport("libc", EntryPoint = "clock_nanosleep")]
    private static partial int ClockNanosleep(int clockId, int flags, in Timespec request, out Timespec remaining);

    [LibraryImport("libc", EntryPoint = "prctl")]
    private static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);
}

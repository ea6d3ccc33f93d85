using System.Diagnostics;

namespace LowLatency.Telemetry.Tests;

public sealed class WallClockTests
{
    [Fact]
    public void ToTimestamp_OfAReading_FallsBetweenTheCounterReadingsAroundIt()
    {
        var before = Stopwatch.GetTimestamp();
        var unixNs = WallClock.UnixNanoseconds();
        var after = Stopwatch.GetTimestamp();

        // Within a tick either side: the conversion to ns and back rounds.
        Assert.InRange(WallClock.ToTimestamp(unixNs), before - 1, after + 1);
    }

    [Fact]
    public void ToTimestamp_OneSecondEarlier_IsOneSecondOfTicksEarlier()
    {
        var unixNs = WallClock.UnixNanoseconds();

        var difference = WallClock.ToTimestamp(unixNs) - WallClock.ToTimestamp(unixNs - 1_000_000_000);

        Assert.InRange(difference, Stopwatch.Frequency - 1, Stopwatch.Frequency + 1);
    }
}

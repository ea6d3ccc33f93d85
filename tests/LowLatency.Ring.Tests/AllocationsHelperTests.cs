using LowLatency.TestSupport;

namespace LowLatency.Ring.Tests;

/// <summary>The allocation helper every zero-allocation test relies on must still see a real allocation.</summary>
public sealed class AllocationsHelperTests
{
    private static object? s_sink;

    [Fact]
    public void Measure_ActionAllocatingPerCall_ReportsTheBytes()
    {
        var bytes = Allocations.Measure(() =>
        {
            for (var i = 0; i < 1000; i++)
            {
                s_sink = new byte[16];
            }
        });
        Assert.True(bytes >= 1000 * 16, $"only {bytes} bytes seen");
    }

    [Fact]
    public void Measure_ActionAllocatingNothing_ReportsZero()
    {
        var sum = 0L;
        Assert.Equal(0, Allocations.Measure(() =>
        {
            for (var i = 0; i < 1000; i++)
            {
                sum += i;
            }
        }));
        Assert.True(sum > 0);
    }
}

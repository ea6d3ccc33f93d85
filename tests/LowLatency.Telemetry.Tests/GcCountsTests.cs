namespace LowLatency.Telemetry.Tests;

public sealed class GcCountsTests
{
    [Fact]
    public void Subtract_TwoCaptures_GivesPerGenerationDelta()
    {
        Assert.Equal(new GcCounts(3, 2, 1), new GcCounts(5, 3, 1) - new GcCounts(2, 1, 0));
    }

    [Fact]
    public void Capture_AroundFullCollection_CountsEveryGeneration()
    {
        GcCounts before = GcCounts.Capture();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        GcCounts delta = GcCounts.Capture() - before;

        Assert.True(delta.Gen2 >= 1, $"delta {delta}");
        Assert.True(delta.Gen1 >= delta.Gen2 && delta.Gen0 >= delta.Gen1, $"delta {delta}");
    }

    [Fact]
    public void ToString_ListsEachGeneration()
    {
        Assert.Equal("gen0 3, gen1 2, gen2 1", new GcCounts(3, 2, 1).ToString());
    }
}

namespace LowLatency.Ring.Tests;

public sealed class ThreadingTests
{
    [Fact]
    public void DedicatedThread_PinnedToCpu_RunsThereAndIsNamed()
    {
        var cpu = Environment.ProcessorCount - 1;
        int observedCpu = -2;
        string? observedName = null;
        using var done = new ManualResetEventSlim();
        var thread = DedicatedThread.Start("pin-test", cpu, () =>
        {
            observedCpu = ThreadAffinity.CurrentCpu();
            observedName = Thread.CurrentThread.Name;
            done.Set();
        });

        Assert.True(done.Wait(TimeSpan.FromSeconds(10)));
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));
        Assert.Equal("pin-test", observedName);
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(AffinityResult.Pinned, thread.Affinity);
            Assert.Equal(cpu, observedCpu);
        }
        else
        {
            Assert.Equal(AffinityResult.NotSupported, thread.Affinity);
        }
    }

    [Theory]
    [InlineData(-1, AffinityResult.InvalidCpu)]
    [InlineData(1024, AffinityResult.InvalidCpu)]
    [InlineData(1000, AffinityResult.Failed)] // in range of the mask, but no such CPU: the kernel refuses
    public void PinCurrentThread_BadCpu_IsReportedNotThrown(int cpu, AffinityResult expected)
    {
        AffinityResult result = default;
        var thread = new Thread(() => result = ThreadAffinity.PinCurrentThread(cpu));
        thread.Start();
        thread.Join();
        Assert.Equal(OperatingSystem.IsLinux() ? expected : AffinityResult.NotSupported, result);
    }

    [Fact]
    public void DedicatedThread_NoCpu_ReportsNotRequested()
    {
        var thread = DedicatedThread.Start("unpinned", null, () => { });
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));
        Assert.Equal(AffinityResult.NotRequested, thread.Affinity);
    }
}

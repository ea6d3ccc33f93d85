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

    [Fact]
    public void PinCurrentThread_InvalidCpu_IsReportedNotThrown()
    {
        AffinityResult result = default;
        var thread = new Thread(() => result = ThreadAffinity.PinCurrentThread(Environment.ProcessorCount + 7));
        thread.Start();
        thread.Join();
        Assert.Equal(OperatingSystem.IsLinux() ? AffinityResult.InvalidCpu : AffinityResult.NotSupported, result);
    }

    [Fact]
    public void DedicatedThread_NoCpu_ReportsNotRequested()
    {
        var thread = DedicatedThread.Start("unpinned", null, () => { });
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));
        Assert.Equal(AffinityResult.NotRequested, thread.Affinity);
    }
}

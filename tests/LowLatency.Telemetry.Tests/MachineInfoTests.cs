using System.Diagnostics;

namespace LowLatency.Telemetry.Tests;

public sealed class MachineInfoTests
{
    [Fact]
    public void Current_DescribesThisProcess()
    {
        MachineInfo info = MachineInfo.Current();

        Assert.Equal(Environment.ProcessorCount, info.ProcessorCount);
        Assert.False(string.IsNullOrWhiteSpace(info.CpuModel));
        Assert.False(string.IsNullOrWhiteSpace(info.OSDescription));
        Assert.False(string.IsNullOrWhiteSpace(info.FrameworkDescription));
        Assert.False(string.IsNullOrWhiteSpace(info.MachineName));
        Assert.Equal(Stopwatch.Frequency, info.StopwatchFrequency);
        Assert.True(info.TotalAvailableMemoryBytes > 0);
    }

    [Fact]
    public void Current_OnLinux_ReadsCpuModelFromProcCpuinfo()
    {
        if (!OperatingSystem.IsLinux() || !File.ReadLines("/proc/cpuinfo").Any(l => l.StartsWith("model name", StringComparison.Ordinal)))
        {
            return;
        }

        Assert.NotEqual(MachineInfo.Unknown, MachineInfo.Current().CpuModel);
    }

    [Fact]
    public void ToString_IsOneLineWithCoresAndModel()
    {
        MachineInfo info = MachineInfo.Current();
        string line = info.ToString();

        Assert.DoesNotContain('\n', line);
        Assert.Contains($"{info.ProcessorCount} logical cores", line, StringComparison.Ordinal);
        Assert.StartsWith(info.CpuModel, line, StringComparison.Ordinal);
    }
}

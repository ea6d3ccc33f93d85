using BenchmarkDotNet.Running;

namespace LowLatency.Benchmarks;

/// <summary>Entry point: <c>dotnet run -c Release --project bench/LowLatency.Benchmarks -- --filter '*Ring*'</c>.</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}

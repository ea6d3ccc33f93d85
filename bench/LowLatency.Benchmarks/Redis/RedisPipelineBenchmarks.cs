using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using LowLatency.Redis;

namespace LowLatency.Benchmarks.Redis;

/// <summary>
/// Pipelined HSET against a real redis-server on 127.0.0.1 (started here on a free port, killed at cleanup; needs
/// <c>apt-get install redis-server</c>): the round trip cost per command when 10,000 are written, flushed once and
/// their replies read. The baseline to compare with is <c>redis-benchmark -q -n 200000 -P 16 -t hset</c> run next to it
/// (the same server binary, its own C client), since there is no other .NET client here.
/// </summary>
[MemoryDiagnoser]
public class RedisPipelineBenchmarks
{
    private const int Commands = 10_000;

    private Process _server = null!;
    private RedisConnection _redis = null!;

    [GlobalSetup]
    public void Setup()
    {
        var port = FreePort();
        var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in (string[])["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                     "--save", string.Empty, "--appendonly", "no"])
        {
            start.ArgumentList.Add(argument);
        }

        _server = Process.Start(start) ?? throw new InvalidOperationException("Could not start redis-server.");
        _redis = new RedisConnection(new RedisOptions { Port = port, ConnectAttempts = 50 });
        _redis.Connect();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _redis.Dispose();
        _server.Kill();
        _server.WaitForExit();
        _server.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Commands)]
    public int PipelinedHset()
    {
        for (var i = 0; i < Commands; i++)
        {
            _redis.Command(4).Arg("HSET"u8).Arg("ticker:BTCUSDT"u8).Arg("last_price"u8).Arg(i);
        }

        _redis.Flush();
        var counter = new RespReplyCounter();
        return _redis.ReadReplies(ref counter);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

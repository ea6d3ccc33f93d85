using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using LowLatency.Redis;

namespace LowLatency.Benchmarks.Redis;

/// <summary>
/// The RESP client's two CPU costs, per batch of 1,000 pipelined commands: parsing their replies (500 <c>+OK</c> and
/// 500 <c>:1</c>, what SET/HSET/EXPIRE pipelines get back) and writing the commands (<c>HSET ticker:BTCUSDT last_price
/// 64123.45</c>). Baselines are what one would otherwise write without a client library: reading replies line by line
/// with a <see cref="StreamReader"/>, and building each command as a string and encoding it.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class RespBenchmarks
{
    private const int Commands = 1_000;

    private readonly byte[] _replies = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("+OK\r\n:1\r\n", Commands / 2)));
    private readonly RespWriter _writer = new(64 * 1024);
    private readonly MemoryStream _output = new(64 * 1024);

    [GlobalCleanup]
    public void Cleanup() => _writer.Dispose();

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("ParseReplies")]
    public int StreamReaderLines()
    {
        using var reader = new StreamReader(new MemoryStream(_replies), Encoding.ASCII);
        var ok = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line == "+OK")
            {
                ok++;
            }
            else if (line[0] == ':')
            {
                ok += long.Parse(line.AsSpan(1), CultureInfo.InvariantCulture) == 1 ? 1 : 0;
            }
        }

        return ok;
    }

    [Benchmark]
    [BenchmarkCategory("ParseReplies")]
    public int RespReader()
    {
        var reader = new RespReader(_replies);
        var counter = new RespReplyCounter();
        var index = 0;
        while (reader.TryRead(out var reply) == RespStatus.Ok)
        {
            counter.OnReply(index++, reply);
        }

        return counter.Ok + counter.Integers;
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("WriteCommands")]
    public long StringBuilderAndEncode()
    {
        _output.Position = 0;
        for (var i = 0; i < Commands; i++)
        {
            var price = 64123.45m.ToString(CultureInfo.InvariantCulture);
            var command = string.Create(
                CultureInfo.InvariantCulture,
                $"*4\r\n$4\r\nHSET\r\n$14\r\nticker:BTCUSDT\r\n$10\r\nlast_price\r\n${price.Length}\r\n{price}\r\n");
            _output.Write(Encoding.UTF8.GetBytes(command));
        }

        return _output.Position;
    }

    [Benchmark]
    [BenchmarkCategory("WriteCommands")]
    public int RespWriter()
    {
        _writer.Reset();
        for (var i = 0; i < Commands; i++)
        {
            _writer.Command(4).Arg("HSET"u8).Arg("ticker:BTCUSDT"u8).Arg("last_price"u8).Arg(64123.45m);
        }

        return _writer.Written.Length;
    }
}

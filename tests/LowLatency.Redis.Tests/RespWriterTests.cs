using System.Text;

namespace LowLatency.Redis.Tests;

public sealed class RespWriterTests
{
    [Fact]
    public void Command_MixedArguments_WritesArrayOfBulkStrings()
    {
        using var writer = new RespWriter(256);
        writer.Command(6).Arg("HSET"u8).Arg("ticker:BTCUSDT").Arg("last_price"u8).Arg(64123.45m).Arg(-7L).Arg(0.1);
        writer.Command(1).Arg("PING"u8);

        Assert.Equal(
            "*6\r\n$4\r\nHSET\r\n$14\r\nticker:BTCUSDT\r\n$10\r\nlast_price\r\n$8\r\n64123.45\r\n$2\r\n-7\r\n$3\r\n0.1\r\n*1\r\n$4\r\nPING\r\n",
            Encoding.UTF8.GetString(writer.Written.Span));
        Assert.Equal(2, writer.Commands);
    }

    [Fact]
    public void Arg_Infinity_IsSpelledAsRedisReadsIt()
    {
        using var writer = new RespWriter(256);
        writer.Command(2).Arg(double.PositiveInfinity).Arg(double.NegativeInfinity);

        Assert.Equal("*2\r\n$3\r\ninf\r\n$4\r\n-inf\r\n", Encoding.UTF8.GetString(writer.Written.Span));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RespWriter(256).Command(1).Arg(double.NaN));
    }

    [Fact]
    public void Command_MoreThanTheBuffer_Grows()
    {
        using var writer = new RespWriter(256);
        var big = new byte[100_000];
        writer.Command(3).Arg("SET"u8).Arg("k"u8).Arg(big);

        Assert.Equal(100_000 + 31, writer.Written.Length);
    }

    [Fact]
    public void Command_MiscountedArguments_Throws()
    {
        using var writer = new RespWriter(256);
        writer.Command(3).Arg("SET"u8).Arg("k"u8);

        Assert.False(writer.IsComplete);
        Assert.Throws<InvalidOperationException>(() => writer.Command(1));
        writer.Arg("v"u8);
        Assert.Throws<InvalidOperationException>(() => writer.Arg("extra"u8));
    }
}

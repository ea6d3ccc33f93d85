using System.Text;
using LowLatency.Connectors.Replay;
using LowLatency.TestSupport;

namespace LowLatency.Connectors.Tests;

public sealed class MergedFrameSourceTests
{
    private static RecordingReader Recording(string name, params long[] times)
    {
        var text = new StringBuilder();
        foreach (var t in times)
        {
            text.Append(t).Append(' ').Append("{\"file\":\"").Append(name).Append("\",\"t\":").Append(t).Append("}\n");
        }

        return new RecordingReader(new MemoryStream(Encoding.UTF8.GetBytes(text.ToString())));
    }

    [Fact]
    public void TryRead_InterleavedRecordings_YieldsFramesInReceiveTimeOrderWithValidPayloads()
    {
        using var merged = new MergedFrameSource([Recording("a", 10, 20, 30, 31), Recording("b", 5, 25, 26), Recording("c", 40)]);
        var seen = new List<string>();
        while (merged.TryRead(out var frame))
        {
            // The payload must still be the frame's own, although the other readers have read ahead meanwhile.
            var json = Encoding.UTF8.GetString(frame.Payload.Span);
            Assert.Contains($"\"t\":{frame.ReceiveTimeNs}}}", json);
            seen.Add($"{json[9]}{frame.ReceiveTimeNs}");
        }

        Assert.Equal(["b5", "a10", "a20", "b25", "b26", "a30", "a31", "c40"], seen);
        Assert.False(merged.TryRead(out _));
    }

    [DataFact]
    public void TryRead_RealBtcAndEthSessions_AllFramesInTimeOrder()
    {
        using var merged = MergedFrameSource.Open(
            [TestData.PathOf("binance/recordings/spot_btcusdt_20240808.gz"), TestData.PathOf("binance/recordings/spot_ethusdt_20240808.gz")]);
        long count = 0, last = long.MinValue;
        while (merged.TryRead(out var frame))
        {
            Assert.True(frame.ReceiveTimeNs >= last, $"frame {count} goes back in time");
            last = frame.ReceiveTimeNs;
            count++;
        }

        Assert.Equal(41_249 + 33_618, count);
        Assert.Equal(0, merged.ErrorLines);
    }
}

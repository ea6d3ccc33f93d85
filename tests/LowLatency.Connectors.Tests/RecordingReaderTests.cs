using System.IO.Compression;
using System.Text;
using LowLatency.Connectors.Replay;
using LowLatency.TestSupport;

namespace LowLatency.Connectors.Tests;

public sealed class RecordingReaderTests
{
    private const string BtcRecording = "binance/recordings/spot_btcusdt_20240808.gz";
    private const string EthRecording = "binance/recordings/spot_ethusdt_20240808.gz";
    private const string CryptofeedRecording = "binance/cryptofeed/BINANCE.ws.1.0";

    // 2024-08-08 23:50 UTC and 2024-08-09 00:05 UTC: the recordings' window with a margin.
    private const long WindowStartNs = 1_723_161_000_000_000_000;
    private const long WindowEndNs = 1_723_161_900_000_000_000;

    [DataFact]
    public void TryRead_HftbacktestBtcRecording_YieldsEveryLineByStreamWithIncreasingReceiveTimes()
    {
        using var reader = RecordingReader.Open(TestData.PathOf(BtcRecording));
        int trades = 0, bookTickers = 0, depths = 0, snapshots = 0;
        var previous = long.MinValue;
        while (reader.TryRead(out var frame))
        {
            var payload = frame.Payload.Span;
            if (payload.StartsWith("{\"stream\":\"btcusdt@trade\""u8))
            {
                trades++;
            }
            else if (payload.StartsWith("{\"stream\":\"btcusdt@bookTicker\""u8))
            {
                bookTickers++;
            }
            else if (payload.StartsWith("{\"stream\":\"btcusdt@depth@100ms\""u8))
            {
                depths++;
            }
            else if (payload.StartsWith("{\"lastUpdateId\":"u8))
            {
                snapshots++;
            }

            Assert.Equal((byte)'}', payload[^1]);
            Assert.InRange(frame.ReceiveTimeNs, WindowStartNs, WindowEndNs);
            Assert.True(frame.ReceiveTimeNs >= previous, $"receive time went back at line {frame.LineNumber}");
            Assert.Equal(reader.FramesRead, frame.LineNumber); // every line of this file is a frame
            previous = frame.ReceiveTimeNs;
        }

        Assert.True(reader.IsGzip);
        Assert.Equal(RecordingFormat.NanosecondPrefixed, reader.Format);
        Assert.Equal(41_249, reader.FramesRead);
        Assert.Equal((9_757, 28_040, 3_451, 1), (trades, bookTickers, depths, snapshots));
        Assert.Equal(0, reader.ErrorLines);
    }

    [DataFact]
    public void TryRead_HftbacktestEthRecording_YieldsEveryLine()
    {
        using var reader = RecordingReader.Open(TestData.PathOf(EthRecording));
        var first = RecordedFrame.NoReceiveTime;
        var last = RecordedFrame.NoReceiveTime;
        while (reader.TryRead(out var frame))
        {
            first = first == RecordedFrame.NoReceiveTime ? frame.ReceiveTimeNs : first;
            last = frame.ReceiveTimeNs;
        }

        Assert.Equal(33_618, reader.FramesRead);
        Assert.Equal(0, reader.ErrorLines);
        Assert.InRange(first, WindowStartNs, WindowEndNs);
        Assert.InRange(last - first, 300_000_000_000, 400_000_000_000); // 23:54:13 → 24:00:00 is ≈ 347 s
    }

    [DataFact]
    public void TryRead_CryptofeedRecording_SkipsHeaderAndBlankLineAndParsesSecondsExactly()
    {
        using var reader = RecordingReader.Open(TestData.PathOf(CryptofeedRecording));
        Assert.True(reader.TryRead(out var first));

        // First frame line: "1633998512.0633569: {"stream":"nknusdt@depth@100ms",...
        Assert.Equal(1_633_998_512_063_356_900, first.ReceiveTimeNs);
        Assert.Equal(2, first.LineNumber);
        Assert.True(first.Payload.Span.StartsWith("{\"stream\":\"nknusdt@depth@100ms\""u8));

        var previous = first.ReceiveTimeNs;
        while (reader.TryRead(out var frame))
        {
            Assert.InRange(frame.ReceiveTimeNs, 1_633_910_400_000_000_000, 1_633_996_800_000_000_000 + 86_400_000_000_000); // 2021-10-11
            Assert.True(frame.ReceiveTimeNs >= previous, $"receive time went back at line {frame.LineNumber}");
            Assert.Equal((byte)'{', frame.Payload.Span[0]);
            previous = frame.ReceiveTimeNs;
        }

        Assert.False(reader.IsGzip);
        Assert.Equal(RecordingFormat.SecondsPrefixed, reader.Format);
        Assert.Equal(265, reader.FramesRead);
        Assert.Equal(1, reader.HeaderLines);
        Assert.Equal(1, reader.BlankLines);
        Assert.Equal(0, reader.ErrorLines);
        Assert.StartsWith("wss://stream.binance.com:9443/stream?streams=nknusdt@depth@100ms/", reader.SourceUrl);
        Assert.EndsWith("runeeur@aggTrade", reader.SourceUrl);
    }

    [DataFact]
    public void TryRead_BareJsonLinesOfRealFrames_DetectsFormatWithoutReceiveTime()
    {
        var frames = ReadAll(RecordingReader.Open(TestData.PathOf(BtcRecording)), limit: 500);
        var plain = new MemoryStream();
        foreach (var frame in frames)
        {
            plain.Write(frame.Payload);
            plain.WriteByte((byte)'\n');
        }

        plain.Position = 0;
        using var reader = new RecordingReader(plain);
        var i = 0;
        while (reader.TryRead(out var frame))
        {
            Assert.Equal(RecordedFrame.NoReceiveTime, frame.ReceiveTimeNs);
            Assert.False(frame.HasReceiveTime);
            Assert.Equal(i + 1, frame.LineNumber);
            Assert.True(frame.Payload.Span.SequenceEqual(frames[i].Payload), $"frame {i} differs");
            i++;
        }

        Assert.Equal(RecordingFormat.BareJson, reader.Format);
        Assert.Equal(500, i);
    }

    [DataFact]
    public void TryRead_PlainCopyOfGzipRecording_GivesIdenticalFrames()
    {
        var plainPath = Path.Combine(Path.GetTempPath(), $"lowlatency-{Guid.NewGuid():N}.txt");
        try
        {
            using (var gzip = new GZipStream(File.OpenRead(TestData.PathOf(BtcRecording)), CompressionMode.Decompress))
            using (var plain = File.Create(plainPath))
            {
                gzip.CopyTo(plain);
            }

            using var fromGzip = RecordingReader.Open(TestData.PathOf(BtcRecording));
            using var fromPlain = RecordingReader.Open(plainPath);
            AssertSameFrames(fromGzip, fromPlain);
            Assert.True(fromGzip.IsGzip);
            Assert.False(fromPlain.IsGzip);
            Assert.Equal(41_249, fromPlain.FramesRead);
        }
        finally
        {
            File.Delete(plainPath);
        }
    }

    [DataFact]
    public void TryRead_GzipThroughUnseekableOneByteStream_DetectsGzipByMagicAndGivesSameFrames()
    {
        using var file = File.OpenRead(TestData.PathOf(EthRecording));
        using var byteByByte = new RecordingReader(new OneByteStream(file), leaveOpen: true);
        using var normal = RecordingReader.Open(TestData.PathOf(EthRecording));
        AssertSameFrames(normal, byteByByte);
        Assert.True(byteByByte.IsGzip);
        Assert.Equal(33_618, byteByByte.FramesRead);
    }

    [Fact]
    public void TryRead_LineLongerThanMaximum_IsCountedAsOversizeAndSkippedWithinBufferCap()
    {
        var text = "1 {\"a\":1}\n2 {\"b\":\"" + new string('x', 5_000) + "\"}\n3 {\"c\":3}\r\n4 {\"d\":\"" + new string('y', 300) + "\"}";
        var options = new RecordingReaderOptions { MaxLineBytes = 100, InitialBufferBytes = 16 };
        using var reader = new RecordingReader(new MemoryStream(Encoding.UTF8.GetBytes(text)), options);

        Assert.True(reader.TryRead(out var a));
        Assert.Equal("{\"a\":1}", Encoding.UTF8.GetString(a.Payload.Span));
        Assert.True(reader.TryRead(out var c));
        Assert.Equal("{\"c\":3}", Encoding.UTF8.GetString(c.Payload.Span));
        Assert.Equal(3, c.LineNumber);
        Assert.Equal(3, c.ReceiveTimeNs);
        Assert.False(reader.TryRead(out _));

        Assert.Equal(2, reader.ErrorCount(RecordingLineError.Oversize)); // the middle line and the unterminated last one
        Assert.Equal(2, reader.ErrorLines);
        Assert.Equal(4, reader.LinesRead);
        Assert.InRange(reader.BufferBytes, 16, 102);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    public void TryRead_LineOfExactlyMaximumLength_IsAcceptedAndOneByteMoreIsNot(string terminator)
    {
        const int Max = 64;
        var exact = "5 {\"" + new string('x', Max - 6) + "\"}";   // 64 bytes
        var longer = "6 {\"" + new string('y', Max - 5) + "\"}";  // 65 bytes
        var text = exact + terminator + longer + terminator + exact + terminator;
        var options = new RecordingReaderOptions { MaxLineBytes = Max, InitialBufferBytes = 4 };
        using var reader = new RecordingReader(new OneByteStream(new MemoryStream(Encoding.UTF8.GetBytes(text))), options);

        var frames = ReadAll(reader);

        Assert.Equal(Max, exact.Length);
        Assert.Equal(new long[] { 1, 3 }, frames.Select(f => f.LineNumber));
        Assert.All(frames, f => Assert.Equal(Max - 2, f.Payload.Length));
        Assert.Equal(1, reader.ErrorCount(RecordingLineError.Oversize));
        Assert.Equal(2, reader.LastErrorLine);
    }

    [Fact]
    public void TryRead_HugeLineWithDefaultishCap_NeverGrowsBufferBeyondCap()
    {
        var big = new byte[3 * 1024 * 1024];
        big.AsSpan().Fill((byte)'z');
        var stream = new MemoryStream();
        stream.Write("7 "u8);
        stream.Write(big);
        stream.Write("\n8 {}\n"u8);
        stream.Position = 0;
        using var reader = new RecordingReader(stream, new RecordingReaderOptions { MaxLineBytes = 1024 * 1024 });

        Assert.True(reader.TryRead(out var frame));
        Assert.Equal(8, frame.ReceiveTimeNs);
        Assert.Equal(1, reader.ErrorCount(RecordingLineError.Oversize));
        Assert.True(reader.BufferBytes <= 1024 * 1024 + 2, $"buffer grew to {reader.BufferBytes}");
    }

    [Fact]
    public void TryRead_MalformedNanosecondPrefixes_AreCountedByReasonAndSkipped()
    {
        const string Text =
            "1723161253937085768 {\"ok\":1}\n" +
            "17231612x3937085768 {\"bad\":1}\n" +        // non-digit inside the timestamp
            "1723161253937085769{\"bad\":2}\n" +         // no separator
            "1723161253937085770 \n" +                   // nothing after the prefix
            "99999999999999999999 {\"bad\":3}\n" +       // overflows a long
            " {\"bad\":4}\n" +                           // no timestamp at all
            "\n" +
            "1723161253937085771 {\"ok\":2}\n";
        using var reader = new RecordingReader(new MemoryStream(Encoding.UTF8.GetBytes(Text)));

        var frames = ReadAll(reader);

        Assert.Equal(2, frames.Count);
        Assert.Equal(1_723_161_253_937_085_771, frames[1].ReceiveTimeNs);
        Assert.Equal(8, frames[1].LineNumber);
        Assert.Equal(2, reader.ErrorCount(RecordingLineError.MissingSeparator)); // "x3937…" and "…769{"
        Assert.Equal(1, reader.ErrorCount(RecordingLineError.EmptyPayload));
        Assert.Equal(2, reader.ErrorCount(RecordingLineError.BadTimestamp));
        Assert.Equal(5, reader.ErrorLines);
        Assert.Equal(1, reader.BlankLines);
        Assert.Equal(RecordingLineError.BadTimestamp, reader.LastError);
        Assert.Equal(6, reader.LastErrorLine);
    }

    [Fact]
    public void TryRead_MalformedSecondsPrefixes_AreCountedAndSkipped()
    {
        const string Text =
            "wss://example/stream?streams=a <-> 1.5\n" +
            "1633998512.5: {\"ok\":1}\n" +
            "abc: {\"bad\":1}\n" +
            "1633998512.: {\"bad\":2}\n" +
            "1633998513.25 {\"bad\":3}\n" +
            "1633998514:{\"ok\":2}\n";
        using var reader = new RecordingReader(new MemoryStream(Encoding.UTF8.GetBytes(Text)));

        var frames = ReadAll(reader);

        Assert.Equal(RecordingFormat.SecondsPrefixed, reader.Format);
        Assert.Equal("wss://example/stream?streams=a", reader.SourceUrl);
        Assert.Equal(new long[] { 1_633_998_512_500_000_000, 1_633_998_514_000_000_000 }, frames.Select(f => f.ReceiveTimeNs));
        Assert.Equal(2, reader.ErrorCount(RecordingLineError.BadTimestamp));
        Assert.Equal(1, reader.ErrorCount(RecordingLineError.MissingSeparator));
    }

    [Theory]
    [InlineData("1633998512.0633569", 1_633_998_512_063_356_900)]
    [InlineData("1633998512.86375", 1_633_998_512_863_750_000)]
    [InlineData("1633998511.159679", 1_633_998_511_159_679_000)]
    [InlineData("1.123456789", 1_123_456_789)]
    [InlineData("1.1234567899", 1_123_456_789)] // below one nanosecond: truncated
    [InlineData("0.000000001", 1)]
    [InlineData("42", 42_000_000_000)]
    public void TryParseSeconds_DecimalSeconds_GivesExactNanoseconds(string text, long expected)
    {
        Assert.True(RecordingReader.TryParseSeconds(Encoding.ASCII.GetBytes(text), out var ns, out var consumed));
        Assert.Equal(expected, ns);
        Assert.Equal(text.Length, consumed);
    }

    [Theory]
    [InlineData("")]
    [InlineData(".5")]
    [InlineData("1.")]
    [InlineData("99999999999999999999")]
    [InlineData("9300000000")] // seconds × 1e9 would overflow a long
    public void TryParseSeconds_Invalid_ReturnsFalse(string text)
    {
        Assert.False(RecordingReader.TryParseSeconds(Encoding.ASCII.GetBytes(text), out _, out _));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void TryRead_AfterWarmUp_AllocatesNothingPerLine(bool gzip, bool cryptofeedFormat)
    {
        var bytes = SyntheticRecording(lines: 40_000, gzip, cryptofeedFormat);
        using var reader = new RecordingReader(new MemoryStream(bytes));
        long sum = 0;

        Allocations.AssertNone(
            () =>
            {
                for (var i = 0; i < 5_000; i++)
                {
                    Assert.True(reader.TryRead(out var frame));
                    sum += frame.ReceiveTimeNs + frame.Payload.Length;
                }
            },
            "RecordingReader.TryRead");

        Assert.Equal(20_000, reader.FramesRead);
        Assert.Equal(cryptofeedFormat ? RecordingFormat.SecondsPrefixed : RecordingFormat.NanosecondPrefixed, reader.Format);
        Assert.Equal(0, reader.ErrorLines);
        Assert.True(sum > 0);
    }

    [Fact]
    public void TryRead_OneByteReadsAndCrLf_GiveSameFramesAsWholeStream()
    {
        var bytes = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(SyntheticRecording(lines: 300, gzip: false)).Replace("\n", "\r\n"));
        using var whole = new RecordingReader(new MemoryStream(bytes));
        using var split = new RecordingReader(new OneByteStream(new MemoryStream(bytes)), new RecordingReaderOptions { InitialBufferBytes = 8 });
        AssertSameFrames(whole, split);
        Assert.Equal(300, whole.FramesRead);
        Assert.Equal(0, whole.ErrorLines);
    }

    [Fact]
    public void TryRead_EmptyStream_ReturnsFalse()
    {
        using var reader = new RecordingReader(new MemoryStream());
        Assert.False(reader.TryRead(out _));
        Assert.Equal(0, reader.LinesRead);
    }


    internal static byte[] SyntheticRecording(int lines, bool gzip, bool cryptofeedFormat = false)
    {
        var text = new StringBuilder();
        if (cryptofeedFormat)
        {
            text.Append("wss://stream.binance.com:9443/stream?streams=btcusdt@bookTicker <-> 1723161253.5\n");
        }

        for (var i = 0; i < lines; i++)
        {
            _ = cryptofeedFormat
                ? text.Append("1723161253.").Append(100_000 + i).Append(": ")
                : text.Append(1_723_161_253_937_085_768 + i * 1_000L).Append(' ');
            text
                .Append("{\"stream\":\"btcusdt@bookTicker\",\"data\":{\"u\":").Append(50_093_239_212 + i)
                .Append(",\"s\":\"BTCUSDT\",\"b\":\"61837.63000000\",\"B\":\"3.78826000\",\"a\":\"61837.64000000\",\"A\":\"1.54698000\"}}\n");
        }

        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        if (!gzip)
        {
            return bytes;
        }

        var compressed = new MemoryStream();
        using (var zip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            zip.Write(bytes);
        }

        return compressed.ToArray();
    }

    private static List<(byte[] Payload, long ReceiveTimeNs, long LineNumber)> ReadAll(RecordingReader reader, int limit = int.MaxValue)
    {
        using (reader)
        {
            var frames = new List<(byte[], long, long)>();
            while (frames.Count < limit && reader.TryRead(out var frame))
            {
                frames.Add((frame.Payload.ToArray(), frame.ReceiveTimeNs, frame.LineNumber));
            }

            return frames;
        }
    }

    private static void AssertSameFrames(RecordingReader expected, RecordingReader actual)
    {
        while (expected.TryRead(out var e))
        {
            Assert.True(actual.TryRead(out var a), $"missing frame at line {e.LineNumber}");
            Assert.Equal(e.ReceiveTimeNs, a.ReceiveTimeNs);
            Assert.Equal(e.LineNumber, a.LineNumber);
            Assert.True(e.Payload.Span.SequenceEqual(a.Payload.Span), $"payload differs at line {e.LineNumber}");
        }

        Assert.False(actual.TryRead(out _));
        Assert.Equal(expected.FramesRead, actual.FramesRead);
    }

    /// <summary>Returns one byte per read and cannot seek: the worst case for the line splitter and the gzip detection.</summary>
    internal sealed class OneByteStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 1));
        public override int Read(Span<byte> buffer) => inner.Read(buffer[..Math.Min(buffer.Length, 1)]);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

using System.Buffers.Binary;
using LowLatency.Connectors.WebSockets;

namespace LowLatency.Connectors.Tests.WebSockets;

/// <summary>
/// <see cref="WebSocketReceiver"/> on byte streams built here by an encoder written from RFC 6455 §5.2 (not the
/// client's), fed in every kind of chunking a socket can produce: messages come out whole and in order, fragmented ones
/// assembled around interleaved control frames, oversized ones skipped without buffering, and every violation a client
/// must refuse refused.
/// </summary>
public sealed class WebSocketReceiverTests
{
    private const int Text = 0x1;
    private const int Binary = 0x2;
    private const int Continuation = 0x0;
    private const int Close = 0x8;
    private const int Ping = 0x9;
    private const int Pong = 0xA;

    [Fact]
    public void Messages_OfEveryLengthEncoding_ComeOutWholeInOrder_UnderAnyChunking()
    {
        int[] sizes = [0, 1, 125, 126, 127, 1000, 65_535, 65_536, 70_000, 300_000];
        var stream = new MemoryStream();
        var expected = new List<(byte[] Payload, bool IsText)>();
        for (var i = 0; i < sizes.Length; i++)
        {
            var payload = Payload(sizes[i], seed: i);
            var isText = i % 3 != 2;
            expected.Add((payload, isText));
            Write(stream, isText ? Text : Binary, fin: true, payload);
        }

        var bytes = stream.ToArray();
        foreach (var chunking in new[] { 1, 2, 3, 7, 125, 4096, 65_536, bytes.Length })
        {
            var sink = new RecordingSink();
            using var receiver = new WebSocketReceiver(sink, bufferBytes: 4096, maxMessageBytes: 1 << 20);
            Feed(receiver, bytes, _ => chunking);
            Assert.Equal(expected.Count, sink.Messages.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].IsText, sink.Messages[i].IsText);
                Assert.True(expected[i].Payload.AsSpan().SequenceEqual(sink.Messages[i].Payload), $"message {i} (chunks of {chunking})");
            }
        }
    }

    [Fact]
    public void RandomChunking_ManySmallFrames_EachStampedWithTheReadThatCompletedIt()
    {
        var stream = new MemoryStream();
        for (var i = 0; i < 2_000; i++)
        {
            Write(stream, Text, fin: true, Payload(50 + (i * 37 % 400), seed: i));
        }

        var bytes = stream.ToArray();
        var random = new Random(7);
        var sink = new RecordingSink();
        using var receiver = new WebSocketReceiver(sink, bufferBytes: 1024, maxMessageBytes: 4096);
        var ends = Feed(receiver, bytes, _ => random.Next(1, 3000));

        Assert.Equal(2_000, sink.Messages.Count);
        var offset = 0L;
        for (var i = 0; i < 2_000; i++)
        {
            var length = 50 + (i * 37 % 400);
            offset += (length < 126 ? 2 : 4) + length;
            // The message was completed by the first read whose end reaches past its last byte; Feed stamps read k with k.
            var read = ends.FindIndex(end => end >= offset);
            Assert.Equal(read, sink.Messages[i].ReceivedNs);
            Assert.True(Payload(length, seed: i).AsSpan().SequenceEqual(sink.Messages[i].Payload));
        }
    }

    [Fact]
    public void FragmentedMessage_WithControlFramesBetweenFragments_IsAssembled()
    {
        var stream = new MemoryStream();
        var whole = Payload(10_000, seed: 3);
        Write(stream, Text, fin: false, whole.AsSpan(0, 4000));
        Write(stream, Ping, fin: true, "p1"u8);
        Write(stream, Continuation, fin: false, whole.AsSpan(4000, 1));
        Write(stream, Pong, fin: true, "unsolicited"u8);
        Write(stream, Continuation, fin: true, whole.AsSpan(4001));
        Write(stream, Binary, fin: true, "after"u8);

        var sink = new RecordingSink();
        using var receiver = new WebSocketReceiver(sink, bufferBytes: 1024, maxMessageBytes: 1 << 20);
        Feed(receiver, stream.ToArray(), _ => 333);

        Assert.Equal(["ping p1", "pong unsolicited"], sink.Control);
        Assert.Equal(2, sink.Messages.Count);
        Assert.True(sink.Messages[0].IsText);
        Assert.True(whole.AsSpan().SequenceEqual(sink.Messages[0].Payload));
        Assert.False(sink.Messages[1].IsText);
        Assert.Equal("after"u8.ToArray(), sink.Messages[1].Payload);
    }

    [Fact]
    public void OversizedMessages_AreSkippedAsTheyArrive_NeverBuffered_AndCountedOnce()
    {
        const int max = 64 * 1024;
        var stream = new MemoryStream();
        Write(stream, Text, fin: true, Payload(10 << 20, seed: 1)); // one 10 MiB frame
        Write(stream, Text, fin: true, "next"u8);
        Write(stream, Text, fin: false, Payload(40_000, seed: 2));  // fragments that together pass the limit
        Write(stream, Ping, fin: true, "keep"u8);
        Write(stream, Continuation, fin: false, Payload(40_000, seed: 3));
        Write(stream, Continuation, fin: true, Payload(10, seed: 4));
        Write(stream, Text, fin: true, "last"u8);

        var sink = new RecordingSink();
        using var receiver = new WebSocketReceiver(sink, bufferBytes: 16 * 1024, maxMessageBytes: max);
        var mostPending = 0;
        var bytes = stream.ToArray();
        for (var offset = 0; offset < bytes.Length;)
        {
            var space = receiver.FreeSpace;
            var count = Math.Min(Math.Min(space.Length, 8192), bytes.Length - offset);
            bytes.AsSpan(offset, count).CopyTo(space);
            offset += count;
            Assert.False(receiver.Commit(count, 0));
            mostPending = Math.Max(mostPending, receiver.Pending);
        }

        Assert.Equal(2, sink.Oversized);
        Assert.Equal(["next", "last"], sink.Messages.Select(m => System.Text.Encoding.ASCII.GetString(m.Payload)));
        Assert.Equal(["ping keep"], sink.Control);
        Assert.True(mostPending < max, $"{mostPending} bytes held at once: an oversized message was buffered");
    }

    [Fact]
    public void CloseFrame_StopsParsing_WithItsCodeAndReason()
    {
        var stream = new MemoryStream();
        Write(stream, Text, fin: true, "before"u8);
        var close = new byte[2 + 11];
        BinaryPrimitives.WriteUInt16BigEndian(close, 1001);
        "going away!"u8.CopyTo(close.AsSpan(2));
        Write(stream, Close, fin: true, close);
        Write(stream, Text, fin: true, "after the close"u8);

        var sink = new RecordingSink();
        using var receiver = new WebSocketReceiver(sink, bufferBytes: 1024, maxMessageBytes: 4096);
        var bytes = stream.ToArray();
        bytes.CopyTo(receiver.FreeSpace);

        Assert.True(receiver.Commit(bytes.Length, 5));
        Assert.Equal(1001, receiver.CloseStatus);
        Assert.Equal("going away!", receiver.CloseReason);
        Assert.Single(sink.Messages);
    }

    [Fact]
    public void CloseFrame_WithoutPayload_IsNoStatus1005()
    {
        var stream = new MemoryStream();
        Write(stream, Close, fin: true, []);
        using var receiver = new WebSocketReceiver(new RecordingSink(), bufferBytes: 1024, maxMessageBytes: 4096);
        stream.ToArray().CopyTo(receiver.FreeSpace);
        Assert.True(receiver.Commit((int)stream.Length, 0));
        Assert.Equal(1005, receiver.CloseStatus);
    }

    [Theory]
    [InlineData("masked", "masked")]
    [InlineData("rsv1", "reserved bits")]
    [InlineData("opcode3", "unknown opcode 0x3")]
    [InlineData("opcodeB", "unknown opcode 0xB")]
    [InlineData("bigPing", "at most 125")]
    [InlineData("fragmentedPing", "fragmented")]
    [InlineData("lonelyContinuation", "continuation frame arrived outside")]
    [InlineData("interruptedMessage", "new message began inside")]
    [InlineData("length63", "most significant bit")]
    [InlineData("oneByteClose", "1-byte payload")]
    public void ProtocolViolations_AreRefused(string violation, string because)
    {
        var stream = new MemoryStream();
        switch (violation)
        {
            case "masked":
                stream.Write([0x81, 0x80 | 2, 1, 2, 3, 4, (byte)'h' ^ 1, (byte)'i' ^ 2]);
                break;
            case "rsv1":
                stream.Write([0x81 | 0x40, 2, (byte)'h', (byte)'i']);
                break;
            case "opcode3":
                stream.Write([0x83, 0]);
                break;
            case "opcodeB":
                stream.Write([0x8B, 0]);
                break;
            case "bigPing":
                stream.Write([0x89, 126, 0, 126]);
                stream.Write(new byte[126]);
                break;
            case "fragmentedPing":
                stream.Write([0x09, 0]);
                break;
            case "lonelyContinuation":
                stream.Write([0x80, 1, (byte)'x']);
                break;
            case "interruptedMessage":
                stream.Write([0x01, 1, (byte)'a', 0x81, 1, (byte)'b']);
                break;
            case "length63":
                stream.Write([0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 1]);
                break;
            case "oneByteClose":
                stream.Write([0x88, 1, 3]);
                break;
        }

        var sink = new RecordingSink();
        using var receiver = new WebSocketReceiver(sink, bufferBytes: 1024, maxMessageBytes: 4096);
        var bytes = stream.ToArray();
        bytes.CopyTo(receiver.FreeSpace);
        var error = Assert.Throws<WebSocketProtocolException>(() => receiver.Commit(bytes.Length, 0));
        Assert.Contains(because, error.Message, StringComparison.Ordinal);
        Assert.Empty(sink.Messages);
    }

    [Fact]
    public void Append_BytesThatCameWithTheUpgrade_AreParsedFirst()
    {
        var stream = new MemoryStream();
        Write(stream, Text, fin: true, "first"u8);
        Write(stream, Text, fin: true, "second"u8);
        var bytes = stream.ToArray();
        var sink = new RecordingSink();
        using var receiver = new WebSocketReceiver(sink, bufferBytes: 1024, maxMessageBytes: 4096);

        receiver.Append(bytes.AsSpan(0, 9)); // all of the first frame and part of the second
        Assert.False(receiver.Commit(0, 1));
        bytes.AsSpan(9).CopyTo(receiver.FreeSpace);
        Assert.False(receiver.Commit(bytes.Length - 9, 2));

        Assert.Equal(["first", "second"], sink.Messages.Select(m => System.Text.Encoding.ASCII.GetString(m.Payload)));
        Assert.Equal([1L, 2L], sink.Messages.Select(m => m.ReceivedNs));
    }

    /// <summary>Feeds <paramref name="bytes"/> in reads of the sizes <paramref name="chunk"/> picks (read k is stamped k); returns each read's end offset.</summary>
    private static List<long> Feed(WebSocketReceiver receiver, byte[] bytes, Func<int, int> chunk)
    {
        var ends = new List<long>();
        for (var offset = 0; offset < bytes.Length;)
        {
            var space = receiver.FreeSpace;
            Assert.False(space.IsEmpty);
            var count = Math.Min(Math.Min(space.Length, chunk(ends.Count)), bytes.Length - offset);
            bytes.AsSpan(offset, count).CopyTo(space);
            offset += count;
            Assert.False(receiver.Commit(count, ends.Count));
            ends.Add(offset);
        }

        return ends;
    }

    private static byte[] Payload(int length, int seed)
    {
        var payload = new byte[length];
        new Random(seed).NextBytes(payload);
        return payload;
    }

    /// <summary>An unmasked server frame, as RFC 6455 §5.2 lays it out: the shortest length encoding.</summary>
    private static void Write(Stream stream, int opcode, bool fin, ReadOnlySpan<byte> payload)
    {
        stream.WriteByte((byte)((fin ? 0x80 : 0) | opcode));
        if (payload.Length <= 125)
        {
            stream.WriteByte((byte)payload.Length);
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            stream.WriteByte(126);
            stream.WriteByte((byte)(payload.Length >> 8));
            stream.WriteByte((byte)payload.Length);
        }
        else
        {
            stream.WriteByte(127);
            for (var shift = 56; shift >= 0; shift -= 8)
            {
                stream.WriteByte((byte)((long)payload.Length >> shift));
            }
        }

        stream.Write(payload);
    }

    private sealed class RecordingSink : IWebSocketFrameSink
    {
        public List<(byte[] Payload, bool IsText, long ReceivedNs)> Messages { get; } = [];

        public List<string> Control { get; } = [];

        public int Oversized { get; private set; }

        public void OnMessage(ReadOnlySpan<byte> payload, bool isText, long receivedNs) => Messages.Add((payload.ToArray(), isText, receivedNs));

        public void OnOversized(long receivedNs) => Oversized++;

        public void OnPing(ReadOnlySpan<byte> payload) => Control.Add("ping " + System.Text.Encoding.ASCII.GetString(payload));

        public void OnPong(ReadOnlySpan<byte> payload) => Control.Add("pong " + System.Text.Encoding.ASCII.GetString(payload));
    }
}

using System.Buffers.Binary;
using System.Text;

namespace LowLatency.Cassandra.Tests;

public class CqlFrameTests
{
    private const int MaxBody = 1 << 20;

    [Fact]
    public void Header_WriteThenRead_RoundTrips()
    {
        var bytes = new byte[CqlFrameHeader.Size];
        new CqlFrameHeader(0x84, CqlFrameFlags.Warning, 1234, CqlOpcode.Result, 77).Write(bytes);

        Assert.Equal(CqlFrameStatus.Ok, CqlFrameHeader.TryRead(bytes, 4, MaxBody, out var header));
        Assert.Equal(new CqlFrameHeader(0x84, CqlFrameFlags.Warning, 1234, CqlOpcode.Result, 77), header);
        Assert.True(header.IsResponse);
        Assert.Equal(4, header.ProtocolVersion);
        Assert.Equal([0x84, 0x08, 0x04, 0xD2, 0x08, 0, 0, 0, 77], bytes);
    }

    [Fact]
    public void TryRead_EveryShorterPrefix_NeedsMoreData()
    {
        var bytes = new byte[CqlFrameHeader.Size];
        new CqlFrameHeader(0x83, CqlFrameFlags.None, -1, CqlOpcode.Event, 10).Write(bytes);
        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.Equal(CqlFrameStatus.NeedMoreData, CqlFrameHeader.TryRead(bytes.AsSpan(0, length), 3, MaxBody, out _));
        }

        Assert.Equal(CqlFrameStatus.Ok, CqlFrameHeader.TryRead(bytes, 3, MaxBody, out var header));
        Assert.Equal(-1, header.Stream);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(MaxBody + 1)]
    [InlineData(int.MaxValue)]
    public void TryRead_LengthBeyondTheMaximumOrNegative_IsBadLength(int length)
    {
        var bytes = new byte[CqlFrameHeader.Size];
        new CqlFrameHeader(0x83, CqlFrameFlags.None, 0, CqlOpcode.Result, length).Write(bytes);

        Assert.Equal(CqlFrameStatus.BadLength, CqlFrameHeader.TryRead(bytes, 3, MaxBody, out _));
    }

    [Theory]
    [InlineData(0x04)] // v1's CREDENTIALS, gone since v2
    [InlineData(0x07)] // QUERY: a request, never an answer
    [InlineData(0x11)]
    [InlineData(0xFF)]
    public void TryRead_OpcodeNoServerSends_IsUnknownOpcode(byte opcode)
    {
        byte[] bytes = [0x83, 0, 0, 1, opcode, 0, 0, 0, 0];

        Assert.Equal(CqlFrameStatus.UnknownOpcode, CqlFrameHeader.TryRead(bytes, 3, MaxBody, out _));
    }

    [Theory]
    [InlineData(0x03, 3)] // a request frame
    [InlineData(0x84, 3)] // v4 on a v3 connection
    [InlineData(0x85, 0)] // v5 while negotiating
    public void TryRead_WrongVersionOrDirection_IsBadVersion(byte version, int expected)
    {
        byte[] bytes = [version, 0, 0, 1, 0x08, 0, 0, 0, 0];

        Assert.Equal(CqlFrameStatus.BadVersion, CqlFrameHeader.TryRead(bytes, expected, MaxBody, out _));
    }

    [Fact]
    public void Writer_QueryFrame_EncodesHeaderBodyAndLength()
    {
        using var writer = new CqlWriter(16);
        using var values = new CqlValues().Add(42).Add("é").AddNull();
        writer.BeginFrame(3, 7, CqlOpcode.Query);
        new QueryRequest("SELECT 1", values, new CqlQueryOptions { PageSize = 100 }, CqlConsistency.One).WriteBody(writer, 3);
        var bodyLength = writer.EndFrame();

        var frame = writer.WrittenSpan;
        Assert.Equal(0x03, frame[0]);
        Assert.Equal(7, BinaryPrimitives.ReadInt16BigEndian(frame[2..]));
        Assert.Equal((byte)CqlOpcode.Query, frame[4]);
        Assert.Equal(frame.Length - CqlFrameHeader.Size, bodyLength);
        Assert.Equal(bodyLength, BinaryPrimitives.ReadInt32BigEndian(frame[5..]));

        var body = new CqlReader(frame[CqlFrameHeader.Size..]);
        Assert.Equal("SELECT 1", body.ReadLongString());
        Assert.Equal(CqlConsistency.One, body.ReadConsistency());
        Assert.Equal(0x01 | 0x04, body.ReadByte()); // values, page size
        Assert.Equal(3, body.ReadShort());
        Assert.True(body.TryReadBytes(out var first));
        Assert.Equal(42, BinaryPrimitives.ReadInt32BigEndian(first));
        Assert.True(body.TryReadBytes(out var second));
        Assert.Equal("é", Encoding.UTF8.GetString(second));
        Assert.False(body.TryReadBytes(out _));
        Assert.Equal(100, body.ReadInt());
        Assert.Equal(0, body.Remaining);
    }

    [Fact]
    public void Writer_AfterGrowing_EncodesWithoutAllocating()
    {
        using var writer = new CqlWriter(64);
        using var values = new CqlValues(64);
        var id = Guid.NewGuid();
        var preparedId = new byte[16];
        void Encode()
        {
            values.Clear().Add(id).Add(123L).Add(1.5).Add(2.5f).Add(true).Add(DateTimeOffset.UnixEpoch).Add("BTCUSDT"u8);
            writer.Reset();
            writer.BeginFrame(4, 1, CqlOpcode.Execute);
            new ExecuteRequest(preparedId, values, default, CqlConsistency.LocalOne, skipMetadata: true).WriteBody(writer, 4);
            writer.EndFrame();
        }

        Encode();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Encode();
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void Reader_LengthBeyondTheBody_ThrowsProtocolException()
    {
        byte[] body = [0, 0, 0, 10, 1, 2, 3];

        var error = Assert.Throws<CassandraProtocolException>(() =>
        {
            var reader = new CqlReader(body);
            reader.TryReadBytes(out _);
        });
        Assert.Contains("10 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RowSet_HandEncodedRowsResult_ReadsEveryTypeAndThePagingState()
    {
        var id = Guid.Parse("01234567-89ab-cdef-0123-456789abcdef");
        using var writer = new CqlWriter();
        writer.WriteInt((int)CqlResultKind.Rows);
        writer.WriteInt(0x0001 | 0x0002); // global table spec, has more pages
        writer.WriteInt(4);
        writer.WriteBytes([9, 9]);
        writer.WriteString("ks");
        writer.WriteString("t");
        foreach (var (name, type) in (ReadOnlySpan<(string, CqlType)>)[("id", CqlType.Uuid), ("n", CqlType.Int), ("s", CqlType.Varchar), ("b", CqlType.Blob)])
        {
            writer.WriteString(name);
            writer.WriteShort((ushort)type);
        }

        writer.WriteInt(2);
        using (var row = new CqlValues().Add(id).Add(-5).Add("x").Add(new byte[] { 1, 2 }).AddNull().Add(7).AddNull().Add(Array.Empty<byte>()))
        {
            writer.WriteRaw(row.Encoded);
        }

        var body = System.Buffers.ArrayPool<byte>.Shared.Rent(writer.Length);
        writer.WrittenSpan.CopyTo(body);
        using var rows = CqlRowSet.Parse(body, 0, writer.Length, null);

        Assert.Equal(2, rows.Count);
        Assert.Equal([9, 9], rows.PagingState);
        Assert.Equal("ks", rows.Columns[0].Keyspace);
        Assert.Equal(id, rows.GetGuid(0, 0));
        Assert.Equal(-5, rows.GetInt32(0, 1));
        Assert.Equal("x", rows.GetString(0, 2));
        Assert.Equal([1, 2], rows.GetBytes(0, 3).ToArray());
        Assert.True(rows.IsNull(1, 0));
        Assert.Equal(7, rows.GetInt32(1, 1));
        Assert.Null(rows.GetString(1, 2));
        Assert.False(rows.IsNull(1, 3));
        Assert.Equal(0, rows.GetBytes(1, 3).Length);
        Assert.Throws<InvalidCastException>(() => rows.GetInt64(0, 1));
        Assert.Throws<InvalidCastException>(() => rows.GetInt32(1, 0));
    }

    [Fact]
    public void RowSet_RowCountTheBodyCannotHold_ThrowsWithoutAllocatingIt()
    {
        using var writer = new CqlWriter();
        writer.WriteInt((int)CqlResultKind.Rows);
        writer.WriteInt(0x0001);
        writer.WriteInt(1);
        writer.WriteString("ks");
        writer.WriteString("t");
        writer.WriteString("n");
        writer.WriteShort((ushort)CqlType.Int);
        writer.WriteInt(int.MaxValue);
        var body = System.Buffers.ArrayPool<byte>.Shared.Rent(writer.Length);
        writer.WrittenSpan.CopyTo(body);

        Assert.Throws<CassandraProtocolException>(() => CqlRowSet.Parse(body, 0, writer.Length, null));
    }
}

public class CqlFrameBufferTests
{
    /// <summary>Three answers back to back: rows (with a body larger than the initial buffer), an event, an error.</summary>
    private static readonly byte[] s_stream = Frames(
        (3, 0x83, CqlOpcode.Result, Enumerable.Range(0, 300).Select(i => (byte)i).ToArray()),
        (-1, 0x83, CqlOpcode.Event, [0, 1, 2]),
        (17, 0x83, CqlOpcode.Error, []));

    [Fact]
    public void TryReadFrame_WholeStream_YieldsEveryFrame() => Assert.Equal(Expected(), Feed([s_stream]));

    [Fact]
    public void TryReadFrame_SplitAtEveryOffset_YieldsTheSameFrames()
    {
        for (var split = 1; split < s_stream.Length; split++)
        {
            Assert.Equal(Expected(), Feed([s_stream[..split], s_stream[split..]]));
        }
    }

    [Fact]
    public void TryReadFrame_OneBytePerSegment_YieldsTheSameFrames() =>
        Assert.Equal(Expected(), Feed(s_stream.Select(b => new[] { b }).ToArray()));

    [Fact]
    public void TryReadFrame_LengthBeyondTheMaximum_RefusedOnceTheHeaderArrives()
    {
        using var buffer = new CqlFrameBuffer(16, 1024);
        byte[] header = [0x83, 0, 0, 1, (byte)CqlOpcode.Result, 0x7F, 0xFF, 0xFF, 0xFF];
        header.AsSpan(0, 5).CopyTo(buffer.Writable.Span);
        buffer.Advance(5);
        Assert.Equal(CqlFrameStatus.NeedMoreData, buffer.TryReadFrame(3, out _, out _));
        header.AsSpan(5).CopyTo(buffer.Writable.Span);
        buffer.Advance(4);

        Assert.Equal(CqlFrameStatus.BadLength, buffer.TryReadFrame(3, out var read, out _));
        Assert.Equal(int.MaxValue, read.Length);
    }

    private static List<(short, CqlOpcode, string)> Expected() =>
    [
        (3, CqlOpcode.Result, Convert.ToHexString(Enumerable.Range(0, 300).Select(i => (byte)i).ToArray())),
        (-1, CqlOpcode.Event, "000102"),
        (17, CqlOpcode.Error, string.Empty),
    ];

    private static List<(short, CqlOpcode, string)> Feed(byte[][] segments)
    {
        using var buffer = new CqlFrameBuffer(16, 1 << 20);
        var frames = new List<(short, CqlOpcode, string)>();
        foreach (var segment in segments)
        {
            var rest = segment.AsSpan();
            while (rest.Length > 0)
            {
                var room = buffer.Writable.Span;
                var count = Math.Min(room.Length, rest.Length);
                rest[..count].CopyTo(room);
                buffer.Advance(count);
                rest = rest[count..];
                CqlFrameStatus status;
                while ((status = buffer.TryReadFrame(3, out var header, out var body)) == CqlFrameStatus.Ok)
                {
                    frames.Add((header.Stream, header.Opcode, Convert.ToHexString(body)));
                }

                Assert.Equal(CqlFrameStatus.NeedMoreData, status);
            }
        }

        Assert.Equal(0, buffer.Buffered);
        return frames;
    }

    private static byte[] Frames(params (short Stream, byte Version, CqlOpcode Opcode, byte[] Body)[] frames)
    {
        using var writer = new CqlWriter(16);
        foreach (var (stream, version, opcode, body) in frames)
        {
            writer.BeginFrame(version, stream, opcode);
            writer.WriteRaw(body);
            writer.EndFrame();
        }

        return writer.WrittenSpan.ToArray();
    }
}

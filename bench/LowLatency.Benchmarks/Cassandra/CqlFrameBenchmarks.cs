using System.Buffers.Binary;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using LowLatency.Cassandra;

namespace LowLatency.Benchmarks.Cassandra;

/// <summary>
/// The CQL client's two CPU costs for the candle table, per batch of 1,000 rows: encoding EXECUTE frames (symbol,
/// interval, open time, open/high/low/close/volume, trades) and decoding a RESULT page of 1,000 such rows (reading
/// every cell). Baselines are what one would otherwise write without a driver: a <see cref="BinaryWriter"/> /
/// <see cref="BinaryReader"/> over a <see cref="MemoryStream"/>, byte-swapping each number and going through strings.
/// No server: the frames are built in memory.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class CqlFrameBenchmarks
{
    private const int Rows = 1_000;
    private static readonly byte[] s_preparedId = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();

    private readonly CqlWriter _writer = new(256 * 1024);
    private readonly CqlValues _values = new();
    private readonly MemoryStream _output = new(256 * 1024);
    private readonly byte[] _page = ResultPage();
    private readonly CqlFrameBuffer _frames = new(256 * 1024, 16 << 20);

    [GlobalCleanup]
    public void Cleanup()
    {
        _writer.Dispose();
        _values.Dispose();
        _frames.Dispose();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("EncodeExecute")]
    public long BinaryWriterFrames()
    {
        _output.SetLength(0);
        using var writer = new BinaryWriter(_output, Encoding.UTF8, leaveOpen: true);
        for (var row = 0; row < Rows; row++)
        {
            var body = new MemoryStream();
            using var bodyWriter = new BinaryWriter(body);
            bodyWriter.Write(BinaryPrimitives.ReverseEndianness((short)s_preparedId.Length));
            bodyWriter.Write(s_preparedId);
            bodyWriter.Write(BinaryPrimitives.ReverseEndianness((short)CqlConsistency.LocalOne));
            bodyWriter.Write((byte)1);
            bodyWriter.Write(BinaryPrimitives.ReverseEndianness((short)9));
            foreach (var text in (string[])["BTCUSDT", "1m"])
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                bodyWriter.Write(BinaryPrimitives.ReverseEndianness(bytes.Length));
                bodyWriter.Write(bytes);
            }

            bodyWriter.Write(BinaryPrimitives.ReverseEndianness(8));
            bodyWriter.Write(BinaryPrimitives.ReverseEndianness(1_723_075_200_000L + (row * 60_000L)));
            foreach (var price in (double[])[64_000.5 + row, 64_100.25, 63_900.75, 64_050.0, 12.345])
            {
                bodyWriter.Write(BinaryPrimitives.ReverseEndianness(8));
                bodyWriter.Write(BinaryPrimitives.ReverseEndianness(BitConverter.DoubleToInt64Bits(price)));
            }

            bodyWriter.Write(BinaryPrimitives.ReverseEndianness(4));
            bodyWriter.Write(BinaryPrimitives.ReverseEndianness(row));
            bodyWriter.Flush();
            writer.Write((byte)3);
            writer.Write((byte)0);
            writer.Write(BinaryPrimitives.ReverseEndianness((short)row));
            writer.Write((byte)CqlOpcode.Execute);
            writer.Write(BinaryPrimitives.ReverseEndianness((int)body.Length));
            writer.Write(body.GetBuffer(), 0, (int)body.Length);
        }

        writer.Flush();
        return _output.Length;
    }

    [Benchmark]
    [BenchmarkCategory("EncodeExecute")]
    public long CqlWriterFrames()
    {
        _writer.Reset();
        for (var row = 0; row < Rows; row++)
        {
            _values.Clear().Add("BTCUSDT"u8).Add("1m"u8).AddTimestamp(1_723_075_200_000L + (row * 60_000L))
                .Add(64_000.5 + row).Add(64_100.25).Add(63_900.75).Add(64_050.0).Add(12.345).Add(row);
            _writer.BeginFrame(3, (short)row, CqlOpcode.Execute);
            new ExecuteRequest(s_preparedId, _values, default, CqlConsistency.LocalOne, skipMetadata: true).WriteBody(_writer, 3);
            _writer.EndFrame();
        }

        return _writer.Length;
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("DecodeRows")]
    public double BinaryReaderRows()
    {
        using var reader = new BinaryReader(new MemoryStream(_page), Encoding.UTF8);
        reader.ReadBytes(CqlFrameHeader.Size);
        reader.ReadInt32(); // kind
        reader.ReadInt32(); // flags
        var columns = BinaryPrimitives.ReverseEndianness(reader.ReadInt32());
        var keyspace = ReadString(reader);
        var table = ReadString(reader);
        for (var i = 0; i < columns; i++)
        {
            ReadString(reader);
            reader.ReadInt16();
        }

        var rows = BinaryPrimitives.ReverseEndianness(reader.ReadInt32());
        var sum = keyspace.Length + table.Length + 0.0;
        for (var row = 0; row < rows; row++)
        {
            sum += Encoding.UTF8.GetString(reader.ReadBytes(BinaryPrimitives.ReverseEndianness(reader.ReadInt32()))).Length;
            sum += Encoding.UTF8.GetString(reader.ReadBytes(BinaryPrimitives.ReverseEndianness(reader.ReadInt32()))).Length;
            reader.ReadInt32();
            sum += BinaryPrimitives.ReverseEndianness(reader.ReadInt64()) & 1;
            for (var price = 0; price < 5; price++)
            {
                reader.ReadInt32();
                sum += BitConverter.Int64BitsToDouble(BinaryPrimitives.ReverseEndianness(reader.ReadInt64()));
            }

            reader.ReadInt32();
            sum += BinaryPrimitives.ReverseEndianness(reader.ReadInt32());
        }

        return sum;
    }

    [Benchmark]
    [BenchmarkCategory("DecodeRows")]
    public double CqlRowSetRows()
    {
        _page.CopyTo(_frames.Writable.Span);
        _frames.Advance(_page.Length);
        _frames.TryReadFrame(3, out var header, out var body);
        var copy = System.Buffers.ArrayPool<byte>.Shared.Rent(header.Length);
        body.CopyTo(copy);
        using var rows = CqlRowSet.Parse(copy, 0, header.Length, null);
        var sum = 0.0;
        for (var row = 0; row < rows.Count; row++)
        {
            sum += rows.GetBytes(row, 0).Length + rows.GetBytes(row, 1).Length + (rows.GetInt64(row, 2) & 1);
            for (var column = 3; column < 8; column++)
            {
                sum += rows.GetDouble(row, column);
            }

            sum += rows.GetInt32(row, 8);
        }

        return sum;
    }

    private static string ReadString(BinaryReader reader) =>
        Encoding.UTF8.GetString(reader.ReadBytes((ushort)BinaryPrimitives.ReverseEndianness(reader.ReadInt16())));

    /// <summary>A RESULT frame of 1,000 candle rows, as Cassandra sends them (global table spec).</summary>
    private static byte[] ResultPage()
    {
        using var writer = new CqlWriter(256 * 1024);
        using var values = new CqlValues();
        writer.BeginFrame(0x83, 1, CqlOpcode.Result);
        writer.WriteInt((int)CqlResultKind.Rows);
        writer.WriteInt(0x0001);
        writer.WriteInt(9);
        writer.WriteString("market");
        writer.WriteString("candles");
        foreach (var (name, type) in (ReadOnlySpan<(string, CqlType)>)[("symbol", CqlType.Varchar), ("interval", CqlType.Varchar),
                     ("open_time", CqlType.Timestamp), ("open", CqlType.Double), ("high", CqlType.Double), ("low", CqlType.Double),
                     ("close", CqlType.Double), ("volume", CqlType.Double), ("trades", CqlType.Int)])
        {
            writer.WriteString(name);
            writer.WriteShort((ushort)type);
        }

        writer.WriteInt(Rows);
        for (var row = 0; row < Rows; row++)
        {
            values.Clear().Add("BTCUSDT"u8).Add("1m"u8).AddTimestamp(1_723_075_200_000L + (row * 60_000L))
                .Add(64_000.5 + row).Add(64_100.25).Add(63_900.75).Add(64_050.0).Add(12.345).Add(row);
            writer.WriteRaw(values.Encoded);
        }

        writer.EndFrame();
        return writer.WrittenSpan.ToArray();
    }
}

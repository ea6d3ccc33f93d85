using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace LowLatency.Cassandra;

/// <summary>
/// Encodes request frames into one reusable buffer (rented, grown by doubling, returned at dispose): header, then the
/// body in the protocol's notation ([short], [int], [long], [string], [long string], [bytes], [short bytes], [string
/// map]); <see cref="EndFrame"/> patches the body length into the header. Bounds check, then a big-endian store (Npgsql
/// write buffer). After the buffer has grown to the largest request, encoding allocates nothing.
/// </summary>
public sealed class CqlWriter : IDisposable
{
    private byte[] _buffer;
    private int _position;
    private int _frameStart = -1;

    public CqlWriter(int initialSize = 4096) => _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialSize, 64));

    /// <summary>The bytes written so far (one or more complete frames, or loose values).</summary>
    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _position);

    /// <inheritdoc cref="Written"/>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _position);

    /// <summary>How many bytes are written.</summary>
    public int Length => _position;

    /// <summary>Forgets everything written (keeps the buffer).</summary>
    public void Reset()
    {
        _position = 0;
        _frameStart = -1;
    }

    /// <summary>Starts a request frame; the body follows, then <see cref="EndFrame"/>.</summary>
    public void BeginFrame(int protocolVersion, short stream, CqlOpcode opcode, CqlFrameFlags flags = CqlFrameFlags.None)
    {
        if (_frameStart >= 0)
        {
            throw new InvalidOperationException("The previous frame was not ended.");
        }

        _frameStart = _position;
        new CqlFrameHeader((byte)protocolVersion, flags, stream, opcode, 0).Write(Reserve(CqlFrameHeader.Size));
    }

    /// <summary>Ends the frame: its body length goes into the header. Returns the body length.</summary>
    public int EndFrame()
    {
        if (_frameStart < 0)
        {
            throw new InvalidOperationException("No frame was begun.");
        }

        var length = _position - _frameStart - CqlFrameHeader.Size;
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_frameStart + 5), length);
        _frameStart = -1;
        return length;
    }

    public void WriteByte(byte value) => Reserve(1)[0] = value;

    public void WriteShort(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Reserve(2), value);

    public void WriteInt(int value) => BinaryPrimitives.WriteInt32BigEndian(Reserve(4), value);

    public void WriteLong(long value) => BinaryPrimitives.WriteInt64BigEndian(Reserve(8), value);

    public void WriteConsistency(CqlConsistency consistency) => WriteShort((ushort)consistency);

    /// <summary>[string]: a [short] length and UTF-8 bytes.</summary>
    public void WriteString(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        if (length > ushort.MaxValue)
        {
            throw new ArgumentException("A [string] holds at most 65535 bytes.", nameof(value));
        }

        WriteShort((ushort)length);
        Encoding.UTF8.GetBytes(value, Reserve(length));
    }

    /// <summary>[long string]: an [int] length and UTF-8 bytes.</summary>
    public void WriteLongString(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteInt(length);
        Encoding.UTF8.GetBytes(value, Reserve(length));
    }

    /// <summary>[bytes]: an [int] length and the bytes.</summary>
    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        WriteInt(value.Length);
        value.CopyTo(Reserve(value.Length));
    }

    /// <summary>[short bytes]: a [short] length and the bytes.</summary>
    public void WriteShortBytes(ReadOnlySpan<byte> value)
    {
        if (value.Length > ushort.MaxValue)
        {
            throw new ArgumentException("[short bytes] hold at most 65535 bytes.", nameof(value));
        }

        WriteShort((ushort)value.Length);
        value.CopyTo(Reserve(value.Length));
    }

    /// <summary>Raw bytes, already encoded (bound values).</summary>
    public void WriteRaw(ReadOnlySpan<byte> value) => value.CopyTo(Reserve(value.Length));

    /// <summary>[string map].</summary>
    public void WriteStringMap(ReadOnlySpan<KeyValuePair<string, string>> entries)
    {
        WriteShort(checked((ushort)entries.Length));
        foreach (var (key, value) in entries)
        {
            WriteString(key);
            WriteString(value);
        }
    }

    /// <summary>Makes room for <paramref name="count"/> bytes at the end and returns them (to be filled by the caller).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Reserve(int count)
    {
        if (_buffer.Length - _position < count)
        {
            Grow(count);
        }

        var span = _buffer.AsSpan(_position, count);
        _position += count;
        return span;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _position = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int count)
    {
        ObjectDisposedException.ThrowIf(_buffer.Length == 0, this);
        var size = _buffer.Length;
        var needed = checked(_position + count);
        while (size < needed)
        {
            size = checked(size * 2);
        }

        var bigger = ArrayPool<byte>.Shared.Rent(size);
        _buffer.AsSpan(0, _position).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}

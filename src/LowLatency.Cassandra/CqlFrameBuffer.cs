using System.Buffers;

namespace LowLatency.Cassandra;

/// <summary>
/// The receive buffer of a connection: bytes arrive in whatever pieces the socket delivers (<see cref="Writable"/>,
/// <see cref="Advance"/>), and <see cref="TryReadFrame"/> hands out each complete frame in place. A frame's header is
/// checked before its body is awaited: a length beyond the maximum is refused, never allocated; otherwise the buffer
/// grows to hold the frame (pooled arrays). Not thread-safe: the connection's read loop owns it.
/// </summary>
internal sealed class CqlFrameBuffer(int initialSize, int maxBodyLength) : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(initialSize);
    private int _start;
    private int _end;

    /// <summary>Bytes received and not yet handed out.</summary>
    public int Buffered => _end - _start;

    /// <summary>Where to receive into (after moving the unread rest to the front); invalidates the last frame's body.</summary>
    public Memory<byte> Writable
    {
        get
        {
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                Resize(_buffer.Length * 2);
            }

            return _buffer.AsMemory(_end);
        }
    }

    /// <summary>Records that <paramref name="count"/> bytes were received into <see cref="Writable"/>.</summary>
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length - _end);
        _end += count;
    }

    /// <summary>
    /// The next complete frame (<see cref="CqlFrameStatus.Ok"/>: consumed; its body is valid until the next
    /// <see cref="Writable"/>), <see cref="CqlFrameStatus.NeedMoreData"/> (the buffer now has room for the whole frame),
    /// or the header's fault.
    /// </summary>
    public CqlFrameStatus TryReadFrame(int protocolVersion, out CqlFrameHeader header, out ReadOnlySpan<byte> body)
    {
        body = default;
        var status = CqlFrameHeader.TryRead(_buffer.AsSpan(_start, _end - _start), protocolVersion, maxBodyLength, out header);
        if (status != CqlFrameStatus.Ok)
        {
            return status;
        }

        var frameLength = CqlFrameHeader.Size + header.Length;
        if (_end - _start < frameLength)
        {
            if (_buffer.Length < frameLength)
            {
                Resize(frameLength); // bounded: the header was checked against the maximum
            }

            return CqlFrameStatus.NeedMoreData;
        }

        body = _buffer.AsSpan(_start + CqlFrameHeader.Size, header.Length);
        _start += frameLength;
        return CqlFrameStatus.Ok;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _start = _end = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Resize(int size)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(size);
        _buffer.AsSpan(_start, _end - _start).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
        _end -= _start;
        _start = 0;
    }
}

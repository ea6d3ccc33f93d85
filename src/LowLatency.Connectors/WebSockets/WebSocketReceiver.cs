using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace LowLatency.Connectors.WebSockets;

/// <summary>What a <see cref="WebSocketReceiver"/> hands on: messages, and the control frames the connection answers.</summary>
internal interface IWebSocketFrameSink
{
    /// <summary>
    /// A whole message: <paramref name="payload"/> is valid only during the call (it lies in the receive buffer, or in the
    /// assembly buffer of a fragmented message). <paramref name="receivedNs"/> is the time of the read that completed it.
    /// </summary>
    void OnMessage(ReadOnlySpan<byte> payload, bool isText, long receivedNs);

    /// <summary>A message above the size limit ended; none of its payload was kept.</summary>
    void OnOversized(long receivedNs);

    /// <summary>A ping: the connection answers with a pong carrying <paramref name="payload"/> (valid only during the call).</summary>
    void OnPing(ReadOnlySpan<byte> payload);

    /// <summary>A pong, solicited or not.</summary>
    void OnPong(ReadOnlySpan<byte> payload);
}

/// <summary>A frame broke RFC 6455; the connection is failed with close code 1002 (protocol error).</summary>
internal sealed class WebSocketProtocolException(string message) : IOException(message);

/// <summary>
/// The receiving half of an RFC 6455 client (§5): bytes read from the connection go into <see cref="FreeSpace"/>, and
/// <see cref="Commit"/> parses every whole frame they complete. An unfragmented text or binary message (what Binance
/// sends) is handed over in place, in the receive buffer, with no copy; a fragmented one is assembled first. A message
/// above the size limit is skipped as its bytes arrive, never buffered. No allocation after warm-up: the buffers come
/// from <see cref="ArrayPool{T}"/> and grow only for a message longer than the receive buffer.
/// </summary>
/// <remarks>
/// <para>
/// One read usually completes many frames (a 64 KiB read holds ~250 Binance frames), so parsing a frame costs a few
/// header checks and one call: the per-message cost of <c>ClientWebSocket</c>, one <c>ReceiveAsync</c> per message,
/// is what this replaces. All frames of one read share its receive time.
/// </para>
/// <para>
/// Checked as §5.2 and §5.5 require a client to: server frames are unmasked, reserved bits are zero (no extension is
/// negotiated), opcodes are known, control frames are whole and at most 125 bytes, a 64-bit length has its top bit
/// clear, continuation frames continue a message and data frames don't interrupt one. A violation throws
/// <see cref="WebSocketProtocolException"/>. Text payloads are not checked for UTF-8 here: the decoders read bytes and
/// reject what they cannot parse, one counted malformed frame rather than a lost connection.
/// </para>
/// <para>Single-threaded: the connection's receive thread owns it.</para>
/// </remarks>
internal sealed class WebSocketReceiver : IDisposable
{
    /// <summary>Control frames carry at most 125 bytes (RFC 6455 §5.5).</summary>
    public const int MaxControlPayload = 125;

    /// <summary>The longest server frame header: 2 bytes and a 64-bit length (server frames carry no mask).</summary>
    public const int MaxHeaderBytes = 10;

    private readonly IWebSocketFrameSink _sink;
    private readonly int _maxMessageBytes;
    private readonly int _minReadBytes;
    private byte[] _buffer;
    private int _start; // first unparsed byte
    private int _end;   // end of the bytes read

    // A fragmented message being assembled (or skipped when too large).
    private bool _inMessage;
    private bool _messageIsText;
    private bool _discarding;
    private byte[] _assembly = [];
    private int _assemblyLength;

    // The payload of an oversized frame still to skip, and whether the frame ends its message.
    private long _skipRemaining;
    private bool _skipping;
    private bool _skipEndsMessage;

    /// <param name="sink">Receives messages and control frames.</param>
    /// <param name="bufferBytes">The receive buffer (grown up to <paramref name="maxMessageBytes"/> for a longer frame).</param>
    /// <param name="maxMessageBytes">Longer messages are dropped, counted through <see cref="IWebSocketFrameSink.OnOversized"/>.</param>
    public WebSocketReceiver(IWebSocketFrameSink sink, int bufferBytes, int maxMessageBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferBytes, 256);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageBytes, 1);
        _sink = sink;
        _maxMessageBytes = maxMessageBytes;
        _buffer = ArrayPool<byte>.Shared.Rent(bufferBytes);
        _minReadBytes = Math.Max(_buffer.Length / 4, 128);
    }

    /// <summary>Bytes read and not yet parsed (a partial frame, or what followed the upgrade response).</summary>
    public int Pending => _end - _start;

    /// <summary>
    /// Where the next read goes: never empty. Moves a partial frame to the front of the buffer first when the space
    /// behind it has run short (a few hundred bytes at most, as frames are parsed as soon as they are whole).
    /// </summary>
    public Span<byte> FreeSpace
    {
        get
        {
            if (_start == _end)
            {
                _start = _end = 0;
            }
            else if (_buffer.Length - _end < _minReadBytes && _start > 0)
            {
                Compact();
            }

            return _buffer.AsSpan(_end);
        }
    }

    /// <summary>Bytes already read elsewhere (the upgrade response's tail) to parse as if just received.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        while (_buffer.Length - _end < bytes.Length)
        {
            Grow(_end - _start + bytes.Length);
        }

        bytes.CopyTo(_buffer.AsSpan(_end));
        _end += bytes.Length;
    }

    /// <summary>
    /// Takes <paramref name="count"/> bytes just read into <see cref="FreeSpace"/> and parses every frame they complete,
    /// handing messages and control frames to the sink. True when a close frame arrived: its status and reason are in
    /// <see cref="CloseStatus"/> and <see cref="CloseReason"/>, and nothing after it is parsed.
    /// </summary>
    /// <exception cref="WebSocketProtocolException">A frame broke RFC 6455.</exception>
    public bool Commit(int count, long receivedNs)
    {
        _end += count;
        while (true)
        {
            if (_skipping)
            {
                var take = (int)Math.Min(_skipRemaining, _end - _start);
                _start += take;
                _skipRemaining -= take;
                if (_skipRemaining > 0)
                {
                    return false;
                }

                _skipping = false;
                if (_skipEndsMessage)
                {
                    EndDiscardedMessage(receivedNs);
                }

                continue;
            }

            var available = _end - _start;
            if (available < 2)
            {
                return false;
            }

            var b0 = _buffer[_start];
            var b1 = _buffer[_start + 1];
            var header = 2;
            long length = b1 & 0x7F;
            if ((b0 & 0x70) != 0 || (b1 & 0x80) != 0)
            {
                throw new WebSocketProtocolException((b1 & 0x80) != 0 ? "the server masked a frame" : "a frame has reserved bits set, and no extension was negotiated");
            }

            if (length == 126)
            {
                if (available < 4)
                {
                    return false;
                }

                length = BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(_start + 2));
                header = 4;
            }
            else if (length == 127)
            {
                if (available < 10)
                {
                    return false;
                }

                var wide = BinaryPrimitives.ReadUInt64BigEndian(_buffer.AsSpan(_start + 2));
                if (wide > long.MaxValue)
                {
                    throw new WebSocketProtocolException("a frame's 64-bit length has its most significant bit set");
                }

                length = (long)wide;
                header = 10;
            }

            var fin = (b0 & 0x80) != 0;
            var opcode = b0 & 0x0F;
            if (opcode >= 8)
            {
                var control = ControlFrame(opcode, fin, header, length);
                if (control != ControlOutcome.Handled)
                {
                    return control == ControlOutcome.Close; // or incomplete: a control frame (≤ 127 bytes) always fits the buffer
                }

                continue;
            }

            if (!DataFrame(opcode, fin, header, length, receivedNs))
            {
                return false;
            }
        }
    }

    /// <summary>The close frame's status code (1005, "no status", when it had none); set when <see cref="Commit"/> returned true.</summary>
    public int CloseStatus { get; private set; }

    /// <summary>The close frame's reason (empty when it had none).</summary>
    public string CloseReason { get; private set; } = string.Empty;

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        ReturnAssembly();
    }

    private enum ControlOutcome
    {
        Incomplete,
        Handled,
        Close,
    }

    // Parses a control frame if whole; parsing stops after a close frame.
    private ControlOutcome ControlFrame(int opcode, bool fin, int header, long length)
    {
        if (!fin || length > MaxControlPayload)
        {
            throw new WebSocketProtocolException(!fin ? "a control frame is fragmented" : $"a control frame carries {length} bytes (at most {MaxControlPayload})");
        }

        if (_end - _start < header + length)
        {
            return ControlOutcome.Incomplete;
        }

        var payload = _buffer.AsSpan(_start + header, (int)length);
        _start += header + (int)length;
        switch (opcode)
        {
            case 0x8:
                if (payload.Length == 1)
                {
                    throw new WebSocketProtocolException("a close frame carries a 1-byte payload");
                }

                CloseStatus = payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : 1005;
                CloseReason = payload.Length > 2 ? System.Text.Encoding.UTF8.GetString(payload[2..]) : string.Empty;
                return ControlOutcome.Close;
            case 0x9:
                _sink.OnPing(payload);
                return ControlOutcome.Handled;
            case 0xA:
                _sink.OnPong(payload);
                return ControlOutcome.Handled;
            default:
                throw new WebSocketProtocolException($"unknown opcode 0x{opcode:X}");
        }
    }

    // Parses a data frame if whole (true), or arranges for the rest of it (false: read more).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool DataFrame(int opcode, bool fin, int header, long length, long receivedNs)
    {
        if (opcode == 0 ? !_inMessage : opcode > 2 || _inMessage)
        {
            throw new WebSocketProtocolException(opcode switch
            {
                0 => "a continuation frame arrived outside a fragmented message",
                > 2 => $"unknown opcode 0x{opcode:X}",
                _ => "a new message began inside a fragmented one",
            });
        }

        if (_discarding || (opcode == 0 ? _assemblyLength : 0) + length > _maxMessageBytes)
        {
            Discard(opcode, fin, header, length);
            return true;
        }

        var frameBytes = header + (int)length;
        if (_end - _start < frameBytes)
        {
            if (frameBytes > _buffer.Length)
            {
                Grow(frameBytes);
            }

            return false;
        }

        var payload = _buffer.AsSpan(_start + header, (int)length);
        _start += frameBytes;
        if (opcode != 0 && fin)
        {
            _sink.OnMessage(payload, opcode == 1, receivedNs); // the common case: one frame, delivered in place
            return true;
        }

        if (opcode != 0)
        {
            _inMessage = true;
            _messageIsText = opcode == 1;
            _assemblyLength = 0;
        }

        AppendToAssembly(payload);
        if (fin)
        {
            _inMessage = false;
            _sink.OnMessage(_assembly.AsSpan(0, _assemblyLength), _messageIsText, receivedNs);
            _assemblyLength = 0;
        }

        return true;
    }

    // Skips the payload of a frame of a message that is too large; the message is counted when its last frame ends.
    private void Discard(int opcode, bool fin, int header, long length)
    {
        if (opcode != 0)
        {
            _inMessage = true;
        }

        _discarding = true;
        _assemblyLength = 0;
        _start += header;
        _skipRemaining = length;
        _skipping = true;
        _skipEndsMessage = fin;
    }

    private void EndDiscardedMessage(long receivedNs)
    {
        _discarding = false;
        _inMessage = false;
        _sink.OnOversized(receivedNs);
    }

    private void AppendToAssembly(ReadOnlySpan<byte> payload)
    {
        var needed = _assemblyLength + payload.Length;
        if (needed > _assembly.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Max(_assembly.Length * 2, 4096)));
            _assembly.AsSpan(0, _assemblyLength).CopyTo(bigger);
            ReturnAssembly();
            _assembly = bigger;
        }

        payload.CopyTo(_assembly.AsSpan(_assemblyLength));
        _assemblyLength = needed;
    }

    private void ReturnAssembly()
    {
        var assembly = _assembly;
        _assembly = [];
        if (assembly.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(assembly);
        }
    }

    private void Compact()
    {
        var pending = _end - _start;
        _buffer.AsSpan(_start, pending).CopyTo(_buffer);
        _start = 0;
        _end = pending;
    }

    // Makes room for a frame of frameBytes from _start (at most the size limit plus a header).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int frameBytes)
    {
        var pending = _end - _start;
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(frameBytes + _minReadBytes, _buffer.Length * 2));
        _buffer.AsSpan(_start, pending).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
        _start = 0;
        _end = pending;
    }
}

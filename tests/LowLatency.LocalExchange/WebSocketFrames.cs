using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;

namespace LowLatency.LocalExchange;

/// <summary>The opcodes of RFC 6455 §5.2.</summary>
internal enum WebSocketOpcode : byte
{
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
}

/// <summary>The result of parsing one client frame.</summary>
internal enum FrameStatus
{
    /// <summary>A whole frame was parsed.</summary>
    Complete,

    /// <summary>The buffer ends inside the frame: read more.</summary>
    Incomplete,

    /// <summary>The frame breaks RFC 6455 (unmasked client frame, reserved bits, unknown opcode, bad control frame).</summary>
    ProtocolError,

    /// <summary>The declared payload is larger than the limit; rejected before any of it is buffered.</summary>
    TooBig,
}

/// <summary>The header of a parsed client frame.</summary>
internal readonly record struct ClientFrameHeader(WebSocketOpcode Opcode, bool Fin, int PayloadLength, uint MaskKey, int HeaderLength);

/// <summary>
/// The server side of RFC 6455 framing: unmasked server frames written straight into a <see cref="PipeWriter"/>, and
/// masked client frames parsed from a <see cref="ReadOnlySequence{T}"/>. Doing the framing here, rather than through
/// <see cref="System.Net.WebSockets.WebSocket"/>, is what lets the exchange see every ping and pong a client sends (the
/// managed WebSocket answers pings itself and swallows pongs), leave pings unanswered, and write frames that a
/// conforming implementation refuses to produce (invalid UTF-8 in a text frame, a 64 MiB message written in pieces).
/// </summary>
internal static class WebSocketFrames
{
    /// <summary>The longest server frame header: 2 bytes plus a 64-bit length (server frames carry no mask).</summary>
    public const int MaxServerHeaderBytes = 10;

    /// <summary>Control frames carry at most 125 bytes of payload (RFC 6455 §5.5).</summary>
    public const int MaxControlPayloadBytes = 125;

    /// <summary>Writes a server frame header into <paramref name="destination"/> and returns its length.</summary>
    public static int WriteHeader(Span<byte> destination, WebSocketOpcode opcode, bool fin, long payloadLength)
    {
        destination[0] = (byte)((fin ? 0x80 : 0) | (int)opcode);
        if (payloadLength < 126)
        {
            destination[1] = (byte)payloadLength;
            return 2;
        }

        if (payloadLength <= ushort.MaxValue)
        {
            destination[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payloadLength);
            return 4;
        }

        destination[1] = 127;
        BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payloadLength);
        return 10;
    }

    /// <summary>Writes a whole frame (header and payload) into <paramref name="writer"/> without flushing.</summary>
    public static int WriteFrame(PipeWriter writer, WebSocketOpcode opcode, ReadOnlySpan<byte> payload, bool fin = true)
    {
        var header = writer.GetSpan(MaxServerHeaderBytes);
        var headerLength = WriteHeader(header, opcode, fin, payload.Length);
        writer.Advance(headerLength);
        writer.Write(payload); // copies across the pipe's segments, so a frame of any size needs no buffer of its own
        return headerLength + payload.Length;
    }

    /// <summary>
    /// Parses the client frame at the start of <paramref name="buffer"/>. The payload length is checked against
    /// <paramref name="maxPayloadBytes"/> as soon as the header is complete, so a huge declared length is refused
    /// before its bytes arrive.
    /// </summary>
    public static FrameStatus TryParse(in ReadOnlySequence<byte> buffer, int maxPayloadBytes, out ClientFrameHeader header)
    {
        header = default;
        if (buffer.Length < 2)
        {
            return FrameStatus.Incomplete;
        }

        Span<byte> head = stackalloc byte[14];
        var available = (int)Math.Min(buffer.Length, head.Length);
        buffer.Slice(0, available).CopyTo(head);

        var fin = (head[0] & 0x80) != 0;
        var opcode = (WebSocketOpcode)(head[0] & 0x0F);
        var masked = (head[1] & 0x80) != 0;
        var length7 = head[1] & 0x7F;
        if ((head[0] & 0x70) != 0 || !masked || !IsKnown(opcode))
        {
            // Reserved bits need a negotiated extension (none here); client frames must be masked (§5.3).
            return FrameStatus.ProtocolError;
        }

        var isControl = ((byte)opcode & 0x8) != 0;
        if (isControl && (!fin || length7 > MaxControlPayloadBytes))
        {
            return FrameStatus.ProtocolError;
        }

        var lengthBytes = length7 switch { 126 => 2, 127 => 8, _ => 0 };
        var headerLength = 2 + lengthBytes + 4;
        if (available < headerLength)
        {
            return FrameStatus.Incomplete;
        }

        var payloadLength = length7 switch
        {
            126 => BinaryPrimitives.ReadUInt16BigEndian(head[2..]),
            127 => BinaryPrimitives.ReadUInt64BigEndian(head[2..]),
            _ => (ulong)length7,
        };

        if (payloadLength > (ulong)maxPayloadBytes)
        {
            return FrameStatus.TooBig;
        }

        if ((ulong)buffer.Length < (ulong)headerLength + payloadLength)
        {
            return FrameStatus.Incomplete;
        }

        var maskKey = BinaryPrimitives.ReadUInt32LittleEndian(head[(2 + lengthBytes)..]);
        header = new ClientFrameHeader(opcode, fin, (int)payloadLength, maskKey, headerLength);
        return FrameStatus.Complete;
    }

    /// <summary>Copies the masked payload of <paramref name="header"/>'s frame into <paramref name="destination"/>, unmasked.</summary>
    public static void Unmask(in ReadOnlySequence<byte> frame, in ClientFrameHeader header, Span<byte> destination)
    {
        frame.Slice(header.HeaderLength, header.PayloadLength).CopyTo(destination);
        Span<byte> key = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(key, header.MaskKey);
        for (var i = 0; i < header.PayloadLength; i++)
        {
            destination[i] ^= key[i & 3];
        }
    }

    private static bool IsKnown(WebSocketOpcode opcode) => opcode is WebSocketOpcode.Continuation or WebSocketOpcode.Text
        or WebSocketOpcode.Binary or WebSocketOpcode.Close or WebSocketOpcode.Ping or WebSocketOpcode.Pong;
}

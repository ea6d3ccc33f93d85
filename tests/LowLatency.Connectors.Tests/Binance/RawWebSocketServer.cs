using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace LowLatency.Connectors.Tests.Binance;

/// <summary>
/// A bare WebSocket server on 127.0.0.1, kept for the one test the local Binance exchange cannot serve: the allocation
/// test (<see cref="BinanceStreamClientAllocationTests"/>), which needs a server that writes pre-encoded frames and so
/// allocates nothing per frame itself (the exchange's Kestrel pipelines do). Every other socket test of the client runs
/// against the exchange. Real TCP and a real RFC 6455 handshake; it knows nothing of Binance.
/// </summary>
internal sealed class RawWebSocketServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<ServerConnection> _connections = [];
    private readonly Thread _acceptor;
    private volatile bool _disposed;

    public RawWebSocketServer()
    {
        _listener.Start();
        Url = new Uri($"ws://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _acceptor = new Thread(Accept) { IsBackground = true, Name = "raw-ws-accept" };
        _acceptor.Start();
    }

    public Uri Url { get; }

    /// <summary>Every connection accepted so far, in order.</summary>
    public IReadOnlyList<ServerConnection> Connections
    {
        get
        {
            lock (_connections)
            {
                return [.. _connections];
            }
        }
    }

    /// <summary>Connections whose client has not closed and that were not killed.</summary>
    public IReadOnlyList<ServerConnection> Open => [.. Connections.Where(c => !c.IsClosed)];

    public void Dispose()
    {
        _disposed = true;
        _listener.Stop();
        foreach (var connection in Connections)
        {
            connection.Kill();
        }
    }

    private void Accept()
    {
        while (!_disposed)
        {
            Socket socket;
            try
            {
                socket = _listener.AcceptSocket();
            }
            catch (SocketException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            try
            {
                var connection = ServerConnection.Handshake(socket);
                lock (_connections)
                {
                    _connections.Add(connection);
                }
            }
            catch (Exception e) when (e is IOException or SocketException or InvalidOperationException)
            {
                socket.Dispose();
            }
        }
    }
}

/// <summary>One accepted WebSocket: what the client asked for and sent, and ways to send to it.</summary>
internal sealed class ServerConnection
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly Lock _send = new();
    private volatile bool _closed;

    private ServerConnection(Socket socket, string target)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        Target = target;
        new Thread(Read) { IsBackground = true, Name = "raw-ws-read" }.Start();
    }

    /// <summary>The request target of the upgrade, e.g. <c>/stream?streams=btcusdt@trade</c>.</summary>
    public string Target { get; }

    /// <summary>Frames the client sent: opcode (1 text, 8 close, 9 ping, 10 pong) and unmasked payload.</summary>
    public ConcurrentQueue<(int Opcode, byte[] Payload)> Received { get; } = new();

    public bool IsClosed => _closed;

    public IEnumerable<string> ReceivedTexts => Received.Where(f => f.Opcode == 1).Select(f => Encoding.UTF8.GetString(f.Payload));

    public static ServerConnection Handshake(Socket socket)
    {
        var buffer = new byte[16 * 1024];
        var length = 0;
        string request;
        while (true)
        {
            var read = socket.Receive(buffer, length, buffer.Length - length, SocketFlags.None);
            if (read == 0)
            {
                throw new IOException("closed during the handshake");
            }

            length += read;
            request = Encoding.ASCII.GetString(buffer, 0, length);
            if (request.Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                break;
            }
        }

        var lines = request.Split("\r\n");
        var target = lines[0].Split(' ')[1];
        var key = lines.First(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase)).Split(':', 2)[1].Trim();
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        socket.Send(Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"));
        socket.NoDelay = true;
        return new ServerConnection(socket, target);
    }

    /// <summary>Sends a text message, in <paramref name="fragments"/> frames; false once the connection is gone.</summary>
    public bool SendText(ReadOnlySpan<byte> payload, int fragments = 1)
    {
        var size = (payload.Length + fragments - 1) / Math.Max(1, fragments);
        var first = true;
        var offset = 0;
        do
        {
            var part = payload.Slice(offset, Math.Min(size, payload.Length - offset));
            offset += part.Length;
            var opcode = first ? 1 : 0;
            if (!Send(opcode, part, fin: offset == payload.Length))
            {
                return false;
            }

            first = false;
        }
        while (offset < payload.Length);

        return true;
    }

    public bool SendText(string text) => SendText(Encoding.UTF8.GetBytes(text));

    /// <summary>Sends bytes that are already WebSocket frames (<see cref="EncodeText"/>), in one write.</summary>
    public bool SendEncoded(ReadOnlySpan<byte> frames)
    {
        lock (_send)
        {
            if (_closed)
            {
                return false;
            }

            try
            {
                _socket.Send(frames);
                return true;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                _closed = true;
                return false;
            }
        }
    }

    /// <summary>One unfragmented server-to-client text frame (payloads under 64 KiB).</summary>
    public static byte[] EncodeText(ReadOnlySpan<byte> payload)
    {
        var header = payload.Length < 126 ? 2 : 4;
        var frame = new byte[header + payload.Length];
        frame[0] = 0x81;
        if (header == 2)
        {
            frame[1] = (byte)payload.Length;
        }
        else
        {
            frame[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length);
        }

        payload.CopyTo(frame.AsSpan(header));
        return frame;
    }

    public bool SendPing(string payload) => Send(9, Encoding.UTF8.GetBytes(payload), fin: true);

    /// <summary>Drops the TCP connection with a reset: no close frame, as a network failure would.</summary>
    public void Kill()
    {
        _closed = true;
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
            _socket.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    private bool Send(int opcode, ReadOnlySpan<byte> payload, bool fin)
    {
        Span<byte> header = stackalloc byte[10];
        header[0] = (byte)((fin ? 0x80 : 0) | opcode);
        int headerLength;
        if (payload.Length < 126)
        {
            header[1] = (byte)payload.Length;
            headerLength = 2;
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            header[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)payload.Length);
            headerLength = 4;
        }
        else
        {
            header[1] = 127;
            BinaryPrimitives.WriteUInt64BigEndian(header[2..], (ulong)payload.Length);
            headerLength = 10;
        }

        lock (_send)
        {
            if (_closed)
            {
                return false;
            }

            try
            {
                _socket.Send(header[..headerLength]);
                _socket.Send(payload);
                return true;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                _closed = true;
                return false;
            }
        }
    }

    private void Read()
    {
        try
        {
            Span<byte> header = stackalloc byte[8];
            Span<byte> mask = stackalloc byte[4];
            while (true)
            {
                _stream.ReadExactly(header[..2]);
                var opcode = header[0] & 0x0F;
                long length = header[1] & 0x7F;
                if (length == 126)
                {
                    _stream.ReadExactly(header[..2]);
                    length = BinaryPrimitives.ReadUInt16BigEndian(header);
                }
                else if (length == 127)
                {
                    _stream.ReadExactly(header);
                    length = (long)BinaryPrimitives.ReadUInt64BigEndian(header);
                }

                _stream.ReadExactly(mask);
                var payload = new byte[length];
                _stream.ReadExactly(payload);
                for (var i = 0; i < payload.Length; i++)
                {
                    payload[i] ^= mask[i % 4];
                }

                Received.Enqueue((opcode, payload));
                if (opcode == 8)
                {
                    Send(8, payload, fin: true); // complete the close handshake
                    _closed = true;
                    _socket.Shutdown(SocketShutdown.Both);
                    _socket.Close();
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or EndOfStreamException)
        {
            _closed = true;
        }
    }
}

using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;

namespace LowLatency.LocalExchange;

/// <summary>
/// What the local exchange itself can send, as the ceiling for any client measured against it: the feed per connection,
/// looped, as fast as possible, into one local client that discards. Measured twice: into a
/// <see cref="ClientWebSocket"/> (what a .NET client can take at best), and into a raw socket that only walks the frame
/// headers (what the server can write when the client costs almost nothing).
/// </summary>
internal static class CeilingMeasurement
{
    private static readonly TimeSpan s_warmUp = TimeSpan.FromSeconds(1);

    public static async Task RunAsync(ExchangeFeed feed, int loops, TimeSpan duration, TextWriter report)
    {
        await using var exchange = await ExchangeServer.StartAsync(new ExchangeServerOptions
        {
            Feed = feed,
            Mode = FeedMode.PerConnection,
            Loops = loops == 1 ? 0 : loops, // one pass of a recording is over in a moment: loop unless told otherwise
            PingInterval = TimeSpan.Zero,
            MaxConnectionAge = TimeSpan.Zero,
        }).ConfigureAwait(false);
        var streams = feed.Streams.Take(exchange.Options.MaxStreamsPerConnection).ToArray();
        var uri = exchange.StreamUri(streams);
        report.WriteLine($"measuring {duration.TotalSeconds:0.#} s after {s_warmUp.TotalSeconds:0.#} s of warm-up, {streams.Length} streams, " +
            $"{Environment.ProcessorCount} cores, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC");

        // Not reported: lets the server's send path (and the socket code) reach its final JIT tier before anything is
        // measured, so the first client measured is not the one that pays for it.
        await IntoRawSocketAsync(exchange.BaseUri, uri.PathAndQuery, TimeSpan.FromSeconds(2)).ConfigureAwait(false);

        var (frames, bytes, seconds) = await IntoClientWebSocketAsync(uri, duration, receiveBufferBytes: null).ConfigureAwait(false);
        Print(report, "ClientWebSocket, discarding", frames, bytes, seconds);

        (frames, bytes, seconds) = await IntoClientWebSocketAsync(uri, duration, receiveBufferBytes: 64 * 1024).ConfigureAwait(false);
        Print(report, "  same, 64 KiB receive buffer", frames, bytes, seconds);

        (frames, bytes, seconds) = await IntoRawSocketAsync(exchange.BaseUri, uri.PathAndQuery, duration).ConfigureAwait(false);
        Print(report, "raw socket, frame headers only", frames, bytes, seconds);
    }

    private static void Print(TextWriter report, string client, long frames, long bytes, double seconds) =>
        report.WriteLine($"  {client,-32} {frames / seconds / 1e6,7:0.000} M frames/s  {bytes / seconds / 1e6,8:0.0} MB/s payload  " +
            $"({frames:N0} frames, {bytes / (double)frames:0} B payload/frame, {seconds:0.00} s)");

    private static async Task<(long Frames, long Bytes, double Seconds)> IntoClientWebSocketAsync(Uri uri, TimeSpan duration, int? receiveBufferBytes)
    {
        using var client = new ClientWebSocket();
        if (receiveBufferBytes is { } size)
        {
            client.Options.SetBuffer(size, 4096); // the default is 4 KiB: a socket read per ~16 frames of 250 B
        }

        await client.ConnectAsync(uri, CancellationToken.None).ConfigureAwait(false);
        var buffer = new byte[1 << 20];
        long frames = 0, bytes = 0, startFrames = 0, startBytes = 0;
        var start = Stopwatch.GetTimestamp();
        var measuring = false;
        while (true)
        {
            var result = await client.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).ConfigureAwait(false);
            bytes += result.Count;
            if (result.EndOfMessage)
            {
                frames++;
            }

            if ((frames & 1023) == 0)
            {
                var elapsed = Stopwatch.GetElapsedTime(start);
                if (!measuring && elapsed >= s_warmUp)
                {
                    (measuring, start, startFrames, startBytes) = (true, Stopwatch.GetTimestamp(), frames, bytes);
                }
                else if (measuring && elapsed >= duration)
                {
                    client.Abort();
                    return (frames - startFrames, bytes - startBytes, elapsed.TotalSeconds);
                }
            }
        }
    }

    private static async Task<(long Frames, long Bytes, double Seconds)> IntoRawSocketAsync(Uri baseUri, string target, TimeSpan duration)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, baseUri.Port)).ConfigureAwait(false);
        var key = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
        await socket.SendAsync(Encoding.ASCII.GetBytes(
            $"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")).ConfigureAwait(false);

        var buffer = new byte[1 << 20];
        var filled = 0;
        int headEnd;
        while ((headEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
        {
            filled += await socket.ReceiveAsync(buffer.AsMemory(filled)).ConfigureAwait(false);
        }

        // Walk the frames: a header (2 to 10 bytes, possibly split between reads), then payload bytes to skip.
        var header = new byte[10];
        int carried = 0;
        long skip = 0, frames = 0, bytes = 0, startFrames = 0, startBytes = 0;
        var start = Stopwatch.GetTimestamp();
        var measuring = false;
        var position = headEnd + 4;
        while (true)
        {
            while (position < filled)
            {
                if (skip > 0)
                {
                    var n = (int)Math.Min(skip, filled - position);
                    skip -= n;
                    position += n;
                    continue;
                }

                header[carried++] = buffer[position++];
                var need = carried < 2 ? 2 : 2 + (header[1] & 0x7F) switch { 126 => 2, 127 => 8, _ => 0 };
                if (carried < need)
                {
                    continue;
                }

                skip = (header[1] & 0x7F) switch
                {
                    126 => BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2)),
                    127 => (long)BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(2)),
                    var length => length,
                };
                bytes += skip;
                frames += header[0] >> 7; // FIN: one more whole message
                carried = 0;
            }

            var elapsed = Stopwatch.GetElapsedTime(start);
            if (!measuring && elapsed >= s_warmUp)
            {
                (measuring, start, startFrames, startBytes) = (true, Stopwatch.GetTimestamp(), frames, bytes);
            }
            else if (measuring && elapsed >= duration)
            {
                return (frames - startFrames, bytes - startBytes, elapsed.TotalSeconds);
            }

            filled = await socket.ReceiveAsync(buffer.AsMemory()).ConfigureAwait(false);
            position = 0;
            if (filled == 0)
            {
                throw new IOException("The exchange closed the connection during the measurement.");
            }
        }
    }
}

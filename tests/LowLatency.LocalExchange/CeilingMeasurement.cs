using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;

namespace LowLatency.LocalExchange;

/// <summary>
/// When a drain (<see cref="CeilingMeasurement.IntoClientWebSocketAsync"/>, <see cref="CeilingMeasurement.IntoRawSocketAsync"/>)
/// starts measuring and when it stops: measuring starts once <see cref="WarmUp"/> has passed and <see cref="WarmUpFrames"/>
/// whole messages have arrived, and stops <see cref="Duration"/> later or as soon as <see cref="StopAtFrames"/> messages
/// have arrived in all (the end of a feed that is not looped), whichever comes first.
/// </summary>
/// <param name="WarmUp">Time from the first read before measuring starts.</param>
/// <param name="WarmUpFrames">Messages before measuring starts.</param>
/// <param name="Duration">Longest measured time.</param>
/// <param name="StopAtFrames">Messages in all (warm-up included) after which the drain returns.</param>
/// <param name="MeasuringStarted">Called on the receiving thread right before the measured part starts (e.g. to take a
/// snapshot of the allocations); the drain's clock starts after it returns.</param>
public readonly record struct DrainLimits(TimeSpan WarmUp, long WarmUpFrames, TimeSpan Duration, long StopAtFrames, Action? MeasuringStarted = null)
{
    /// <summary>Time-bound: <paramref name="warmUp"/>, then <paramref name="duration"/> of measurement (the feed loops).</summary>
    public static DrainLimits Timed(TimeSpan warmUp, TimeSpan duration) => new(warmUp, 0, duration, long.MaxValue);
}

/// <summary>
/// What a drain measured: whole messages and payload bytes (WebSocket headers excluded) in the measured part, its length
/// and end (a <see cref="Stopwatch"/> timestamp), and the messages and bytes of the whole drain, warm-up included.
/// </summary>
public readonly record struct DrainResult(long Frames, long Bytes, double Seconds, long EndTimestamp, long TotalFrames, long TotalBytes);

/// <summary>
/// What the local exchange itself can send, as the ceiling for any client measured against it: the feed per connection,
/// looped, as fast as possible, into one local client that discards. Measured twice: into a
/// <see cref="ClientWebSocket"/> (what a .NET client can take at best), and into a raw socket that only walks the frame
/// headers (what the server can write when the client costs almost nothing). The perf harness's <c>binance</c> scenarios
/// run the same drains, bounded by frame counts (<see cref="DrainLimits"/>).
/// </summary>
public static class CeilingMeasurement
{
    private static readonly TimeSpan s_warmUp = TimeSpan.FromSeconds(1);

    internal static async Task RunAsync(ExchangeFeed feed, int loops, TimeSpan duration, TextWriter report)
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
        await IntoRawSocketAsync(exchange.BaseUri, uri.PathAndQuery, DrainLimits.Timed(s_warmUp, TimeSpan.FromSeconds(2))).ConfigureAwait(false);

        var limits = DrainLimits.Timed(s_warmUp, duration);
        Print(report, "ClientWebSocket, discarding", await IntoClientWebSocketAsync(uri, limits, receiveBufferBytes: null).ConfigureAwait(false));
        Print(report, "  same, 64 KiB receive buffer", await IntoClientWebSocketAsync(uri, limits, receiveBufferBytes: 64 * 1024).ConfigureAwait(false));
        Print(report, "raw socket, frame headers only", await IntoRawSocketAsync(exchange.BaseUri, uri.PathAndQuery, limits).ConfigureAwait(false));
    }

    private static void Print(TextWriter report, string client, DrainResult result) =>
        report.WriteLine($"  {client,-32} {result.Frames / result.Seconds / 1e6,7:0.000} M frames/s  {result.Bytes / result.Seconds / 1e6,8:0.0} MB/s payload  " +
            $"({result.Frames:N0} frames, {result.Bytes / (double)result.Frames:0} B payload/frame, {result.Seconds:0.00} s)");

    /// <summary>Receives the exchange's frames on <paramref name="uri"/> into a <see cref="ClientWebSocket"/> and discards them.</summary>
    /// <param name="uri">A combined or raw stream URI of the exchange.</param>
    /// <param name="limits">When to measure and when to stop.</param>
    /// <param name="receiveBufferBytes">The socket's receive buffer (<c>Options.SetBuffer</c>); null keeps the default, 4 KiB.</param>
    public static async Task<DrainResult> IntoClientWebSocketAsync(Uri uri, DrainLimits limits, int? receiveBufferBytes)
    {
        using var client = new ClientWebSocket();
        if (receiveBufferBytes is { } size)
        {
            client.Options.SetBuffer(size, 4096); // the default is 4 KiB: a socket read per ~16 frames of 250 B
        }

        await client.ConnectAsync(uri, CancellationToken.None).ConfigureAwait(false);
        var buffer = new byte[1 << 20];
        var drain = new DrainClock(limits);
        while (true)
        {
            var result = await client.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).ConfigureAwait(false);
            drain.Bytes += result.Count;
            if (!result.EndOfMessage)
            {
                continue;
            }

            drain.Frames++;

            // The clock is read once every 1,024 messages (it costs as much as a small message), the count every time.
            if (((drain.Frames & 1023) == 0 && drain.Check()) || drain.Frames >= limits.StopAtFrames)
            {
                client.Abort();
                return drain.Result();
            }
        }
    }

    /// <summary>
    /// Receives the exchange's frames on <paramref name="target"/> (a path and query) into a raw socket that does the
    /// upgrade by hand and then only walks the frame headers: what the server can write when the client costs almost nothing.
    /// </summary>
    public static async Task<DrainResult> IntoRawSocketAsync(Uri baseUri, string target, DrainLimits limits)
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
        long skip = 0;
        var drain = new DrainClock(limits);
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
                drain.Bytes += skip;
                drain.Frames += header[0] >> 7; // FIN: one more whole message
                carried = 0;
            }

            // Once per read: the last message's payload may still be unread when the count is reached; it is counted whole.
            if (drain.Check() || drain.Frames >= limits.StopAtFrames)
            {
                return drain.Result();
            }

            filled = await socket.ReceiveAsync(buffer.AsMemory()).ConfigureAwait(false);
            position = 0;
            if (filled == 0)
            {
                throw new IOException("The exchange closed the connection during the measurement.");
            }
        }
    }

    /// <summary>A drain's counts and clock: the warm-up, then the measured part (see <see cref="DrainLimits"/>).</summary>
    private sealed class DrainClock(DrainLimits limits)
    {
        private long _start = Stopwatch.GetTimestamp();
        private long _startFrames;
        private long _startBytes;
        private bool _measuring;

        public long Frames { get; set; }

        public long Bytes { get; set; }

        /// <summary>Starts measuring when the warm-up is over; true when the measured part has lasted its duration.</summary>
        public bool Check()
        {
            var elapsed = Stopwatch.GetElapsedTime(_start);
            if (!_measuring && elapsed >= limits.WarmUp && Frames >= limits.WarmUpFrames)
            {
                limits.MeasuringStarted?.Invoke();
                (_measuring, _start, _startFrames, _startBytes) = (true, Stopwatch.GetTimestamp(), Frames, Bytes);
                return false;
            }

            return _measuring && elapsed >= limits.Duration;
        }

        /// <summary>The measured part so far, ending now (all of the drain if it never started measuring).</summary>
        public DrainResult Result()
        {
            var end = Stopwatch.GetTimestamp();
            return new DrainResult(Frames - _startFrames, Bytes - _startBytes, Stopwatch.GetElapsedTime(_start, end).TotalSeconds, end, Frames, Bytes);
        }
    }
}

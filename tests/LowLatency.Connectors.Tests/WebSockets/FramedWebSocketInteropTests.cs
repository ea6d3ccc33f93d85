using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using LowLatency.Connectors.WebSockets;
using LowLatency.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LowLatency.Connectors.Tests.WebSockets;

/// <summary>
/// <see cref="FramedWebSocket"/> against an implementation it shares no code with: ASP.NET Core's WebSocket middleware
/// (the BCL's managed WebSocket on the server side) on Kestrel, over plain TCP and over TLS. The server sends messages
/// of every length encoding and a fragmented one, echoes what the client sends (so our masking is checked by its
/// unmasking), pings with a timeout (so a missing pong fails the connection), and closes with a code and a reason.
/// </summary>
public sealed class FramedWebSocketInteropTests
{
    private static readonly int[] Sizes = [0, 1, 125, 126, 65_535, 65_536, 300_000];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AgainstAspNetCore_MessagesEchoPingsAndClose(bool tls)
    {
        using var certificate = tls ? SelfSigned() : null;
        await using var server = await StartServerAsync(certificate);
        var events = new RecordingEvents();
        using var socket = new FramedWebSocket(Settings(certificate, keepAlive: TimeSpan.FromMilliseconds(200)));

        var run = socket.RunAsync(new Uri($"{(tls ? "wss" : "ws")}://localhost:{server.Port}/ws"), events);
        Poll.Until(() => events.Opened || run.IsCompleted, "the upgrade");
        Assert.False(run.IsFaulted, run.Exception?.ToString());
        await socket.SendTextAsync(Encoding.UTF8.GetBytes("echo: héllo, " + new string('x', 70_000)));
        await run.WaitAsync(Poll.DefaultTimeout);

        // The server's script (below): every size, a fragmented message, the echo, then "done" after its pings.
        var texts = events.Messages.Select(m => m.Text).ToList();
        Assert.Equal(Sizes.Length + 3, texts.Count);
        for (var i = 0; i < Sizes.Length; i++)
        {
            Assert.Equal(Message(i, Sizes[i]), texts[i]);
        }

        Assert.Equal("fragment one|fragment two|fragment three", texts[Sizes.Length]);
        Assert.Equal("echo: héllo, " + new string('x', 70_000), texts[Sizes.Length + 1]);
        Assert.Equal("done", texts[^1]);
        Assert.True(events.Messages.All(m => m.IsText));
        Assert.True(socket.PingsAnswered >= 3, $"{socket.PingsAnswered} pings answered");
        Assert.Equal("closed by the server (1001 bye now)", socket.CloseDescription);
        await server.Done.WaitAsync(Poll.DefaultTimeout);
        Assert.True(server.Failure is null, server.Failure);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, server.ClientCloseStatus); // our answer echoes the code
    }

    [Fact]
    public async Task Refused_NotA101_FailsWithTheStatusLine()
    {
        await using var server = await StartServerAsync(certificate: null);
        using var socket = new FramedWebSocket(Settings(null, keepAlive: TimeSpan.Zero));

        var error = await Assert.ThrowsAsync<IOException>(() => socket.RunAsync(new Uri($"ws://localhost:{server.Port}/nothing-here"), new RecordingEvents()));
        Assert.Contains("refused the upgrade: HTTP/1.1 404", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_UntrustedCertificate_IsRefused()
    {
        using var certificate = SelfSigned();
        await using var server = await StartServerAsync(certificate);
        using var socket = new FramedWebSocket(Settings(null, keepAlive: TimeSpan.Zero)); // the system's check: self-signed fails

        await Assert.ThrowsAnyAsync<System.Security.Authentication.AuthenticationException>(
            () => socket.RunAsync(new Uri($"wss://localhost:{server.Port}/ws"), new RecordingEvents()));
    }

    [Fact]
    public async Task Connect_ServerNeverAnswersTheUpgrade_TimesOut()
    {
        // A listener that accepts the TCP connection and never answers: only our connect timeout (TCP, TLS and the
        // upgrade together) ends the wait, by disposing the socket under the blocked read.
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var socket = new FramedWebSocket(Settings(null, keepAlive: TimeSpan.Zero) with { ConnectTimeout = TimeSpan.FromMilliseconds(500) });
        var started = System.Diagnostics.Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<TimeoutException>(() => socket.RunAsync(new Uri($"ws://127.0.0.1:{port}/ws"), new RecordingEvents()).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("connect timed out after 0.5 s", error.Message, StringComparison.Ordinal);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"took {started.Elapsed}");
    }

    [Fact]
    public async Task ServerBreaksTheProtocol_ClientSendsClose1002AndFails()
    {
        // A hand-driven server: a correct 101, then a masked frame, which a server must never send (RFC 6455 §5.1).
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var server = Task.Run(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync();
            var stream = peer.GetStream();
            var key = ReadUpgradeKey(stream);
            var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
            stream.Write(Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"));
            stream.Write([0x81, 0x82, 1, 2, 3, 4, (byte)'h' ^ 1, (byte)'i' ^ 2]);
            return ReadClientFrame(stream);
        });
        using var socket = new FramedWebSocket(Settings(null, keepAlive: TimeSpan.Zero));

        var error = await Assert.ThrowsAsync<WebSocketProtocolException>(() => socket.RunAsync(new Uri($"ws://127.0.0.1:{port}/ws"), new RecordingEvents()));
        Assert.Contains("masked", error.Message, StringComparison.Ordinal);
        var (opcode, payload) = await server.WaitAsync(Poll.DefaultTimeout);
        Assert.Equal(0x8, opcode);
        Assert.Equal(1002, (payload[0] << 8) | payload[1]);
    }

    [Fact]
    public async Task ServerAnswersWithTheWrongAcceptKey_UpgradeRefused()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _ = Task.Run(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync();
            var stream = peer.GetStream();
            ReadUpgradeKey(stream);
            stream.Write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSByaWdodCBrZXk=\r\n\r\n"u8);
            await Task.Delay(TimeSpan.FromSeconds(5));
        });
        using var socket = new FramedWebSocket(Settings(null, keepAlive: TimeSpan.Zero));

        var error = await Assert.ThrowsAsync<IOException>(() => socket.RunAsync(new Uri($"ws://127.0.0.1:{port}/ws"), new RecordingEvents()));
        Assert.Contains("Sec-WebSocket-Accept", error.Message, StringComparison.Ordinal);
    }

    // Reads the client's upgrade request up to its blank line and returns its Sec-WebSocket-Key.
    private static string ReadUpgradeKey(Stream stream)
    {
        var head = new StringBuilder();
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            var b = stream.ReadByte();
            Assert.NotEqual(-1, b);
            head.Append((char)b);
        }

        var line = head.ToString().Split("\r\n").Single(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase));
        return line["Sec-WebSocket-Key:".Length..].Trim();
    }

    // Reads one client frame (short payload, masked as a client's must be) and unmasks it.
    private static (int Opcode, byte[] Payload) ReadClientFrame(Stream stream)
    {
        var header = new byte[2];
        stream.ReadExactly(header);
        Assert.True((header[1] & 0x80) != 0, "a client frame must be masked");
        var length = header[1] & 0x7F;
        Assert.True(length < 126);
        var mask = new byte[4];
        stream.ReadExactly(mask);
        var payload = new byte[length];
        stream.ReadExactly(payload);
        for (var i = 0; i < length; i++)
        {
            payload[i] ^= mask[i % 4];
        }

        return (header[0] & 0x0F, payload);
    }

    private static WebSocketSettings Settings(X509Certificate2? trusted, TimeSpan keepAlive) => new(
        ConnectTimeout: TimeSpan.FromSeconds(10),
        KeepAliveInterval: keepAlive,
        KeepAliveTimeout: TimeSpan.FromSeconds(5),
        ReceiveBufferBytes: 16 * 1024,
        MaxMessageBytes: 1 << 20,
        CertificateValidation: trusted is null ? null : (_, presented, _, _) => presented is not null && presented.GetCertHashString() == trusted.GetCertHashString(),
        ThreadName: "ws-interop");

    private static string Message(int index, int size)
    {
        var prefix = $"{index}:";
        return size <= prefix.Length ? new string('m', size) : prefix + new string((char)('a' + index), size - prefix.Length);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null); // with its key, usable by Kestrel
    }

    private static async Task<Server> StartServerAsync(X509Certificate2? certificate)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        }));
        var app = builder.Build();
        var server = new Server(app);
        app.UseWebSockets();
        app.Map("/ws", server.HandleAsync);
        await app.StartAsync();
        return server;
    }

    private sealed class Server(WebApplication app) : IAsyncDisposable
    {
        public int Port => new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;

        public string? Failure { get; private set; }

        public WebSocketCloseStatus? ClientCloseStatus { get; private set; }

        /// <summary>Completes when the handler has seen the client's answer to its close (or failed).</summary>
        public Task Done => _done.Task;

        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task HandleAsync(HttpContext context)
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = 400;
                return;
            }

            // Pings every 100 ms, and the connection is aborted if a pong is 2 s late.
            using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                KeepAliveInterval = TimeSpan.FromMilliseconds(100),
                KeepAliveTimeout = TimeSpan.FromSeconds(2),
            });
            try
            {
                for (var i = 0; i < Sizes.Length; i++)
                {
                    await socket.SendAsync(Encoding.UTF8.GetBytes(Message(i, Sizes[i])), WebSocketMessageType.Text, endOfMessage: true, default);
                }

                await socket.SendAsync("fragment one|"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: false, default);
                await socket.SendAsync("fragment two|"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: false, default);
                await socket.SendAsync("fragment three"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, default);

                var received = new MemoryStream();
                var buffer = new byte[8192];
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer, default);
                    received.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);

                await socket.SendAsync(received.ToArray(), WebSocketMessageType.Text, endOfMessage: true, default);

                // Idle while the keep-alive pings go out; a client that does not answer them is aborted here.
                var idle = Task.Delay(TimeSpan.FromMilliseconds(800));
                var pending = socket.ReceiveAsync(buffer, default);
                await Task.WhenAny(idle, pending);
                await socket.SendAsync("done"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, default);
                await socket.CloseOutputAsync(WebSocketCloseStatus.EndpointUnavailable, "bye now", default);
                var answer = await pending.WaitAsync(TimeSpan.FromSeconds(10));
                ClientCloseStatus = answer.MessageType == WebSocketMessageType.Close ? socket.CloseStatus : null;
            }
            catch (Exception e)
            {
                Failure = e.ToString();
            }
            finally
            {
                _done.TrySetResult();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private sealed class RecordingEvents : IWebSocketEvents
    {
        private readonly ConcurrentQueue<(string Text, bool IsText)> _messages = new();
        private volatile bool _opened;

        public bool Opened => _opened;

        public IReadOnlyList<(string Text, bool IsText)> Messages => [.. _messages];

        public bool OnOpened() => _opened = true;

        public void OnMessage(ReadOnlySpan<byte> payload, bool isText, long receivedNs) => _messages.Enqueue((Encoding.UTF8.GetString(payload), isText));

        public void OnOversized(long receivedNs) => _messages.Enqueue(("(oversized)", false));
    }
}

using System.Security.Cryptography;
using System.Text;

namespace LowLatency.Connectors.WebSockets;

/// <summary>
/// The opening handshake of an RFC 6455 client (§4.1): the HTTP/1.1 upgrade request, and the checks on the server's
/// answer (101, <c>Upgrade: websocket</c>, <c>Connection: Upgrade</c>, the <c>Sec-WebSocket-Accept</c> derived from our
/// key, and no extension or subprotocol we did not offer).
/// </summary>
internal static class WebSocketUpgrade
{
    /// <summary>A response head longer than this is refused (a WebSocket server's is a few hundred bytes).</summary>
    public const int MaxResponseHeadBytes = 16 * 1024;

    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; // RFC 6455 §1.3

    /// <summary>A fresh <c>Sec-WebSocket-Key</c>: 16 random bytes, base64.</summary>
    public static string NewKey()
    {
        Span<byte> nonce = stackalloc byte[16];
        RandomNumberGenerator.Fill(nonce);
        return Convert.ToBase64String(nonce);
    }

    /// <summary>The <c>Sec-WebSocket-Accept</c> a server must answer <paramref name="key"/> with.</summary>
    public static string AcceptFor(string key) =>
        Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));

    /// <summary>The request for <paramref name="url"/> (ws or wss), ASCII.</summary>
    public static byte[] Request(Uri url, string key)
    {
        var host = url.IsDefaultPort ? url.IdnHost : $"{url.IdnHost}:{url.Port}";
        var target = string.IsNullOrEmpty(url.PathAndQuery) ? "/" : url.PathAndQuery;
        return Encoding.ASCII.GetBytes(
            $"GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: LowLatency\r\n\r\n");
    }

    /// <summary>Where the response head ends (the index after its blank line), or -1 if it has not all arrived.</summary>
    public static int HeadLength(ReadOnlySpan<byte> received)
    {
        var end = received.IndexOf("\r\n\r\n"u8);
        return end < 0 ? -1 : end + 4;
    }

    /// <summary>
    /// Checks the response head <paramref name="head"/> (status line and headers, up to the blank line): null when the
    /// upgrade succeeded, otherwise why it did not, in words for the log (the status line of a refusal, e.g. Binance's
    /// 429 when too many connections are opened).
    /// </summary>
    public static string? Check(ReadOnlySpan<byte> head, string key)
    {
        var text = Encoding.ASCII.GetString(head);
        var lines = text.Split("\r\n");
        var status = lines[0].Split(' ', 3);
        if (status.Length < 2 || !status[0].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            return $"the server's answer to the upgrade is not HTTP: '{Shorten(lines[0])}'";
        }

        if (status[1] != "101")
        {
            return $"the server refused the upgrade: {Shorten(lines[0])}";
        }

        string? upgrade = null, connection = null, accept = null, extensions = null, protocol = null;
        foreach (var line in lines.AsSpan(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase))
            {
                upgrade = value;
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                connection = value;
            }
            else if (name.Equals("Sec-WebSocket-Accept", StringComparison.OrdinalIgnoreCase))
            {
                accept = value;
            }
            else if (name.Equals("Sec-WebSocket-Extensions", StringComparison.OrdinalIgnoreCase))
            {
                extensions = value;
            }
            else if (name.Equals("Sec-WebSocket-Protocol", StringComparison.OrdinalIgnoreCase))
            {
                protocol = value;
            }
        }

        if (!string.Equals(upgrade, "websocket", StringComparison.OrdinalIgnoreCase))
        {
            return $"the server's 101 has 'Upgrade: {upgrade}', not 'websocket'";
        }

        if (connection is null || !connection.Split(',').Any(t => t.Trim().Equals("Upgrade", StringComparison.OrdinalIgnoreCase)))
        {
            return $"the server's 101 has 'Connection: {connection}', not 'Upgrade'";
        }

        if (accept != AcceptFor(key))
        {
            return $"the server's Sec-WebSocket-Accept '{accept}' does not match the key sent";
        }

        if (!string.IsNullOrEmpty(extensions) || !string.IsNullOrEmpty(protocol))
        {
            return $"the server chose an extension or subprotocol that was not offered ('{extensions ?? protocol}')";
        }

        return null;
    }

    private static string Shorten(string line) => line.Length <= 200 ? line : line[..200] + "…";
}

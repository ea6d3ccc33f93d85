using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;

namespace LowLatency.LocalExchange;

/// <summary>The parts of an HTTP/1.1 upgrade request the exchange looks at.</summary>
internal sealed class UpgradeRequest
{
    public required string Method { get; init; }

    /// <summary>The request target as sent, e.g. <c>/stream?streams=btcusdt@trade</c>.</summary>
    public required string Target { get; init; }

    /// <summary>Header values by lower-case name (a repeated header keeps its last value).</summary>
    public required Dictionary<string, string> Headers { get; init; }

    public string Path => Target.IndexOf('?') is var q and >= 0 ? Target[..q] : Target;

    public string? QueryValue(string name)
    {
        var q = Target.IndexOf('?');
        if (q < 0)
        {
            return null;
        }

        foreach (var pair in Target[(q + 1)..].Split('&'))
        {
            var eq = pair.IndexOf('=');
            if (eq > 0 && pair.AsSpan(0, eq).SequenceEqual(name))
            {
                return Uri.UnescapeDataString(pair[(eq + 1)..]);
            }
        }

        return null;
    }

    public string? Header(string lowerCaseName) => Headers.GetValueOrDefault(lowerCaseName);
}

/// <summary>
/// The opening handshake of RFC 6455 §4.2 on a raw connection: reads the request head, checks that it is a WebSocket
/// upgrade, and writes <c>101 Switching Protocols</c> or an HTTP error. No extension (permessage-deflate) or subprotocol
/// is negotiated.
/// </summary>
internal static class WebSocketHandshake
{
    /// <summary>The largest request head accepted (request line and headers); Binance URLs with 1024 streams fit.</summary>
    public const int MaxRequestHeadBytes = 64 * 1024;

    private static readonly byte[] s_endOfHead = "\r\n\r\n"u8.ToArray();

    /// <summary>Reads the request head; null when the client went away, or sent more than the limit, before finishing it.</summary>
    public static async ValueTask<UpgradeRequest?> ReadRequestAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            if (reader.TryReadTo(out ReadOnlySequence<byte> head, s_endOfHead, advancePastDelimiter: true))
            {
                var request = Parse(Encoding.Latin1.GetString(head));
                input.AdvanceTo(reader.Position);
                return request;
            }

            if (result.IsCompleted || result.IsCanceled || buffer.Length > MaxRequestHeadBytes)
            {
                input.AdvanceTo(buffer.End);
                return null;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Why the request is not a valid WebSocket upgrade, or null if it is.</summary>
    public static string? Validate(UpgradeRequest request)
    {
        if (request.Method != "GET")
        {
            return "a WebSocket upgrade must be a GET request";
        }

        if (!string.Equals(request.Header("upgrade"), "websocket", StringComparison.OrdinalIgnoreCase) ||
            request.Header("connection")?.Contains("upgrade", StringComparison.OrdinalIgnoreCase) != true)
        {
            return "missing 'Upgrade: websocket' or 'Connection: Upgrade'";
        }

        if (request.Header("sec-websocket-version") != "13")
        {
            return "Sec-WebSocket-Version must be 13";
        }

        return string.IsNullOrEmpty(request.Header("sec-websocket-key")) ? "missing Sec-WebSocket-Key" : null;
    }

    /// <summary>The <c>101 Switching Protocols</c> response for <paramref name="key"/> (its Sec-WebSocket-Key).</summary>
    public static byte[] SwitchingProtocols(string key)
    {
        // RFC 6455 §4.2.2: base64(SHA-1(key + the protocol's GUID)).
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        return Encoding.ASCII.GetBytes(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            $"Sec-WebSocket-Accept: {accept}\r\n\r\n");
    }

    /// <summary>An HTTP error response with a JSON body, after which the connection is closed.</summary>
    public static byte[] ErrorResponse(int status, string reasonPhrase, string message)
    {
        var body = $"{{\"code\":-1,\"msg\":{System.Text.Json.JsonSerializer.Serialize(message, ControlProtocol.JsonOptions)}}}";
        return Encoding.UTF8.GetBytes(
            $"HTTP/1.1 {status} {reasonPhrase}\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n" +
            $"Connection: close\r\n\r\n{body}");
    }

    private static UpgradeRequest? Parse(string head)
    {
        var lines = head.Split("\r\n");
        var requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3 || !requestLine[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            return null;
        }

        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines.AsSpan(1))
        {
            var colon = line.IndexOf(':');
            if (colon > 0)
            {
                headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
            }
        }

        return new UpgradeRequest { Method = requestLine[0], Target = requestLine[1], Headers = headers };
    }
}

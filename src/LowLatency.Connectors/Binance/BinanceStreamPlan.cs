using System.Text;

namespace LowLatency.Connectors.Binance;

/// <summary>
/// How streams are spread over connections and what each connection asks for: stream names checked and normalised,
/// groups of at most <see cref="BinanceStreamOptions.MaxStreamsPerConnection"/>, the combined-stream URL, and the
/// SUBSCRIBE messages for what does not fit in it. Pure functions, so every rule is testable without a socket.
/// </summary>
public static class BinanceStreamPlan
{
    /// <summary>The longest stream name accepted, in bytes (the stream table's limit).</summary>
    public const int MaxStreamNameBytes = 64;

    /// <summary>
    /// Checks a stream name and returns it in Binance's spelling: the symbol (before the first <c>@</c>) in lower case,
    /// the rest as given (<c>BTCUSDT@aggTrade</c> → <c>btcusdt@aggTrade</c>). Accepted characters: ASCII letters and
    /// digits and <c>@ _ ! - . + :</c> (the last two for time-zone klines such as <c>btcusdt@kline_1d@+08:00</c>), so a
    /// name can go into a URL path or a JSON string without escaping.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty, too long or has another character.</exception>
    public static string NormalizeStream(string stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var name = stream.Trim();
        if (name.Length == 0 || name.Length > MaxStreamNameBytes)
        {
            throw new ArgumentException($"Stream name '{stream}' is empty or longer than {MaxStreamNameBytes} characters.", nameof(stream));
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('@' or '_' or '!' or '-' or '.' or '+' or ':'))
            {
                throw new ArgumentException($"Stream name '{stream}' has the character '{c}'; expected letters, digits and @ _ ! - . + :", nameof(stream));
            }
        }

        var at = name.IndexOf('@', StringComparison.Ordinal);
        var symbolLength = at < 0 ? name.Length : at;
        return name[0] == '!' ? name : string.Concat(name[..symbolLength].ToLowerInvariant(), name.AsSpan(symbolLength));
    }

    /// <summary>Normalises, checks and de-duplicates a list of stream names, keeping the first occurrence's order.</summary>
    public static IReadOnlyList<string> NormalizeStreams(IEnumerable<string> streams)
    {
        ArgumentNullException.ThrowIfNull(streams);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<string>();
        foreach (var stream in streams)
        {
            var name = NormalizeStream(stream);
            if (seen.Add(name))
            {
                result.Add(name);
            }
        }

        return result;
    }

    /// <summary>The symbol a stream is about, in the exchange's upper-case spelling; empty for all-market streams (<c>!…</c>).</summary>
    public static string SymbolOf(string stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.StartsWith('!'))
        {
            return string.Empty;
        }

        var at = stream.IndexOf('@', StringComparison.Ordinal);
        return (at < 0 ? stream : stream[..at]).ToUpperInvariant();
    }

    /// <summary>
    /// Splits <paramref name="streams"/> into the fewest groups of at most <paramref name="maxPerConnection"/>, as even as
    /// possible (2,500 streams at 1,024 → 834, 833, 833), keeping their order. Even groups leave every connection room
    /// for streams subscribed at run time.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<string>> Partition(IReadOnlyList<string> streams, int maxPerConnection)
    {
        ArgumentNullException.ThrowIfNull(streams);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPerConnection, 1);
        if (streams.Count == 0)
        {
            return [];
        }

        var groups = (streams.Count + maxPerConnection - 1) / maxPerConnection;
        var result = new List<IReadOnlyList<string>>(groups);
        var start = 0;
        for (var g = 0; g < groups; g++)
        {
            var size = (streams.Count / groups) + (g < streams.Count % groups ? 1 : 0);
            var group = new string[size];
            for (var i = 0; i < size; i++)
            {
                group[i] = streams[start + i];
            }

            result.Add(group);
            start += size;
        }

        return result;
    }

    /// <summary>
    /// Plans one connection for <paramref name="streams"/>: as many as fit go into the combined-stream URL (at most
    /// <paramref name="maxUrlLength"/> characters), the rest into SUBSCRIBE messages of at most
    /// <paramref name="maxStreamsPerMessage"/> streams each, sent once the connection is open. Names with <c>+</c> or
    /// <c>:</c> always go by SUBSCRIBE: in a query string <c>+</c> may be read as a space.
    /// </summary>
    public static ConnectionPlan PlanConnection(Uri baseUrl, IReadOnlyList<string> streams, int maxUrlLength, int maxStreamsPerMessage)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentNullException.ThrowIfNull(streams);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxStreamsPerMessage, 1);
        var root = StreamRoot(baseUrl);
        var url = new StringBuilder(root).Append("/stream");
        var inUrl = new List<string>();
        var rest = new List<string>();
        foreach (var stream in streams)
        {
            var extra = (inUrl.Count == 0 ? "?streams=".Length : 1) + stream.Length;
            if (IsUrlSafe(stream) && url.Length + extra <= maxUrlLength)
            {
                url.Append(inUrl.Count == 0 ? "?streams=" : "/").Append(stream);
                inUrl.Add(stream);
            }
            else
            {
                rest.Add(stream);
            }
        }

        return new ConnectionPlan(new Uri(url.ToString()), inUrl, Batch(rest, maxStreamsPerMessage));
    }

    /// <summary>Splits <paramref name="streams"/> into batches of at most <paramref name="maxPerBatch"/>.</summary>
    public static IReadOnlyList<string[]> Batch(IReadOnlyList<string> streams, int maxPerBatch)
    {
        ArgumentNullException.ThrowIfNull(streams);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPerBatch, 1);
        var batches = new List<string[]>();
        for (var start = 0; start < streams.Count; start += maxPerBatch)
        {
            var size = Math.Min(maxPerBatch, streams.Count - start);
            var batch = new string[size];
            for (var i = 0; i < size; i++)
            {
                batch[i] = streams[start + i];
            }

            batches.Add(batch);
        }

        return batches;
    }

    /// <summary>
    /// The control message <c>{"method":"SUBSCRIBE","params":["a","b"],"id":N}</c> (or UNSUBSCRIBE) as UTF-8. The names
    /// were checked by <see cref="NormalizeStream"/> and need no escaping.
    /// </summary>
    public static byte[] ControlMessage(bool subscribe, IReadOnlyList<string> streams, long id)
    {
        ArgumentNullException.ThrowIfNull(streams);
        var json = new StringBuilder(64 + (streams.Count * 24))
            .Append("{\"method\":\"").Append(subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE").Append("\",\"params\":[");
        for (var i = 0; i < streams.Count; i++)
        {
            json.Append(i == 0 ? "\"" : ",\"").Append(streams[i]).Append('"');
        }

        json.Append("],\"id\":").Append(id).Append('}');
        return Encoding.UTF8.GetBytes(json.ToString());
    }

    /// <summary>
    /// <c>scheme://host:port</c> plus any path before a trailing <c>/ws</c> or <c>/stream</c>, so that the base URL may be
    /// given as <c>wss://stream.binance.com:9443</c>, <c>…/ws</c> or <c>…/stream</c>.
    /// </summary>
    internal static string StreamRoot(Uri baseUrl)
    {
        if (!baseUrl.IsAbsoluteUri || (baseUrl.Scheme != Uri.UriSchemeWss && baseUrl.Scheme != Uri.UriSchemeWs))
        {
            throw new ArgumentException($"'{baseUrl}' is not an absolute ws:// or wss:// URL.", nameof(baseUrl));
        }

        var path = baseUrl.AbsolutePath.TrimEnd('/');
        if (path.EndsWith("/ws", StringComparison.Ordinal))
        {
            path = path[..^3];
        }
        else if (path.EndsWith("/stream", StringComparison.Ordinal))
        {
            path = path[..^7];
        }

        return baseUrl.GetLeftPart(UriPartial.Authority) + path;
    }

    private static bool IsUrlSafe(string stream) => !stream.Contains('+', StringComparison.Ordinal) && !stream.Contains(':', StringComparison.Ordinal);
}

/// <summary>What one connection asks for: <see cref="Url"/> carries <see cref="StreamsInUrl"/>; the rest follow as SUBSCRIBE batches.</summary>
public sealed record ConnectionPlan(Uri Url, IReadOnlyList<string> StreamsInUrl, IReadOnlyList<string[]> SubscribeBatches);

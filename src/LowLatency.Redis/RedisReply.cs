using System.Globalization;
using System.Text;

namespace LowLatency.Redis;

/// <summary>
/// Receives replies in order, as views into the connection's receive buffer (valid only during the call). Implement it
/// as a struct and pass it by ref so the JIT specialises the read loop for it (no interface dispatch, no boxing).
/// </summary>
public interface IRespReplyHandler
{
    /// <param name="index">The reply's position in this read, 0 for the reply to the first unanswered command.</param>
    /// <param name="reply">The reply; copy out what must outlive the call.</param>
    void OnReply(int index, in RespReply reply);
}

/// <summary>
/// The hot-path handler for write pipelines (HSET, EXPIRE, XADD, SET): counts replies by kind and keeps the first
/// error's text. Allocates only when an error arrives.
/// </summary>
public struct RespReplyCounter : IRespReplyHandler
{
    public int Replies;
    public int Ok;
    public int Integers;
    public long IntegerSum;
    public int Errors;
    public int Others;

    /// <summary>The index and text of the first error reply, or -1 and null.</summary>
    public int FirstErrorIndex;
    public string? FirstError;

    public RespReplyCounter() => FirstErrorIndex = -1;

    public void OnReply(int index, in RespReply reply)
    {
        Replies++;
        switch (reply.Type)
        {
            case RespType.Integer:
                Integers++;
                IntegerSum += reply.Value;
                break;
            case RespType.Error or RespType.BulkError:
                Errors++;
                if (FirstError is null)
                {
                    FirstErrorIndex = index;
                    FirstError = Encoding.UTF8.GetString(reply.Payload);
                }

                break;
            default:
                if (reply.IsOk)
                {
                    Ok++;
                }
                else
                {
                    Others++;
                }

                break;
        }
    }
}

/// <summary>
/// A reply copied into objects: for tests, setup and rare paths. The hot path reads <see cref="RespReply"/> views instead.
/// </summary>
public sealed class RedisReply
{
    private RedisReply(RespType type)
    {
        Type = type;
    }

    public RespType Type { get; }

    /// <summary>As <see cref="RespReply.Value"/>: the integer, boolean (1/0), element count, bulk length or -1 for null.</summary>
    public long Value { get; private init; }

    /// <summary>The payload as text (strings, errors, doubles, big numbers); null for null, integers and aggregates.</summary>
    public string? Text { get; private init; }

    /// <summary>The payload bytes of a bulk string; null otherwise.</summary>
    public byte[]? Bytes { get; private init; }

    /// <summary>The elements of an array, set or push, or keys and values alternating for a map; empty otherwise.</summary>
    public IReadOnlyList<RedisReply> Elements { get; private init; } = [];

    /// <summary>The RESP3 attributes that preceded the reply (key, value, ...), or empty.</summary>
    public IReadOnlyList<RedisReply> Attributes { get; private init; } = [];

    public bool IsNull => Type == RespType.Null || (Value < 0 && Type is RespType.BulkString or RespType.Array);

    public bool IsError => Type is RespType.Error or RespType.BulkError;

    public bool IsOk => Type == RespType.SimpleString && Text == "OK";

    /// <summary>The RESP3 boolean.</summary>
    public bool Boolean => Type == RespType.Boolean ? Value != 0 : throw new InvalidOperationException($"A {Type} reply is not a boolean.");

    /// <summary>A map's pairs as a dictionary of text keys (HGETALL under RESP3, HELLO); a flat RESP2 array of pairs too.</summary>
    public Dictionary<string, RedisReply> ToDictionary()
    {
        if (Type is not (RespType.Map or RespType.Array) || Elements.Count % 2 != 0)
        {
            throw new InvalidOperationException($"A {Type} reply of {Elements.Count} elements is not a map.");
        }

        var map = new Dictionary<string, RedisReply>(Elements.Count / 2, StringComparer.Ordinal);
        for (var i = 0; i < Elements.Count; i += 2)
        {
            map[Elements[i].Text ?? Elements[i].Value.ToString(CultureInfo.InvariantCulture)] = Elements[i + 1];
        }

        return map;
    }

    public override string ToString() => Type switch
    {
        _ when IsNull => "(nil)",
        RespType.Integer => Value.ToString(CultureInfo.InvariantCulture),
        RespType.Boolean => Value != 0 ? "(true)" : "(false)",
        RespType.Array or RespType.Set or RespType.Push or RespType.Map =>
            $"{Type}[{string.Join(", ", Elements.Select(e => e.ToString()))}]",
        _ => Text ?? string.Empty,
    };

    /// <summary>Copies a reply view into objects (recursively for aggregates, with any leading attributes).</summary>
    public static RedisReply From(in RespReply reply)
    {
        var attributes = ReadAttributes(reply.Raw);
        var result = reply.Type switch
        {
            RespType.Array or RespType.Set or RespType.Push or RespType.Map => new RedisReply(reply.Type)
            {
                Value = reply.Value,
                Elements = ReadElements(reply),
            },
            RespType.Integer or RespType.Boolean or RespType.Null => new RedisReply(reply.Type) { Value = reply.Value },
            RespType.BulkString when reply.IsNull => new RedisReply(reply.Type) { Value = -1 },
            _ => new RedisReply(reply.Type)
            {
                Value = reply.Value,
                Text = Encoding.UTF8.GetString(reply.Payload),
                Bytes = reply.Type == RespType.BulkString ? reply.Payload.ToArray() : null,
            },
        };
        return attributes.Count == 0 ? result : new RedisReply(result.Type)
        {
            Value = result.Value,
            Text = result.Text,
            Bytes = result.Bytes,
            Elements = result.Elements,
            Attributes = attributes,
        };
    }

    private static List<RedisReply> ReadElements(in RespReply reply)
    {
        var count = reply.Type == RespType.Map ? 2 * reply.Value : Math.Max(reply.Value, 0);
        var elements = new List<RedisReply>((int)count);
        var reader = reply.Elements();
        for (var i = 0L; i < count; i++)
        {
            reader.TryRead(out var element);
            elements.Add(From(element));
        }

        return elements;
    }

    private static List<RedisReply> ReadAttributes(ReadOnlySpan<byte> raw)
    {
        var attributes = new List<RedisReply>();
        var offset = 0;
        while (RespReader.ReadToken(raw, offset, out var token) == RespStatus.Ok && token.Type == RespType.Attribute)
        {
            var reader = new RespReader(raw[token.End..]);
            for (var i = 0L; i < 2 * token.Value; i++)
            {
                reader.TryRead(out var element);
                attributes.Add(From(element));
            }

            offset = token.End + reader.Consumed;
        }

        return attributes;
    }
}

/// <summary>Copies every reply into a <see cref="RedisReply"/> (tests and rare paths: allocates).</summary>
public struct RedisReplyCollector : IRespReplyHandler
{
    public RedisReplyCollector() => Replies = [];

    public List<RedisReply> Replies { get; }

    public readonly void OnReply(int index, in RespReply reply) => Replies.Add(RedisReply.From(reply));
}

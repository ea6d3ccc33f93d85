using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LowLatency.LocalExchange;

/// <summary>The methods of Binance's live subscription protocol.</summary>
internal enum ControlMethod
{
    Subscribe,
    Unsubscribe,
    ListSubscriptions,
    SetProperty,
    GetProperty,
}

/// <summary>A well-formed control request. <see cref="Params"/> is checked by the method's handler.</summary>
internal sealed record ControlRequest(ControlMethod Method, ulong Id, JsonElement? Params);

/// <summary>
/// Requests and responses of Binance's "live subscribing/unsubscribing to streams" protocol: <c>{"method":…,"params":[…],"id":N}</c>
/// answered by <c>{"result":…,"id":N}</c> or <c>{"error":{"code":C,"msg":"…"},"id":N}</c>, with the error codes and
/// messages Binance documents (0 unknown property, 1 invalid value type, 2 invalid request, 3 invalid JSON).
/// </summary>
internal static class ControlProtocol
{
    public const int UnknownProperty = 0;
    public const int InvalidValueType = 1;
    public const int InvalidRequest = 2;
    public const int InvalidJson = 3;

    /// <summary>Strings as Binance writes them: only what JSON requires is escaped (these answers never reach HTML).</summary>
    internal static JsonSerializerOptions JsonOptions { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Parses a request; on failure returns null and the error response to send.</summary>
    public static ControlRequest? Parse(byte[] utf8, out string? errorResponse)
    {
        errorResponse = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8);
        }
        catch (JsonException ex)
        {
            errorResponse = Error(null, InvalidJson, $"Invalid JSON: {ex.Message}");
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                errorResponse = Error(null, InvalidRequest, "Invalid request: expected a JSON object");
                return null;
            }

            if (!root.TryGetProperty("id", out var idElement) || idElement.ValueKind != JsonValueKind.Number || !idElement.TryGetUInt64(out var id))
            {
                errorResponse = Error(null, InvalidRequest, "Invalid request: request ID must be an unsigned integer");
                return null;
            }

            if (!root.TryGetProperty("method", out var methodElement) || methodElement.ValueKind != JsonValueKind.String)
            {
                errorResponse = Error(id, InvalidRequest, "Invalid request: missing field `method`");
                return null;
            }

            ControlMethod? method = methodElement.GetString() switch
            {
                "SUBSCRIBE" => ControlMethod.Subscribe,
                "UNSUBSCRIBE" => ControlMethod.Unsubscribe,
                "LIST_SUBSCRIPTIONS" => ControlMethod.ListSubscriptions,
                "SET_PROPERTY" => ControlMethod.SetProperty,
                "GET_PROPERTY" => ControlMethod.GetProperty,
                _ => null,
            };

            if (method is null)
            {
                errorResponse = Error(id, InvalidRequest,
                    $"Invalid request: unknown variant `{methodElement.GetString()}`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, " +
                    "`LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`");
                return null;
            }

            JsonElement? parameters = root.TryGetProperty("params", out var p) ? p.Clone() : null;
            return new ControlRequest(method.Value, id, parameters);
        }
    }

    /// <summary>The stream names of a SUBSCRIBE or UNSUBSCRIBE, or null with the error response.</summary>
    public static string[]? StreamNames(ControlRequest request, out string? errorResponse)
    {
        errorResponse = null;
        if (request.Params is not { ValueKind: JsonValueKind.Array } array)
        {
            errorResponse = Error(request.Id, InvalidRequest, "Invalid request: `params` must be an array of stream names");
            return null;
        }

        var names = new string[array.GetArrayLength()];
        var i = 0;
        foreach (var element in array.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.String || !IsValidStreamName(element.GetString()))
            {
                errorResponse = Error(request.Id, InvalidRequest, $"Invalid request: invalid stream name {element.GetRawText()}");
                return null;
            }

            names[i++] = element.GetString()!;
        }

        return names;
    }

    /// <summary>
    /// Whether <paramref name="name"/> looks like a Binance stream: a lowercase symbol (or a <c>!</c> all-market name),
    /// <c>@</c>, then the stream type (which may have capitals: <c>bookTicker</c>); no spaces or slashes.
    /// </summary>
    public static bool IsValidStreamName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 200)
        {
            return false;
        }

        var at = name.IndexOf('@');
        if (at <= 0 || at == name.Length - 1)
        {
            return false;
        }

        var symbol = name.AsSpan(0, at);
        var symbolOk = symbol[0] == '!' || !symbol.ContainsAnyExcept("abcdefghijklmnopqrstuvwxyz0123456789");
        return symbolOk && !name.AsSpan(at).ContainsAny(" \t\r\n/?&#\"\\");
    }

    public static string Result(ulong id, string resultJson) => $"{{\"result\":{resultJson},\"id\":{id}}}";

    public static string Error(ulong? id, int code, string message) =>
        $"{{\"error\":{{\"code\":{code},\"msg\":{JsonSerializer.Serialize(message, JsonOptions)}}},\"id\":{(id is { } v ? v.ToString(System.Globalization.CultureInfo.InvariantCulture) : "null")}}}";

    public static string StringArray(IEnumerable<string> values)
    {
        var builder = new StringBuilder("[");
        foreach (var value in values)
        {
            if (builder.Length > 1)
            {
                builder.Append(',');
            }

            builder.Append(JsonSerializer.Serialize(value, JsonOptions));
        }

        return builder.Append(']').ToString();
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using LowLatency.Codecs.Avro;
using LowLatency.TestSupport;

namespace LowLatency.Codecs.Tests.Avro;

/// <summary>Helpers for the Avro tests: the shared data's paths, hex, and comparing decoded values with JSON.</summary>
internal static class AvroTestData
{
    public const string Root = "avro/apache_avro";

    public static string PathOf(string relative) => TestData.PathOf(Path.Combine("avro", relative));

    public static JsonDocument Json(string relative) => JsonDocument.Parse(File.ReadAllText(PathOf(relative)));

    public static byte[] Hex(string hex) =>
        hex.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(h => byte.Parse(h, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray();

    /// <summary>A JSON value as the generic datum of <paramref name="schema"/> (unions: the first branch the JSON fits, made explicit).</summary>
    public static object? FromJson(JsonElement json, AvroSchema schema)
    {
        switch (schema.Type)
        {
            case AvroType.Null:
                return null;
            case AvroType.Boolean:
                return json.GetBoolean();
            case AvroType.Int:
                return json.GetInt32();
            case AvroType.Long:
                return json.GetInt64();
            case AvroType.Float:
                return json.GetSingle();
            case AvroType.Double:
                return json.GetDouble();
            case AvroType.Bytes or AvroType.Fixed:
                return json.GetString()!.Select(c => (byte)c).ToArray(); // specification: code points 0-255 are the bytes
            case AvroType.String or AvroType.Enum:
                return json.GetString();
            case AvroType.Array:
                return json.EnumerateArray().Select(e => FromJson(e, schema.Items!)).ToList();
            case AvroType.Map:
                return json.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value, schema.Values!));
            case AvroType.Record:
                return schema.Fields.ToDictionary(
                    f => f.Name,
                    f => json.TryGetProperty(f.Name, out var v) ? FromJson(v, f.Schema) : FromJson(f.Default!.Value, f.Schema));
            default:
                for (var i = 0; i < schema.Branches.Count; i++)
                {
                    if (Fits(json, schema.Branches[i]))
                    {
                        return new AvroUnionValue(i, FromJson(json, schema.Branches[i]));
                    }
                }

                throw new InvalidOperationException($"{json} fits no branch of {schema}");
        }
    }

    private static bool Fits(JsonElement json, AvroSchema schema) => (json.ValueKind, schema.Type) switch
    {
        (JsonValueKind.Null, AvroType.Null) => true,
        (JsonValueKind.True or JsonValueKind.False, AvroType.Boolean) => true,
        (JsonValueKind.Number, AvroType.Int) => json.TryGetInt32(out _),
        (JsonValueKind.Number, AvroType.Long) => json.TryGetInt64(out _),
        (JsonValueKind.Number, AvroType.Float or AvroType.Double) => true,
        (JsonValueKind.String, AvroType.String or AvroType.Bytes) => true,
        (JsonValueKind.String, AvroType.Enum) => schema.Symbols.Contains(json.GetString()!),
        (JsonValueKind.Array, AvroType.Array) => true,
        (JsonValueKind.Object, AvroType.Record or AvroType.Map) => true,
        _ => false,
    };

    /// <summary>Asserts a generic datum equals plain JSON (unions unwrapped, bytes as code points 0-255).</summary>
    public static void AssertEqual(JsonElement expected, object? actual, string path = "$")
    {
        switch (expected.ValueKind)
        {
            case JsonValueKind.Null:
                Assert.True(actual is null, $"{path}: expected null, got {actual}");
                break;
            case JsonValueKind.True or JsonValueKind.False:
                Assert.Equal(expected.GetBoolean(), Assert.IsType<bool>(actual));
                break;
            case JsonValueKind.Number:
                switch (actual)
                {
                    case int i:
                        Assert.True(expected.GetInt64() == i, $"{path}: {expected} != {i}");
                        break;
                    case long l:
                        Assert.True(expected.GetInt64() == l, $"{path}: {expected} != {l}");
                        break;
                    case float f:
                        Assert.True(expected.GetSingle() == f, $"{path}: {expected} != {f}");
                        break;
                    case double d:
                        Assert.True(expected.GetDouble() == d, $"{path}: {expected} != {d}");
                        break;
                    default:
                        Assert.Fail($"{path}: expected number {expected}, got {actual}");
                        break;
                }

                break;
            case JsonValueKind.String:
                var text = actual is byte[] bytes ? new string(bytes.Select(b => (char)b).ToArray()) : actual as string;
                Assert.True(expected.GetString() == text, $"{path}: expected \"{expected.GetString()}\", got \"{text}\"");
                break;
            case JsonValueKind.Array:
                var list = Assert.IsType<List<object?>>(actual);
                Assert.True(expected.GetArrayLength() == list.Count, $"{path}: length {list.Count}, expected {expected.GetArrayLength()}");
                var index = 0;
                foreach (var item in expected.EnumerateArray())
                {
                    AssertEqual(item, list[index], $"{path}[{index}]");
                    index++;
                }

                break;
            default:
                var map = Assert.IsType<Dictionary<string, object?>>(actual);
                Assert.True(expected.EnumerateObject().Count() == map.Count, $"{path}: {map.Count} members, expected {expected.EnumerateObject().Count()}");
                foreach (var property in expected.EnumerateObject())
                {
                    Assert.True(map.ContainsKey(property.Name), $"{path}: missing '{property.Name}'");
                    AssertEqual(property.Value, map[property.Name], $"{path}.{property.Name}");
                }

                break;
        }
    }

    public static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}

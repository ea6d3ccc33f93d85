using System.Text;
using System.Text.Json;

namespace LowLatency.Codecs.Avro;

/// <summary>Parsing <c>.avsc</c> JSON (and the <c>types</c> of an <c>.avpr</c> protocol) into <see cref="AvroSchema"/> nodes.</summary>
public sealed partial class AvroSchema
{
    private static readonly JsonDocumentOptions s_jsonOptions = new() { MaxDepth = 256 };

    /// <summary>Parses a schema; throws <see cref="AvroException"/> (<see cref="AvroStatus.InvalidSchema"/>) saying what is wrong.</summary>
    public static AvroSchema Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        using var document = ParseJson(json);
        return new Parser().Parse(document.RootElement, enclosingNamespace: null);
    }

    /// <summary>Parses the <c>types</c> of an Avro protocol (<c>.avpr</c>), in order, with the protocol's namespace.</summary>
    public static IReadOnlyList<AvroSchema> ParseProtocolTypes(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        using var document = ParseJson(json);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("protocol", out _))
        {
            throw Invalid("a protocol is a JSON object with a 'protocol' attribute");
        }

        var ns = root.TryGetProperty("namespace", out var nsElement) ? RequireString(nsElement, "protocol namespace") : null;
        var parser = new Parser();
        var types = new List<AvroSchema>();
        if (root.TryGetProperty("types", out var typesElement))
        {
            if (typesElement.ValueKind != JsonValueKind.Array)
            {
                throw Invalid("protocol 'types' must be an array");
            }

            foreach (var type in typesElement.EnumerateArray())
            {
                types.Add(parser.Parse(type, string.IsNullOrEmpty(ns) ? null : ns));
            }
        }

        return types;
    }

    private static JsonDocument ParseJson(string json)
    {
        try
        {
            return JsonDocument.Parse(json, s_jsonOptions);
        }
        catch (JsonException e)
        {
            throw new AvroException(AvroStatus.InvalidSchema, $"Avro schema: not valid JSON: {e.Message}", e);
        }
    }

    private static AvroException Invalid(string message) => new(AvroStatus.InvalidSchema, "Avro schema: " + message);

    private static string RequireString(JsonElement element, string what) =>
        element.ValueKind == JsonValueKind.String ? element.GetString()! : throw Invalid($"{what} must be a JSON string");

    private static AvroType? PrimitiveType(string name) => name switch
    {
        "null" => AvroType.Null,
        "boolean" => AvroType.Boolean,
        "int" => AvroType.Int,
        "long" => AvroType.Long,
        "float" => AvroType.Float,
        "double" => AvroType.Double,
        "bytes" => AvroType.Bytes,
        "string" => AvroType.String,
        _ => null,
    };

    /// <summary>Whether <paramref name="name"/> matches <c>[A-Za-z_][A-Za-z0-9_]*</c>.</summary>
    internal static bool IsValidName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || char.IsAsciiDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsValidNamespace(string ns)
    {
        foreach (var part in ns.Split('.'))
        {
            if (!IsValidName(part))
            {
                return false;
            }
        }

        return true;
    }

    private void SetLogicalType(JsonElement obj)
    {
        if (!obj.TryGetProperty("logicalType", out var element) || element.ValueKind != JsonValueKind.String)
        {
            return;
        }

        var logical = element.GetString()!;
        var valid = logical switch
        {
            "decimal" => SetDecimal(obj),
            "uuid" => Type == AvroType.String || (Type == AvroType.Fixed && FixedSize == 16),
            "date" or "time-millis" => Type == AvroType.Int,
            "time-micros" or "timestamp-millis" or "timestamp-micros" or "timestamp-nanos"
                or "local-timestamp-millis" or "local-timestamp-micros" or "local-timestamp-nanos" => Type == AvroType.Long,
            "duration" => Type == AvroType.Fixed && FixedSize == 12,
            _ => false, // unknown logical types are ignored (specification)
        };

        LogicalType = valid ? logical : null;
    }

    private bool SetDecimal(JsonElement obj)
    {
        if (Type is not (AvroType.Bytes or AvroType.Fixed) ||
            !obj.TryGetProperty("precision", out var p) || !p.TryGetInt32(out var precision) || precision <= 0)
        {
            return false;
        }

        var scale = 0;
        if (obj.TryGetProperty("scale", out var s) && (!s.TryGetInt32(out scale) || scale < 0 || scale > precision))
        {
            return false;
        }

        if (Type == AvroType.Fixed && precision > MaxDecimalPrecision(FixedSize))
        {
            return false;
        }

        Precision = precision;
        Scale = scale;
        return true;
    }

    /// <summary>floor(log10(2^(8n-1) - 1)): the most decimal digits a fixed of <paramref name="size"/> bytes holds.</summary>
    private static int MaxDecimalPrecision(int size) => (int)Math.Floor(((8.0 * size) - 1) * Math.Log10(2));

    /// <summary>One parse: the table of named types defined so far (a schema may not define a fullname twice).</summary>
    private sealed class Parser
    {
        private readonly Dictionary<string, AvroSchema> _named = new(StringComparer.Ordinal);

        public AvroSchema Parse(JsonElement element, string? enclosingNamespace)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    return Resolve(element.GetString()!, enclosingNamespace);
                case JsonValueKind.Array:
                    return ParseUnion(element, enclosingNamespace);
                case JsonValueKind.Object:
                    return ParseObject(element, enclosingNamespace);
                default:
                    throw Invalid($"a schema must be a string, an object or an array, not {element.ValueKind}");
            }
        }

        private AvroSchema Resolve(string name, string? enclosingNamespace)
        {
            if (PrimitiveType(name) is { } primitive)
            {
                return Primitive(primitive);
            }

            if (!name.Contains('.', StringComparison.Ordinal) && enclosingNamespace is not null &&
                _named.TryGetValue(enclosingNamespace + "." + name, out var qualified))
            {
                return qualified;
            }

            return _named.TryGetValue(name, out var schema)
                ? schema
                : throw Invalid($"undefined type name '{name}'" + (enclosingNamespace is null ? string.Empty : $" (namespace '{enclosingNamespace}')"));
        }

        private AvroSchema ParseUnion(JsonElement array, string? ns)
        {
            var union = new AvroSchema(AvroType.Union);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in array.EnumerateArray())
            {
                var branch = Parse(item, ns);
                if (branch.Type == AvroType.Union)
                {
                    throw Invalid("a union may not immediately contain another union");
                }

                var key = branch.IsNamed ? branch.FullName! : branch.Type.ToString();
                if (!seen.Add(key))
                {
                    throw Invalid($"a union may not contain two branches of type '{key}'");
                }

                union._branches.Add(branch);
            }

            return union;
        }

        private AvroSchema ParseObject(JsonElement obj, string? ns)
        {
            if (!obj.TryGetProperty("type", out var typeElement))
            {
                throw Invalid("a schema object needs a 'type' attribute");
            }

            if (typeElement.ValueKind != JsonValueKind.String)
            {
                // {"type": {...}} or {"type": [...]}: the attribute holds a schema of its own.
                return Parse(typeElement, ns);
            }

            var type = typeElement.GetString()!;
            AvroSchema schema;
            switch (type)
            {
                case "record" or "error":
                    return ParseRecord(obj, ns);
                case "enum":
                    return ParseEnum(obj, ns);
                case "fixed":
                    schema = ParseFixed(obj, ns);
                    break;
                case "array":
                    schema = new AvroSchema(AvroType.Array)
                    {
                        Items = Parse(obj.TryGetProperty("items", out var items) ? items : throw Invalid("an array needs 'items'"), ns),
                    };
                    break;
                case "map":
                    schema = new AvroSchema(AvroType.Map)
                    {
                        Values = Parse(obj.TryGetProperty("values", out var values) ? values : throw Invalid("a map needs 'values'"), ns),
                    };
                    break;
                default:
                    if (PrimitiveType(type) is { } primitive)
                    {
                        if (!obj.TryGetProperty("logicalType", out _))
                        {
                            return Primitive(primitive); // attributes other than logicalType are metadata
                        }

                        schema = new AvroSchema(primitive);
                        break;
                    }

                    if (_named.ContainsKey(type) || (ns is not null && _named.ContainsKey(ns + "." + type)))
                    {
                        return Resolve(type, ns); // {"type": "SomeNamedType"}
                    }

                    throw Invalid($"unknown type '{type}'");
            }

            schema.SetLogicalType(obj);
            return schema;
        }

        private AvroSchema ParseRecord(JsonElement obj, string? ns)
        {
            var record = new AvroSchema(AvroType.Record);
            Define(record, obj, ns);
            if (!obj.TryGetProperty("fields", out var fields) || fields.ValueKind != JsonValueKind.Array)
            {
                throw Invalid($"record '{record.FullName}' needs a 'fields' array");
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var field in fields.EnumerateArray())
            {
                if (field.ValueKind != JsonValueKind.Object)
                {
                    throw Invalid($"record '{record.FullName}': a field must be an object");
                }

                if (!field.TryGetProperty("name", out var nameElement))
                {
                    throw Invalid($"record '{record.FullName}': a field has no 'name'");
                }

                var name = RequireString(nameElement, "a field name");
                if (!IsValidName(name))
                {
                    throw Invalid($"record '{record.FullName}': invalid field name '{name}'");
                }

                if (!names.Add(name))
                {
                    throw Invalid($"record '{record.FullName}': duplicate field '{name}'");
                }

                if (!field.TryGetProperty("type", out var fieldType))
                {
                    throw Invalid($"record '{record.FullName}': field '{name}' has no 'type'");
                }

                var schema = Parse(fieldType, record.Namespace);
                var order = field.TryGetProperty("order", out var orderElement)
                    ? RequireString(orderElement, "a field order") switch
                    {
                        "ascending" => AvroSortOrder.Ascending,
                        "descending" => AvroSortOrder.Descending,
                        "ignore" => AvroSortOrder.Ignore,
                        var other => throw Invalid($"record '{record.FullName}': field '{name}' has invalid order '{other}'"),
                    }
                    : AvroSortOrder.Ascending;
                JsonElement? defaultValue = field.TryGetProperty("default", out var d) ? d.Clone() : null;
                record._fields.Add(new AvroField(name, schema, record._fields.Count, defaultValue, order, ReadAliases(field, null), ReadDoc(field)));
            }

            return record;
        }

        private AvroSchema ParseEnum(JsonElement obj, string? ns)
        {
            var schema = new AvroSchema(AvroType.Enum);
            Define(schema, obj, ns);
            if (!obj.TryGetProperty("symbols", out var symbols) || symbols.ValueKind != JsonValueKind.Array)
            {
                throw Invalid($"enum '{schema.FullName}' needs a 'symbols' array");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var symbol in symbols.EnumerateArray())
            {
                var text = RequireString(symbol, "an enum symbol");
                if (!IsValidName(text) || !seen.Add(text))
                {
                    throw Invalid($"enum '{schema.FullName}': invalid or duplicate symbol '{text}'");
                }

                schema._symbols.Add(text);
            }

            if (obj.TryGetProperty("default", out var d))
            {
                var text = RequireString(d, "an enum default");
                schema.EnumDefault = seen.Contains(text) ? text : throw Invalid($"enum '{schema.FullName}': default '{text}' is not a symbol");
            }

            schema.SetLogicalType(obj);
            return schema;
        }

        private AvroSchema ParseFixed(JsonElement obj, string? ns)
        {
            var schema = new AvroSchema(AvroType.Fixed);
            if (!obj.TryGetProperty("size", out var size) || !size.TryGetInt32(out var n) || n < 0)
            {
                throw Invalid("a fixed needs a non-negative integer 'size'");
            }

            schema.FixedSize = n;
            Define(schema, obj, ns);
            return schema;
        }

        /// <summary>Sets the fullname (specification's rules: a dotted name is a fullname, else namespace or enclosing namespace) and registers it.</summary>
        private void Define(AvroSchema schema, JsonElement obj, string? enclosingNamespace)
        {
            if (!obj.TryGetProperty("name", out var nameElement))
            {
                throw Invalid($"a {schema.Type.ToString().ToLowerInvariant()} needs a 'name'");
            }

            var name = RequireString(nameElement, "a type name");
            string? ns;
            var dot = name.LastIndexOf('.');
            if (dot >= 0)
            {
                ns = name[..dot];
                name = name[(dot + 1)..];
            }
            else if (obj.TryGetProperty("namespace", out var nsElement) && nsElement.ValueKind != JsonValueKind.Null)
            {
                ns = RequireString(nsElement, "a namespace");
            }
            else
            {
                ns = enclosingNamespace;
            }

            if (string.IsNullOrEmpty(ns))
            {
                ns = null;
            }

            if (!IsValidName(name) || (ns is not null && !IsValidNamespace(ns)))
            {
                throw Invalid($"invalid name '{(ns is null ? name : ns + "." + name)}'");
            }

            if (PrimitiveType(name) is not null && ns is null)
            {
                throw Invalid($"'{name}' is a primitive type and cannot be redefined");
            }

            schema.Name = name;
            schema.Namespace = ns;
            schema.FullName = ns is null ? name : ns + "." + name;
            schema.Doc = ReadDoc(obj);
            schema._aliases.AddRange(ReadAliases(obj, ns));
            if (!_named.TryAdd(schema.FullName, schema))
            {
                throw Invalid($"type '{schema.FullName}' is defined twice");
            }
        }

        private static string? ReadDoc(JsonElement obj) =>
            obj.TryGetProperty("doc", out var doc) && doc.ValueKind == JsonValueKind.String ? doc.GetString() : null;

        private static List<string> ReadAliases(JsonElement obj, string? ns)
        {
            var aliases = new List<string>();
            if (obj.TryGetProperty("aliases", out var element))
            {
                if (element.ValueKind != JsonValueKind.Array)
                {
                    throw Invalid("'aliases' must be an array of strings");
                }

                foreach (var alias in element.EnumerateArray())
                {
                    var text = RequireString(alias, "an alias");
                    aliases.Add(ns is null || text.Contains('.', StringComparison.Ordinal) ? text : ns + "." + text);
                }
            }

            return aliases;
        }
    }

    private string BuildCanonicalForm()
    {
        var builder = new StringBuilder();
        WriteCanonical(this, builder, new HashSet<AvroSchema>(ReferenceEqualityComparer.Instance));
        return builder.ToString();
    }

    private static void WriteCanonical(AvroSchema schema, StringBuilder b, HashSet<AvroSchema> written)
    {
        switch (schema.Type)
        {
            case AvroType.Record or AvroType.Enum or AvroType.Fixed when !written.Add(schema):
                b.Append('"').Append(schema.FullName).Append('"'); // already defined: a reference by fullname
                return;
            case AvroType.Record:
                b.Append("{\"name\":\"").Append(schema.FullName).Append("\",\"type\":\"record\",\"fields\":[");
                for (var i = 0; i < schema._fields.Count; i++)
                {
                    b.Append(i == 0 ? "{\"name\":\"" : ",{\"name\":\"").Append(schema._fields[i].Name).Append("\",\"type\":");
                    WriteCanonical(schema._fields[i].Schema, b, written);
                    b.Append('}');
                }

                b.Append("]}");
                return;
            case AvroType.Enum:
                b.Append("{\"name\":\"").Append(schema.FullName).Append("\",\"type\":\"enum\",\"symbols\":[");
                for (var i = 0; i < schema._symbols.Count; i++)
                {
                    b.Append(i == 0 ? "\"" : ",\"").Append(schema._symbols[i]).Append('"');
                }

                b.Append("]}");
                return;
            case AvroType.Fixed:
                b.Append("{\"name\":\"").Append(schema.FullName).Append("\",\"type\":\"fixed\",\"size\":")
                    .Append(schema.FixedSize.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('}');
                return;
            case AvroType.Array:
                b.Append("{\"type\":\"array\",\"items\":");
                WriteCanonical(schema.Items!, b, written);
                b.Append('}');
                return;
            case AvroType.Map:
                b.Append("{\"type\":\"map\",\"values\":");
                WriteCanonical(schema.Values!, b, written);
                b.Append('}');
                return;
            case AvroType.Union:
                b.Append('[');
                for (var i = 0; i < schema._branches.Count; i++)
                {
                    if (i > 0)
                    {
                        b.Append(',');
                    }

                    WriteCanonical(schema._branches[i], b, written);
                }

                b.Append(']');
                return;
            default:
                b.Append('"').Append(schema.Type.ToString().ToLowerInvariant()).Append('"');
                return;
        }
    }
}

using System.Text.Json;

namespace LowLatency.Codecs.Avro;

/// <summary>The Avro type of a schema node.</summary>
public enum AvroType : byte
{
#pragma warning disable CS1591 // the names are Avro's type names
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Record,
    Enum,
    Array,
    Map,
    Union,
    Fixed,
#pragma warning restore CS1591
}

/// <summary>How a record field takes part in Avro's sort order.</summary>
public enum AvroSortOrder : byte
{
    /// <summary>The default.</summary>
    Ascending,

    /// <summary>Reversed.</summary>
    Descending,

    /// <summary>Not compared.</summary>
    Ignore,
}

/// <summary>
/// A parsed Avro schema node (Avro 1.11 specification): a primitive, a named type (record, enum, fixed), an array, a
/// map or a union, with its logical type when it carries a valid one. Named types are shared, so a recursive schema is a
/// graph; compile it into an <see cref="AvroPlan"/> to read data.
/// </summary>
/// <remarks>
/// Parsing allocates freely: it runs once per schema, never per message. Instances are immutable once
/// <see cref="Parse(string)"/> returns and safe to share between threads.
/// </remarks>
public sealed partial class AvroSchema
{
    private static readonly AvroSchema[] s_primitives =
    [
        new(AvroType.Null), new(AvroType.Boolean), new(AvroType.Int), new(AvroType.Long),
        new(AvroType.Float), new(AvroType.Double), new(AvroType.Bytes), new(AvroType.String),
    ];

    private readonly List<AvroField> _fields = [];
    private readonly List<AvroSchema> _branches = [];
    private readonly List<string> _symbols = [];
    private readonly List<string> _aliases = [];
    private Dictionary<string, AvroField>? _fieldsByName;
    private string? _canonicalForm;

    private AvroSchema(AvroType type)
    {
        Type = type;
    }

    /// <summary>The node's type.</summary>
    public AvroType Type { get; }

    /// <summary>The simple name of a record, enum or fixed (null otherwise).</summary>
    public string? Name { get; private set; }

    /// <summary>The namespace of a named type (null for the null namespace).</summary>
    public string? Namespace { get; private set; }

    /// <summary>The fullname of a record, enum or fixed (<c>namespace.name</c>, or the name in the null namespace).</summary>
    public string? FullName { get; private set; }

    /// <summary>The <c>doc</c> attribute, if any.</summary>
    public string? Doc { get; private set; }

    /// <summary>Alternate fullnames of a named type.</summary>
    public IReadOnlyList<string> Aliases => _aliases;

    /// <summary>A record's fields in declaration (and encoding) order.</summary>
    public IReadOnlyList<AvroField> Fields => _fields;

    /// <summary>An enum's symbols; the encoded value is the index.</summary>
    public IReadOnlyList<string> Symbols => _symbols;

    /// <summary>An enum's <c>default</c> symbol (used in schema resolution), or null.</summary>
    public string? EnumDefault { get; private set; }

    /// <summary>A union's branches.</summary>
    public IReadOnlyList<AvroSchema> Branches => _branches;

    /// <summary>An array's item schema.</summary>
    public AvroSchema? Items { get; private set; }

    /// <summary>A map's value schema (keys are strings).</summary>
    public AvroSchema? Values { get; private set; }

    /// <summary>A fixed's size in bytes.</summary>
    public int FixedSize { get; private set; }

    /// <summary>
    /// The logical type, when valid for its underlying type (<c>decimal</c>, <c>uuid</c>, <c>date</c>, <c>time-millis</c>,
    /// <c>time-micros</c>, <c>timestamp-millis/micros/nanos</c>, <c>local-timestamp-millis/micros/nanos</c>,
    /// <c>duration</c>); null for none, unknown or invalid ones, which the specification says to ignore.
    /// </summary>
    public string? LogicalType { get; private set; }

    /// <summary>A decimal's precision (0 when not a decimal).</summary>
    public int Precision { get; private set; }

    /// <summary>A decimal's scale.</summary>
    public int Scale { get; private set; }

    /// <summary>Whether this is a record, enum or fixed.</summary>
    public bool IsNamed => Type is AvroType.Record or AvroType.Enum or AvroType.Fixed;

    /// <summary>The shared schema of a primitive type.</summary>
    public static AvroSchema Primitive(AvroType type) =>
        type <= AvroType.String ? s_primitives[(int)type] : throw new ArgumentOutOfRangeException(nameof(type), type, "Not a primitive type.");

    /// <summary>A record's field by name, or null.</summary>
    public AvroField? GetField(string name)
    {
        if (_fieldsByName is null)
        {
            var map = new Dictionary<string, AvroField>(_fields.Count, StringComparer.Ordinal);
            foreach (var field in _fields)
            {
                map[field.Name] = field;
            }

            _fieldsByName = map;
        }

        return _fieldsByName.GetValueOrDefault(name);
    }

    /// <summary>The Parsing Canonical Form (specification: PRIMITIVES, FULLNAMES, STRIP, ORDER, STRINGS, INTEGERS, WHITESPACE).</summary>
    public string CanonicalForm => _canonicalForm ??= BuildCanonicalForm();

    /// <summary>The CRC-64-AVRO (Rabin) fingerprint of <see cref="CanonicalForm"/>, as the unsigned value.</summary>
    public ulong Fingerprint => AvroFingerprint.Crc64(System.Text.Encoding.UTF8.GetBytes(CanonicalForm));

    /// <inheritdoc />
    public override string ToString() => CanonicalForm;
}

/// <summary>A record field: name, schema, position, and the optional default used in schema resolution.</summary>
public sealed class AvroField
{
    internal AvroField(string name, AvroSchema schema, int position, JsonElement? defaultValue, AvroSortOrder order, IReadOnlyList<string> aliases, string? doc)
    {
        Name = name;
        Schema = schema;
        Position = position;
        Default = defaultValue;
        Order = order;
        Aliases = aliases;
        Doc = doc;
    }

    /// <summary>The field's name.</summary>
    public string Name { get; }

    /// <summary>The field's schema.</summary>
    public AvroSchema Schema { get; }

    /// <summary>The zero-based position in the record (the encoding order).</summary>
    public int Position { get; }

    /// <summary>The JSON <c>default</c> value, or null when the field has none (then it is required in resolution).</summary>
    public JsonElement? Default { get; }

    /// <summary>Whether the field has a default.</summary>
    public bool HasDefault => Default.HasValue;

    /// <summary>The field's sort order.</summary>
    public AvroSortOrder Order { get; }

    /// <summary>Alternate names (used when resolving a writer's record against this reader's).</summary>
    public IReadOnlyList<string> Aliases { get; }

    /// <summary>The <c>doc</c> attribute, if any.</summary>
    public string? Doc { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {Schema}";
}

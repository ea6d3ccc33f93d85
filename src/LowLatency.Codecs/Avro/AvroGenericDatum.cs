using System.Buffers;
using System.Collections;
using System.Numerics;
using System.Text;

namespace LowLatency.Codecs.Avro;

/// <summary>Forces the branch of a union when writing a generic value (otherwise the first branch that accepts the value is used).</summary>
/// <param name="Branch">The zero-based branch index.</param>
/// <param name="Value">The branch's value.</param>
public readonly record struct AvroUnionValue(int Branch, object? Value);

/// <summary>
/// Avro data as plain .NET objects, for tools, tests and cold paths (it allocates; the hot path uses
/// <see cref="AvroPlan.Visit{TVisitor}"/>, <see cref="AvroRecordProjection"/> or <see cref="AvroWriter"/>).
/// </summary>
/// <remarks>
/// Representation: null → <c>null</c>; boolean → <see cref="bool"/>; int → <see cref="int"/>; long → <see cref="long"/>;
/// float → <see cref="float"/>; double → <see cref="double"/>; bytes and fixed → <c>byte[]</c>; string → <see cref="string"/>;
/// enum → the symbol as a <see cref="string"/>; array → <c>List&lt;object?&gt;</c>; map and record →
/// <c>Dictionary&lt;string, object?&gt;</c> (records keep field order); union → the branch's value. The writer also
/// accepts the logical types' .NET values: <see cref="Guid"/> (uuid), <see cref="decimal"/> (decimal),
/// <see cref="DateOnly"/> (date), <see cref="TimeOnly"/> (time-millis/micros), <see cref="DateTimeOffset"/> (timestamps).
/// </remarks>
public static class AvroGenericDatum
{
    /// <summary>Reads one datum from <paramref name="reader"/>.</summary>
    public static AvroStatus Read(AvroPlan plan, ref AvroReader reader, out object? value)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var builder = new TreeBuilder { Frames = new Stack<Frame>() };
        var status = plan.Visit(ref reader, ref builder);
        value = status == AvroStatus.Ok ? builder.Result : null;
        return status;
    }

    /// <summary>Reads <paramref name="data"/> as exactly one datum; throws <see cref="AvroException"/> on a bad input.</summary>
    public static object? Read(AvroPlan plan, ReadOnlySpan<byte> data)
    {
        var reader = new AvroReader(data);
        var status = Read(plan, ref reader, out var value);
        if (status == AvroStatus.Ok && !reader.IsAtEnd)
        {
            status = AvroStatus.TrailingBytes;
        }

        return status == AvroStatus.Ok ? value : throw new AvroException(status, $"Avro datum: {status} at byte {reader.Position}");
    }

    /// <summary>Encodes <paramref name="value"/> with <paramref name="plan"/>'s schema into <paramref name="output"/>; throws <see cref="AvroException"/> (<see cref="AvroStatus.SchemaMismatch"/>) if it does not fit the schema.</summary>
    public static void Write(AvroPlan plan, object? value, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(output);
        WriteNode(plan, AvroPlan.Root, value, output, "$");
    }

    /// <summary>Encodes <paramref name="value"/> into a new array.</summary>
    public static byte[] Write(AvroPlan plan, object? value)
    {
        var output = new ArrayBufferWriter<byte>();
        Write(plan, value, output);
        return output.WrittenSpan.ToArray();
    }

    private static void WriteNode(AvroPlan plan, int node, object? value, IBufferWriter<byte> output, string path)
    {
        var schema = plan.SchemaOf(node);
        switch (plan.TypeOf(node))
        {
            case AvroType.Null:
                _ = value is null ? 0 : throw Mismatch(path, schema, value);
                return;
            case AvroType.Boolean:
                Primitive(output, value is bool b ? (b ? 1 : 0) : throw Mismatch(path, schema, value), isBoolean: true);
                return;
            case AvroType.Int:
                Primitive(output, ToInt(schema, value) ?? throw Mismatch(path, schema, value), isBoolean: false);
                return;
            case AvroType.Long:
                Primitive(output, ToLong(schema, value) ?? throw Mismatch(path, schema, value), isBoolean: false);
                return;
            case AvroType.Float:
            {
                var f = value switch { float x => x, int x => x, long x => x, double x => (float)x, _ => throw Mismatch(path, schema, value) };
                var w = new AvroWriter(output.GetSpan(4));
                w.WriteFloat(f);
                output.Advance(w.Position);
                return;
            }

            case AvroType.Double:
            {
                var d = value switch { double x => x, float x => x, int x => x, long x => x, _ => throw Mismatch(path, schema, value) };
                var w = new AvroWriter(output.GetSpan(8));
                w.WriteDouble(d);
                output.Advance(w.Position);
                return;
            }

            case AvroType.Bytes:
                WriteBytes(output, ToBytes(schema, value) ?? throw Mismatch(path, schema, value), withLength: true);
                return;
            case AvroType.String:
                WriteBytes(output, value switch
                {
                    string s => Encoding.UTF8.GetBytes(s),
                    Guid g when schema.LogicalType == "uuid" => Encoding.UTF8.GetBytes(g.ToString("D")),
                    _ => throw Mismatch(path, schema, value),
                }, withLength: true);
                return;
            case AvroType.Fixed:
            {
                var bytes = ToBytes(schema, value) ?? throw Mismatch(path, schema, value);
                WriteBytes(output, bytes.Length == schema.FixedSize ? bytes : throw Mismatch(path, schema, value), withLength: false);
                return;
            }

            case AvroType.Enum:
            {
                var index = value is string symbol ? IndexOf(schema.Symbols, symbol) : -1;
                Primitive(output, index >= 0 ? index : throw Mismatch(path, schema, value), isBoolean: false);
                return;
            }

            case AvroType.Record:
            {
                if (value is not IReadOnlyDictionary<string, object?> record)
                {
                    throw Mismatch(path, schema, value);
                }

                for (var i = 0; i < schema.Fields.Count; i++)
                {
                    var field = schema.Fields[i];
                    if (!record.TryGetValue(field.Name, out var fieldValue))
                    {
                        throw new AvroException(AvroStatus.SchemaMismatch, $"Avro write: {path} lacks field '{field.Name}' of record '{schema.FullName}'");
                    }

                    WriteNode(plan, plan.FieldNode(node, i), fieldValue, output, path + "." + field.Name);
                }

                return;
            }

            case AvroType.Array:
            {
                if (value is not IList list || value is byte[])
                {
                    throw Mismatch(path, schema, value);
                }

                if (list.Count > 0)
                {
                    Primitive(output, list.Count, isBoolean: false);
                    for (var i = 0; i < list.Count; i++)
                    {
                        WriteNode(plan, plan.ItemNode(node), list[i], output, $"{path}[{i}]");
                    }
                }

                Primitive(output, 0, isBoolean: false);
                return;
            }

            case AvroType.Map:
            {
                if (value is not IReadOnlyDictionary<string, object?> map)
                {
                    throw Mismatch(path, schema, value);
                }

                if (map.Count > 0)
                {
                    Primitive(output, map.Count, isBoolean: false);
                    foreach (var (key, item) in map)
                    {
                        WriteBytes(output, Encoding.UTF8.GetBytes(key), withLength: true);
                        WriteNode(plan, plan.ItemNode(node), item, output, $"{path}[\"{key}\"]");
                    }
                }

                Primitive(output, 0, isBoolean: false);
                return;
            }

            default: // Union
            {
                int branch;
                if (value is AvroUnionValue forced)
                {
                    branch = (uint)forced.Branch < (uint)plan.BranchCount(node) ? forced.Branch : throw Mismatch(path, schema, value);
                    value = forced.Value;
                }
                else
                {
                    branch = -1;
                    for (var i = 0; i < plan.BranchCount(node) && branch < 0; i++)
                    {
                        branch = Accepts(plan.SchemaOf(plan.BranchNode(node, i)), value) ? i : -1;
                    }

                    if (branch < 0)
                    {
                        throw Mismatch(path, schema, value);
                    }
                }

                Primitive(output, branch, isBoolean: false);
                WriteNode(plan, plan.BranchNode(node, branch), value, output, path);
                return;
            }
        }
    }

    /// <summary>Whether a value can be written as <paramref name="schema"/> (shallow: the first union branch that accepts a value is chosen).</summary>
    private static bool Accepts(AvroSchema schema, object? value) => schema.Type switch
    {
        AvroType.Null => value is null,
        AvroType.Boolean => value is bool,
        AvroType.Int => ToInt(schema, value) is not null,
        AvroType.Long => ToLong(schema, value) is not null,
        AvroType.Float or AvroType.Double => value is float or double or int or long,
        AvroType.Bytes => ToBytes(schema, value) is not null,
        AvroType.String => value is string || (value is Guid && schema.LogicalType == "uuid"),
        AvroType.Fixed => ToBytes(schema, value) is { } bytes && bytes.Length == schema.FixedSize,
        AvroType.Enum => value is string s && IndexOf(schema.Symbols, s) >= 0,
        AvroType.Record => value is IReadOnlyDictionary<string, object?> d && schema.Fields.All(f => d.ContainsKey(f.Name)),
        AvroType.Map => value is IReadOnlyDictionary<string, object?>,
        AvroType.Array => value is IList and not byte[],
        _ => false,
    };

    private static long? ToInt(AvroSchema schema, object? value) => value switch
    {
        int x => x,
        long x when x is >= int.MinValue and <= int.MaxValue => x,
        DateOnly d when schema.LogicalType == "date" => d.DayNumber - AvroLogical.UnixEpochDayNumber,
        TimeOnly t when schema.LogicalType == "time-millis" => t.Ticks / TimeSpan.TicksPerMillisecond,
        _ => null,
    };

    private static long? ToLong(AvroSchema schema, object? value) => value switch
    {
        long x => x,
        int x => x,
        TimeOnly t when schema.LogicalType == "time-micros" => t.Ticks / 10,
        DateTimeOffset t when schema.LogicalType is { } logical && logical.Contains("timestamp", StringComparison.Ordinal) =>
            AvroLogical.FromUnixNanoseconds((t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100, logical),
        _ => null,
    };

    private static byte[]? ToBytes(AvroSchema schema, object? value) => value switch
    {
        byte[] bytes => bytes,
        decimal d when schema.LogicalType == "decimal" => AvroLogical.DecimalToBytes(d, schema.Scale, schema.Type == AvroType.Fixed ? schema.FixedSize : -1),
        Guid g when schema.LogicalType == "uuid" && schema.Type == AvroType.Fixed => g.ToByteArray(bigEndian: true),
        _ => null,
    };

    private static int IndexOf(IReadOnlyList<string> symbols, string symbol)
    {
        for (var i = 0; i < symbols.Count; i++)
        {
            if (symbols[i] == symbol)
            {
                return i;
            }
        }

        return -1;
    }

    private static void Primitive(IBufferWriter<byte> output, long value, bool isBoolean)
    {
        var w = new AvroWriter(output.GetSpan(AvroWriter.MaxLongBytes));
        if (isBoolean)
        {
            w.WriteBoolean(value != 0);
        }
        else
        {
            w.WriteLong(value);
        }

        output.Advance(w.Position);
    }

    private static void WriteBytes(IBufferWriter<byte> output, byte[] bytes, bool withLength)
    {
        if (withLength)
        {
            Primitive(output, bytes.Length, isBoolean: false);
        }

        output.Write(bytes);
    }

    private static AvroException Mismatch(string path, AvroSchema schema, object? value) =>
        new(AvroStatus.SchemaMismatch, $"Avro write: {path} is {(value is null ? "null" : value.GetType().Name)}, which does not fit {schema.Type} {schema.FullName}".TrimEnd());

    private sealed class Frame
    {
        public object Container = null!;
        public string? Key;
    }

    /// <summary>Builds the object tree as the plan walks the datum.</summary>
    private struct TreeBuilder : IAvroVisitor
    {
        public Stack<Frame> Frames;
        public object? Result;

        public void Null() => Add(null);

        public void Boolean(bool value) => Add(value);

        public void Int(int value) => Add(value);

        public void Long(long value) => Add(value);

        public void Float(float value) => Add(value);

        public void Double(double value) => Add(value);

        public void Bytes(ReadOnlySpan<byte> value) => Add(value.ToArray());

        public void String(ReadOnlySpan<byte> utf8) => Add(Encoding.UTF8.GetString(utf8));

        public void Fixed(AvroSchema schema, ReadOnlySpan<byte> value) => Add(value.ToArray());

        public void Enum(AvroSchema schema, int index) => Add(schema.Symbols[index]);

        public readonly void StartRecord(AvroSchema schema) => Frames.Push(new Frame { Container = new Dictionary<string, object?>(StringComparer.Ordinal) });

        public readonly void Field(AvroField field) => Frames.Peek().Key = field.Name;

        public void EndRecord(AvroSchema schema) => Add(Frames.Pop().Container);

        public readonly void StartArray(AvroSchema schema) => Frames.Push(new Frame { Container = new List<object?>() });

        public void EndArray(AvroSchema schema) => Add(Frames.Pop().Container);

        public readonly void StartMap(AvroSchema schema) => Frames.Push(new Frame { Container = new Dictionary<string, object?>(StringComparer.Ordinal) });

        public readonly void MapKey(ReadOnlySpan<byte> utf8) => Frames.Peek().Key = Encoding.UTF8.GetString(utf8);

        public void EndMap(AvroSchema schema) => Add(Frames.Pop().Container);

        public readonly void UnionBranch(AvroSchema union, int index)
        {
        }

        private void Add(object? value)
        {
            if (Frames.Count == 0)
            {
                Result = value;
                return;
            }

            var frame = Frames.Peek();
            if (frame.Container is List<object?> list)
            {
                list.Add(value);
            }
            else
            {
                ((Dictionary<string, object?>)frame.Container)[frame.Key!] = value;
            }
        }
    }
}

/// <summary>Conversions between Avro logical types and .NET values (cold paths; the hot path reads the raw values).</summary>
public static class AvroLogical
{
    /// <summary><see cref="DateOnly.DayNumber"/> of 1970-01-01.</summary>
    public static readonly int UnixEpochDayNumber = new DateOnly(1970, 1, 1).DayNumber;

    /// <summary>A <c>date</c> value (days since the Unix epoch) as a date.</summary>
    public static DateOnly ToDate(int days) => DateOnly.FromDayNumber(UnixEpochDayNumber + days);

    /// <summary>A timestamp of logical type <paramref name="logicalType"/> (<c>timestamp-millis</c>, <c>-micros</c>, <c>-nanos</c>, or the local ones) in ns since the epoch.</summary>
    public static long ToUnixNanoseconds(long value, string logicalType) => logicalType switch
    {
        "timestamp-millis" or "local-timestamp-millis" => checked(value * 1_000_000),
        "timestamp-micros" or "local-timestamp-micros" => checked(value * 1_000),
        "timestamp-nanos" or "local-timestamp-nanos" => value,
        _ => throw new ArgumentException($"'{logicalType}' is not a timestamp logical type.", nameof(logicalType)),
    };

    /// <summary>ns since the epoch as a value of timestamp logical type <paramref name="logicalType"/> (truncating).</summary>
    public static long FromUnixNanoseconds(long ns, string logicalType) => logicalType switch
    {
        "timestamp-millis" or "local-timestamp-millis" => ns / 1_000_000,
        "timestamp-micros" or "local-timestamp-micros" => ns / 1_000,
        "timestamp-nanos" or "local-timestamp-nanos" => ns,
        _ => throw new ArgumentException($"'{logicalType}' is not a timestamp logical type.", nameof(logicalType)),
    };

    /// <summary>A <c>decimal</c> value (big-endian two's-complement unscaled integer) with <paramref name="scale"/> as a .NET decimal; false if it does not fit.</summary>
    public static bool TryToDecimal(ReadOnlySpan<byte> unscaled, int scale, out decimal value)
    {
        value = 0;
        if (scale is < 0 or > 28)
        {
            return false;
        }

        var integer = new BigInteger(unscaled, isUnsigned: false, isBigEndian: true);
        if (BigInteger.Abs(integer) > new BigInteger(decimal.MaxValue))
        {
            return false;
        }

        value = (decimal)integer / (decimal)BigInteger.Pow(10, scale);
        return true;
    }

    /// <summary>Encodes <paramref name="value"/> at <paramref name="scale"/> as a big-endian two's-complement integer, sign-extended to <paramref name="size"/> bytes (or minimal when -1).</summary>
    public static byte[] DecimalToBytes(decimal value, int scale, int size = -1)
    {
        var scaled = value * (decimal)BigInteger.Pow(10, scale);
        if (scaled != decimal.Truncate(scaled))
        {
            throw new AvroException(AvroStatus.SchemaMismatch, $"Avro decimal: {value} has more than {scale} decimal places");
        }

        var minimal = new BigInteger(scaled).ToByteArray(isUnsigned: false, isBigEndian: true);
        if (size < 0)
        {
            return minimal;
        }

        if (minimal.Length > size)
        {
            throw new AvroException(AvroStatus.SchemaMismatch, $"Avro decimal: {value} does not fit in {size} bytes");
        }

        var result = new byte[size];
        result.AsSpan(0, size - minimal.Length).Fill(value < 0 ? (byte)0xFF : (byte)0);
        minimal.CopyTo(result, size - minimal.Length);
        return result;
    }
}

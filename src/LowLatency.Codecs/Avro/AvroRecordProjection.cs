namespace LowLatency.Codecs.Avro;

/// <summary>What an <see cref="AvroValue"/> holds.</summary>
public enum AvroValueKind : byte
{
    /// <summary>The writer's schema has no such field (the reader's field has a default: use it).</summary>
    Absent,

    /// <summary>A null (a null field, or the null branch of a union).</summary>
    Null,

    /// <summary>A boolean in <see cref="AvroValue.Int64"/> (0 or 1).</summary>
    Boolean,

    /// <summary>An int in <see cref="AvroValue.Int64"/>.</summary>
    Int,

    /// <summary>A long in <see cref="AvroValue.Int64"/>.</summary>
    Long,

    /// <summary>A float in <see cref="AvroValue.Float64"/>.</summary>
    Float,

    /// <summary>A double in <see cref="AvroValue.Float64"/>.</summary>
    Double,

    /// <summary>Bytes at <see cref="AvroValue.Offset"/>/<see cref="AvroValue.Length"/> of the input.</summary>
    Bytes,

    /// <summary>A string's UTF-8 bytes at <see cref="AvroValue.Offset"/>/<see cref="AvroValue.Length"/>.</summary>
    String,

    /// <summary>A fixed at <see cref="AvroValue.Offset"/>/<see cref="AvroValue.Length"/>.</summary>
    Fixed,

    /// <summary>An enum index in <see cref="AvroValue.Int64"/>.</summary>
    Enum,

    /// <summary>A record, array or map: its encoded bytes at <see cref="AvroValue.Offset"/>/<see cref="AvroValue.Length"/>.</summary>
    Complex,
}

/// <summary>One field's value as read by an <see cref="AvroRecordProjection"/>: numbers inline, everything else as a range of the input.</summary>
public struct AvroValue
{
    /// <summary>What the value holds.</summary>
    public AvroValueKind Kind;

    /// <summary>The writer's union branch when the field is a union, else -1.</summary>
    public int Branch;

    /// <summary>Boolean, int, long and enum values.</summary>
    public long Int64;

    /// <summary>Float and double values.</summary>
    public double Float64;

    /// <summary>Where bytes, strings, fixed and complex values start in the input.</summary>
    public int Offset;

    /// <summary>Their length in bytes.</summary>
    public int Length;

    /// <summary>The value's bytes in <paramref name="input"/> (the span the record was read from).</summary>
    public readonly ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> input) => input.Slice(Offset, Length);

    /// <summary>Whether the value is text or bytes (what a string field of the reader accepts: string ↔ bytes promote).</summary>
    public readonly bool IsText => Kind is AvroValueKind.String or AvroValueKind.Bytes;
}

/// <summary>
/// Schema resolution for the top level of a record, compiled once per (writer schema, reader schema) pair: reader fields
/// are matched to writer fields by name (or the reader field's aliases), whatever their order; writer fields the reader
/// does not have are skipped by the writer's <see cref="AvroPlan"/>. Reading fills one <see cref="AvroValue"/> per
/// reader field, in the reader's order, without allocating: the indexed field table engine code reads.
/// </summary>
/// <remarks>
/// <c>Create</c> signals the specification's resolution errors (a reader field without a default that the writer
/// lacks, or a field whose types cannot match) as an <see cref="AvroException"/>; reading returns statuses only.
/// Values keep the writer's type (an int written where the reader says long is <see cref="AvroValueKind.Int"/>): the
/// consumer applies promotions as it converts.
/// </remarks>
public sealed class AvroRecordProjection
{
    private readonly int[] _slotOfWriterField;

    private AvroRecordProjection(AvroPlan writerPlan, AvroSchema readerSchema, int[] slotOfWriterField)
    {
        WriterPlan = writerPlan;
        ReaderSchema = readerSchema;
        _slotOfWriterField = slotOfWriterField;
    }

    /// <summary>The writer's compiled schema.</summary>
    public AvroPlan WriterPlan { get; }

    /// <summary>The reader's record schema: <see cref="AvroValue"/> slot <c>i</c> is its field <c>i</c>.</summary>
    public AvroSchema ReaderSchema { get; }

    /// <summary>How many values a read fills (the reader's field count).</summary>
    public int FieldCount => ReaderSchema.Fields.Count;

    /// <summary>Resolves <paramref name="writer"/> against <paramref name="reader"/> (both records).</summary>
    public static AvroRecordProjection Create(AvroSchema writer, AvroSchema reader) => Create(AvroPlan.Compile(writer), reader);

    /// <summary>Resolves the writer's compiled schema against <paramref name="reader"/>.</summary>
    public static AvroRecordProjection Create(AvroPlan writerPlan, AvroSchema reader)
    {
        ArgumentNullException.ThrowIfNull(writerPlan);
        ArgumentNullException.ThrowIfNull(reader);
        var writer = writerPlan.Schema;
        if (writer.Type != AvroType.Record || reader.Type != AvroType.Record)
        {
            throw new AvroException(AvroStatus.SchemaMismatch, "Avro resolution: a projection needs two record schemas");
        }

        if (writer.Name != reader.Name && !reader.Aliases.Any(a => a == writer.FullName || a.EndsWith("." + writer.Name, StringComparison.Ordinal)))
        {
            throw new AvroException(AvroStatus.SchemaMismatch, $"Avro resolution: writer record '{writer.FullName}' does not match reader record '{reader.FullName}'");
        }

        var slots = new int[writer.Fields.Count];
        Array.Fill(slots, -1);
        foreach (var readerField in reader.Fields)
        {
            var writerField = writer.GetField(readerField.Name);
            for (var a = 0; writerField is null && a < readerField.Aliases.Count; a++)
            {
                writerField = writer.GetField(readerField.Aliases[a]);
            }

            if (writerField is null)
            {
                if (!readerField.HasDefault)
                {
                    throw new AvroException(AvroStatus.SchemaMismatch, $"Avro resolution: writer '{writer.FullName}' lacks field '{readerField.Name}', which has no default");
                }

                continue;
            }

            if (!Matches(writerField.Schema, readerField.Schema))
            {
                throw new AvroException(AvroStatus.SchemaMismatch, $"Avro resolution: field '{readerField.Name}' is {writerField.Schema} in the writer and {readerField.Schema} in the reader");
            }

            slots[writerField.Position] = readerField.Position;
        }

        return new AvroRecordProjection(writerPlan, reader, slots);
    }

    /// <summary>Reads one record, filling <paramref name="values"/> (at least <see cref="FieldCount"/> long) in the reader's field order.</summary>
    public AvroStatus Read(ref AvroReader reader, Span<AvroValue> values)
    {
        if (values.Length < FieldCount)
        {
            throw new ArgumentException($"Needs room for {FieldCount} values.", nameof(values));
        }

        values[..FieldCount].Clear(); // Kind = Absent
        var plan = WriterPlan;
        for (var i = 0; i < _slotOfWriterField.Length; i++)
        {
            var node = plan.FieldNode(AvroPlan.Root, i);
            var slot = _slotOfWriterField[i];
            var status = slot < 0 ? plan.SkipNode(ref reader, node, 1) : ReadValue(ref reader, node, ref values[slot]);
            if (status != AvroStatus.Ok)
            {
                return status;
            }
        }

        return AvroStatus.Ok;
    }

    /// <summary>Reads <paramref name="body"/> as exactly one record.</summary>
    public AvroStatus Read(ReadOnlySpan<byte> body, Span<AvroValue> values)
    {
        var reader = new AvroReader(body);
        var status = Read(ref reader, values);
        return status != AvroStatus.Ok ? status : reader.IsAtEnd ? AvroStatus.Ok : AvroStatus.TrailingBytes;
    }

    private AvroStatus ReadValue(ref AvroReader reader, int node, ref AvroValue value)
    {
        var plan = WriterPlan;
        value.Branch = -1;
        AvroStatus status;
        var type = plan.TypeOf(node);
        if (type == AvroType.Union)
        {
            if ((status = plan.ReadBranch(ref reader, node, out var branch)) != AvroStatus.Ok)
            {
                return status;
            }

            value.Branch = branch;
            node = plan.BranchNode(node, branch);
            type = plan.TypeOf(node);
        }

        var start = reader.Position;
        switch (type)
        {
            case AvroType.Null:
                value.Kind = AvroValueKind.Null;
                return AvroStatus.Ok;
            case AvroType.Boolean:
                value.Kind = AvroValueKind.Boolean;
                status = reader.ReadBoolean(out var b);
                value.Int64 = b ? 1 : 0;
                return status;
            case AvroType.Int:
                value.Kind = AvroValueKind.Int;
                status = reader.ReadInt(out var i32);
                value.Int64 = i32;
                return status;
            case AvroType.Long:
                value.Kind = AvroValueKind.Long;
                return reader.ReadLong(out value.Int64);
            case AvroType.Enum:
                value.Kind = AvroValueKind.Enum;
                status = plan.ReadEnum(ref reader, node, out var index);
                value.Int64 = index;
                return status;
            case AvroType.Float:
                value.Kind = AvroValueKind.Float;
                status = reader.ReadFloat(out var f32);
                value.Float64 = f32;
                return status;
            case AvroType.Double:
                value.Kind = AvroValueKind.Double;
                return reader.ReadDouble(out value.Float64);
            case AvroType.Bytes or AvroType.String:
                value.Kind = type == AvroType.String ? AvroValueKind.String : AvroValueKind.Bytes;
                status = reader.ReadBytes(out var bytes);
                value.Length = bytes.Length;
                value.Offset = reader.Position - bytes.Length;
                return status;
            default: // Fixed, Record, Array, Map: the encoded range
                value.Kind = type == AvroType.Fixed ? AvroValueKind.Fixed : AvroValueKind.Complex;
                status = plan.SkipNode(ref reader, node, 1);
                value.Offset = start;
                value.Length = reader.Position - start;
                return status;
        }
    }

    /// <summary>The specification's "match" for schema resolution (unions match anything; per-datum branches decide).</summary>
    public static bool Matches(AvroSchema writer, AvroSchema reader)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(reader);
        if (writer.Type == AvroType.Union || reader.Type == AvroType.Union)
        {
            return true;
        }

        return (writer.Type, reader.Type) switch
        {
            (AvroType.Array, AvroType.Array) => Matches(writer.Items!, reader.Items!),
            (AvroType.Map, AvroType.Map) => Matches(writer.Values!, reader.Values!),
            (AvroType.Enum, AvroType.Enum) or (AvroType.Record, AvroType.Record) => writer.Name == reader.Name,
            (AvroType.Fixed, AvroType.Fixed) => writer.Name == reader.Name && writer.FixedSize == reader.FixedSize,
            (AvroType.Int, AvroType.Long or AvroType.Float or AvroType.Double) => true,
            (AvroType.Long, AvroType.Float or AvroType.Double) => true,
            (AvroType.Float, AvroType.Double) => true,
            (AvroType.String, AvroType.Bytes) or (AvroType.Bytes, AvroType.String) => true,
            var (w, r) => w == r && w <= AvroType.String,
        };
    }
}

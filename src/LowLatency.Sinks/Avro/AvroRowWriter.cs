using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;
using LowLatency.Aggregation;
using LowLatency.Codecs.Avro;
using LowLatency.Market;

namespace LowLatency.Sinks.Avro;

/// <summary>
/// Rows as Avro binary records of <see cref="OutputSchemas"/>, one message per row, framed as
/// <see cref="AvroFraming.Bare"/> (the body alone; the reader knows the schema), <see cref="AvroFraming.Confluent"/>
/// (magic byte 0 and the schema's registry id from <see cref="OutputSchemaIds"/>) or
/// <see cref="AvroFraming.SingleObject"/> (<c>C3 01</c> and the schema's fingerprint). No line feed between rows: the
/// caller takes each message's bytes from <see cref="RowWriter.Buffer"/> and calls <see cref="RowWriter.Clear"/>.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="OutputRecords"/> drives the writer field by field, as it drives the JSON and CSV writers, so the three
/// formats carry the same fields by construction. Avro has no field names on the wire, only an order, so the writer
/// checks every field the records write against the schema's next field (name and type) and throws on a mismatch:
/// a change to <see cref="OutputRecords"/> that the <c>.avsc</c> files do not follow fails on its first record rather
/// than producing records no reader can decode. The check compares a few bytes per field.
/// </para>
/// <para>
/// A double field the JSON record writes as null when not finite is <c>["null","double"]</c> in the schema and is
/// written as the null branch then; a plain <c>double</c> field is written as it is.
/// </para>
/// <para>Nothing allocates per row: the buffer is reused and each value is written straight into it.</para>
/// </remarks>
public sealed class AvroRowWriter : RowWriter
{
    private readonly RecordLayout?[] _layouts = new RecordLayout?[(int)OutputKind.Ticker + 1];
    private RecordLayout? _record;
    private int _field;

    /// <summary>Creates a writer.</summary>
    /// <param name="framing">What goes before each record's body. Default <see cref="AvroFraming.Bare"/>: nothing.</param>
    /// <param name="schemaIds">The registry ids written with <see cref="AvroFraming.Confluent"/> (ignored otherwise).</param>
    public AvroRowWriter(AvroFraming framing = AvroFraming.Bare, OutputSchemaIds schemaIds = default)
    {
        if (!Enum.IsDefined(framing))
        {
            throw new ArgumentOutOfRangeException(nameof(framing), framing, "Not a framing.");
        }

        Framing = framing;
        SchemaIds = schemaIds;
        foreach (var kind in (ReadOnlySpan<OutputKind>)[OutputKind.Candle, OutputKind.Alert, OutputKind.Ticker])
        {
            _layouts[(int)kind] = new RecordLayout(OutputSchemas.For(kind), schemaIds.For(kind));
        }
    }

    /// <summary>The framing written before each record.</summary>
    public AvroFraming Framing { get; }

    /// <summary>The schema ids written with <see cref="AvroFraming.Confluent"/>.</summary>
    public OutputSchemaIds SchemaIds { get; }

    /// <inheritdoc />
    public override void Begin(OutputKind record)
    {
        _record = (uint)record < (uint)_layouts.Length ? _layouts[(int)record] : null;
        if (_record is null)
        {
            ThrowNotARecord(record);
        }

        _field = 0;
        switch (Framing)
        {
            case AvroFraming.Confluent:
                ConfluentFraming.TryWriteHeader(Buffer.GetSpan(ConfluentFraming.HeaderLength), _record.SchemaId);
                Buffer.Advance(ConfluentFraming.HeaderLength);
                break;
            case AvroFraming.SingleObject:
                SingleObjectFraming.TryWriteHeader(Buffer.GetSpan(SingleObjectFraming.HeaderLength), _record.Fingerprint);
                Buffer.Advance(SingleObjectFraming.HeaderLength);
                break;
        }
    }

    /// <inheritdoc />
    public override void String(ReadOnlySpan<byte> name, ReadOnlySpan<byte> utf8)
    {
        Next(name, FieldType.String);
        var w = new AvroWriter(Buffer.GetSpan(AvroWriter.MaxLongBytes + utf8.Length));
        w.WriteString(utf8);
        Buffer.Advance(w.Position);
    }

    /// <inheritdoc />
    public override void Integer(ReadOnlySpan<byte> name, long value)
    {
        Next(name, FieldType.Long);
        Buffer.Advance(AvroWriter.WriteVarLong(Buffer.GetSpan(AvroWriter.MaxLongBytes), value));
    }

    /// <inheritdoc />
    public override void Boolean(ReadOnlySpan<byte> name, bool value)
    {
        Next(name, FieldType.Boolean);
        Buffer.GetSpan(1)[0] = value ? (byte)1 : (byte)0;
        Buffer.Advance(1);
    }

    /// <inheritdoc />
    public override void Decimal(ReadOnlySpan<byte> name, long mantissa)
    {
        Next(name, FieldType.String);
        var w = new AvroWriter(Buffer.GetSpan(AvroWriter.MaxLongBytes + FixedPoint.MaxFormattedLength));
        w.WriteDecimalString(mantissa);
        Buffer.Advance(w.Position);
    }

    /// <inheritdoc />
    public override void Double(ReadOnlySpan<byte> name, double value)
    {
        ref readonly var field = ref Next(name, FieldType.Double);
        var w = new AvroWriter(Buffer.GetSpan(AvroWriter.MaxLongBytes + sizeof(double)));
        if (field.NullBranch >= 0)
        {
            if (!double.IsFinite(value))
            {
                w.WriteUnionIndex(field.NullBranch);
                Buffer.Advance(w.Position);
                return;
            }

            w.WriteUnionIndex(field.ValueBranch);
        }

        w.WriteDouble(value);
        Buffer.Advance(w.Position);
    }

    /// <inheritdoc />
    public override void End()
    {
        if (_record is null || _field != _record.Fields.Length)
        {
            ThrowIncomplete();
        }

        _record = null; // no line feed: each record is a message of its own
    }

    /// <inheritdoc />
    public override void Clear()
    {
        base.Clear();
        _record = null;
    }

    /// <summary>The schema's next field, checked against what the records write.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref readonly Field Next(ReadOnlySpan<byte> name, FieldType type)
    {
        var fields = _record is { } record ? record.Fields : [];
        if ((uint)_field >= (uint)fields.Length || fields[_field].Type != type || !name.SequenceEqual(fields[_field].Name))
        {
            ThrowMismatch(name, type);
        }

        return ref fields[_field++];
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNotARecord(OutputKind record) =>
        throw new ArgumentOutOfRangeException(nameof(record), record, "Only candles, alerts and tickers have an Avro schema.");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowMismatch(ReadOnlySpan<byte> name, FieldType type) =>
        throw new InvalidOperationException(_record is null
            ? $"Field '{Encoding.UTF8.GetString(name)}' written outside a record (Begin first)."
            : _field >= _record.Fields.Length
                ? $"{_record.Schema.FullName}: field '{Encoding.UTF8.GetString(name)}' ({type}) written after the schema's last field: OutputRecords and the .avsc disagree."
                : $"{_record.Schema.FullName}: field '{Encoding.UTF8.GetString(name)}' ({type}) written where the schema has '{_record.Schema.Fields[_field].Name}' ({_record.Fields[_field].Type}): OutputRecords and the .avsc disagree.");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowIncomplete() =>
        throw new InvalidOperationException(_record is null
            ? "End without Begin."
            : $"{_record.Schema.FullName}: the record ended after {_field} of the schema's {_record.Fields.Length} fields: OutputRecords and the .avsc disagree.");

    /// <summary>How a row writer call maps onto the schema's field type.</summary>
    private enum FieldType : byte
    {
        String,
        Long,
        Boolean,
        Double,
    }

    /// <summary>One field of a schema, prepared for the per-row check.</summary>
    private readonly struct Field(byte[] name, FieldType type, int nullBranch, int valueBranch)
    {
        public readonly byte[] Name = name;
        public readonly FieldType Type = type;
        public readonly int NullBranch = nullBranch;   // -1 unless ["null","double"]
        public readonly int ValueBranch = valueBranch; // the double's branch in that union
    }

    /// <summary>A record schema, its header values and its fields in encoding order.</summary>
    private sealed class RecordLayout
    {
        public RecordLayout(AvroSchema schema, int schemaId)
        {
            Schema = schema;
            SchemaId = schemaId;
            Fingerprint = schema.Fingerprint;
            Fields = new Field[schema.Fields.Count];
            for (var i = 0; i < Fields.Length; i++)
            {
                var field = schema.Fields[i];
                var name = Encoding.UTF8.GetBytes(field.Name);
                Fields[i] = field.Schema.Type switch
                {
                    AvroType.String => new Field(name, FieldType.String, -1, -1),
                    AvroType.Long => new Field(name, FieldType.Long, -1, -1),
                    AvroType.Boolean => new Field(name, FieldType.Boolean, -1, -1),
                    AvroType.Double => new Field(name, FieldType.Double, -1, -1),
                    AvroType.Union when NullableDouble(field.Schema, out var nullBranch, out var valueBranch) =>
                        new Field(name, FieldType.Double, nullBranch, valueBranch),
                    _ => throw new NotSupportedException($"{schema.FullName}.{field.Name}: type {field.Schema} has no row writer call."),
                };
            }
        }

        public AvroSchema Schema { get; }

        public int SchemaId { get; }

        public ulong Fingerprint { get; }

        public Field[] Fields { get; }

        private static bool NullableDouble(AvroSchema union, out int nullBranch, out int valueBranch)
        {
            nullBranch = valueBranch = -1;
            for (var i = 0; i < union.Branches.Count; i++)
            {
                switch (union.Branches[i].Type)
                {
                    case AvroType.Null:
                        nullBranch = i;
                        break;
                    case AvroType.Double:
                        valueBranch = i;
                        break;
                    default:
                        return false;
                }
            }

            return nullBranch >= 0 && valueBranch >= 0;
        }
    }
}

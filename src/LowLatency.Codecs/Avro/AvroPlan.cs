using System.Runtime.CompilerServices;

namespace LowLatency.Codecs.Avro;

/// <summary>
/// Receives the values of one datum as <see cref="AvroPlan.Visit{TVisitor}"/> walks it, depth first in encoding order.
/// Implement it on a struct: the plan is generic over the visitor type, so the JIT devirtualises every call and nothing
/// is boxed. Spans are slices of the input, valid only during the call.
/// </summary>
public interface IAvroVisitor
{
    /// <summary>A null.</summary>
    void Null();

    /// <summary>A boolean.</summary>
    void Boolean(bool value);

    /// <summary>An int (also enum-free ints such as <c>date</c> and <c>time-millis</c>).</summary>
    void Int(int value);

    /// <summary>A long (also timestamps).</summary>
    void Long(long value);

    /// <summary>A float.</summary>
    void Float(float value);

    /// <summary>A double.</summary>
    void Double(double value);

    /// <summary>A bytes value.</summary>
    void Bytes(ReadOnlySpan<byte> value);

    /// <summary>A string, as its UTF-8 bytes.</summary>
    void String(ReadOnlySpan<byte> utf8);

    /// <summary>A fixed value of <paramref name="schema"/>.</summary>
    void Fixed(AvroSchema schema, ReadOnlySpan<byte> value);

    /// <summary>An enum value: the index into <paramref name="schema"/>'s symbols.</summary>
    void Enum(AvroSchema schema, int index);

    /// <summary>A record begins; each field's value follows a <see cref="Field"/> call.</summary>
    void StartRecord(AvroSchema schema);

    /// <summary>The next value is <paramref name="field"/>'s.</summary>
    void Field(AvroField field);

    /// <summary>The record ends.</summary>
    void EndRecord(AvroSchema schema);

    /// <summary>An array begins; its items follow as values.</summary>
    void StartArray(AvroSchema schema);

    /// <summary>The array ends.</summary>
    void EndArray(AvroSchema schema);

    /// <summary>A map begins; each entry is a <see cref="MapKey"/> call followed by the value.</summary>
    void StartMap(AvroSchema schema);

    /// <summary>The key of the entry whose value follows.</summary>
    void MapKey(ReadOnlySpan<byte> utf8);

    /// <summary>The map ends.</summary>
    void EndMap(AvroSchema schema);

    /// <summary>The union's value is of branch <paramref name="index"/>; the value follows.</summary>
    void UnionBranch(AvroSchema union, int index);
}

/// <summary>
/// A writer schema compiled once into a flat array of instructions (one per schema node; records and unions point at a
/// range of child indices, arrays and maps at their item node, named types are shared so recursive schemas are
/// cycles of indices). Walking it skips or visits a datum without allocating.
/// </summary>
/// <remarks>
/// Every length and count is checked against the bytes that remain before it is used; counts of items that may encode
/// to zero bytes (null, empty records) are capped at <see cref="MaxZeroSizeItems"/>, so no input can make the walk
/// loop unboundedly; nesting beyond <see cref="MaxDepth"/> (recursive schemas) returns <see cref="AvroStatus.TooDeep"/>.
/// Failures are statuses, never exceptions. A plan is immutable and may be shared by threads.
/// </remarks>
public sealed class AvroPlan
{
    /// <summary>The deepest nesting of records, arrays, maps and unions a walk accepts.</summary>
    public const int MaxDepth = 256;

    /// <summary>The most items one block may declare when its items can encode to zero bytes.</summary>
    public const long MaxZeroSizeItems = 1 << 20;

    private readonly Instruction[] _code;
    private readonly int[] _children;
    private readonly AvroSchema[] _schemas;

    private AvroPlan(Instruction[] code, int[] children, AvroSchema[] schemas)
    {
        _code = code;
        _children = children;
        _schemas = schemas;
        Fingerprint = schemas[0].Fingerprint;
    }

    /// <summary>The schema the plan reads (the writer's schema).</summary>
    public AvroSchema Schema => _schemas[0];

    /// <summary>The CRC-64-AVRO fingerprint of <see cref="Schema"/> (what single-object encoding carries).</summary>
    public ulong Fingerprint { get; }

    /// <summary>The number of instructions (schema nodes; a named type counts once).</summary>
    public int InstructionCount => _code.Length;

    internal const int Root = 0;

    /// <summary>Compiles <paramref name="schema"/>.</summary>
    public static AvroPlan Compile(AvroSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var compiler = new Compiler();
        compiler.Add(schema);
        return compiler.Finish();
    }

    /// <summary>Reads past one datum.</summary>
    public AvroStatus Skip(ref AvroReader reader) => SkipNode(ref reader, Root, 0);

    /// <summary>Walks one datum, handing every value to <paramref name="visitor"/>.</summary>
    public AvroStatus Visit<TVisitor>(ref AvroReader reader, ref TVisitor visitor)
        where TVisitor : struct, IAvroVisitor =>
        VisitNode(ref reader, ref visitor, Root, 0);

    /// <summary>Checks that <paramref name="data"/> is exactly one well-formed datum.</summary>
    public AvroStatus Validate(ReadOnlySpan<byte> data)
    {
        var reader = new AvroReader(data);
        var status = Skip(ref reader);
        return status != AvroStatus.Ok ? status : reader.IsAtEnd ? AvroStatus.Ok : AvroStatus.TrailingBytes;
    }

    /// <summary>Whether a datum of the root schema may encode to zero bytes (so counts of them are not bounded by bytes).</summary>
    internal bool RootCanBeEmpty => _code[Root].CanBeEmpty;

    internal AvroSchema SchemaOf(int node) => _schemas[node];

    internal AvroType TypeOf(int node) => _code[node].Type;

    /// <summary>The node of field <paramref name="index"/> of the record at <paramref name="node"/>.</summary>
    internal int FieldNode(int node, int index) => _children[_code[node].A + index];

    /// <summary>The node of branch <paramref name="index"/> of the union at <paramref name="node"/>.</summary>
    internal int BranchNode(int node, int index) => _children[_code[node].A + index];

    internal int BranchCount(int node) => _code[node].B;

    internal int ItemNode(int node) => _code[node].A;

    internal AvroStatus SkipNode(ref AvroReader reader, int node, int depth)
    {
        ref readonly var op = ref _code[node];
        switch (op.Type)
        {
            case AvroType.Null:
                return AvroStatus.Ok;
            case AvroType.Boolean:
                return reader.ReadBoolean(out _);
            case AvroType.Int:
                return reader.ReadInt(out _);
            case AvroType.Long:
                return reader.ReadLong(out _);
            case AvroType.Float:
                return reader.Skip(sizeof(float));
            case AvroType.Double:
                return reader.Skip(sizeof(double));
            case AvroType.Bytes or AvroType.String:
                return reader.ReadBytes(out _);
            case AvroType.Fixed:
                return reader.Skip(op.A);
            case AvroType.Enum:
                return ReadEnum(ref reader, in op, out _);
        }

        if (++depth > MaxDepth)
        {
            return AvroStatus.TooDeep;
        }

        switch (op.Type)
        {
            case AvroType.Record:
                for (var i = 0; i < op.B; i++)
                {
                    var status = SkipNode(ref reader, _children[op.A + i], depth);
                    if (status != AvroStatus.Ok)
                    {
                        return status;
                    }
                }

                return AvroStatus.Ok;
            case AvroType.Union:
            {
                var status = ReadBranch(ref reader, in op, out var branch);
                return status != AvroStatus.Ok ? status : SkipNode(ref reader, _children[op.A + branch], depth);
            }

            default: // Array, Map
                while (true)
                {
                    var status = ReadBlock(ref reader, in op, out var count, out var byteSize);
                    if (status != AvroStatus.Ok || count == 0)
                    {
                        return status;
                    }

                    if (byteSize >= 0)
                    {
                        status = reader.Skip((int)byteSize); // the writer gave the block's size: skip it whole
                        if (status != AvroStatus.Ok)
                        {
                            return status;
                        }

                        continue;
                    }

                    for (long i = 0; i < count; i++)
                    {
                        if (op.Type == AvroType.Map && (status = reader.ReadString(out _)) != AvroStatus.Ok)
                        {
                            return status;
                        }

                        if ((status = SkipNode(ref reader, op.A, depth)) != AvroStatus.Ok)
                        {
                            return status;
                        }
                    }
                }
        }
    }

    private AvroStatus VisitNode<TVisitor>(ref AvroReader reader, ref TVisitor visitor, int node, int depth)
        where TVisitor : struct, IAvroVisitor
    {
        ref readonly var op = ref _code[node];
        AvroStatus status;
        switch (op.Type)
        {
            case AvroType.Null:
                visitor.Null();
                return AvroStatus.Ok;
            case AvroType.Boolean:
                if ((status = reader.ReadBoolean(out var b)) == AvroStatus.Ok)
                {
                    visitor.Boolean(b);
                }

                return status;
            case AvroType.Int:
                if ((status = reader.ReadInt(out var i32)) == AvroStatus.Ok)
                {
                    visitor.Int(i32);
                }

                return status;
            case AvroType.Long:
                if ((status = reader.ReadLong(out var i64)) == AvroStatus.Ok)
                {
                    visitor.Long(i64);
                }

                return status;
            case AvroType.Float:
                if ((status = reader.ReadFloat(out var f32)) == AvroStatus.Ok)
                {
                    visitor.Float(f32);
                }

                return status;
            case AvroType.Double:
                if ((status = reader.ReadDouble(out var f64)) == AvroStatus.Ok)
                {
                    visitor.Double(f64);
                }

                return status;
            case AvroType.Bytes:
                if ((status = reader.ReadBytes(out var bytes)) == AvroStatus.Ok)
                {
                    visitor.Bytes(bytes);
                }

                return status;
            case AvroType.String:
                if ((status = reader.ReadString(out var text)) == AvroStatus.Ok)
                {
                    visitor.String(text);
                }

                return status;
            case AvroType.Fixed:
                if ((status = reader.ReadFixed(op.A, out var fixedValue)) == AvroStatus.Ok)
                {
                    visitor.Fixed(_schemas[node], fixedValue);
                }

                return status;
            case AvroType.Enum:
                if ((status = ReadEnum(ref reader, in op, out var symbol)) == AvroStatus.Ok)
                {
                    visitor.Enum(_schemas[node], symbol);
                }

                return status;
        }

        if (++depth > MaxDepth)
        {
            return AvroStatus.TooDeep;
        }

        var schema = _schemas[node];
        switch (op.Type)
        {
            case AvroType.Record:
                visitor.StartRecord(schema);
                for (var i = 0; i < op.B; i++)
                {
                    visitor.Field(schema.Fields[i]);
                    if ((status = VisitNode(ref reader, ref visitor, _children[op.A + i], depth)) != AvroStatus.Ok)
                    {
                        return status;
                    }
                }

                visitor.EndRecord(schema);
                return AvroStatus.Ok;
            case AvroType.Union:
                if ((status = ReadBranch(ref reader, in op, out var branch)) != AvroStatus.Ok)
                {
                    return status;
                }

                visitor.UnionBranch(schema, branch);
                return VisitNode(ref reader, ref visitor, _children[op.A + branch], depth);
            default: // Array, Map
                var isMap = op.Type == AvroType.Map;
                if (isMap)
                {
                    visitor.StartMap(schema);
                }
                else
                {
                    visitor.StartArray(schema);
                }

                while (true)
                {
                    if ((status = ReadBlock(ref reader, in op, out var count, out _)) != AvroStatus.Ok)
                    {
                        return status;
                    }

                    if (count == 0)
                    {
                        break;
                    }

                    for (long i = 0; i < count; i++)
                    {
                        if (isMap)
                        {
                            if ((status = reader.ReadString(out var key)) != AvroStatus.Ok)
                            {
                                return status;
                            }

                            visitor.MapKey(key);
                        }

                        if ((status = VisitNode(ref reader, ref visitor, op.A, depth)) != AvroStatus.Ok)
                        {
                            return status;
                        }
                    }
                }

                if (isMap)
                {
                    visitor.EndMap(schema);
                }
                else
                {
                    visitor.EndArray(schema);
                }

                return AvroStatus.Ok;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static AvroStatus ReadEnum(ref AvroReader reader, in Instruction op, out int index)
    {
        var start = reader.Position;
        var status = reader.ReadInt(out index);
        if (status == AvroStatus.Ok && (uint)index >= (uint)op.A)
        {
            reader.Rewind(start);
            return AvroStatus.InvalidEnumIndex;
        }

        return status;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static AvroStatus ReadBranch(ref AvroReader reader, in Instruction op, out int branch)
    {
        var start = reader.Position;
        var status = reader.ReadInt(out branch);
        if (status == AvroStatus.Ok && (uint)branch >= (uint)op.B)
        {
            reader.Rewind(start);
            return AvroStatus.InvalidUnionIndex;
        }

        return status;
    }

    internal AvroStatus ReadEnum(ref AvroReader reader, int node, out int index) => ReadEnum(ref reader, in _code[node], out index);

    internal AvroStatus ReadBranch(ref AvroReader reader, int node, out int branch) => ReadBranch(ref reader, in _code[node], out branch);

    /// <summary>Reads a block header and bounds its count by the bytes that remain (items that need at least one byte each) or by <see cref="MaxZeroSizeItems"/>.</summary>
    private AvroStatus ReadBlock(ref AvroReader reader, in Instruction op, out long count, out long byteSize)
    {
        var start = reader.Position;
        var status = reader.ReadBlockHeader(out count, out byteSize);
        if (status != AvroStatus.Ok)
        {
            return status;
        }

        var limit = byteSize >= 0 ? byteSize : reader.Remaining;
        if (op.Type == AvroType.Map || !_code[op.A].CanBeEmpty ? count > limit : count > MaxZeroSizeItems)
        {
            reader.Rewind(start);
            count = 0;
            return AvroStatus.LengthTooLarge;
        }

        return AvroStatus.Ok;
    }

    internal struct Instruction
    {
        public AvroType Type;
        public bool CanBeEmpty; // the node may encode to zero bytes (null, fixed 0, records of such fields)
        public int A;           // record/union: first child index; array/map: item node; fixed: size; enum: symbol count
        public int B;           // record: field count; union: branch count
    }

    private sealed class Compiler
    {
        private readonly List<Instruction> _code = [];
        private readonly List<AvroSchema> _schemas = [];
        private readonly List<int> _children = [];
        private readonly Dictionary<AvroSchema, int> _named = new(ReferenceEqualityComparer.Instance);

        public int Add(AvroSchema schema)
        {
            if (schema.IsNamed && _named.TryGetValue(schema, out var existing))
            {
                return existing;
            }

            var node = _code.Count;
            _code.Add(default);
            _schemas.Add(schema);
            if (schema.IsNamed)
            {
                _named.Add(schema, node); // before the fields: a recursive reference finds this node
            }

            var op = new Instruction { Type = schema.Type };
            switch (schema.Type)
            {
                case AvroType.Record:
                    op.A = Reserve(schema.Fields.Count);
                    op.B = schema.Fields.Count;
                    for (var i = 0; i < op.B; i++)
                    {
                        _children[op.A + i] = Add(schema.Fields[i].Schema);
                    }

                    break;
                case AvroType.Union:
                    op.A = Reserve(schema.Branches.Count);
                    op.B = schema.Branches.Count;
                    for (var i = 0; i < op.B; i++)
                    {
                        _children[op.A + i] = Add(schema.Branches[i]);
                    }

                    break;
                case AvroType.Array:
                    op.A = Add(schema.Items!);
                    break;
                case AvroType.Map:
                    op.A = Add(schema.Values!);
                    break;
                case AvroType.Fixed:
                    op.A = schema.FixedSize;
                    break;
                case AvroType.Enum:
                    op.A = schema.Symbols.Count;
                    break;
            }

            _code[node] = op;
            return node;
        }

        public AvroPlan Finish()
        {
            var code = _code.ToArray();

            // Which nodes may encode to zero bytes: start from "maybe" for records and remove until stable (records
            // may be recursive, so one bottom-up pass is not enough).
            for (var i = 0; i < code.Length; i++)
            {
                code[i].CanBeEmpty = code[i].Type is AvroType.Null or AvroType.Record || (code[i].Type == AvroType.Fixed && code[i].A == 0);
            }

            var children = _children.ToArray();
            for (var changed = true; changed;)
            {
                changed = false;
                for (var i = 0; i < code.Length; i++)
                {
                    if (code[i].Type != AvroType.Record || !code[i].CanBeEmpty)
                    {
                        continue;
                    }

                    for (var f = 0; f < code[i].B; f++)
                    {
                        if (!code[children[code[i].A + f]].CanBeEmpty)
                        {
                            code[i].CanBeEmpty = false;
                            changed = true;
                            break;
                        }
                    }
                }
            }

            return new AvroPlan(code, children, _schemas.ToArray());
        }

        private int Reserve(int count)
        {
            var start = _children.Count;
            for (var i = 0; i < count; i++)
            {
                _children.Add(-1);
            }

            return start;
        }
    }
}

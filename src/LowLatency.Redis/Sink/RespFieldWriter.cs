using System.Buffers;
using System.Buffers.Text;
using LowLatency.Aggregation;
using LowLatency.Market;
using LowLatency.Sinks;

namespace LowLatency.Redis.Sink;

/// <summary>
/// Spells an output record (<see cref="OutputRecords"/>) as field/value pairs for HSET or XADD: the same fields and the
/// same exact decimals as the file sink's JSON lines, by construction. Values are kept as UTF-8 in one reused buffer;
/// <see cref="AppendFields"/> writes them as arguments of the command being built. One instance per sink; no allocation
/// after the first rows.
/// </summary>
internal sealed class RespFieldWriter : RowWriter
{
    private const int MaxFields = 64;

    private readonly (int NameStart, int NameLength, int ValueStart, int ValueLength)[] _fields = new (int, int, int, int)[MaxFields];
    private readonly byte[] _number = new byte[Math.Max(FixedPoint.MaxFormattedLength, 32)]; // a double's shortest round trip takes up to 24
    private int _count;

    /// <summary>Fields written since <see cref="Begin"/>.</summary>
    public int Count => _count;

    /// <summary>The value of field <paramref name="name"/>, or empty if the row has none.</summary>
    public ReadOnlySpan<byte> ValueOf(ReadOnlySpan<byte> name)
    {
        var bytes = Buffer.WrittenSpan;
        for (var i = 0; i < _count; i++)
        {
            var (nameStart, nameLength, valueStart, valueLength) = _fields[i];
            if (bytes.Slice(nameStart, nameLength).SequenceEqual(name))
            {
                return bytes.Slice(valueStart, valueLength);
            }
        }

        return default;
    }

    /// <summary>Appends every field name and value, in order, as arguments of the command being written.</summary>
    public void AppendFields(RespWriter command)
    {
        var bytes = Buffer.WrittenSpan;
        for (var i = 0; i < _count; i++)
        {
            var (nameStart, nameLength, valueStart, valueLength) = _fields[i];
            command.Arg(bytes.Slice(nameStart, nameLength)).Arg(bytes.Slice(valueStart, valueLength));
        }
    }

    /// <inheritdoc />
    public override void Begin(OutputKind record) => Clear();

    /// <inheritdoc />
    public override void String(ReadOnlySpan<byte> name, ReadOnlySpan<byte> utf8) => Field(name, utf8);

    /// <inheritdoc />
    public override void Integer(ReadOnlySpan<byte> name, long value)
    {
        Utf8Formatter.TryFormat(value, _number, out var written);
        Field(name, _number.AsSpan(0, written));
    }

    /// <inheritdoc />
    public override void Boolean(ReadOnlySpan<byte> name, bool value) => Field(name, value ? "true"u8 : "false"u8);

    /// <inheritdoc />
    public override void Decimal(ReadOnlySpan<byte> name, long mantissa)
    {
        FixedPoint.TryFormat(mantissa, _number, out var written);
        Field(name, _number.AsSpan(0, written));
    }

    /// <inheritdoc />
    public override void Double(ReadOnlySpan<byte> name, double value)
    {
        if (double.IsFinite(value))
        {
            if (!Utf8Formatter.TryFormat(value, _number, out var written))
            {
                throw new InvalidOperationException($"The double {value} does not fit the field buffer.");
            }

            Field(name, _number.AsSpan(0, written));
        }
        else
        {
            Field(name, default); // as the CSV file: empty for NaN and infinities
        }
    }

    /// <inheritdoc />
    public override void End()
    {
    }

    /// <inheritdoc />
    public override void Clear()
    {
        base.Clear();
        _count = 0;
    }

    private void Field(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (_count == MaxFields)
        {
            throw new InvalidOperationException($"A record has more than {MaxFields} fields.");
        }

        var nameStart = Buffer.WrittenCount;
        Buffer.Write(name);
        var valueStart = Buffer.WrittenCount;
        Buffer.Write(value);
        _fields[_count++] = (nameStart, name.Length, valueStart, value.Length);
    }
}

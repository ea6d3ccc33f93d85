using System.Text;

namespace LowLatency.Cassandra;

/// <summary>
/// The bound values of one statement, encoded as they go on the wire (a [value] each: [int] length and the bytes in
/// the type's serialization format; -1 is null). Reusable: <see cref="Clear"/> and fill it again for the next row, so
/// binding allocates nothing once the buffer has grown. The server reads each value as the type of its bind marker,
/// so add the .NET type that matches the column (int for int, long for bigint, ...).
/// </summary>
public sealed class CqlValues : IDisposable
{
    private readonly CqlWriter _writer;

    public CqlValues(int initialSize = 256) => _writer = new CqlWriter(initialSize);

    /// <summary>How many values are bound.</summary>
    public int Count { get; private set; }

    /// <summary>The encoded values, back to back.</summary>
    public ReadOnlySpan<byte> Encoded => _writer.WrittenSpan;

    /// <summary>Builds values from objects (tests, setup, rare paths: boxes and allocates). See <see cref="Add(object?)"/>.</summary>
    public static CqlValues Of(params object?[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var result = new CqlValues();
        foreach (var value in values)
        {
            result.Add(value);
        }

        return result;
    }

    public CqlValues Clear()
    {
        _writer.Reset();
        Count = 0;
        return this;
    }

    /// <summary>null.</summary>
    public CqlValues AddNull()
    {
        _writer.WriteInt(-1);
        Count++;
        return this;
    }

    /// <summary>int.</summary>
    public CqlValues Add(int value)
    {
        _writer.WriteInt(4);
        _writer.WriteInt(value);
        Count++;
        return this;
    }

    /// <summary>bigint (also counter).</summary>
    public CqlValues Add(long value)
    {
        _writer.WriteInt(8);
        _writer.WriteLong(value);
        Count++;
        return this;
    }

    /// <summary>double.</summary>
    public CqlValues Add(double value) => Add(BitConverter.DoubleToInt64Bits(value));

    /// <summary>float.</summary>
    public CqlValues Add(float value) => Add(BitConverter.SingleToInt32Bits(value));

    /// <summary>boolean.</summary>
    public CqlValues Add(bool value)
    {
        _writer.WriteInt(1);
        _writer.WriteByte(value ? (byte)1 : (byte)0);
        Count++;
        return this;
    }

    /// <summary>uuid or timeuuid: 16 bytes in RFC 4122 (big-endian) order.</summary>
    public CqlValues Add(Guid value)
    {
        _writer.WriteInt(16);
        value.TryWriteBytes(_writer.Reserve(16), bigEndian: true, out _);
        Count++;
        return this;
    }

    /// <summary>timestamp: milliseconds since the Unix epoch.</summary>
    public CqlValues Add(DateTimeOffset value) => AddTimestamp(value.ToUnixTimeMilliseconds());

    /// <summary>timestamp from milliseconds since the Unix epoch.</summary>
    public CqlValues AddTimestamp(long unixMilliseconds) => Add(unixMilliseconds);

    /// <summary>text/varchar (and ascii, whose characters are a subset) as UTF-8; null binds null.</summary>
    public CqlValues Add(string? value)
    {
        if (value is null)
        {
            return AddNull();
        }

        var length = Encoding.UTF8.GetByteCount(value);
        _writer.WriteInt(length);
        Encoding.UTF8.GetBytes(value, _writer.Reserve(length));
        Count++;
        return this;
    }

    /// <summary>text from bytes that are already UTF-8 (symbols straight from the decoder), or a blob.</summary>
    public CqlValues Add(ReadOnlySpan<byte> value)
    {
        _writer.WriteBytes(value);
        Count++;
        return this;
    }

    /// <summary>blob; null binds null.</summary>
    public CqlValues Add(byte[]? value) => value is null ? AddNull() : Add(value.AsSpan());

    /// <summary>Any of the supported types by its runtime type (boxes: for tests and setup).</summary>
    public CqlValues Add(object? value) => value switch
    {
        null => AddNull(),
        int v => Add(v),
        long v => Add(v),
        double v => Add(v),
        float v => Add(v),
        bool v => Add(v),
        Guid v => Add(v),
        DateTimeOffset v => Add(v),
        DateTime v => Add(new DateTimeOffset(DateTime.SpecifyKind(v, v.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : v.Kind))),
        string v => Add(v),
        byte[] v => Add(v),
        ReadOnlyMemory<byte> v => Add(v.Span),
        _ => throw new ArgumentException($"No CQL encoding for {value.GetType()}.", nameof(value)),
    };

    public void Dispose() => _writer.Dispose();
}

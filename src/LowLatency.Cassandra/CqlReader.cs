using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;

namespace LowLatency.Cassandra;

/// <summary>
/// Reads a complete frame body in the protocol's notation. Every declared length is checked against the bytes that
/// remain before it is used; a body that ends early or declares impossible lengths is malformed and throws
/// <see cref="CassandraProtocolException"/> (the body is whole, so it can never be "need more data").
/// </summary>
public ref struct CqlReader(ReadOnlySpan<byte> body)
{
    private readonly ReadOnlySpan<byte> _body = body;
    private int _position;

    public readonly int Position => _position;

    public readonly int Remaining => _body.Length - _position;

    public byte ReadByte() => Take(1)[0];

    public void Skip(int count) => Take(count);

    public ushort ReadShort() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public int ReadInt() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public long ReadLong() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public string ReadString() => Encoding.UTF8.GetString(Take(ReadShort()));

    public string ReadLongString() => Encoding.UTF8.GetString(Take(CheckLength(ReadInt())));

    /// <summary>[bytes]; a negative length is null (returns false).</summary>
    public bool TryReadBytes(out ReadOnlySpan<byte> value)
    {
        var length = ReadInt();
        if (length < 0)
        {
            value = default;
            return false;
        }

        value = Take(length);
        return true;
    }

    /// <summary>[bytes] as the offset of the value in the body and its length (-1: null), for row cells.</summary>
    public int ReadBytesLocation(out int offset)
    {
        var length = ReadInt();
        offset = _position;
        if (length >= 0)
        {
            Take(length);
        }

        return length < 0 ? -1 : length;
    }

    public ReadOnlySpan<byte> ReadShortBytes() => Take(ReadShort());

    public Guid ReadUuid() => new(Take(16), bigEndian: true);

    public CqlConsistency ReadConsistency() => (CqlConsistency)ReadShort();

    public List<string> ReadStringList()
    {
        var count = ReadShort();
        var list = new List<string>(Math.Min((int)count, Remaining / 2));
        for (var i = 0; i < count; i++)
        {
            list.Add(ReadString());
        }

        return list;
    }

    public Dictionary<string, List<string>> ReadStringMultimap()
    {
        var count = ReadShort();
        var map = new Dictionary<string, List<string>>(Math.Min((int)count, Remaining / 4), StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var key = ReadString();
            map[key] = ReadStringList();
        }

        return map;
    }

    /// <summary>Skips a [bytes map] (v4 custom payload).</summary>
    public void SkipBytesMap()
    {
        var count = ReadShort();
        for (var i = 0; i < count; i++)
        {
            Take(ReadShort());
            TryReadBytes(out _);
        }
    }

    /// <summary>Skips what a response body carries before the message itself: tracing id, custom payload, warnings.</summary>
    public void SkipPrefix(CqlFrameFlags flags)
    {
        if ((flags & CqlFrameFlags.Tracing) != 0)
        {
            Take(16);
        }

        if ((flags & CqlFrameFlags.CustomPayload) != 0)
        {
            SkipBytesMap();
        }

        if ((flags & CqlFrameFlags.Warning) != 0)
        {
            var count = ReadShort();
            for (var i = 0; i < count; i++)
            {
                Take(ReadShort());
            }
        }
    }

    /// <summary>An [option] type; collection and tuple types are read through (their element types skipped).</summary>
    public CqlType ReadType()
    {
        var type = (CqlType)ReadShort();
        switch (type)
        {
            case CqlType.Custom:
                Take(ReadShort());
                break;
            case CqlType.List or CqlType.Set:
                ReadType();
                break;
            case CqlType.Map:
                ReadType();
                ReadType();
                break;
            case CqlType.Udt:
                Take(ReadShort());
                Take(ReadShort());
                for (int i = 0, n = ReadShort(); i < n; i++)
                {
                    Take(ReadShort());
                    ReadType();
                }

                break;
            case CqlType.Tuple:
                for (int i = 0, n = ReadShort(); i < n; i++)
                {
                    ReadType();
                }

                break;
        }

        return type;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> Take(int count)
    {
        if ((uint)count > (uint)(_body.Length - _position))
        {
            ThrowTruncated(count, _body.Length - _position);
        }

        var span = _body.Slice(_position, count);
        _position += count;
        return span;
    }

    private readonly int CheckLength(int length)
    {
        if (length < 0)
        {
            ThrowTruncated(length, Remaining);
        }

        return length;
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowTruncated(int wanted, int remaining) =>
        throw new CassandraProtocolException($"Malformed CQL frame body: a field declares {wanted} bytes but {remaining} remain.");
}

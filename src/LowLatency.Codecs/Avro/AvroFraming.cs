using System.Buffers.Binary;

namespace LowLatency.Codecs.Avro;

/// <summary>How a single Avro message is framed.</summary>
public enum AvroFraming : byte
{
    /// <summary>The binary body alone (the schema is known out of band).</summary>
    Bare,

    /// <summary>Confluent Schema Registry wire format: magic byte 0, 4-byte big-endian schema id, body.</summary>
    Confluent,

    /// <summary>Avro single-object encoding: <c>C3 01</c>, 8-byte little-endian CRC-64-AVRO fingerprint, body.</summary>
    SingleObject,
}

/// <summary>The Confluent Schema Registry wire format (what Kafka producers using the registry's serializers write).</summary>
public static class ConfluentFraming
{
    /// <summary>The only magic byte defined for Avro with integer schema ids.</summary>
    public const byte MagicByte = 0;

    /// <summary>Header length: magic byte + 4-byte schema id.</summary>
    public const int HeaderLength = 5;

    /// <summary>Splits a message into its schema id and Avro body; <see cref="AvroStatus.BadHeader"/> if the magic byte is not 0, <see cref="AvroStatus.Truncated"/> if shorter than the header.</summary>
    public static AvroStatus TryRead(ReadOnlySpan<byte> message, out int schemaId, out ReadOnlySpan<byte> body)
    {
        schemaId = 0;
        body = default;
        if (message.Length < HeaderLength)
        {
            return AvroStatus.Truncated;
        }

        if (message[0] != MagicByte)
        {
            return AvroStatus.BadHeader;
        }

        schemaId = BinaryPrimitives.ReadInt32BigEndian(message[1..]);
        body = message[HeaderLength..];
        return AvroStatus.Ok;
    }

    /// <summary>Writes the header for <paramref name="schemaId"/>; false if <paramref name="destination"/> is shorter than <see cref="HeaderLength"/>.</summary>
    public static bool TryWriteHeader(Span<byte> destination, int schemaId)
    {
        if (destination.Length < HeaderLength)
        {
            return false;
        }

        destination[0] = MagicByte;
        BinaryPrimitives.WriteInt32BigEndian(destination[1..], schemaId);
        return true;
    }
}

/// <summary>Avro single-object encoding (specification, "Single object encoding"), version 1.</summary>
public static class SingleObjectFraming
{
    /// <summary>Header length: 2-byte marker + 8-byte fingerprint.</summary>
    public const int HeaderLength = 10;

    /// <summary>The two marker bytes, <c>C3 01</c>.</summary>
    public static ReadOnlySpan<byte> Marker => [0xC3, 0x01];

    /// <summary>Splits a message into the writer schema's fingerprint and the body; <see cref="AvroStatus.BadHeader"/> without the marker.</summary>
    public static AvroStatus TryRead(ReadOnlySpan<byte> message, out ulong fingerprint, out ReadOnlySpan<byte> body)
    {
        fingerprint = 0;
        body = default;
        if (message.Length < HeaderLength)
        {
            return message.Length >= 2 && !message.StartsWith(Marker) ? AvroStatus.BadHeader : AvroStatus.Truncated;
        }

        if (!message.StartsWith(Marker))
        {
            return AvroStatus.BadHeader;
        }

        fingerprint = BinaryPrimitives.ReadUInt64LittleEndian(message[2..]);
        body = message[HeaderLength..];
        return AvroStatus.Ok;
    }

    /// <summary>Writes the header for a schema with <paramref name="fingerprint"/>; false if the destination is too short.</summary>
    public static bool TryWriteHeader(Span<byte> destination, ulong fingerprint)
    {
        if (destination.Length < HeaderLength)
        {
            return false;
        }

        Marker.CopyTo(destination);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[2..], fingerprint);
        return true;
    }
}

namespace LowLatency.Codecs.Avro;

/// <summary>
/// The checksums Avro uses: the CRC-64-AVRO (Rabin) schema fingerprint of the specification, and the IEEE CRC-32 that
/// follows each snappy-compressed container block.
/// </summary>
public static class AvroFingerprint
{
    /// <summary>The fingerprint of no bytes: the polynomial, which also seeds every fingerprint (a prepended one bit).</summary>
    public const ulong Empty = 0xc15d213aa4d7a795UL;

    private static readonly ulong[] s_crc64Table = BuildCrc64Table();
    private static readonly uint[] s_crc32Table = BuildCrc32Table();

    /// <summary>CRC-64-AVRO of <paramref name="data"/> (the specification's <c>fingerprint64</c>).</summary>
    public static ulong Crc64(ReadOnlySpan<byte> data)
    {
        var table = s_crc64Table;
        var fp = Empty;
        foreach (var b in data)
        {
            fp = (fp >> 8) ^ table[(int)((fp ^ b) & 0xff)];
        }

        return fp;
    }

    /// <summary>The fingerprint of <paramref name="schema"/>'s Parsing Canonical Form.</summary>
    public static ulong Of(AvroSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        return schema.Fingerprint;
    }

    /// <summary>IEEE 802.3 CRC-32 (reflected polynomial 0xEDB88320), as zlib and snappy-java compute it.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        var table = s_crc32Table;
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = (crc >> 8) ^ table[(int)((crc ^ b) & 0xff)];
        }

        return ~crc;
    }

    private static ulong[] BuildCrc64Table()
    {
        var table = new ulong[256];
        for (var i = 0; i < 256; i++)
        {
            var fp = (ulong)i;
            for (var j = 0; j < 8; j++)
            {
                fp = (fp >> 1) ^ (Empty & (0UL - (fp & 1UL)));
            }

            table[i] = fp;
        }

        return table;
    }

    private static uint[] BuildCrc32Table()
    {
        var table = new uint[256];
        for (var i = 0u; i < 256; i++)
        {
            var c = i;
            for (var j = 0; j < 8; j++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}

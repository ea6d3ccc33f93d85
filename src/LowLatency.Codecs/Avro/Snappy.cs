using System.Buffers.Binary;

namespace LowLatency.Codecs.Avro;

/// <summary>
/// Decompression of Snappy's raw block format (a varint uncompressed length, then literals and back-references), as the
/// Avro container's snappy codec uses it. Every length and offset is checked; the output size is declared up front, so
/// a caller bounds it before allocating.
/// </summary>
internal static class Snappy
{
    /// <summary>Reads the declared uncompressed length; false if the varint is malformed or beyond <see cref="int.MaxValue"/>.</summary>
    public static bool TryGetUncompressedLength(ReadOnlySpan<byte> compressed, out int length, out int headerBytes)
    {
        length = 0;
        headerBytes = 0;
        ulong value = 0;
        for (var shift = 0; shift < 35 && headerBytes < compressed.Length; shift += 7)
        {
            var b = compressed[headerBytes++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                if (value > int.MaxValue)
                {
                    return false;
                }

                length = (int)value;
                return true;
            }
        }

        return false;
    }

    /// <summary>Decompresses into <paramref name="output"/>, whose length must be the declared uncompressed length; false on any corruption.</summary>
    public static bool TryDecompress(ReadOnlySpan<byte> compressed, Span<byte> output)
    {
        if (!TryGetUncompressedLength(compressed, out var length, out var pos) || length != output.Length)
        {
            return false;
        }

        var written = 0;
        while (pos < compressed.Length)
        {
            int tag = compressed[pos++];
            int count, offset;
            switch (tag & 3)
            {
                case 0: // literal: length-1 in the tag's upper 6 bits, or in 1-4 following bytes (60-63)
                    count = tag >> 2;
                    if (count >= 60)
                    {
                        var extra = count - 59;
                        if (pos + extra > compressed.Length)
                        {
                            return false;
                        }

                        var raw = 0u;
                        for (var i = 0; i < extra; i++)
                        {
                            raw |= (uint)compressed[pos + i] << (8 * i);
                        }

                        pos += extra;
                        if (raw >= int.MaxValue)
                        {
                            return false;
                        }

                        count = (int)raw;
                    }

                    count++;
                    if (count > compressed.Length - pos || count > output.Length - written)
                    {
                        return false;
                    }

                    compressed.Slice(pos, count).CopyTo(output[written..]);
                    pos += count;
                    written += count;
                    continue;
                case 1: // copy, 1-byte offset: length 4-11, offset 11 bits
                    if (pos >= compressed.Length)
                    {
                        return false;
                    }

                    count = 4 + ((tag >> 2) & 7);
                    offset = ((tag >> 5) << 8) | compressed[pos++];
                    break;
                case 2: // copy, 2-byte little-endian offset
                    if (pos + 2 > compressed.Length)
                    {
                        return false;
                    }

                    count = 1 + (tag >> 2);
                    offset = BinaryPrimitives.ReadUInt16LittleEndian(compressed[pos..]);
                    pos += 2;
                    break;
                default: // copy, 4-byte little-endian offset
                    if (pos + 4 > compressed.Length)
                    {
                        return false;
                    }

                    count = 1 + (tag >> 2);
                    var offset32 = BinaryPrimitives.ReadUInt32LittleEndian(compressed[pos..]);
                    pos += 4;
                    if (offset32 > int.MaxValue)
                    {
                        return false;
                    }

                    offset = (int)offset32;
                    break;
            }

            if (offset == 0 || offset > written || count > output.Length - written)
            {
                return false;
            }

            // Byte by byte: a copy may overlap its own output (offset < count repeats a pattern).
            for (var i = 0; i < count; i++)
            {
                output[written + i] = output[written - offset + i];
            }

            written += count;
        }

        return written == output.Length;
    }
}

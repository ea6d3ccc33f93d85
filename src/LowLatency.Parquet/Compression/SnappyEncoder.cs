using System.Numerics;
using System.Runtime.CompilerServices;

namespace LowLatency.Parquet.Compression;

/// <summary>
/// A Snappy block compressor (the raw block format Parquet's SNAPPY codec uses: a varint of the uncompressed length,
/// then literals and back-references) that writes into a caller's span and allocates nothing. IronSnappy, which the
/// reader still uses to decompress, only offers <c>byte[] Encode(ReadOnlySpan&lt;byte&gt;)</c>: a new array per page
/// (a large-object-heap one for a 1 MiB page) and about 100 MB/s on the development machine, which made SNAPPY cost
/// more than the rest of the writer together.
/// </summary>
/// <remarks>
/// The same greedy scheme as the reference implementation: the input is cut into 64 KiB blocks, each searched with
/// a hash table of 4-byte sequences (positions within the block, so offsets fit in 16 bits), skipping ahead faster
/// the longer nothing matches (incompressible data then costs little), and extending every match 8 bytes at a time.
/// Any valid Snappy stream decodes the same in every reader, so the output only has to be valid, not identical to
/// another compressor's; the tests decode it with IronSnappy and DuckDB.
/// </remarks>
internal sealed class SnappyEncoder
{
    private const int BlockSize = 1 << 16;
    private const int MaxTableBits = 14;

    // No match search in the last bytes of a block: the search loads 4 and 8 bytes ahead without checking.
    private const int InputMargin = 16 - 1;
    private const int MinNonLiteralBlockSize = 1 + 1 + InputMargin;

    private readonly ushort[] _table = new ushort[1 << MaxTableBits];

    public SnappyEncoder()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("The Snappy encoder assumes a little-endian machine.");
        }
    }

    /// <summary>The output room <see cref="Compress"/> needs for <paramref name="length"/> input bytes: the format's
    /// own bound on the compressed size, plus 16 bytes for the 8-byte stores of short literals.</summary>
    public static int MaxCompressedLength(int length) => checked(32 + length + (length / 6) + 16);

    /// <summary>Compresses <paramref name="input"/> into <paramref name="output"/>, which must hold
    /// <see cref="MaxCompressedLength"/> bytes; returns the bytes written.</summary>
    public unsafe int Compress(ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (output.Length < MaxCompressedLength(input.Length))
        {
            throw new ArgumentException($"Snappy needs {MaxCompressedLength(input.Length)} bytes of output for {input.Length} of input.", nameof(output));
        }

        fixed (byte* source = input)
        fixed (byte* target = output)
        fixed (ushort* table = _table)
        {
            var d = target;
            var length = (uint)input.Length;
            while (length >= 0x80)
            {
                *d++ = (byte)(length | 0x80);
                length >>= 7;
            }

            *d++ = (byte)length;
            for (var start = 0; start < input.Length; start += BlockSize)
            {
                var blockLength = Math.Min(BlockSize, input.Length - start);
                d = blockLength < MinNonLiteralBlockSize
                    ? EmitLiteral(d, source + start, blockLength)
                    : CompressBlock(d, source + start, blockLength, table);
            }

            return (int)(d - target);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(uint bytes, int shift) => (bytes * 0x1E35A7BDu) >> shift;

    // Native-order loads: the hash and the match comparisons need no particular byte order, except the trailing-zero
    // count in ExtendMatch, which assumes little-endian (checked in the constructor).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe uint Load32(byte* p) => Unsafe.ReadUnaligned<uint>(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe ulong Load64(byte* p) => Unsafe.ReadUnaligned<ulong>(p);

    private static unsafe byte* CompressBlock(byte* d, byte* src, int n, ushort* table)
    {
        // A table no bigger than the block needs (small pages clear less), at most 2^14 entries.
        var tableBits = 8;
        while (tableBits < MaxTableBits && (1 << tableBits) < n)
        {
            tableBits++;
        }

        var shift = 32 - tableBits;
        new Span<ushort>(table, 1 << tableBits).Clear();
        var sLimit = n - InputMargin;
        var nextEmit = 0;
        var s = 1;
        var nextBytes = Load32(src + s);
        while (true)
        {
            // Look for a 4-byte match; after every 32 misses, step one byte further between lookups. The 4 bytes at
            // the next position are loaded once, for its hash now and for its comparison in the next iteration.
            var skip = 32;
            var nextS = s;
            var nextHash = Hash(nextBytes, shift);
            int candidate;
            uint bytes;
            do
            {
                s = nextS;
                bytes = nextBytes;
                var step = skip >> 5;
                nextS = s + step;
                skip += step;
                if (nextS > sLimit)
                {
                    goto EmitRemainder;
                }

                candidate = table[nextHash];
                table[nextHash] = (ushort)s;
                nextBytes = Load32(src + nextS);
                nextHash = Hash(nextBytes, shift);
            }
            while (bytes != Load32(src + candidate));

            d = EmitShortLiteral(d, src + nextEmit, s - nextEmit);

            // Emit copies as long as the byte after one match starts another.
            ulong x;
            do
            {
                var matchStart = s;
                s = ExtendMatch(src, candidate + 4, s + 4, n);
                d = EmitCopy(d, matchStart - candidate, s - matchStart);
                nextEmit = s;
                if (s >= sLimit)
                {
                    goto EmitRemainder;
                }

                // Index the position before the match's end too, then try the match's end itself.
                x = Load64(src + s - 1);
                table[Hash((uint)x, shift)] = (ushort)(s - 1);
                var currentHash = Hash((uint)(x >> 8), shift);
                candidate = table[currentHash];
                table[currentHash] = (ushort)s;
            }
            while ((uint)(x >> 8) == Load32(src + candidate));

            nextBytes = (uint)(x >> 16);
            s++;
        }

    EmitRemainder:
        return nextEmit < n ? EmitLiteral(d, src + nextEmit, n - nextEmit) : d;
    }

    /// <summary>The end of the match that starts at <paramref name="s"/> and repeats from <paramref name="i"/>
    /// (both already equal for 4 bytes), compared 8 bytes at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe int ExtendMatch(byte* src, int i, int s, int n)
    {
        while (s <= n - 8)
        {
            var difference = Load64(src + s) ^ Load64(src + i);
            if (difference != 0)
            {
                return s + (BitOperations.TrailingZeroCount(difference) >> 3);
            }

            s += 8;
            i += 8;
        }

        while (s < n && src[i] == src[s])
        {
            s++;
            i++;
        }

        return s;
    }

    /// <summary>A literal before a match. Most are a few bytes: those are copied as two 8-byte stores, which may
    /// write past the literal (the next tag overwrites it; the output bound leaves room) and may read up to 16 bytes
    /// from <paramref name="literal"/> (the match that follows is at least 4 bytes and starts at most
    /// <see cref="InputMargin"/> bytes before the block's end, so the read stays inside the block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe byte* EmitShortLiteral(byte* d, byte* literal, int length)
    {
        if (length <= 16)
        {
            *d++ = (byte)((length - 1) << 2);
            Unsafe.WriteUnaligned(d, Unsafe.ReadUnaligned<ulong>(literal));
            Unsafe.WriteUnaligned(d + 8, Unsafe.ReadUnaligned<ulong>(literal + 8));
            return d + length;
        }

        return EmitLiteral(d, literal, length);
    }

    private static unsafe byte* EmitLiteral(byte* d, byte* literal, int length)
    {
        // Tag 00: length - 1 in the tag's upper six bits up to 59, else in 1 or 2 following bytes (blocks are 64 KiB).
        var n = length - 1;
        if (n < 60)
        {
            *d++ = (byte)(n << 2);
        }
        else if (n < 1 << 8)
        {
            *d++ = 60 << 2;
            *d++ = (byte)n;
        }
        else
        {
            *d++ = 61 << 2;
            *d++ = (byte)n;
            *d++ = (byte)(n >> 8);
        }

        Buffer.MemoryCopy(literal, d, length, length);
        return d + length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe byte* EmitCopy(byte* d, int offset, int length)
    {
        if (length < 12 && offset < 2048)
        {
            // Tag 01: length 4..11 and an 11-bit offset in two bytes (the common case for short matches).
            *d++ = (byte)(((offset >> 8) << 5) | ((length - 4) << 2) | 1);
            *d++ = (byte)offset;
            return d;
        }

        return EmitLongCopy(d, offset, length);
    }

    private static unsafe byte* EmitLongCopy(byte* d, int offset, int length)
    {
        // Tag 10 (2-byte offset) copies at most 64 bytes; keep at least 4 for the last one (tag 01 needs 4 to 11).
        while (length >= 68)
        {
            d = EmitCopy2(d, offset, 64);
            length -= 64;
        }

        if (length > 64)
        {
            d = EmitCopy2(d, offset, 60);
            length -= 60;
        }

        if (length >= 12 || offset >= 2048)
        {
            return EmitCopy2(d, offset, length);
        }

        // Tag 01: length 4..11 and an 11-bit offset in two bytes.
        *d++ = (byte)(((offset >> 8) << 5) | ((length - 4) << 2) | 1);
        *d++ = (byte)offset;
        return d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe byte* EmitCopy2(byte* d, int offset, int length)
    {
        *d++ = (byte)(((length - 1) << 2) | 2);
        *d++ = (byte)offset;
        *d++ = (byte)(offset >> 8);
        return d;
    }
}

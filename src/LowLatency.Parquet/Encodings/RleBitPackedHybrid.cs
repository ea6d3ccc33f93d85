using System.Buffers;
using System.Buffers.Binary;

namespace LowLatency.Parquet.Encodings;

/// <summary>
/// The RLE / bit-packing hybrid of Encodings.md, used for definition levels and dictionary indices. A stream is a
/// sequence of runs, each led by a ULEB128 varint header: <c>(count &lt;&lt; 1)</c> for an RLE run of
/// <c>count</c> copies of one value stored in <c>ceil(bitWidth / 8)</c> little-endian bytes, or
/// <c>(groups &lt;&lt; 1) | 1</c> for <c>groups * 8</c> values bit-packed least significant bit first.
/// </summary>
internal static class RleBitPackedHybrid
{
    /// <summary>The bit width needed for values up to <paramref name="maxValue"/> (0 for 0).</summary>
    public static int BitWidth(int maxValue) => maxValue == 0 ? 0 : 32 - int.LeadingZeroCount(maxValue);

    /// <summary>
    /// Encodes <paramref name="values"/> (each below 2^<paramref name="bitWidth"/>). Runs of eight or more equal values
    /// become RLE runs; the rest are bit-packed in groups of eight, the last group padded with zeros (a reader knows
    /// the value count from the page header). No allocation: writes straight into <paramref name="output"/>.
    /// </summary>
    public static void Encode(ReadOnlySpan<int> values, int bitWidth, IBufferWriter<byte> output)
    {
        var i = 0;
        while (i < values.Length)
        {
            var run = RunLength(values, i);
            if (run >= 8)
            {
                WriteRle(values[i], run, bitWidth, output);
                i += run;
                continue;
            }

            // Bit-packed groups of eight until a group boundary starts a run worth RLE.
            var start = i;
            do
            {
                i += 8;
            }
            while (i < values.Length && RunLength(values, i) < 8);

            WriteBitPacked(values.Slice(start, Math.Min(i, values.Length) - start), bitWidth, output);
            i = Math.Min(i, values.Length);
        }
    }

    private static int RunLength(ReadOnlySpan<int> values, int start)
    {
        var value = values[start];
        var end = start + 1;
        while (end < values.Length && values[end] == value)
        {
            end++;
        }

        return end - start;
    }

    private static void WriteRle(int value, int count, int bitWidth, IBufferWriter<byte> output)
    {
        WriteVarint((uint)count << 1, output);
        var width = (bitWidth + 7) / 8;
        var span = output.GetSpan(4);
        BinaryPrimitives.WriteInt32LittleEndian(span, value);
        output.Advance(width);
    }

    private static void WriteBitPacked(ReadOnlySpan<int> values, int bitWidth, IBufferWriter<byte> output)
    {
        var groups = (values.Length + 7) / 8;
        WriteVarint(((uint)groups << 1) | 1, output);
        var bytes = groups * bitWidth;
        var span = output.GetSpan(bytes)[..bytes];
        span.Clear();
        ulong buffer = 0;
        var bits = 0;
        var position = 0;
        for (var i = 0; i < groups * 8; i++)
        {
            var value = i < values.Length ? (uint)values[i] : 0u;
            buffer |= (ulong)value << bits;
            bits += bitWidth;
            while (bits >= 8)
            {
                span[position++] = (byte)buffer;
                buffer >>= 8;
                bits -= 8;
            }
        }

        output.Advance(bytes);
    }

    private static void WriteVarint(uint value, IBufferWriter<byte> output) => Uleb128.Write(value, output);
}

/// <summary>Unsigned LEB128 varints: the hybrid's run headers and the Thrift compact protocol's integers.</summary>
internal static class Uleb128
{
    public static void Write(ulong value, IBufferWriter<byte> output)
    {
        var span = output.GetSpan(10);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        output.Advance(i);
    }
}

/// <summary>
/// Decodes the hybrid from a span. Every run is checked against the bytes left and the values still wanted, so a
/// damaged stream ends in <see cref="ParquetFormatException"/>. The last bit-packed run may stop early: writers are
/// allowed to leave out the padding bytes past the last value.
/// </summary>
internal ref struct RleBitPackedDecoder
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly int _bitWidth;
    private readonly string _what;
    private int _position;

    public RleBitPackedDecoder(ReadOnlySpan<byte> data, int bitWidth, string what)
    {
        if (bitWidth is < 0 or > 32)
        {
            ThrowHelper.Format($"Invalid {what}: bit width {bitWidth} is outside 0..32.");
        }

        _data = data;
        _bitWidth = bitWidth;
        _what = what;
    }

    /// <summary>Fills <paramref name="output"/> completely or throws.</summary>
    public void Decode(Span<int> output)
    {
        var filled = 0;
        while (filled < output.Length)
        {
            var header = ReadVarint();
            var wanted = output.Length - filled;
            if ((header & 1) == 0)
            {
                var count = header >> 1;
                if (count == 0)
                {
                    Fail("an RLE run of length 0");
                }

                var width = (_bitWidth + 7) / 8;
                if (_data.Length - _position < width)
                {
                    Fail("an RLE run value past the end");
                }

                uint value = 0;
                for (var b = 0; b < width; b++)
                {
                    value |= (uint)_data[_position + b] << (8 * b);
                }

                _position += width;
                if (_bitWidth < 32 && value >> _bitWidth != 0)
                {
                    Fail($"RLE value {value} wider than {_bitWidth} bits");
                }

                var take = (int)Math.Min(count, (ulong)wanted);
                output.Slice(filled, take).Fill((int)value);
                filled += take;
            }
            else
            {
                var groups = header >> 1;
                var available = (ulong)(_data.Length - _position);
                var take = groups >= ((ulong)wanted + 7) / 8 ? wanted : (int)(groups * 8);
                var declared = groups > available ? ulong.MaxValue : groups * 8;
                var fullBytes = groups > available ? ulong.MaxValue : groups * (ulong)_bitWidth;
                var neededBytes = ((ulong)take * (ulong)_bitWidth + 7) / 8;
                if (neededBytes > available)
                {
                    Fail($"a bit-packed run of {declared} values needs {neededBytes} bytes, {available} left");
                }

                Unpack(_data.Slice(_position), _bitWidth, output.Slice(filled, take));
                _position += (int)Math.Min(fullBytes, available);
                filled += take;
            }
        }
    }

    /// <summary>Unpacks values least significant bit first (the hybrid's bit-packed runs).</summary>
    private static void Unpack(ReadOnlySpan<byte> data, int bitWidth, Span<int> output)
    {
        if (bitWidth == 0)
        {
            output.Clear();
            return;
        }

        ulong buffer = 0;
        var bits = 0;
        var position = 0;
        var mask = bitWidth == 32 ? uint.MaxValue : (1u << bitWidth) - 1;
        for (var i = 0; i < output.Length; i++)
        {
            while (bits < bitWidth)
            {
                buffer |= (ulong)data[position++] << bits;
                bits += 8;
            }

            output[i] = (int)((uint)buffer & mask);
            buffer >>= bitWidth;
            bits -= bitWidth;
        }
    }

    private ulong ReadVarint()
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _data.Length)
            {
                Fail("the data ends before all values were read");
            }

            var b = _data[_position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        Fail("a run header longer than 64 bits");
        return 0;
    }

    private readonly void Fail(string message) => ThrowHelper.Format($"Invalid {_what} (RLE/bit-packed hybrid, byte {_position}): {message}.");
}

/// <summary>The deprecated BIT_PACKED level encoding: most significant bit first, no header, exactly the bytes needed.</summary>
internal static class LegacyBitPacked
{
    public static int ByteCount(int count, int bitWidth) => (int)(((long)count * bitWidth + 7) / 8);

    public static void Decode(ReadOnlySpan<byte> data, int bitWidth, Span<int> output)
    {
        if (data.Length < ByteCount(output.Length, bitWidth))
        {
            ThrowHelper.Format($"Invalid BIT_PACKED levels: {output.Length} values need {ByteCount(output.Length, bitWidth)} bytes, {data.Length} present.");
        }

        long bit = 0;
        for (var i = 0; i < output.Length; i++)
        {
            var value = 0;
            for (var b = 0; b < bitWidth; b++, bit++)
            {
                value = (value << 1) | ((data[(int)(bit >> 3)] >> (7 - (int)(bit & 7))) & 1);
            }

            output[i] = value;
        }
    }
}

using System.Buffers;
using LowLatency.Parquet.Encodings;

namespace LowLatency.Parquet.Tests;

public class RleBitPackedHybridTests
{
    public static TheoryData<int> BitWidths => new(Enumerable.Range(0, 33));

    [Theory]
    [MemberData(nameof(BitWidths))]
    public void EncodeDecode_EveryWidthAndPattern_RoundTrips(int bitWidth)
    {
        var random = new Random(bitWidth);
        var max = bitWidth == 0 ? 0 : bitWidth == 32 ? -1 : (int)((1L << bitWidth) - 1);
        foreach (var length in new[] { 0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4099 })
        {
            var values = new int[length];
            for (var i = 0; i < length; i++)
            {
                // Stretches of runs, stretches of noise, and the extremes of the width.
                values[i] = (i / 37 % 3) switch
                {
                    0 => (i / 50) % 2 == 0 ? max : 0,
                    1 => bitWidth == 0 ? 0 : (int)(random.NextInt64() & (uint)max),
                    _ => (i % 2) * max,
                };
            }

            var buffer = new ArrayBufferWriter<byte>();
            RleBitPackedHybrid.Encode(values, bitWidth, buffer);
            var decoded = new int[length];
            new RleBitPackedDecoder(buffer.WrittenSpan, bitWidth, "test").Decode(decoded);
            Assert.Equal(values, decoded);
        }
    }

    [Fact]
    public void Encode_LongRun_IsOneRleRun()
    {
        var buffer = new ArrayBufferWriter<byte>();
        RleBitPackedHybrid.Encode(Enumerable.Repeat(5, 1000).ToArray(), 3, buffer);
        Assert.Equal(new byte[] { 0xD0, 0x0F, 0x05 }, buffer.WrittenSpan.ToArray()); // varint(1000 << 1), value in one byte
    }

    [Fact]
    public void Decode_SpecExampleBitPacked_ReadsZeroToSeven()
    {
        // Encodings.md: 0..7 at bit width 3 bit-packed is 10001000 11000110 11111010, behind header (1 << 1) | 1.
        var decoded = new int[8];
        new RleBitPackedDecoder(new byte[] { 0x03, 0b10001000, 0b11000110, 0b11111010 }, 3, "test").Decode(decoded);
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7], decoded);
    }

    [Fact]
    public void LegacyBitPacked_SpecExample_ReadsZeroToSeven()
    {
        // Encodings.md, BIT_PACKED (deprecated): 0..7 at bit width 3, most significant bit first: 00000101 00111001 01110111.
        var decoded = new int[8];
        LegacyBitPacked.Decode(new byte[] { 0b00000101, 0b00111001, 0b01110111 }, 3, decoded);
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7], decoded);
        Assert.Throws<ParquetFormatException>(() => LegacyBitPacked.Decode(new byte[] { 0b00000101, 0b00111001 }, 3, decoded));
    }

    [Fact]
    public void Decode_LastBitPackedRunWithoutPadding_IsAccepted()
    {
        // A writer may stop after the bytes holding the values it needs (3 values at width 1: one byte).
        var decoded = new int[3];
        new RleBitPackedDecoder(new byte[] { 0x03, 0b101 }, 1, "test").Decode(decoded);
        Assert.Equal([1, 0, 1], decoded);
    }

    [Theory]
    [InlineData(new byte[] { }, 1)]
    [InlineData(new byte[] { 0x03 }, 3)] // bit-packed run with no bytes
    [InlineData(new byte[] { 0x10 }, 8)] // RLE run with no value
    [InlineData(new byte[] { 0x00, 0x01 }, 8)] // RLE run of 0, then nothing
    [InlineData(new byte[] { 0x10, 0x09 }, 3)] // RLE value wider than the bit width
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, 2)] // endless header
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01 }, 8)] // 2^31 groups declared, one byte present
    public void Decode_Damaged_ThrowsFormatException(byte[] data, int bitWidth)
    {
        var decoded = new int[100];
        Assert.Throws<ParquetFormatException>(() => new RleBitPackedDecoder(data, bitWidth, "test").Decode(decoded));
    }

    [Fact]
    public void Decode_WidthAbove32_ThrowsFormatException() =>
        Assert.Throws<ParquetFormatException>(() => new RleBitPackedDecoder(new byte[] { 1 }, 33, "test"));

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(255, 8)]
    [InlineData(256, 9)]
    [InlineData(int.MaxValue, 31)]
    public void BitWidth_OfMaxValue(int max, int width) => Assert.Equal(width, RleBitPackedHybrid.BitWidth(max));
}

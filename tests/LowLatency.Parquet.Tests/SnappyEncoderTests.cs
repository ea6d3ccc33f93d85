using System.Buffers.Binary;
using LowLatency.Parquet.Compression;

namespace LowLatency.Parquet.Tests;

/// <summary>Our Snappy compressor's output decoded by an independent decoder (IronSnappy): every tag kind, every block
/// boundary, incompressible and highly repetitive input.</summary>
public class SnappyEncoderTests
{
    public static TheoryData<string, int> Inputs()
    {
        var data = new TheoryData<string, int>();
        foreach (var kind in new[] { "zeros", "random", "text", "doubles", "runs", "mixed" })
        {
            foreach (var length in new[] { 0, 1, 15, 16, 17, 18, 100, 4095, 65535, 65536, 65537, 200_000, 1 << 20 })
            {
                data.Add(kind, length);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Compress_AnyInput_IronSnappyDecodesTheSameBytes(string kind, int length)
    {
        var input = Make(kind, length);
        var encoder = new SnappyEncoder();
        var output = new byte[SnappyEncoder.MaxCompressedLength(length)];

        var written = encoder.Compress(input, output);

        Assert.Equal(input, IronSnappy.Snappy.Decode(output.AsSpan(0, written)));
    }

    [Fact]
    public void Compress_RepetitiveInput_IsMuchSmaller()
    {
        var input = Make("runs", 1 << 20);
        var output = new byte[SnappyEncoder.MaxCompressedLength(input.Length)];

        var written = new SnappyEncoder().Compress(input, output);

        Assert.True(written < input.Length / 10, $"{written} bytes for {input.Length}");
    }

    [Fact]
    public void Compress_OutputTooSmall_Throws()
    {
        var input = new byte[100];

        Assert.Throws<ArgumentException>(() => new SnappyEncoder().Compress(input, new byte[100]));
    }

    private static byte[] Make(string kind, int length)
    {
        var random = new Random(length);
        var bytes = new byte[length];
        switch (kind)
        {
            case "zeros":
                break;
            case "random":
                random.NextBytes(bytes);
                break;
            case "text":
                var words = "the quick brown fox jumps over the lazy dog BTCUSDT ETHUSDT 60000.25 "u8.ToArray();
                for (var i = 0; i < length; i++)
                {
                    bytes[i] = words[(i * 7 + (i / 13)) % words.Length];
                }

                break;
            case "doubles":
                // Candle prices: a random walk with two decimals, as the writer's PLAIN pages hold them.
                var price = 60_000.0;
                for (var i = 0; i + 8 <= length; i += 8)
                {
                    price += (random.NextDouble() - 0.5) * 20;
                    BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i), Math.Round(price, 2));
                }

                break;
            case "runs":
                // Long and short runs, and matches far back (up to the 64 KiB block) and near.
                for (var i = 0; i < length; i++)
                {
                    bytes[i] = (byte)((i / 700) % 5 == 0 ? i % 3 : (i / 4096) % 251);
                }

                break;
            default:
                for (var i = 0; i < length; i++)
                {
                    bytes[i] = (i / 1000 % 2) == 0 ? (byte)random.Next(256) : bytes[Math.Max(0, i - 1 - (i % 2048))];
                }

                break;
        }

        return bytes;
    }
}

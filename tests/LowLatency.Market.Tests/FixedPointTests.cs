using System.Text;
using LowLatency.TestSupport;

namespace LowLatency.Market.Tests;

public sealed class FixedPointTests
{
    private static (FixedPointStatus Status, long Mantissa) Parse(string text)
    {
        var status = FixedPoint.TryParse(Encoding.UTF8.GetBytes(text), out var mantissa);
        return (status, mantissa);
    }

    [Theory]
    [InlineData("68512.01000000", 6_851_201_000_000)]
    [InlineData("0.00000637", 637)]
    [InlineData("0.00000001", 1)]
    [InlineData("1", 100_000_000)]
    [InlineData("1.", 100_000_000)]
    [InlineData(".5", 50_000_000)]
    [InlineData("0", 0)]
    [InlineData("-0.1", -10_000_000)]
    [InlineData("00012.30000000000000", 1_230_000_000)] // leading zeros and zeros beyond the 8th place are exact
    [InlineData("92233720368.54775807", long.MaxValue)]
    [InlineData("-92233720368.54775807", -long.MaxValue)]
    public void TryParse_ValidText_ExactMantissa(string text, long expected)
    {
        Assert.Equal((FixedPointStatus.Ok, expected), Parse(text));
    }

    [Theory]
    [InlineData("", FixedPointStatus.Malformed)]
    [InlineData("-", FixedPointStatus.Malformed)]
    [InlineData(".", FixedPointStatus.Malformed)]
    [InlineData("1e5", FixedPointStatus.Malformed)]
    [InlineData("1.2.3", FixedPointStatus.Malformed)]
    [InlineData(" 1", FixedPointStatus.Malformed)]
    [InlineData("+1", FixedPointStatus.Malformed)]
    [InlineData("0x10", FixedPointStatus.Malformed)]
    [InlineData("1.000000001", FixedPointStatus.PrecisionLoss)]
    [InlineData("92233720368.54775808", FixedPointStatus.Overflow)]
    [InlineData("92233720369", FixedPointStatus.Overflow)]
    [InlineData("99999999999999999999999999999", FixedPointStatus.Overflow)]
    public void TryParse_InvalidText_ReportsWhy(string text, FixedPointStatus expected)
    {
        Assert.Equal(expected, Parse(text).Status);
    }

    [Theory]
    [InlineData(6_851_201_000_000, "68512.01")]
    [InlineData(637, "0.00000637")]
    [InlineData(100_000_000, "1")]
    [InlineData(0, "0")]
    [InlineData(-10_000_000, "-0.1")]
    [InlineData(long.MaxValue, "92233720368.54775807")]
    [InlineData(long.MinValue, "-92233720368.54775808")]
    public void TryFormat_WritesCanonicalText(long mantissa, string expected)
    {
        Assert.Equal(expected, FixedPoint.ToString(mantissa));
    }

    [Fact]
    public void RoundTrip_ManyValues_ExactBothWays()
    {
        var random = new Random(12345);
        Span<byte> buffer = stackalloc byte[FixedPoint.MaxFormattedLength];
        for (var i = 0; i < 100_000; i++)
        {
            var mantissa = random.NextInt64(long.MinValue + 1, long.MaxValue) >> random.Next(0, 63);
            Assert.True(FixedPoint.TryFormat(mantissa, buffer, out var written));
            Assert.Equal(FixedPointStatus.Ok, FixedPoint.TryParse(buffer[..written], out var back));
            Assert.Equal(mantissa, back);
            Assert.Equal(FixedPoint.ToDecimal(mantissa), decimal.Parse(Encoding.ASCII.GetString(buffer[..written]), System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void TryFormat_DestinationTooSmall_ReturnsFalse()
    {
        Assert.False(FixedPoint.TryFormat(123_456_789, stackalloc byte[4], out var written));
        Assert.Equal(0, written);
    }

    [Fact]
    public void ParseAndFormat_AllocateNothing()
    {
        var text = "68512.01000000"u8.ToArray();
        var buffer = new byte[FixedPoint.MaxFormattedLength];
        Allocations.AssertNone(
            () =>
            {
                for (var i = 0; i < 10_000; i++)
                {
                    FixedPoint.TryParse(text, out var m);
                    FixedPoint.TryFormat(m, buffer, out _);
                }
            },
            "fixed-point parse + format");
    }

    [Fact]
    public void PriceAndQuantity_CompareAndPrint()
    {
        Assert.True(Price.Parse("1.5") > Price.Parse("1.49999999"));
        Assert.Equal("0.001", Quantity.Parse("0.00100000").ToString());
        Assert.Equal(1.5m, Price.Parse("1.5").ToDecimal());
        Assert.Throws<FormatException>(() => Price.Parse("abc"));
    }
}

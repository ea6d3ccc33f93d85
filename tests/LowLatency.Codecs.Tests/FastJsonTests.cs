using System.Text;
using LowLatency.Codecs.Binance;

namespace LowLatency.Codecs.Tests;

/// <summary>
/// The fast paths' word- and vector-at-a-time scans against byte loops, at every length and offset that moves a digit
/// run or a string's end across the 8- and 16-byte loads and past the end of the message (the byte-loop fallback).
/// </summary>
public sealed class FastJsonTests
{
    // Bytes that end a run of digits: JSON delimiters, the neighbours of '0' and '9', and bytes above 0x7F (whose SWAR
    // carry spills upward).
    private static readonly byte[] s_terminators = [(byte)',', (byte)'"', (byte)'.', (byte)'}', (byte)']', (byte)'/', (byte)':', 0x00, 0x7F, 0x80, 0x89, 0x8A, 0xFF];

    [Fact]
    public void ScanDigits_EveryRunLengthTerminatorAndTail_SameAsByteLoop()
    {
        var random = new Random(7);
        var checkedRuns = 0;
        for (var digits = 0; digits <= 21; digits++)
        {
            foreach (var terminator in s_terminators)
            {
                for (var tail = 0; tail <= 20; tail++)
                {
                    for (var lead = 0; lead <= 3; lead++)
                    {
                        var json = new byte[lead + digits + tail];
                        random.NextBytes(json);
                        for (var k = 0; k < digits; k++)
                        {
                            json[lead + k] = (byte)('0' + random.Next(10));
                        }

                        if (tail > 0)
                        {
                            json[lead + digits] = terminator;
                        }

                        var count = FastJson.ScanDigits(json, lead, out var value);
                        var expected = Reference(json, lead, out var expectedValue);
                        Assert.True(expected == count, $"{Convert.ToHexString(json)} from {lead}: {count}, expected {expected}");
                        if (count > 0)
                        {
                            Assert.Equal(expectedValue, value);
                        }

                        checkedRuns++;
                    }
                }
            }
        }

        Assert.True(checkedRuns > 20_000);
    }

    [Theory]
    [InlineData("1723161255214,", 13, 1723161255214)]
    [InlineData("999999999999999999,\"x\":\"0123456789\"", 18, 999_999_999_999_999_999)]
    [InlineData("9999999999999999999,\"x\":\"0123456789\"", -1, 0)]
    [InlineData("0000000000000001,\"x\":\"0123456789\"", 16, 1)]
    [InlineData("12345678,\"x\":\"0123456789\"", 8, 12_345_678)]
    [InlineData("1234567890123456,\"x\":\"0123456789\"", 16, 1_234_567_890_123_456)]
    [InlineData("61837.64000000\",\"q\":", 5, 61837)]
    [InlineData("42", -1, 0)]
    public void ScanDigits_KnownNumbers_CountAndValue(string text, int count, long value)
    {
        Assert.Equal(count, FastJson.ScanDigits(Encoding.UTF8.GetBytes(text), 0, out var parsed));
        if (count > 0)
        {
            Assert.Equal(value, parsed);
        }
    }

    [Fact]
    public void IndexOfQuoteOrBackslash_EveryOffsetAndLength_SameAsIndexOfAnyAndPlainStringEndFollows()
    {
        var random = new Random(11);
        byte[] alphabet = [(byte)'a', (byte)'@', (byte)'"', (byte)'\\', 0x00, 0x1F, 0x80, 0xE5, (byte)'0'];
        for (var length = 0; length <= 48; length++)
        {
            for (var trial = 0; trial < 40; trial++)
            {
                var json = new byte[length];
                for (var k = 0; k < length; k++)
                {
                    // Mostly plain bytes, so that the first special one lands anywhere in or past the first vector.
                    json[k] = random.Next(12) == 0 ? alphabet[random.Next(alphabet.Length)] : (byte)('a' + random.Next(26));
                }

                for (var start = 0; start <= length; start++)
                {
                    var k = json.AsSpan(start).IndexOfAny((byte)'"', (byte)'\\');
                    Assert.Equal(k < 0 ? -1 : start + k, FastJson.IndexOfQuoteOrBackslash(json, start));

                    // The plain string's end: that quote, unless the backslash came first.
                    Assert.Equal(k < 0 || json[start + k] != (byte)'"' ? -1 : start + k, FastJson.IndexOfPlainStringEnd(json, start));
                }
            }
        }
    }

    /// <summary>The contract, byte by byte.</summary>
    private static int Reference(byte[] json, int i, out long value)
    {
        value = 0;
        var j = i;
        while (j < json.Length && json[j] >= '0' && json[j] <= '9')
        {
            if (j - i == FastJson.MaxDigits)
            {
                return -1;
            }

            value = (value * 10) + (json[j] - '0');
            j++;
        }

        return j >= json.Length ? -1 : j - i;
    }
}

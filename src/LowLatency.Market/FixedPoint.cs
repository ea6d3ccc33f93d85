using System.Runtime.CompilerServices;

namespace LowLatency.Market;

/// <summary>The outcome of parsing a decimal string into a fixed-point value.</summary>
public enum FixedPointStatus
{
    /// <summary>Parsed exactly.</summary>
    Ok,

    /// <summary>Empty, or not of the form <c>-?digits(.digits)?</c>.</summary>
    Malformed,

    /// <summary>Non-zero digits beyond the eighth decimal place: the value cannot be held exactly.</summary>
    PrecisionLoss,

    /// <summary>The value does not fit in a 64-bit mantissa at 8 decimal places (|value| ≥ about 9.2e10).</summary>
    Overflow,
}

/// <summary>
/// Parsing and formatting of 8-decimal fixed-point numbers, straight from and to UTF-8 decimal text, as Binance sends
/// them (<c>"68512.01000000"</c>, <c>"0.00000637"</c>). No <c>double</c>, no <c>decimal</c>, no allocation.
/// </summary>
public static class FixedPoint
{
    /// <summary>Decimal places held: Binance's precision.</summary>
    public const int Decimals = 8;

    /// <summary>10^<see cref="Decimals"/>: the mantissa of 1.</summary>
    public const long Scale = 100_000_000;

    /// <summary>The longest text <see cref="TryFormat"/> writes: sign, 11 integer digits, point, 8 decimals.</summary>
    public const int MaxFormattedLength = 1 + 11 + 1 + Decimals;

    /// <summary>Parses <paramref name="utf8"/> (<c>-?[0-9]+(\.[0-9]*)?</c> or <c>-?\.[0-9]+</c>) into a mantissa.</summary>
    public static FixedPointStatus TryParse(ReadOnlySpan<byte> utf8, out long mantissa)
    {
        mantissa = 0;
        var i = 0;
        var negative = false;
        if (utf8.Length > 0 && utf8[0] == (byte)'-')
        {
            negative = true;
            i = 1;
        }

        ulong integer = 0;
        var integerDigits = 0;
        for (; i < utf8.Length; i++)
        {
            var d = (uint)(utf8[i] - '0');
            if (d > 9)
            {
                break;
            }

            // 92_233_720_368 (max integer part) has 11 digits; leading zeros do not count towards overflow.
            integer = (integer * 10) + d;
            if (integer > long.MaxValue / Scale)
            {
                return FixedPointStatus.Overflow;
            }

            integerDigits++;
        }

        ulong fraction = 0;
        var fractionDigits = 0;
        if (i < utf8.Length && utf8[i] == (byte)'.')
        {
            i++;
            for (; i < utf8.Length; i++)
            {
                var d = (uint)(utf8[i] - '0');
                if (d > 9)
                {
                    break;
                }

                if (fractionDigits < Decimals)
                {
                    fraction = (fraction * 10) + d;
                }
                else if (d != 0)
                {
                    return FixedPointStatus.PrecisionLoss;
                }

                fractionDigits++;
            }
        }

        if (i != utf8.Length || (integerDigits == 0 && fractionDigits == 0))
        {
            return FixedPointStatus.Malformed;
        }

        for (var k = Math.Min(fractionDigits, Decimals); k < Decimals; k++)
        {
            fraction *= 10;
        }

        var value = (integer * Scale) + fraction;
        if (value > long.MaxValue)
        {
            return FixedPointStatus.Overflow;
        }

        mantissa = negative ? -(long)value : (long)value;
        return FixedPointStatus.Ok;
    }

    /// <summary>
    /// Writes the canonical text of <paramref name="mantissa"/>: the integer part, then the decimals without trailing
    /// zeros (none at all for whole numbers): <c>68512.01</c>, <c>0.00000637</c>, <c>42</c>. Parsing it gives back the
    /// same mantissa.
    /// </summary>
    public static bool TryFormat(long mantissa, Span<byte> utf8, out int written)
    {
        written = 0;
        Span<byte> buffer = stackalloc byte[MaxFormattedLength + 1];
        var pos = buffer.Length;

        // Work on the magnitude as ulong so long.MinValue is handled.
        var magnitude = mantissa < 0 ? (ulong)(-(mantissa + 1)) + 1 : (ulong)mantissa;
        var integer = magnitude / Scale;
        var fraction = magnitude % Scale;

        if (fraction != 0)
        {
            var digits = Decimals;
            while (fraction % 10 == 0)
            {
                fraction /= 10;
                digits--;
            }

            for (var k = 0; k < digits; k++)
            {
                buffer[--pos] = (byte)('0' + (fraction % 10));
                fraction /= 10;
            }

            buffer[--pos] = (byte)'.';
        }

        do
        {
            buffer[--pos] = (byte)('0' + (integer % 10));
            integer /= 10;
        }
        while (integer != 0);

        if (mantissa < 0)
        {
            buffer[--pos] = (byte)'-';
        }

        var length = buffer.Length - pos;
        if (length > utf8.Length)
        {
            return false;
        }

        buffer[pos..].CopyTo(utf8);
        written = length;
        return true;
    }

    /// <summary>The canonical text (allocates a string: for logs, files and tests, not the hot path).</summary>
    public static string ToString(long mantissa)
    {
        Span<byte> buffer = stackalloc byte[MaxFormattedLength + 1];
        TryFormat(mantissa, buffer, out var written);
        return System.Text.Encoding.ASCII.GetString(buffer[..written]);
    }

    /// <summary>The value as a double (for statistics such as volatility, never for storage or comparison).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double ToDouble(long mantissa) => mantissa / (double)Scale;

    /// <summary>The exact value as a decimal.</summary>
    public static decimal ToDecimal(long mantissa) => mantissa / (decimal)Scale;
}

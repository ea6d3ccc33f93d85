using System.Buffers;
using System.Buffers.Text;
using LowLatency.Codecs.Binance;

namespace LowLatency.Codecs.Avro;

/// <summary>
/// The text forms inside <c>data.asset_prices</c> records, parsed and formatted from and to UTF-8 without allocating:
/// integers, boolean words, UUIDs, and times as ms-since-epoch integers or ISO-8601 (<c>2024-08-08T23:54:13.123Z</c>,
/// a space instead of <c>T</c>, 0-9 fraction digits, <c>Z</c>, <c>±hh:mm</c>, <c>±hhmm</c>, <c>±hh</c> or no zone
/// meaning UTC, or a date alone meaning midnight UTC).
/// </summary>
internal static class AssetPriceText
{
    private const long NsPerMs = 1_000_000;
    private static readonly SearchValues<byte> s_uuidCharacters = SearchValues.Create("0123456789abcdefABCDEF-"u8);
    private const long NsPerSecond = 1_000_000_000;
    private const long SecondsPerDay = 86_400;

    /// <summary>The longest ISO-8601 text <see cref="TryFormatIso8601"/> writes (<c>yyyy-MM-ddTHH:mm:ss.fffffffffZ</c>).</summary>
    public const int MaxIso8601Length = 30;

    /// <summary>An integer <c>-?[0-9]+</c>; <see cref="DecodeStatus.Overflow"/> beyond 64 bits.</summary>
    public static DecodeStatus TryParseInteger(ReadOnlySpan<byte> text, out long value)
    {
        if (text.Length > 0 && text[0] != (byte)'+' && Utf8Parser.TryParse(text, out value, out var consumed) && consumed == text.Length)
        {
            return DecodeStatus.Ok;
        }

        // Utf8Parser also fails on overflow: digits alone that did not parse are too large.
        value = 0;
        var digits = text.Length > 0 && text[0] == (byte)'-' ? text[1..] : text;
        return !digits.IsEmpty && digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0 ? DecodeStatus.Overflow : DecodeStatus.WrongType;
    }

    public static DecodeStatus TryParseBoolean(ReadOnlySpan<byte> text, out bool value)
    {
        value = false;
        if (text.Length == 1 && text[0] is (byte)'0' or (byte)'1')
        {
            value = text[0] == (byte)'1';
            return DecodeStatus.Ok;
        }

        if (System.Text.Ascii.EqualsIgnoreCase(text, "true"u8))
        {
            value = true;
            return DecodeStatus.Ok;
        }

        return System.Text.Ascii.EqualsIgnoreCase(text, "false"u8) ? DecodeStatus.Ok : DecodeStatus.WrongType;
    }

    /// <summary>Whether <paramref name="text"/> is a UUID in its 8-4-4-4-12 hex form (vectorised: hex or dash everywhere, dashes exactly at 8, 13, 18, 23).</summary>
    public static bool IsUuid(ReadOnlySpan<byte> text) =>
        text.Length == 36 && text[8] == (byte)'-' && text[13] == (byte)'-' && text[18] == (byte)'-' && text[23] == (byte)'-' &&
        text.IndexOfAnyExcept(s_uuidCharacters) < 0 && text.Count((byte)'-') == 4;

    /// <summary>A time as ns since the epoch, from ms-since-epoch digits or ISO-8601.</summary>
    public static DecodeStatus TryParseTime(ReadOnlySpan<byte> text, out long ns)
    {
        ns = 0;
        if (text.Length >= 10 && text[4] == (byte)'-' && text[0] != (byte)'-')
        {
            return TryParseIso8601(text, out ns);
        }

        var status = TryParseInteger(text, out var ms);
        if (status != DecodeStatus.Ok)
        {
            return status;
        }

        if (ms > long.MaxValue / NsPerMs || ms < long.MinValue / NsPerMs)
        {
            return DecodeStatus.Overflow;
        }

        ns = ms * NsPerMs;
        return DecodeStatus.Ok;
    }

    private static DecodeStatus TryParseIso8601(ReadOnlySpan<byte> t, out long ns)
    {
        ns = 0;
        if (!Digits(t, 0, 4, out var year) || t[4] != (byte)'-' || !Digits(t, 5, 2, out var month) || t[7] != (byte)'-' ||
            !Digits(t, 8, 2, out var day) || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(Math.Max(1, year), month))
        {
            return DecodeStatus.WrongType;
        }

        long hour = 0, minute = 0, second = 0, fraction = 0, offsetSeconds = 0;
        var i = 10;
        if (i < t.Length && t[i] is (byte)'T' or (byte)'t' or (byte)' ')
        {
            if (!Digits(t, i + 1, 2, out var h) || i + 3 >= t.Length || t[i + 3] != (byte)':' || !Digits(t, i + 4, 2, out var m) || h > 23 || m > 59)
            {
                return DecodeStatus.WrongType;
            }

            (hour, minute) = (h, m);
            i += 6;
            if (i < t.Length && t[i] == (byte)':')
            {
                if (!Digits(t, i + 1, 2, out var s) || s > 59)
                {
                    return DecodeStatus.WrongType;
                }

                second = s;
                i += 3;
                if (i < t.Length && t[i] is (byte)'.' or (byte)',')
                {
                    var digits = 0;
                    for (i++; i < t.Length && char.IsAsciiDigit((char)t[i]); i++, digits++)
                    {
                        if (digits < 9)
                        {
                            fraction = (fraction * 10) + (t[i] - '0'); // beyond ns: truncated
                        }
                    }

                    if (digits == 0)
                    {
                        return DecodeStatus.WrongType;
                    }

                    for (; digits < 9; digits++)
                    {
                        fraction *= 10;
                    }
                }
            }

            if (i < t.Length && t[i] is (byte)'Z' or (byte)'z')
            {
                i++;
            }
            else if (i < t.Length && t[i] is (byte)'+' or (byte)'-')
            {
                var sign = t[i] == (byte)'-' ? -1 : 1;
                if (!Digits(t, i + 1, 2, out var oh) || oh > 23)
                {
                    return DecodeStatus.WrongType;
                }

                i += 3;
                var om = 0;
                if (i < t.Length)
                {
                    i += t[i] == (byte)':' ? 1 : 0;
                    if (!Digits(t, i, 2, out om) || om > 59)
                    {
                        return DecodeStatus.WrongType;
                    }

                    i += 2;
                }

                offsetSeconds = sign * ((oh * 3600L) + (om * 60L));
            }
        }

        if (i != t.Length)
        {
            return DecodeStatus.WrongType;
        }

        var seconds = (DaysFromCivil(year, month, day) * SecondsPerDay) + (hour * 3600) + (minute * 60) + second - offsetSeconds;
        if (seconds < long.MinValue / NsPerSecond || seconds > (long.MaxValue - fraction) / NsPerSecond)
        {
            return DecodeStatus.Overflow;
        }

        ns = (seconds * NsPerSecond) + fraction;
        return DecodeStatus.Ok;
    }

    /// <summary>Writes <paramref name="ns"/> as ISO-8601 UTC with the fewest fraction digits of 0, 3, 6 or 9 that keep it exact.</summary>
    public static bool TryFormatIso8601(long ns, Span<byte> destination, out int written)
    {
        written = 0;
        if (destination.Length < MaxIso8601Length)
        {
            return false;
        }

        var seconds = Math.DivRem(ns, NsPerSecond, out var fraction);
        if (fraction < 0)
        {
            fraction += NsPerSecond;
            seconds--;
        }

        var days = Math.DivRem(seconds, SecondsPerDay, out var secondOfDay);
        if (secondOfDay < 0)
        {
            secondOfDay += SecondsPerDay;
            days--;
        }

        CivilFromDays(days, out var year, out var month, out var day);
        var p = 0;
        Put(destination, ref p, year, 4);
        destination[p++] = (byte)'-';
        Put(destination, ref p, month, 2);
        destination[p++] = (byte)'-';
        Put(destination, ref p, day, 2);
        destination[p++] = (byte)'T';
        Put(destination, ref p, secondOfDay / 3600, 2);
        destination[p++] = (byte)':';
        Put(destination, ref p, secondOfDay / 60 % 60, 2);
        destination[p++] = (byte)':';
        Put(destination, ref p, secondOfDay % 60, 2);
        if (fraction != 0)
        {
            destination[p++] = (byte)'.';
            if (fraction % NsPerMs == 0)
            {
                Put(destination, ref p, fraction / NsPerMs, 3);
            }
            else if (fraction % 1_000 == 0)
            {
                Put(destination, ref p, fraction / 1_000, 6);
            }
            else
            {
                Put(destination, ref p, fraction, 9);
            }
        }

        destination[p++] = (byte)'Z';
        written = p;
        return true;
    }

    private static void Put(Span<byte> destination, ref int p, long value, int digits)
    {
        for (var k = digits - 1; k >= 0; k--)
        {
            destination[p + k] = (byte)('0' + (value % 10));
            value /= 10;
        }

        p += digits;
    }

    private static bool Digits(ReadOnlySpan<byte> t, int start, int count, out int value)
    {
        value = 0;
        if (start < 0 || start + count > t.Length)
        {
            return false;
        }

        for (var i = start; i < start + count; i++)
        {
            var d = (uint)(t[i] - '0');
            if (d > 9)
            {
                return false;
            }

            value = (value * 10) + (int)d;
        }

        return true;
    }

    /// <summary>Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).</summary>
    private static long DaysFromCivil(long y, long m, long d)
    {
        y -= m <= 2 ? 1 : 0;
        var era = (y >= 0 ? y : y - 399) / 400;
        var yoe = y - (era * 400);
        var doy = ((153 * (m + (m > 2 ? -3 : 9))) + 2) / 5 + d - 1;
        var doe = (yoe * 365) + (yoe / 4) - (yoe / 100) + doy;
        return (era * 146_097) + doe - 719_468;
    }

    /// <summary>The inverse of <see cref="DaysFromCivil"/>.</summary>
    private static void CivilFromDays(long z, out long year, out long month, out long day)
    {
        z += 719_468;
        var era = (z >= 0 ? z : z - 146_096) / 146_097;
        var doe = z - (era * 146_097);
        var yoe = (doe - (doe / 1_460) + (doe / 36_524) - (doe / 146_096)) / 365;
        var doy = doe - ((365 * yoe) + (yoe / 4) - (yoe / 100));
        var mp = ((5 * doy) + 2) / 153;
        day = doy - (((153 * mp) + 2) / 5) + 1;
        month = mp < 10 ? mp + 3 : mp - 9;
        year = (yoe + (era * 400)) + (month <= 2 ? 1 : 0);
    }
}

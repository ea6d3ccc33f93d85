using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LowLatency.Codecs.Binance;

/// <summary>
/// The scans the literal fast paths share (the decoder's, BinanceDecoder.FastPath.cs, and the Binance client's stream
/// arbiter): the end of a string and a run of digits, read a vector or a word at a time instead of a byte at a time.
/// </summary>
/// <remarks>
/// A byte loop over a 13-digit time or a 19-byte stream name costs a compare and a branch per byte and a mispredicted
/// exit wherever the length varies (symbols and names do, from frame to frame); here a short string or number is found
/// with one or two loads and a trailing-zero count, with no loop. Both need the bytes to be there: near the end of the
/// message (fewer than 16 bytes left) they fall back to the byte loop, which gives the same answer.
/// </remarks>
internal static class FastJson
{
    private const ulong Zeros = 0x3030303030303030;        // '0' in every byte
    private const ulong HighBits = 0x8080808080808080;
    private const ulong AboveNine = 0x7676767676767676;     // 0x7F - 9 in every byte

    private static readonly ulong[] s_pow10 = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

    /// <summary>The longest run <see cref="ScanDigits"/> reads (18 digits: &lt; 10^18 &lt; long.MaxValue, no overflow).</summary>
    public const int MaxDigits = 18;

    /// <summary>
    /// From <paramref name="i"/> (at most the span's length): the index of the first <c>"</c> or <c>\</c>, or -1 if there
    /// is none.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexOfQuoteOrBackslash(ReadOnlySpan<byte> json, int i)
    {
        if (Vector256.IsHardwareAccelerated && (uint)i <= (uint)json.Length && json.Length - i >= Vector256<byte>.Count)
        {
            // 32 bytes: a stream name (btcusdt@depth@100ms, 1000satsusdt@bookTicker) in one look.
            var v = Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(json), (nuint)i);
            var found = (Vector256.Equals(v, Vector256.Create((byte)'"')) | Vector256.Equals(v, Vector256.Create((byte)'\\'))).ExtractMostSignificantBits();
            if (found != 0)
            {
                return i + BitOperations.TrailingZeroCount(found);
            }

            i += Vector256<byte>.Count;
        }
        else if (Vector128.IsHardwareAccelerated && (uint)i <= (uint)json.Length && json.Length - i >= Vector128<byte>.Count)
        {
            var v = Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(json), (nuint)i);
            var found = (Vector128.Equals(v, Vector128.Create((byte)'"')) | Vector128.Equals(v, Vector128.Create((byte)'\\'))).ExtractMostSignificantBits();
            if (found != 0)
            {
                return i + BitOperations.TrailingZeroCount(found);
            }

            i += Vector128<byte>.Count;
        }

        return IndexOfQuoteOrBackslashFrom(json, i);
    }

    /// <summary>
    /// From <paramref name="i"/>, just after a string's opening quote: the index of its closing quote, or -1 if a
    /// backslash (an escape, which the fast paths leave to the general ones) comes first or the quote is missing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexOfPlainStringEnd(ReadOnlySpan<byte> json, int i)
    {
        var end = IndexOfQuoteOrBackslash(json, i);
        return end >= 0 && json[end] == (byte)'"' ? end : -1;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int IndexOfQuoteOrBackslashFrom(ReadOnlySpan<byte> json, int i)
    {
        var k = json[i..].IndexOfAny((byte)'"', (byte)'\\');
        return k < 0 ? -1 : i + k;
    }

    /// <summary>
    /// The digits from <paramref name="i"/>: their count (0 to <see cref="MaxDigits"/>) and value, or -1 if the run is
    /// longer than <see cref="MaxDigits"/> or reaches the end of the span (the caller cannot tell the number is whole).
    /// No sign, no leading-zero rule: the callers check the first digit as their grammar wants.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ScanDigits(ReadOnlySpan<byte> json, int i, out long value)
    {
        if ((uint)i <= (uint)json.Length && json.Length - i >= 16)
        {
            ref var start = ref Unsafe.Add(ref MemoryMarshal.GetReference(json), i);
            var low = Unsafe.ReadUnaligned<ulong>(ref start);
            var ends = NonDigits(low);
            if (ends != 0)
            {
                var count = BitOperations.TrailingZeroCount(ends) >> 3;
                value = count == 0 ? 0 : (long)DigitsValue(low, count);
                return count;
            }

            var high = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, 8));
            ends = NonDigits(high);
            if (ends != 0)
            {
                var count = BitOperations.TrailingZeroCount(ends) >> 3;
                var first = DigitsValue(low, 8);
                value = count == 0 ? (long)first : (long)((first * Pow10(count)) + DigitsValue(high, count));
                return 8 + count;
            }
        }

        return ScanDigitsByByte(json, i, out value);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int ScanDigitsByByte(ReadOnlySpan<byte> json, int i, out long value)
    {
        value = 0;
        var j = i;
        var end = Math.Min(json.Length, i + MaxDigits + 1);
        while (j < end)
        {
            var d = (uint)(json[j] - '0');
            if (d > 9)
            {
                break;
            }

            value = (value * 10) + d;
            j++;
        }

        var count = j - i;
        return count > MaxDigits || j >= json.Length ? -1 : count;
    }

    /// <summary>
    /// The high bit of every byte of <paramref name="word"/> that is not an ASCII digit (SWAR). Exact up to the first
    /// such byte, the only one callers use: a carry from a byte above 0x89 may spill into the bytes after it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong NonDigits(ulong word)
    {
        var x = word ^ Zeros; // a digit becomes 0-9; anything else 10 or more
        return ((x + AboveNine) | x) & HighBits;
    }

    /// <summary>The value of the first <paramref name="count"/> (1 to 8) bytes of <paramref name="word"/>, all ASCII digits, the first in the lowest byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong DigitsValue(ulong word, int count)
    {
        // Subtracting '0' borrows only upward, from the bytes after the digits, which the shift then drops: the digits
        // move to the top, with zero digits (leading zeros) below them.
        var chunk = (word - Zeros) << ((8 - count) * 8);
        chunk = (chunk * 10) + (chunk >> 8);
        chunk = ((chunk & 0x000000FF000000FF) * (100 + (1000000UL << 32))) + (((chunk >> 16) & 0x000000FF000000FF) * (1 + (10000UL << 32)));
        return chunk >> 32;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Pow10(int count) => s_pow10[count];
}

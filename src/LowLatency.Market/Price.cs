namespace LowLatency.Market;

/// <summary>A price: a fixed-point number with 8 decimal places (Binance's precision), held as a 64-bit mantissa.</summary>
/// <remarks>Parsed straight from the exchange's decimal text and formatted back to it exactly; see <see cref="FixedPoint"/>.</remarks>
public readonly record struct Price(long Mantissa) : IComparable<Price>
{
    /// <summary>Zero.</summary>
    public static Price Zero => default;

    /// <summary>Parses Binance decimal text; see <see cref="FixedPoint.TryParse"/>.</summary>
    public static FixedPointStatus TryParse(ReadOnlySpan<byte> utf8, out Price value)
    {
        var status = FixedPoint.TryParse(utf8, out var mantissa);
        value = new Price(mantissa);
        return status;
    }

    /// <summary>Parses text or throws <see cref="FormatException"/> (tests and configuration, not the hot path).</summary>
    public static Price Parse(string text)
    {
        var status = TryParse(System.Text.Encoding.UTF8.GetBytes(text), out var value);
        return status == FixedPointStatus.Ok ? value : throw new FormatException($"'{text}' is not a valid Price: {status}.");
    }

    /// <summary>Writes the canonical text; see <see cref="FixedPoint.TryFormat"/>.</summary>
    public bool TryFormat(Span<byte> utf8, out int written) => FixedPoint.TryFormat(Mantissa, utf8, out written);

    /// <summary>The value as a double (statistics only).</summary>
    public double ToDouble() => FixedPoint.ToDouble(Mantissa);

    /// <summary>The exact value as a decimal.</summary>
    public decimal ToDecimal() => FixedPoint.ToDecimal(Mantissa);

    /// <inheritdoc />
    public int CompareTo(Price other) => Mantissa.CompareTo(other.Mantissa);

    /// <inheritdoc />
    public override string ToString() => FixedPoint.ToString(Mantissa);

    /// <summary>Orders by value.</summary>
    public static bool operator <(Price left, Price right) => left.Mantissa < right.Mantissa;

    /// <summary>Orders by value.</summary>
    public static bool operator >(Price left, Price right) => left.Mantissa > right.Mantissa;

    /// <summary>Orders by value.</summary>
    public static bool operator <=(Price left, Price right) => left.Mantissa <= right.Mantissa;

    /// <summary>Orders by value.</summary>
    public static bool operator >=(Price left, Price right) => left.Mantissa >= right.Mantissa;
}

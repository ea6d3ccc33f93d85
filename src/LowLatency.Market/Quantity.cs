namespace LowLatency.Market;

/// <summary>A quantity (base or quote): a fixed-point number with 8 decimal places, held as a 64-bit mantissa.</summary>
/// <remarks>Parsed straight from the exchange's decimal text and formatted back to it exactly; see <see cref="FixedPoint"/>.</remarks>
public readonly record struct Quantity(long Mantissa) : IComparable<Quantity>
{
    /// <summary>Zero.</summary>
    public static Quantity Zero => default;

    /// <summary>Parses Binance decimal text; see <see cref="FixedPoint.TryParse"/>.</summary>
    public static FixedPointStatus TryParse(ReadOnlySpan<byte> utf8, out Quantity value)
    {
        var status = FixedPoint.TryParse(utf8, out var mantissa);
        value = new Quantity(mantissa);
        return status;
    }

    /// <summary>Parses text or throws <see cref="FormatException"/> (tests and configuration, not the hot path).</summary>
    public static Quantity Parse(string text)
    {
        var status = TryParse(System.Text.Encoding.UTF8.GetBytes(text), out var value);
        return status == FixedPointStatus.Ok ? value : throw new FormatException($"'{text}' is not a valid Quantity: {status}.");
    }

    /// <summary>Writes the canonical text; see <see cref="FixedPoint.TryFormat"/>.</summary>
    public bool TryFormat(Span<byte> utf8, out int written) => FixedPoint.TryFormat(Mantissa, utf8, out written);

    /// <summary>The value as a double (statistics only).</summary>
    public double ToDouble() => FixedPoint.ToDouble(Mantissa);

    /// <summary>The exact value as a decimal.</summary>
    public decimal ToDecimal() => FixedPoint.ToDecimal(Mantissa);

    /// <inheritdoc />
    public int CompareTo(Quantity other) => Mantissa.CompareTo(other.Mantissa);

    /// <inheritdoc />
    public override string ToString() => FixedPoint.ToString(Mantissa);

    /// <summary>Orders by value.</summary>
    public static bool operator <(Quantity left, Quantity right) => left.Mantissa < right.Mantissa;

    /// <summary>Orders by value.</summary>
    public static bool operator >(Quantity left, Quantity right) => left.Mantissa > right.Mantissa;

    /// <summary>Orders by value.</summary>
    public static bool operator <=(Quantity left, Quantity right) => left.Mantissa <= right.Mantissa;

    /// <summary>Orders by value.</summary>
    public static bool operator >=(Quantity left, Quantity right) => left.Mantissa >= right.Mantissa;
}

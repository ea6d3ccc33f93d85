using System.Buffers.Binary;
using LowLatency.Market;
using LowLatency.Parquet.Format;
using LowLatency.Parquet.Reading;

namespace LowLatency.Parquet.Datasets;

/// <summary>
/// A decoded column chunk as the engine's numbers, whichever physical and logical type its writer chose: prices and
/// quantities as fixed-point mantissas with 8 decimals (<see cref="FixedPoint"/>), times as Unix nanoseconds. One array
/// per row group, not per row.
/// </summary>
internal static class ColumnValues
{
    /// <summary>
    /// DECIMAL (INT32, INT64 or FIXED_LEN_BYTE_ARRAY, any scale; more than 8 decimals are truncated), DOUBLE or FLOAT
    /// (rounded to 8 decimals), or a decimal string.
    /// </summary>
    public static long[] FixedPoints(ParquetColumnData data)
    {
        var column = data.Column;
        var values = new long[data.Count];
        var scale = DecimalScale(column.Element);
        switch (data.Values)
        {
            case long[] longs when scale is { } s:
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = Rescale(longs[i], s, column);
                }

                break;
            case int[] ints when scale is { } s:
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = Rescale(ints[i], s, column);
                }

                break;
            case byte[][] bytes when scale is { } s && column.PhysicalType == PhysicalType.FixedLenByteArray:
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = data.IsNull(i) ? 0 : Rescale(BigEndian(bytes[i], column), s, column);
                }

                break;
            case double[] doubles:
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = (long)Math.Round(doubles[i] * FixedPoint.Scale);
                }

                break;
            case float[] floats:
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = (long)Math.Round((double)(decimal)floats[i] * FixedPoint.Scale); // the float's shortest decimal, not its binary expansion
                }

                break;
            case byte[][] strings when scale is null:
                for (var i = 0; i < values.Length; i++)
                {
                    if (!data.IsNull(i) && FixedPoint.TryParse(strings[i], out values[i]) != FixedPointStatus.Ok)
                    {
                        throw new ParquetFormatException($"Column '{column.Name}', row {i}: '{System.Text.Encoding.UTF8.GetString(strings[i])}' is not a decimal number.");
                    }
                }

                break;
            default:
                throw new ParquetFormatException($"Column '{column.Name}' ({column.PhysicalType}) is not a number this reader takes as a price or quantity (DECIMAL, DOUBLE, FLOAT or a decimal string).");
        }

        return values;
    }

    /// <summary>TIMESTAMP (millis, micros or nanos; also the legacy INT96) or a plain INT64 of milliseconds (Binance's unit).</summary>
    public static long[] EpochNanoseconds(ParquetColumnData data)
    {
        var column = data.Column;
        var values = new long[data.Count];
        if (data.Values is byte[][] int96 && column.PhysicalType == PhysicalType.Int96)
        {
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = data.IsNull(i) ? 0 : ParquetInt96.ToUnixNanoseconds(int96[i]);
            }

            return values;
        }

        var longs = data.Values as long[] ?? throw new ParquetFormatException($"Column '{column.Name}' ({column.PhysicalType}) is not a timestamp (INT64 or INT96).");
        long factor = column.Element.LogicalType is { Kind: LogicalTypeKind.Timestamp } t ? t.Unit switch
        {
            TimeUnit.Nanos => 1,
            TimeUnit.Micros => 1_000,
            _ => 1_000_000,
        }
        : column.Element.ConvertedType == ConvertedType.TimestampMicros ? 1_000 : 1_000_000;
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = longs[i] * factor;
        }

        return values;
    }

    /// <summary>INT32 or INT64 as long.</summary>
    public static long[] Integers(ParquetColumnData data) => data.Values switch
    {
        long[] longs => longs,
        int[] ints => Array.ConvertAll(ints, i => (long)i),
        _ => throw new ParquetFormatException($"Column '{data.Column.Name}' ({data.Column.PhysicalType}) is not an integer."),
    };

    public static bool[] Booleans(ParquetColumnData data) =>
        data.Values as bool[] ?? throw new ParquetFormatException($"Column '{data.Column.Name}' ({data.Column.PhysicalType}) is not a boolean.");

    public static byte[][] Strings(ParquetColumnData data) =>
        data.Values as byte[][] is { } bytes && data.Column.PhysicalType == PhysicalType.ByteArray ? bytes
        : throw new ParquetFormatException($"Column '{data.Column.Name}' ({data.Column.PhysicalType}) is not a string.");

    /// <summary>DOUBLE values, NaN where null.</summary>
    public static double[] Doubles(ParquetColumnData data)
    {
        var doubles = data.Values as double[] ?? throw new ParquetFormatException($"Column '{data.Column.Name}' ({data.Column.PhysicalType}) is not a double.");
        var values = new double[doubles.Length];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = data.IsNull(i) ? double.NaN : doubles[i];
        }

        return values;
    }

    private static int? DecimalScale(SchemaElement element) =>
        element.LogicalType is { Kind: LogicalTypeKind.Decimal } d ? d.Scale
        : element.ConvertedType == ConvertedType.Decimal ? element.Scale ?? 0
        : null;

    private static long Rescale(long unscaled, int scale, ParquetLeafColumn column)
    {
        if (scale > FixedPoint.Decimals)
        {
            return unscaled / Pow10(scale - FixedPoint.Decimals);
        }

        var factor = Pow10(FixedPoint.Decimals - scale);
        return Math.Abs(unscaled) <= long.MaxValue / factor ? unscaled * factor
            : throw new ParquetFormatException($"Column '{column.Name}': {unscaled} with scale {scale} does not fit a fixed-point number with {FixedPoint.Decimals} decimals.");
    }

    private static long BigEndian(byte[] value, ParquetLeafColumn column)
    {
        if (value.Length > 8)
        {
            for (var i = 0; i < value.Length - 8; i++)
            {
                if (value[i] != ((value[^8] & 0x80) == 0 ? 0 : 0xFF))
                {
                    throw new ParquetFormatException($"Column '{column.Name}': a {value.Length}-byte decimal does not fit 64 bits.");
                }
            }

            return BinaryPrimitives.ReadInt64BigEndian(value.AsSpan(value.Length - 8));
        }

        long result = (value.Length > 0 && (value[0] & 0x80) != 0) ? -1 : 0; // sign extension
        foreach (var b in value)
        {
            result = (result << 8) | b;
        }

        return result;
    }

    private static long Pow10(int exponent)
    {
        long result = 1;
        for (var i = 0; i < exponent; i++)
        {
            result *= 10;
        }

        return result;
    }
}

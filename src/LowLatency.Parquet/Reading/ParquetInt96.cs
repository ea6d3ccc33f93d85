using System.Buffers.Binary;

namespace LowLatency.Parquet.Reading;

/// <summary>
/// The deprecated INT96 timestamp of Impala and old Hive/Spark files: 8 little-endian bytes of nanoseconds within the
/// day, then 4 of the Julian day number. The reader leaves INT96 values as their 12 raw bytes; this converts them.
/// </summary>
public static class ParquetInt96
{
    private const long JulianDayOfUnixEpoch = 2_440_588;
    private const long NanosecondsPerDay = 86_400_000_000_000;

    /// <summary>Nanoseconds since the Unix epoch (UTC).</summary>
    public static long ToUnixNanoseconds(ReadOnlySpan<byte> value)
    {
        if (value.Length != 12)
        {
            throw new ArgumentException("An INT96 value has 12 bytes.", nameof(value));
        }

        var nanos = BinaryPrimitives.ReadInt64LittleEndian(value);
        var julianDay = BinaryPrimitives.ReadInt32LittleEndian(value[8..]);
        return checked(((julianDay - JulianDayOfUnixEpoch) * NanosecondsPerDay) + nanos);
    }

    public static DateTime ToDateTime(ReadOnlySpan<byte> value) =>
        DateTime.UnixEpoch.AddTicks(ToUnixNanoseconds(value) / 100);
}

using System.Diagnostics.CodeAnalysis;

namespace LowLatency.Parquet;

/// <summary>
/// The one exception the reader throws for a file it cannot read: bad magic, a footer or page that lies outside the
/// file, Thrift that does not parse, a declared length or count larger than the bytes that hold it, a codec that fails.
/// The message says what is wrong and where (file offset, row group, column). Features of the format this reader does
/// not implement raise the derived <see cref="ParquetUnsupportedException"/>, so a caller can tell "damaged" from
/// "valid but not for us" while catching one type.
/// </summary>
public class ParquetFormatException : Exception
{
    public ParquetFormatException(string message)
        : base(message)
    {
    }

    public ParquetFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A valid file that uses a part of the format this reader does not implement (nested lists, a codec, an encoding).</summary>
public sealed class ParquetUnsupportedException : ParquetFormatException
{
    public ParquetUnsupportedException(string message)
        : base(message)
    {
    }
}

/// <summary>Throws outside the callers' fast paths (Npgsql, Disruptor-net).</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void Format(string message) => throw new ParquetFormatException(message);

    [DoesNotReturn]
    public static T Format<T>(string message) => throw new ParquetFormatException(message);

    [DoesNotReturn]
    public static void Unsupported(string message) => throw new ParquetUnsupportedException(message);

    [DoesNotReturn]
    public static void InvalidOperation(string message) => throw new InvalidOperationException(message);

    [DoesNotReturn]
    public static void Argument(string paramName, string message) => throw new ArgumentException(message, paramName);
}

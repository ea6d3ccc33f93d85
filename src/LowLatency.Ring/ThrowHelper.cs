using System.Diagnostics.CodeAnalysis;

namespace LowLatency.Ring;

/// <summary>Throws from a separate, non-inlined method so the callers' fast paths stay small.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowArgumentOutOfRange(string paramName, object? actualValue, string message) =>
        throw new ArgumentOutOfRangeException(paramName, actualValue, message);

    [DoesNotReturn]
    public static void ThrowInvalidOperation(string message) => throw new InvalidOperationException(message);

    [DoesNotReturn]
    public static void ThrowBatchSize(int n, int bufferSize) =>
        throw new ArgumentOutOfRangeException(nameof(n), n, $"n must be > 0 and <= the buffer size ({bufferSize}).");
}

namespace LowLatency.Ring;

/// <summary>Sizes used to keep fields written by one thread off the cache lines read by others.</summary>
internal static class Padding
{
    /// <summary>The cache-line size we design for (x86-64 and most ARM64 cores).</summary>
    public const int CacheLine = 64;

    /// <summary>
    /// Bytes of padding on each side of a hot 8-byte field. With 56 bytes before and after, no 64-byte line that holds
    /// the field can hold anything outside the padding, wherever the GC places the object (objects are only 8-byte
    /// aligned, so aligning to a line boundary is not possible).
    /// </summary>
    public const int Field = CacheLine - sizeof(long);

    /// <summary>Bytes of unused entries placed before the first and after the last ring slot.</summary>
    public const int RingEntries = 2 * CacheLine;
}

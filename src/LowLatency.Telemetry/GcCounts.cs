using System.Globalization;

namespace LowLatency.Telemetry;

/// <summary>
/// Garbage collections per generation. Capture before and after a run and subtract: a steady-state hot path
/// should show a zero delta.
/// </summary>
/// <remarks>Each count includes the collections of the older generations, as <see cref="GC.CollectionCount"/> does:
/// a gen 2 collection also counts as a gen 1 and a gen 0 collection.</remarks>
public readonly record struct GcCounts(int Gen0, int Gen1, int Gen2)
{
    /// <summary>Collections since the process started.</summary>
    public static GcCounts Capture() => new(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));

    /// <summary>Collections between two captures.</summary>
    public static GcCounts operator -(GcCounts after, GcCounts before) =>
        new(after.Gen0 - before.Gen0, after.Gen1 - before.Gen1, after.Gen2 - before.Gen2);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"gen0 {Gen0}, gen1 {Gen1}, gen2 {Gen2}");
}

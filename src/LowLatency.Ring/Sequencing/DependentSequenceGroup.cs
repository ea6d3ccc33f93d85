using System.Runtime.CompilerServices;

namespace LowLatency.Ring;

/// <summary>
/// What a consumer waits for: the ring's cursor when it reads straight from the producers, or the slowest of the
/// consumers it follows (which can never be ahead of the cursor).
/// </summary>
public sealed class DependentSequenceGroup
{
    private readonly Sequence _cursor;
    private readonly Sequence[] _dependencies;
    private readonly Sequence? _single;

    /// <summary>Creates the group for a consumer of <paramref name="cursor"/> that follows <paramref name="dependencies"/>.</summary>
    public DependentSequenceGroup(Sequence cursor, params Sequence[] dependencies)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        ArgumentNullException.ThrowIfNull(dependencies);
        _cursor = cursor;
        _dependencies = [.. dependencies];
        _single = dependencies.Length switch
        {
            0 => cursor,
            1 => dependencies[0],
            _ => null,
        };
    }

    /// <summary>The ring's cursor, on which blocking wait strategies wait before spinning on <see cref="Value"/>.</summary>
    public Sequence Cursor => _cursor;

    /// <summary>How many consumers this group follows (0: it follows the producers).</summary>
    public int DependencyCount => _dependencies.Length;

    /// <summary>The highest sequence every dependency has reached (acquire reads).</summary>
    public long Value
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _single is { } single ? single.Value : Sequence.GetMinimum(_dependencies);
    }
}

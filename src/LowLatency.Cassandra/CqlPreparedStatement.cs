namespace LowLatency.Cassandra;

/// <summary>
/// A statement prepared on the connection's node: the CQL text, its bind markers and result columns, and the id the
/// server gave it. The id is valid on the connection it was prepared on (the node forgets it on restart), so the
/// connection prepares it again after a reconnect, and again when the server answers UNPREPARED.
/// </summary>
public sealed class CqlPreparedStatement
{
    private volatile PreparedId? _id;

    internal CqlPreparedStatement(string query) => Query = query;

    public string Query { get; }

    /// <summary>The bind markers, in order (empty until first prepared).</summary>
    public IReadOnlyList<CqlColumn> Variables => _id?.Variables ?? [];

    /// <summary>The columns an execution returns (empty for writes).</summary>
    public IReadOnlyList<CqlColumn> ResultColumns => _id?.ResultColumns ?? [];

    /// <summary>How many times this statement was prepared (1 after the first; more after reconnects and UNPREPARED).</summary>
    public int Prepares { get; internal set; }

    /// <summary>The current id, or null when it must be prepared (first use, new connection, or invalidated).</summary>
    internal PreparedId? Id => _id;

    internal void Set(PreparedId id)
    {
        _id = id;
        Prepares++;
    }

    /// <summary>Forgets the id only if it is still <paramref name="stale"/> (another request may have prepared it again).</summary>
    internal void Invalidate(PreparedId stale) => Interlocked.CompareExchange(ref _id, null, stale);
}

/// <summary>A prepared id and what the server said about it, valid on the connection of <see cref="Generation"/>.</summary>
internal sealed record PreparedId(byte[] Id, int Generation, CqlColumn[] Variables, IReadOnlyList<CqlColumn> ResultColumns);

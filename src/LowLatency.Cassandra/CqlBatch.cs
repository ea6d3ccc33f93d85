namespace LowLatency.Cassandra;

/// <summary>The kinds of BATCH.</summary>
public enum CqlBatchType : byte
{
    /// <summary>Atomic through the batch log (slower; for rows of several partitions that must all land).</summary>
    Logged = 0,

    /// <summary>No batch log: the efficient form for rows of one partition.</summary>
    Unlogged = 1,

    Counter = 2,
}

/// <summary>
/// The statements of one BATCH (prepared, or CQL text with values), reusable: <see cref="Clear"/> and fill it again;
/// values are copied into its own buffer, so once that has grown, filling a batch allocates nothing. Unlogged by
/// default: meant for rows of one partition.
/// </summary>
public sealed class CqlBatch : IDisposable
{
    private readonly List<Entry> _entries = [];
    private readonly CqlWriter _values = new(1024);

    public CqlBatchType Type { get; set; } = CqlBatchType.Unlogged;

    public int Count => _entries.Count;

    public CqlBatch Clear()
    {
        _entries.Clear();
        _values.Reset();
        return this;
    }

    /// <summary>Adds an execution of a prepared statement with its values (copied).</summary>
    public CqlBatch Add(CqlPreparedStatement statement, CqlValues? values = null)
    {
        ArgumentNullException.ThrowIfNull(statement);
        return Add(statement, null, values);
    }

    /// <summary>Adds a CQL statement with its values (copied).</summary>
    public CqlBatch Add(string query, CqlValues? values = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        return Add(null, query, values);
    }

    public void Dispose() => _values.Dispose();

    /// <summary>The prepared statement of entry <paramref name="index"/> (null for CQL text), so the connection can
    /// prepare them first.</summary>
    internal CqlPreparedStatement? StatementAt(int index) => _entries[index].Statement;

    /// <summary>&lt;type&gt;&lt;n&gt;&lt;query_1&gt;...&lt;query_n&gt;&lt;consistency&gt;&lt;flags&gt;; each prepared
    /// statement must have an id (the connection prepares them before sending).</summary>
    internal void WriteBody(CqlWriter writer, CqlConsistency consistency)
    {
        if (_entries.Count is 0 or > ushort.MaxValue)
        {
            throw new InvalidOperationException($"A batch holds 1 to 65535 statements, not {_entries.Count}.");
        }

        writer.WriteByte((byte)Type);
        writer.WriteShort((ushort)_entries.Count);
        var values = _values.WrittenSpan;
        foreach (var entry in _entries)
        {
            if (entry.Statement is { } statement)
            {
                writer.WriteByte(1);
                writer.WriteShortBytes((statement.Id ?? throw new InvalidOperationException($"'{statement.Query}' is not prepared.")).Id);
            }
            else
            {
                writer.WriteByte(0);
                writer.WriteLongString(entry.Query!);
            }

            writer.WriteShort(entry.ValueCount);
            writer.WriteRaw(values.Slice(entry.ValuesStart, entry.ValuesLength));
        }

        writer.WriteConsistency(consistency);
        writer.WriteByte(0);
    }

    private CqlBatch Add(CqlPreparedStatement? statement, string? query, CqlValues? values)
    {
        var start = _values.Length;
        var count = values?.Count ?? 0;
        if (values is not null)
        {
            _values.WriteRaw(values.Encoded);
        }

        _entries.Add(new Entry(statement, query, start, _values.Length - start, checked((ushort)count)));
        return this;
    }

    private readonly record struct Entry(CqlPreparedStatement? Statement, string? Query, int ValuesStart, int ValuesLength, ushort ValueCount);
}

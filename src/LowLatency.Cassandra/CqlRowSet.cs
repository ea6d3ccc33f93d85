using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace LowLatency.Cassandra;

/// <summary>A column of a result, or a bind marker of a prepared statement.</summary>
public sealed record CqlColumn(string Keyspace, string Table, string Name, CqlType Type);

/// <summary>
/// One RESULT: for reads, one page of rows read in place from the frame body (a pooled buffer, returned at
/// <see cref="Dispose"/>: dispose every row set); for other statements an empty set saying what happened
/// (<see cref="Kind"/>, <see cref="Keyspace"/>, <see cref="SchemaChange"/>). Typed getters check the column's type.
/// </summary>
public sealed class CqlRowSet : IDisposable
{
    private static readonly CqlColumn[] s_noColumns = [];
    private byte[]? _body;
    private int[]? _cells; // per cell: offset into _body, then length (-1: null)

    private CqlRowSet(CqlResultKind kind, IReadOnlyList<CqlColumn> columns)
    {
        Kind = kind;
        Columns = columns;
    }

    public CqlResultKind Kind { get; }

    /// <summary>The columns of each row.</summary>
    public IReadOnlyList<CqlColumn> Columns { get; }

    /// <summary>Rows in this page.</summary>
    public int Count { get; private set; }

    /// <summary>Where the next page starts (give it back in <see cref="CqlQueryOptions.PagingState"/>); null on the last page.</summary>
    public byte[]? PagingState { get; private set; }

    /// <summary>Whether more pages follow.</summary>
    public bool HasMorePages => PagingState is not null;

    /// <summary>For <c>USE</c>: the keyspace now in use.</summary>
    public string? Keyspace { get; private set; }

    /// <summary>For schema changes: what changed, e.g. <c>CREATED TABLE ks.t</c>.</summary>
    public string? SchemaChange { get; private set; }

    public int ColumnIndex(string name)
    {
        for (var i = 0; i < Columns.Count; i++)
        {
            if (string.Equals(Columns[i].Name, name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        throw new ArgumentException($"The result has no column '{name}'.", nameof(name));
    }

    public bool IsNull(int row, int column) => Cell(row, column, out _) < 0;

    public int GetInt32(int row, int column) => BinaryPrimitives.ReadInt32BigEndian(Fixed(row, column, 4, CqlType.Int));

    public long GetInt64(int row, int column)
    {
        var cell = Fixed(row, column, 8, CqlType.Bigint, CqlType.Counter, CqlType.Timestamp);
        return BinaryPrimitives.ReadInt64BigEndian(cell);
    }

    public double GetDouble(int row, int column) => BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64BigEndian(Fixed(row, column, 8, CqlType.Double)));

    public float GetSingle(int row, int column) => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32BigEndian(Fixed(row, column, 4, CqlType.Float)));

    public bool GetBoolean(int row, int column) => Fixed(row, column, 1, CqlType.Boolean)[0] != 0;

    public Guid GetGuid(int row, int column) => new(Fixed(row, column, 16, CqlType.Uuid, CqlType.Timeuuid), bigEndian: true);

    /// <summary>A timestamp (milliseconds since the Unix epoch) as UTC.</summary>
    public DateTimeOffset GetTimestamp(int row, int column) =>
        DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(Fixed(row, column, 8, CqlType.Timestamp)));

    /// <summary>text, varchar or ascii; null for a null cell.</summary>
    public string? GetString(int row, int column)
    {
        CheckType(column, CqlType.Varchar, CqlType.Ascii, CqlType.Ascii);
        return Cell(row, column, out var offset) is var length and >= 0 ? Encoding.UTF8.GetString(_body!, offset, length) : null;
    }

    /// <summary>The raw bytes of any cell (a blob's content); empty for null (see <see cref="IsNull"/>).</summary>
    public ReadOnlySpan<byte> GetBytes(int row, int column) =>
        Cell(row, column, out var offset) is var length and >= 0 ? _body.AsSpan(offset, length) : default;

    /// <summary>A cell as an object by its column type (tests and tools: boxes).</summary>
    public object? GetValue(int row, int column)
    {
        if (IsNull(row, column))
        {
            return null;
        }

        return Columns[column].Type switch
        {
            CqlType.Int => GetInt32(row, column),
            CqlType.Bigint or CqlType.Counter => GetInt64(row, column),
            CqlType.Double => GetDouble(row, column),
            CqlType.Float => GetSingle(row, column),
            CqlType.Boolean => GetBoolean(row, column),
            CqlType.Uuid or CqlType.Timeuuid => GetGuid(row, column),
            CqlType.Timestamp => GetTimestamp(row, column),
            CqlType.Varchar or CqlType.Ascii => GetString(row, column),
            _ => GetBytes(row, column).ToArray(),
        };
    }

    public void Dispose()
    {
        var body = _body;
        var cells = _cells;
        _body = null;
        _cells = null;
        if (body is not null)
        {
            ArrayPool<byte>.Shared.Return(body);
        }

        if (cells is not null)
        {
            ArrayPool<int>.Shared.Return(cells);
        }
    }

    /// <summary>
    /// Parses a RESULT body that starts at <paramref name="start"/> of <paramref name="body"/> (a pooled array this row
    /// set takes over). <paramref name="knownColumns"/> are the prepared statement's result columns, for results sent
    /// without metadata.
    /// </summary>
    internal static CqlRowSet Parse(byte[] body, int start, int length, IReadOnlyList<CqlColumn>? knownColumns)
    {
        var reader = new CqlReader(body.AsSpan(0, length));
        reader.Skip(start);
        var kind = (CqlResultKind)reader.ReadInt();
        switch (kind)
        {
            case CqlResultKind.Rows:
                return ParseRows(ref reader, body, knownColumns);
            case CqlResultKind.SetKeyspace:
                var keyspace = reader.ReadString();
                ArrayPool<byte>.Shared.Return(body);
                return new CqlRowSet(kind, s_noColumns) { Keyspace = keyspace };
            case CqlResultKind.SchemaChange:
                var change = $"{reader.ReadString()} {reader.ReadString()} {reader.ReadString()}";
                if (reader.Remaining >= 2)
                {
                    change += "." + reader.ReadString();
                }

                ArrayPool<byte>.Shared.Return(body);
                return new CqlRowSet(kind, s_noColumns) { SchemaChange = change };
            case CqlResultKind.Void or CqlResultKind.Prepared:
                ArrayPool<byte>.Shared.Return(body);
                return new CqlRowSet(kind, s_noColumns);
            default:
                ArrayPool<byte>.Shared.Return(body);
                throw new CassandraProtocolException($"Unknown RESULT kind {(int)kind}.");
        }
    }

    /// <summary>
    /// Reads result metadata: flags, column count, paging state, column specs (unless No_metadata). Returns the columns
    /// (<paramref name="knownColumns"/> when the server sent none) and the paging state.
    /// </summary>
    internal static IReadOnlyList<CqlColumn> ReadMetadata(ref CqlReader reader, IReadOnlyList<CqlColumn>? knownColumns, out byte[]? pagingState)
    {
        const int GlobalTableSpec = 0x0001;
        const int HasMorePages = 0x0002;
        const int NoMetadata = 0x0004;
        var flags = reader.ReadInt();
        var count = reader.ReadInt();
        if (count < 0 || count > reader.Remaining)
        {
            throw new CassandraProtocolException($"Malformed result metadata: {count} columns.");
        }

        pagingState = (flags & HasMorePages) != 0 && reader.TryReadBytes(out var state) ? state.ToArray() : null;
        if ((flags & NoMetadata) != 0)
        {
            if (count == 0)
            {
                return s_noColumns; // a prepared write: no result columns
            }

            if (knownColumns is null || knownColumns.Count != count)
            {
                throw new CassandraProtocolException($"The server sent {count} columns without metadata, and none are known.");
            }

            return knownColumns;
        }

        return ReadColumnSpecs(ref reader, count, (flags & GlobalTableSpec) != 0);
    }

    /// <summary>Reads <paramref name="count"/> column specs ([string] keyspace and table, unless given once globally).</summary>
    internal static CqlColumn[] ReadColumnSpecs(ref CqlReader reader, int count, bool globalTableSpec)
    {
        string keyspace = string.Empty, table = string.Empty;
        if (globalTableSpec)
        {
            keyspace = reader.ReadString();
            table = reader.ReadString();
        }

        var columns = count == 0 ? s_noColumns : new CqlColumn[count];
        for (var i = 0; i < count; i++)
        {
            string columnKeyspace = keyspace, columnTable = table;
            if (!globalTableSpec)
            {
                columnKeyspace = reader.ReadString();
                columnTable = reader.ReadString();
            }

            var name = reader.ReadString();
            columns[i] = new CqlColumn(columnKeyspace, columnTable, name, reader.ReadType());
        }

        return columns;
    }

    private static CqlRowSet ParseRows(ref CqlReader reader, byte[] body, IReadOnlyList<CqlColumn>? knownColumns)
    {
        var set = new CqlRowSet(CqlResultKind.Rows, ReadMetadata(ref reader, knownColumns, out var pagingState)) { PagingState = pagingState };
        var rows = reader.ReadInt();
        var columns = set.Columns.Count;
        // Each cell takes at least 4 bytes ([bytes] length), so a count the body cannot hold is malformed, never allocated.
        if (rows < 0 || (long)rows * columns * 4 > reader.Remaining)
        {
            ArrayPool<byte>.Shared.Return(body);
            throw new CassandraProtocolException($"Malformed rows result: {rows} rows of {columns} columns in {reader.Remaining} bytes.");
        }

        var cells = ArrayPool<int>.Shared.Rent(Math.Max(1, rows * columns * 2));
        try
        {
            for (var i = 0; i < rows * columns; i++)
            {
                cells[(2 * i) + 1] = reader.ReadBytesLocation(out var offset);
                cells[2 * i] = offset;
            }
        }
        catch
        {
            ArrayPool<int>.Shared.Return(cells);
            ArrayPool<byte>.Shared.Return(body);
            throw;
        }

        set._body = body;
        set._cells = cells;
        set.Count = rows;
        return set;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Cell(int row, int column, out int offset)
    {
        if ((uint)row >= (uint)Count || (uint)column >= (uint)Columns.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(row), $"No cell ({row}, {column}) in {Count} rows of {Columns.Count} columns.");
        }

        ObjectDisposedException.ThrowIf(_cells is null, this);
        var index = 2 * ((row * Columns.Count) + column);
        offset = _cells[index];
        return _cells[index + 1];
    }

    private ReadOnlySpan<byte> Fixed(int row, int column, int size, CqlType type, CqlType alternative = (CqlType)(-1), CqlType third = (CqlType)(-1))
    {
        CheckType(column, type, alternative, third);
        var length = Cell(row, column, out var offset);
        if (length != size)
        {
            throw new InvalidCastException(length < 0
                ? $"Column '{Columns[column].Name}' is null in row {row}; check IsNull first."
                : $"Column '{Columns[column].Name}' holds {length} bytes in row {row}; a {Columns[column].Type} has {size}.");
        }

        return _body.AsSpan(offset, size);
    }

    private void CheckType(int column, CqlType type, CqlType alternative, CqlType third)
    {
        var actual = Columns[column].Type;
        if (actual != type && actual != alternative && actual != third)
        {
            throw new InvalidCastException($"Column '{Columns[column].Name}' is {actual}, not {type}.");
        }
    }
}

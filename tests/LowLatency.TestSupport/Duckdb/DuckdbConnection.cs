
using System.Runtime.InteropServices;

namespace LowLatency.TestSupport.Duckdb;

/// <summary>
/// An in-memory DuckDB database through its C API (libduckdb.so from npm, see <see cref="DuckdbAvailability"/>): runs a
/// query and returns every cell as a string (<c>duckdb_value_varchar</c>, DuckDB's own text form), null for SQL NULL.
/// Enough for tests that compare what DuckDB reads from a Parquet file with what was written.
/// </summary>
public sealed unsafe class DuckdbConnection : IDisposable
{
    private const string Library = "duckdb";

    // duckdb_result is six pointer-sized fields in the 1.x C API; room for more costs nothing.
    private const int ResultSize = 128;

    private nint _database;
    private nint _connection;

    static DuckdbConnection()
    {
        NativeLibrary.SetDllImportResolver(typeof(DuckdbConnection).Assembly, static (name, assembly, path) =>
            name == Library && DuckdbAvailability.LibraryPath is { } library ? NativeLibrary.Load(library) : 0);
    }

    public DuckdbConnection()
    {
        if (DuckdbAvailability.LibraryPath is null)
        {
            throw new InvalidOperationException(DuckdbAvailability.MissingReason);
        }

        nint database, connection;
        if (duckdb_open(null, &database) != 0)
        {
            throw new InvalidOperationException("duckdb_open failed.");
        }

        _database = database;
        if (duckdb_connect(_database, &connection) != 0)
        {
            Dispose();
            throw new InvalidOperationException("duckdb_connect failed.");
        }

        _connection = connection;
    }

    /// <summary>DuckDB's version string.</summary>
    public static string Version => Marshal.PtrToStringUTF8(duckdb_library_version()) ?? "?";

    /// <summary>Runs <paramref name="sql"/>; the rows, each cell as DuckDB's text or null. Throws with DuckDB's error.</summary>
    public List<string?[]> Query(string sql)
    {
        var result = stackalloc byte[ResultSize];
        new Span<byte>(result, ResultSize).Clear();
        try
        {
            if (duckdb_query(_connection, sql, result) != 0)
            {
                var error = Marshal.PtrToStringUTF8(duckdb_result_error(result));
                throw new InvalidOperationException($"DuckDB: {error}\nQuery: {sql}");
            }

            var rows = (long)duckdb_row_count(result);
            var columns = (long)duckdb_column_count(result);
            var list = new List<string?[]>((int)rows);
            for (ulong row = 0; row < (ulong)rows; row++)
            {
                var cells = new string?[columns];
                for (ulong column = 0; column < (ulong)columns; column++)
                {
                    if (duckdb_value_is_null(result, column, row))
                    {
                        continue;
                    }

                    var text = duckdb_value_varchar(result, column, row);
                    cells[column] = Marshal.PtrToStringUTF8(text);
                    duckdb_free(text);
                }

                list.Add(cells);
            }

            return list;
        }
        finally
        {
            duckdb_destroy_result(result);
        }
    }

    /// <summary>The one value of a one-row, one-column query.</summary>
    public string? Scalar(string sql) => Query(sql).Single().Single();

    /// <summary>A path as a SQL string literal.</summary>
    public static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    public void Dispose()
    {
        if (_connection != 0)
        {
            var connection = _connection;
            duckdb_disconnect(&connection);
            _connection = 0;
        }

        if (_database != 0)
        {
            var database = _database;
            duckdb_close(&database);
            _database = 0;
        }
    }

    [DllImport(Library)]
    private static extern int duckdb_open([MarshalAs(UnmanagedType.LPUTF8Str)] string? path, nint* database);

    [DllImport(Library)]
    private static extern int duckdb_connect(nint database, nint* connection);

    [DllImport(Library)]
    private static extern int duckdb_query(nint connection, [MarshalAs(UnmanagedType.LPUTF8Str)] string query, byte* result);

    [DllImport(Library)]
    private static extern ulong duckdb_row_count(byte* result);

    [DllImport(Library)]
    private static extern ulong duckdb_column_count(byte* result);

    [DllImport(Library)]
    [return: MarshalAs(UnmanagedType.U1)]
    private static extern bool duckdb_value_is_null(byte* result, ulong column, ulong row);

    [DllImport(Library)]
    private static extern nint duckdb_value_varchar(byte* result, ulong column, ulong row);

    [DllImport(Library)]
    private static extern nint duckdb_result_error(byte* result);

    [DllImport(Library)]
    private static extern void duckdb_destroy_result(byte* result);

    [DllImport(Library)]
    private static extern void duckdb_free(nint pointer);

    [DllImport(Library)]
    private static extern void duckdb_disconnect(nint* connection);

    [DllImport(Library)]
    private static extern void duckdb_close(nint* database);

    [DllImport(Library)]
    private static extern nint duckdb_library_version();
}

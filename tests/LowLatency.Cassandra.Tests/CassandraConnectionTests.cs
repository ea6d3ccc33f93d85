using System.Diagnostics;
using Xunit.Abstractions;
using LowLatency.TestSupport.Cassandra;

namespace LowLatency.Cassandra.Tests;

[Collection(CassandraCollection.Name)]
public sealed class CassandraConnectionTests(CassandraServerFixture fixture, ITestOutputHelper output)
{
    private const string Keyspace = "lowlatency_client";

    private CassandraServer Server => fixture.Server;

    [CassandraFact]
    public async Task Connect_Cassandra21_NegotiatesProtocolV3()
    {
        await using var connection = Connect();
        await connection.ConnectAsync();

        Assert.Equal(3, connection.ProtocolVersion);
        Assert.Equal(1, connection.Connects);
        output.WriteLine($"Cassandra answered CQL {Server.StartTime.TotalSeconds:0.0} s after start; resident {Server.ResidentBytes / (1 << 20)} MiB");
    }

    [CassandraFact]
    public async Task QueryWithValues_EveryType_ReadsBackWhatWasWritten()
    {
        await using var connection = await WithTableAsync("types",
            "id uuid PRIMARY KEY, t text, a ascii, i int, b bigint, f float, d double, flag boolean, ts timestamp, data blob");
        var id = Guid.NewGuid();
        var nulls = Guid.NewGuid();
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_723_075_200_123);
        using var values = CqlValues.Of(id, "BTCUSDT ₿ 価格", "ascii only", -42, long.MinValue + 1, 1.25f, 61234.56789, true, at, new byte[] { 0, 1, 255 });
        await connection.ExecuteNonQueryAsync(
            $"INSERT INTO {Keyspace}.types (id, t, a, i, b, f, d, flag, ts, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values);
        using var nullValues = CqlValues.Of(nulls, null, null, null, null, null, null, null, null, null);
        await connection.ExecuteNonQueryAsync(
            $"INSERT INTO {Keyspace}.types (id, t, a, i, b, f, d, flag, ts, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", nullValues);

        using var rows = await connection.QueryAsync(
            $"SELECT id, t, a, i, b, f, d, flag, ts, data FROM {Keyspace}.types WHERE id = ?", CqlValues.Of(id));
        Assert.Equal(1, rows.Count);
        Assert.Equal(
            [CqlType.Uuid, CqlType.Varchar, CqlType.Ascii, CqlType.Int, CqlType.Bigint, CqlType.Float, CqlType.Double, CqlType.Boolean,
                CqlType.Timestamp, CqlType.Blob],
            rows.Columns.Select(c => c.Type));
        Assert.Equal(id, rows.GetGuid(0, 0));
        Assert.Equal("BTCUSDT ₿ 価格", rows.GetString(0, 1));
        Assert.Equal("ascii only", rows.GetString(0, 2));
        Assert.Equal(-42, rows.GetInt32(0, 3));
        Assert.Equal(long.MinValue + 1, rows.GetInt64(0, 4));
        Assert.Equal(1.25f, rows.GetSingle(0, 5));
        Assert.Equal(61234.56789, rows.GetDouble(0, 6));
        Assert.True(rows.GetBoolean(0, 7));
        Assert.Equal(at, rows.GetTimestamp(0, 8));
        Assert.Equal([0, 1, 255], rows.GetBytes(0, 9).ToArray());

        using var empty = await connection.QueryAsync($"SELECT * FROM {Keyspace}.types WHERE id = ?", CqlValues.Of(nulls));
        Assert.Equal(1, empty.Count);
        for (var column = 0; column < empty.Columns.Count; column++)
        {
            Assert.Equal(empty.Columns[column].Name == "id", !empty.IsNull(0, column));
        }
    }

    [CassandraFact]
    public async Task PrepareExecute_ReusedValues_WritesEveryRowAndCachesTheStatement()
    {
        await using var connection = await WithTableAsync("prepared", "symbol text, minute bigint, close double, PRIMARY KEY (symbol, minute)");
        var insert = await connection.PrepareAsync($"INSERT INTO {Keyspace}.prepared (symbol, minute, close) VALUES (?, ?, ?)");
        Assert.Same(insert, await connection.PrepareAsync($"INSERT INTO {Keyspace}.prepared (symbol, minute, close) VALUES (?, ?, ?)"));
        Assert.Equal(["symbol", "minute", "close"], insert.Variables.Select(v => v.Name));

        using var values = new CqlValues();
        for (var minute = 0L; minute < 50; minute++)
        {
            Assert.Equal(CqlResultKind.Void, await connection.ExecuteNonQueryAsync(insert, values.Clear().Add("ETHUSDT").Add(minute).Add(minute + 0.5)));
        }

        var select = await connection.PrepareAsync($"SELECT minute, close FROM {Keyspace}.prepared WHERE symbol = ?");
        using var rows = await connection.ExecuteAsync(select, values.Clear().Add("ETHUSDT"));
        Assert.Equal(50, rows.Count);
        for (var row = 0; row < rows.Count; row++)
        {
            Assert.Equal(row, rows.GetInt64(row, 0));
            Assert.Equal(row + 0.5, rows.GetDouble(row, 1));
        }

        Assert.Equal(1, insert.Prepares);
    }

    [CassandraFact]
    public async Task UnloggedBatch_RowsOfOnePartition_AllLand()
    {
        await using var connection = await WithTableAsync("batched", "symbol text, seq int, price double, PRIMARY KEY (symbol, seq)");
        var insert = await connection.PrepareAsync($"INSERT INTO {Keyspace}.batched (symbol, seq, price) VALUES (?, ?, ?)");
        using var batch = new CqlBatch();
        using var values = new CqlValues();
        for (var seq = 0; seq < 200; seq++)
        {
            batch.Add(insert, values.Clear().Add("SOLUSDT").Add(seq).Add(seq * 2.0));
        }

        batch.Add($"INSERT INTO {Keyspace}.batched (symbol, seq, price) VALUES ('SOLUSDT', ?, ?)", values.Clear().Add(1000).Add(-1.0));
        await connection.BatchAsync(batch);

        using var rows = await connection.QueryAsync($"SELECT seq, price FROM {Keyspace}.batched WHERE symbol = 'SOLUSDT'");
        Assert.Equal(201, rows.Count);
        Assert.Equal(Enumerable.Range(0, 200).Append(1000), Enumerable.Range(0, rows.Count).Select(r => rows.GetInt32(r, 0)));
        Assert.Equal(-1.0, rows.GetDouble(200, 1));
    }

    [CassandraFact]
    public async Task QueryPages_2500RowsInPagesOf100_ReadsEveryRowOnce()
    {
        await using var connection = await WithTableAsync("paged", "bucket int, seq int, PRIMARY KEY (bucket, seq)");
        var insert = await connection.PrepareAsync($"INSERT INTO {Keyspace}.paged (bucket, seq) VALUES (?, ?)");
        await Task.WhenAll(Enumerable.Range(0, 2500).Select(async seq =>
            await connection.ExecuteNonQueryAsync(insert, CqlValues.Of(seq % 7, seq))));

        var seen = new HashSet<int>();
        var pages = 0;
        await foreach (var page in connection.QueryPagesAsync($"SELECT seq FROM {Keyspace}.paged", pageSize: 100))
        {
            pages++;
            Assert.True(page.Count <= 100, $"page {pages} has {page.Count} rows");
            for (var row = 0; row < page.Count; row++)
            {
                Assert.True(seen.Add(page.GetInt32(row, 0)), $"row {page.GetInt32(row, 0)} came twice");
            }
        }

        Assert.Equal(2500, seen.Count);
        Assert.InRange(pages, 25, 26); // 25 full pages; the server may end with an empty one

        var select = await connection.PrepareAsync($"SELECT seq FROM {Keyspace}.paged WHERE bucket = ?");
        var bucket = 0;
        await foreach (var page in connection.ExecutePagesAsync(select, CqlValues.Of(3), pageSize: 50))
        {
            bucket += page.Count;
        }

        Assert.Equal(Enumerable.Range(0, 2500).Count(s => s % 7 == 3), bucket);
    }

    [CassandraFact]
    public async Task QueryPages_12000RowsAtTheDefaultPageSize_ReadsEveryRowOnceInThreePages()
    {
        // Issue 7 asks for paging over more than 10,000 rows: beyond two default pages (5,000), and past the 10,000
        // rows a single CQL page defaults to elsewhere (cqlsh's LIMIT, the drivers' fetch size of old).
        await using var connection = await WithTableAsync("paged_large", "bucket int, seq int, PRIMARY KEY (bucket, seq)");
        var insert = await connection.PrepareAsync($"INSERT INTO {Keyspace}.paged_large (bucket, seq) VALUES (?, ?)");
        await Task.WhenAll(Enumerable.Range(0, 120).Select(async chunk =>
        {
            using var batch = new CqlBatch();
            using var values = new CqlValues();
            for (var seq = chunk * 100; seq < (chunk + 1) * 100; seq++)
            {
                batch.Add(insert, values.Clear().Add(chunk % 12).Add(seq));
            }

            await connection.BatchAsync(batch);
        }));

        var seen = new HashSet<int>();
        var pages = 0;
        await foreach (var page in connection.QueryPagesAsync($"SELECT seq FROM {Keyspace}.paged_large"))
        {
            pages++;
            Assert.True(page.Count <= connection.Options.PageSize, $"page {pages} has {page.Count} rows");
            for (var row = 0; row < page.Count; row++)
            {
                Assert.True(seen.Add(page.GetInt32(row, 0)), $"row {page.GetInt32(row, 0)} came twice");
            }
        }

        Assert.Equal(Enumerable.Range(0, 12_000), seen.Order());
        Assert.InRange(pages, 3, 4); // 5,000 + 5,000 + 2,000; the server may end with an empty page
    }

    [CassandraFact]
    public async Task ConcurrentRequests_2000InsertsOnOneConnection_AllAnsweredWithStreamIdsReused()
    {
        await using var connection = Connect(o => o with { MaxRequestsInFlight = 64 });
        await CreateTableAsync(connection, "concurrent", "id int PRIMARY KEY, note text");
        var insert = await connection.PrepareAsync($"INSERT INTO {Keyspace}.concurrent (id, note) VALUES (?, ?)");
        var peak = 0;
        var tasks = Enumerable.Range(0, 2000).Select(async id =>
        {
            var pending = connection.ExecuteNonQueryAsync(insert, CqlValues.Of(id, $"note {id}"));
            InterlockedMax(ref peak, connection.InFlight);
            await pending;
        }).ToArray();
        await Task.WhenAll(tasks);

        using var count = await connection.QueryAsync($"SELECT COUNT(*) FROM {Keyspace}.concurrent");
        Assert.Equal(2000, count.GetInt64(0, 0));
        Assert.Equal(1, connection.Connects);
        Assert.True(peak > 1, $"at most {peak} request was in flight at once");
        Assert.True(peak <= 64, $"{peak} requests in flight, more than the 64 stream ids");
        Assert.Equal(0, connection.InFlight);
    }

    [CassandraFact]
    public async Task ExecuteNonQuery_PreparedWritesAfterWarmUp_AllocateNothingPerRequest()
    {
        await using var connection = await WithTableAsync("allocations", "symbol text, seq bigint, price double, PRIMARY KEY (symbol, seq)");
        var insert = await connection.PrepareAsync($"INSERT INTO {Keyspace}.allocations (symbol, seq, price) VALUES (?, ?, ?)");
        using var values = new CqlValues();
        async Task WriteAsync(long from, int count)
        {
            for (var seq = from; seq < from + count; seq++)
            {
                await connection.ExecuteNonQueryAsync(insert, values.Clear().Add("BTCUSDT"u8).Add(seq).Add(64_000.5));
            }
        }

        await WriteAsync(0, 500);
        const int Requests = 2_000;
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await WriteAsync(500, Requests);
        var perRequest = (GC.GetTotalAllocatedBytes(precise: true) - before) / Requests;

        // Process-wide (the read loop, thread-pool hops and whatever else runs meanwhile, such as the other collection's
        // server log): no frame, buffer, row set or state machine per request. Measured here: 3 bytes per write.
        output.WriteLine($"{perRequest} bytes allocated per prepared write");
        Assert.True(perRequest < 128, $"{perRequest} bytes allocated per prepared write");
    }

    [CassandraFact]
    public async Task Query_SyntaxError_ThrowsWithTheCode()
    {
        await using var connection = Connect();

        var error = await Assert.ThrowsAsync<CassandraException>(async () => await connection.ExecuteNonQueryAsync("SELEKT * FROM nowhere"));
        Assert.Equal(CassandraErrorCode.SyntaxError, error.Code);
        Assert.Contains("SyntaxError (0x2000)", error.Message, StringComparison.Ordinal);
        Assert.NotEmpty(error.ServerMessage);
        // The connection survives a server error.
        using var rows = await connection.QueryAsync("SELECT release_version FROM system.local");
        Assert.StartsWith("2.1", rows.GetString(0, 0), StringComparison.Ordinal);
    }

    [CassandraFact]
    public async Task Query_UnknownKeyspace_ThrowsInvalid()
    {
        await using var connection = Connect();

        var error = await Assert.ThrowsAsync<CassandraException>(async () => await connection.ExecuteNonQueryAsync("SELECT * FROM no_such_keyspace.t"));
        Assert.Equal(CassandraErrorCode.Invalid, error.Code);
        Assert.Contains("no_such_keyspace", error.ServerMessage, StringComparison.Ordinal);
    }

    [CassandraFact]
    public async Task CreateTable_Twice_ThrowsAlreadyExistsNamingIt()
    {
        await using var connection = await WithTableAsync("twice", "id int PRIMARY KEY");

        var error = await Assert.ThrowsAsync<CassandraAlreadyExistsException>(async () =>
            await connection.ExecuteNonQueryAsync($"CREATE TABLE {Keyspace}.twice (id int PRIMARY KEY)"));
        Assert.Equal(CassandraErrorCode.AlreadyExists, error.Code);
        Assert.Equal((Keyspace, "twice"), (error.Keyspace, error.Table));
    }

    [CassandraFact]
    public async Task Use_Keyspace_IsReappliedAfterAReconnect()
    {
        await using var connection = await WithTableAsync("used", "id int PRIMARY KEY");
        using (var use = await connection.QueryAsync($"USE {Keyspace}"))
        {
            Assert.Equal(Keyspace, use.Keyspace);
        }

        connection.DropConnection();
        await connection.ExecuteNonQueryAsync("INSERT INTO used (id) VALUES (1)");

        Assert.Equal(2, connection.Connects);
    }

    [CassandraFact]
    public async Task DropConnection_InFlightRequestsFail_NextRequestReconnectsAndPreparesAgain()
    {
        await using var connection = await WithTableAsync("dropped", "id int PRIMARY KEY");
        var insert = await connection.PrepareAsync($"INSERT INTO {Keyspace}.dropped (id) VALUES (?)");
        await connection.ExecuteNonQueryAsync(insert, CqlValues.Of(1));

        var inFlight = Enumerable.Range(100, 200).Select(id => connection.ExecuteNonQueryAsync(insert, CqlValues.Of(id)).AsTask()).ToArray();
        connection.DropConnection();
        var outcomes = await Task.WhenAll(inFlight.Select(async t =>
        {
            try
            {
                await t;
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        }));
        Assert.All(outcomes.Where(e => e is not null), e => Assert.IsType<CassandraConnectionException>(e));

        await connection.ExecuteNonQueryAsync(insert, CqlValues.Of(2));
        Assert.Equal(2, connection.Connects);
        Assert.Equal(2, insert.Prepares);
        using var rows = await connection.QueryAsync($"SELECT id FROM {Keyspace}.dropped WHERE id IN (1, 2)");
        Assert.Equal(2, rows.Count);
    }

    [CassandraFact]
    public async Task ServerRestart_NextRequestSucceeds_AndStatementsArePreparedAgain()
    {
        await using var connection = await WithTableAsync("restarted", "id int PRIMARY KEY, v text");
        var insert = await connection.PrepareAsync($"INSERT INTO {Keyspace}.restarted (id, v) VALUES (?, ?)");
        await connection.ExecuteNonQueryAsync(insert, CqlValues.Of(1, "before"));

        Server.Stop();
        await Assert.ThrowsAsync<CassandraConnectionException>(async () => await connection.ExecuteNonQueryAsync(insert, CqlValues.Of(2, "down")));
        Server.Start();

        await connection.ExecuteNonQueryAsync(insert, CqlValues.Of(3, "after"));
        Assert.Equal(2, connection.Connects);
        Assert.Equal(2, insert.Prepares);
        using var rows = await connection.QueryAsync($"SELECT id, v FROM {Keyspace}.restarted WHERE id IN (1, 3)");
        // Only the row written after the restart is asserted: a node killed with commitlog_sync periodic (the default)
        // may lose writes it acknowledged in the last sync period (seen here: row 1 was gone after the kill).
        Assert.Contains((3, "after"), Enumerable.Range(0, rows.Count).Select(r => (rows.GetInt32(r, 0), rows.GetString(r, 1))));
    }

    [CassandraFact]
    public async Task ServerPaused_RequestTimesOut_ThenTheConnectionServesTheNextRequest()
    {
        await using var connection = Connect(o => o with { RequestTimeout = TimeSpan.FromSeconds(1), MaxRequestsInFlight = 4 });
        await connection.ConnectAsync();
        var pid = Server.ProcessId ?? throw new InvalidOperationException("The server is not running.");

        Signal("STOP", pid);
        try
        {
            var started = Stopwatch.StartNew();
            var error = await Record.ExceptionAsync(async () => await connection.ExecuteNonQueryAsync("SELECT * FROM system.local"));
            Assert.True(error is CassandraTimeoutException, $"expected a CassandraTimeoutException, got: {error}");
            Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
        }
        finally
        {
            Signal("CONT", pid);
        }

        // The late answer frees its stream id; the connection was never dropped.
        for (var i = 0; i < 8; i++)
        {
            using var rows = await connection.QueryAsync("SELECT release_version FROM system.local");
            Assert.Equal(1, rows.Count);
        }

        Assert.Equal(1, connection.Connects);
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", $"-{signal} {pid}");
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private CassandraConnection Connect(Func<CassandraOptions, CassandraOptions>? configure = null)
    {
        var options = new CassandraOptions { Host = Server.Host, Port = Server.Port };
        return new CassandraConnection(configure is null ? options : configure(options));
    }

    private async Task<CassandraConnection> WithTableAsync(string table, string columns)
    {
        var connection = Connect();
        await CreateTableAsync(connection, table, columns);
        return connection;
    }

    private static async Task CreateTableAsync(CassandraConnection connection, string table, string columns)
    {
        await connection.ExecuteNonQueryAsync(
            $"CREATE KEYSPACE IF NOT EXISTS {Keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}");
        await connection.ExecuteNonQueryAsync($"DROP TABLE IF EXISTS {Keyspace}.{table}");
        await connection.ExecuteNonQueryAsync($"CREATE TABLE {Keyspace}.{table} ({columns})");
    }
}

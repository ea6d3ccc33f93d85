using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using LowLatency.Parquet.Format;
using LowLatency.Parquet.Reading;
using LowLatency.Parquet.Writing;
using LowLatency.Perf.Harness;
using LowLatency.TestSupport.Duckdb;
using LowLatency.TestSupport.Parquet;

namespace LowLatency.Perf.Scenarios.Parquet;

/// <summary>The Parquet cold tier's writer, compared with DuckDB's own Parquet writer on the same rows.</summary>
internal static class ParquetScenarios
{
    /// <summary>The group name on the command line.</summary>
    public const string Category = "parquet";

    public static IEnumerable<IScenario> All() => [new ParquetWriteScenario()];
}

/// <summary>
/// <c>parquet-write</c>, issue 7's targets: our <see cref="ParquetFileWriter"/> writes min(<c>--events</c>, 1 M)
/// <see cref="SampleCandles"/> rows (those of <c>ParquetWriterBenchmarks</c>: symbol dictionary-encoded, open and close time in
/// milliseconds, five doubles, an int64 trade count) to one SNAPPY file on one pinned thread, with the writer's default
/// layout (one row group of up to 1 M rows, 1 MiB pages) and no fsync. Measured: rows/s from <c>Create</c> to
/// <c>Complete</c>. In every run, right after it and on the same rows, DuckDB's
/// <c>COPY candles TO '…' (FORMAT parquet, COMPRESSION snappy)</c> from an in-memory table is timed with
/// <c>SET threads = 1</c> (<c>+ duckdb-copy-1t</c>) and with DuckDB's default thread count (<c>+ duckdb-copy</c>): only
/// the COPY statement, the table is loaded once per process from a file we wrote. Because this machine is shared and
/// wall time stretches with its load, each also reports rows per second of CPU time the process used (<c>-cpu</c>
/// rates; for DuckDB's default threads that sums its threads). Verified: DuckDB (or, without it, our reader) finds
/// every row and the sums of two columns in our file, and the same row count in each of its own files.
/// </summary>
/// <remarks>
/// DuckDB comes from <c>.ci/duckdb.sh</c> (<c>LOWLATENCY_DUCKDB_LIB</c>). Without it the scenario still measures our
/// writer, says in the report's wait column and on standard error that the comparison was skipped, and verifies the
/// file with our own reader.
/// </remarks>
internal sealed class ParquetWriteScenario : IScenario
{
    /// <summary>Rows per run at most: the benchmark's million, about a second per run and writer on this machine.</summary>
    internal const long MaxRows = 1_000_000;

    private static SampleCandles? s_rows;
    private static DuckdbCopy? s_duckdb;
    private static bool s_reportedMissingDuckdb;

    public string Name => "parquet-write";

    public ScenarioKind Kind => ScenarioKind.Throughput;

    public string Category => ParquetScenarios.Category;

    public string Description =>
        $"min(--events, {MaxRows:N0}) candle rows -> ParquetFileWriter, SNAPPY, one pinned thread, no fsync; in the same run DuckDB's " +
        "COPY of the same rows from an in-memory table to SNAPPY Parquet with threads=1 (+ duckdb-copy-1t) and its default threads (+ duckdb-copy).";

    public string? Baseline => null;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var rows = s_rows is { } cached && cached.Count == Math.Min(context.Options.Events, MaxRows)
            ? cached
            : s_rows = new SampleCandles((int)Math.Min(context.Options.Events, MaxRows));
        var directory = Directory.CreateTempSubdirectory("lowlatency-perf-parquet-").FullName;
        try
        {
            var path = Path.Combine(directory, "ours.parquet");
            var gate = new StartGate();
            var signal = new CompletionSignal();
            double cpuSeconds = 0;
            var writer = context.StartThread("writer", context.NextCpu(), () =>
            {
                gate.Wait();
                var cpuBefore = ProcessCpu.Seconds();
                Write(rows, path);
                signal.Complete(Stopwatch.GetTimestamp());

                // Read by the main thread after it has joined this one.
                cpuSeconds = ProcessCpu.Seconds() - cpuBefore;
            });

            var window = context.BeginMeasurement();
            gate.Open();
            context.AwaitCompletion(signal, ScenarioContext.Timeout(rows.Count, nanosecondsPerEvent: 10_000), progress: null, writer);
            var measurement = window.End(signal.EndTimestamp);

            var duckdb = DuckdbCopy.Get(ref s_duckdb, rows, path);
            if (duckdb is null)
            {
                VerifyWithOurReader(rows, path);
                if (!s_reportedMissingDuckdb)
                {
                    s_reportedMissingDuckdb = true;
                    Console.Error.WriteLine($"parquet-write: the DuckDB comparison is skipped. {DuckdbAvailability.MissingReason}");
                }

                return context.CreateResult(rows.Count, measurement, "DuckDB absent: no comparison", ringSize: 0) with
                {
                    OtherRates = new Dictionary<string, double> { ["ours-cpu"] = rows.Count / cpuSeconds },
                };
            }

            duckdb.Verify(path, rows);
            var (single, singleCpu) = duckdb.TimeCopy(Path.Combine(directory, "duckdb-1t.parquet"), threads: 1);
            var (parallel, parallelCpu) = duckdb.TimeCopy(Path.Combine(directory, "duckdb.parquet"), threads: null);
            return context.CreateResult(rows.Count, measurement, $"vs DuckDB {DuckdbConnection.Version}, default threads {duckdb.DefaultThreads}", ringSize: 0) with
            {
                OtherRates = new Dictionary<string, double>
                {
                    ["duckdb-copy-1t"] = rows.Count / single,
                    ["duckdb-copy"] = rows.Count / parallel,
                    ["ours-cpu"] = rows.Count / cpuSeconds,
                    ["duckdb-copy-1t-cpu"] = rows.Count / singleCpu,
                    ["duckdb-copy-cpu"] = rows.Count / parallelCpu,
                },
            };
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>One file with the writer's defaults, SNAPPY, no fsync (DuckDB's COPY does not sync either).</summary>
    private static void Write(SampleCandles rows, string path)
    {
        using var writer = ParquetFileWriter.Create(path, SampleCandles.Schema, new ParquetWriterOptions { Codec = CompressionCodec.Snappy, FlushToDisk = false });
        rows.WriteTo(writer);
        writer.Complete();
    }

    private static void VerifyWithOurReader(SampleCandles rows, string path)
    {
        using var reader = ParquetFileReader.Open(path);
        if (reader.RowCount != rows.Count)
        {
            throw new VerificationException($"our reader finds {reader.RowCount:N0} rows in the file, {rows.Count:N0} were written.");
        }
    }

    /// <summary>An in-memory DuckDB holding the rows as table <c>candles</c>, loaded once per process from our first file.</summary>
    private sealed class DuckdbCopy
    {
        private readonly DuckdbConnection _connection;

        private DuckdbCopy(DuckdbConnection connection, string defaultThreads)
        {
            _connection = connection;
            DefaultThreads = defaultThreads;
        }

        /// <summary>DuckDB's <c>threads</c> setting before this scenario changes it.</summary>
        public string DefaultThreads { get; }

        /// <summary>The loaded database, or null where DuckDB is absent.</summary>
        public static DuckdbCopy? Get(ref DuckdbCopy? cached, SampleCandles rows, string ourFile)
        {
            if (DuckdbAvailability.LibraryPath is null)
            {
                return null;
            }

            if (cached is null)
            {
                var connection = new DuckdbConnection();
                var defaultThreads = connection.Scalar("SELECT current_setting('threads')") ?? "?";
                cached = new DuckdbCopy(connection, defaultThreads);
            }

            // Reloaded when --events changes the row count between scenarios of one process (never within a scenario).
            if (cached._connection.Scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'candles'") == "0"
                || cached._connection.Scalar("SELECT count(*) FROM candles") != rows.Count.ToString(CultureInfo.InvariantCulture))
            {
                cached._connection.Query($"CREATE OR REPLACE TABLE candles AS SELECT * FROM read_parquet({DuckdbConnection.Literal(ourFile)})");
            }

            return cached;
        }

        /// <summary>Checks our file: every row, and the sums of trades and open_time.</summary>
        public void Verify(string ourFile, SampleCandles rows)
        {
            var row = _connection.Query($"SELECT count(*), sum(trades), sum(epoch_ms(open_time)) FROM read_parquet({DuckdbConnection.Literal(ourFile)})").Single();
            var expected = new[] { rows.Count.ToString(CultureInfo.InvariantCulture), rows.TradesSum.ToString(CultureInfo.InvariantCulture), rows.OpenTimeSum.ToString(CultureInfo.InvariantCulture) };
            if (!row.SequenceEqual(expected))
            {
                throw new VerificationException($"DuckDB reads count, sum(trades), sum(open_time) = {string.Join(", ", row)} from our file; expected {string.Join(", ", expected)}.");
            }
        }

        /// <summary>Seconds of wall time and of process CPU time the COPY statement alone took, with
        /// <paramref name="threads"/> or DuckDB's default.</summary>
        public (double Seconds, double CpuSeconds) TimeCopy(string path, int? threads)
        {
            _connection.Query(threads is { } n ? $"SET threads = {n}" : $"SET threads = {DefaultThreads}");
            var cpuBefore = ProcessCpu.Seconds();
            var start = Stopwatch.GetTimestamp();
            _connection.Query($"COPY candles TO {DuckdbConnection.Literal(path)} (FORMAT parquet, COMPRESSION snappy)");
            var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            var cpuSeconds = ProcessCpu.Seconds() - cpuBefore;
            var count = _connection.Scalar($"SELECT count(*) FROM read_parquet({DuckdbConnection.Literal(path)})");
            if (count != _connection.Scalar("SELECT count(*) FROM candles"))
            {
                throw new VerificationException($"DuckDB's own file holds {count} rows.");
            }

            return (seconds, cpuSeconds);
        }
    }

    /// <summary>CPU time of the whole process (every thread), from <c>clock_gettime(CLOCK_PROCESS_CPUTIME_ID)</c>:
    /// nanosecond resolution, no allocation.</summary>
    private static unsafe class ProcessCpu
    {
        private const int ClockProcessCpuTimeId = 2;

        public static double Seconds()
        {
            Timespec time;
            return clock_gettime(ClockProcessCpuTimeId, &time) == 0 ? time.Seconds + (time.Nanoseconds / 1e9) : double.NaN;
        }

        [DllImport("libc", SetLastError = false)]
        private static extern int clock_gettime(int clock, Timespec* time);

        private struct Timespec
        {
            public long Seconds;
            public long Nanoseconds;
        }
    }
}

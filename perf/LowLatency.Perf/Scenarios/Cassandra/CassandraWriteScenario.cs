using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LowLatency.Aggregation;
using LowLatency.Cassandra;
using LowLatency.Cassandra.Sink;
using LowLatency.Market;
using LowLatency.Perf.Harness;
using LowLatency.Perf.Scenarios.Binance;
using LowLatency.Sinks.Batching;
using LowLatency.TestSupport.Cassandra;

namespace LowLatency.Perf.Scenarios.Cassandra;

/// <summary>The Cassandra scenarios (group <c>cassandra</c>).</summary>
internal static class CassandraScenarios
{
    /// <summary>The group name on the command line.</summary>
    public const string Category = "cassandra";

    public static IEnumerable<IScenario> All() => [new CassandraWriteScenario()];
}

/// <summary>
/// <c>cassandra-write</c>: issue 7's target, the Cassandra sink at least 2× the Node <c>cassandra-driver</c> with
/// <c>executeConcurrent</c>, both writing the same rows of the sink's <c>assets</c> table to the same Cassandra 2.1 node
/// in the same run. Each run writes min(<c>--events</c>, 100,000) rows over 64 symbols (partitions) twice, into fresh
/// keyspaces of their own, the two writers taking turns at going first: (a) the Node driver (<c>node-writer.js</c>,
/// concurrency 100, its default), reported as <c>+ node-driver</c>; (b) the main rate: our
/// <see cref="CassandraSinkWriter"/> behind a <see cref="BatchingSink{TWriter}"/> with the daemon's default options
/// (batches of 1,000 events, 2 in flight), fed by one thread as the output ring would feed it under load (one ring batch:
/// every sink batch full), measured from the first event to the end of the drain (every write acknowledged).
/// Experiments: <c>SINK_BATCH_SIZE</c> and <c>SINK_MAX_IN_FLIGHT</c> (the daemon's variables) and
/// <c>LOWLATENCY_PERF_CASSANDRA_ROWS_PER_BATCH</c> change our side's options.
/// Verified: each keyspace holds exactly the rows written, partition by partition.
/// </summary>
/// <remarks>
/// One node serves every run (started at the first run, ~8 s and ~830 MB; killed when the process exits), so the
/// server's JVM is warm after the warm-up run; keyspaces are dropped after each run. The node runs on the same 2 cores
/// as the writers: both figures include competing with it, as a co-located Cassandra would.
/// </remarks>
internal sealed class CassandraWriteScenario : IScenario
{
    /// <summary>Rows per writer and run at most: ~10 s for the Node driver at its 8k-10k rows/s.</summary>
    internal const long MaxRows = 100_000;

    /// <summary>Partitions (asset names) the rows spread over.</summary>
    internal const int Symbols = 64;

    /// <summary>executeConcurrent's own default concurrency level.</summary>
    private const int NodeConcurrency = 100;

    private const long BaseOpenMs = 1_723_161_240_000;

    /// <summary>Sets <see cref="CassandraSinkOptions.RowsPerBatch"/> for an experiment (the daemon has no variable for it).</summary>
    private const string RowsPerBatchVariable = "LOWLATENCY_PERF_CASSANDRA_ROWS_PER_BATCH";

    private static readonly Lazy<CassandraServer> s_server = new(StartServer);
    private static int s_keyspaces;

    public string Name => "cassandra-write";

    public ScenarioKind Kind => ScenarioKind.Throughput;

    public string Category => CassandraScenarios.Category;

    public string Description =>
        $"Cassandra 2.1 node (one for all runs); per run min(--events, {MaxRows:N0}) rows of the assets table over {Symbols} partitions, " +
        $"written by the Node cassandra-driver (executeConcurrent, concurrency {NodeConcurrency}; '+ node-driver') and by BatchingSink + " +
        "CassandraSinkWriter (daemon defaults), alternating which goes first; rows/s.";

    public string? Baseline => null;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var rows = Math.Max(Symbols, Math.Min(context.Options.Events, MaxRows) / Symbols * Symbols);
        var server = s_server.Value;
        var nodeFirst = context.RunNumber % 2 == 0;
        (double RowsPerSecond, string Cpu) node = default;
        if (nodeFirst)
        {
            node = RunNodeDriver(server, rows);
        }

        var (measurement, sinkCounters) = RunSink(context, server, rows);
        if (!nodeFirst)
        {
            node = RunNodeDriver(server, rows);
        }

        var oursRowsPerSecond = rows / measurement.Elapsed.TotalSeconds;
        var nodeRowsPerSecond = node.RowsPerSecond;
        return context.CreateResult(rows, measurement,
            string.Create(CultureInfo.InvariantCulture,
                $"ours/node {oursRowsPerSecond / nodeRowsPerSecond:F2}x ({oursRowsPerSecond:N0} vs {nodeRowsPerSecond:N0} rows/s, {(nodeFirst ? "node" : "ours")} first; ours: {sinkCounters}; node: {node.Cpu})"),
            ringSize: 0) with
        {
            OtherRates = new Dictionary<string, double> { ["node-driver"] = nodeRowsPerSecond },
        };
    }

    /// <summary>Row <paramref name="i"/> of a run, as a kline passed through the engine (keep in step with node-writer.js).</summary>
    internal static OutputEvent Row(long i, int symbolId)
    {
        var openMs = BaseOpenMs + (i / Symbols * 60_000);
        var price = 10_000_000_000 + (i % 997 * 1_000_000); // 100 + (i % 997) * 0.01, 8 decimals
        var e = new OutputEvent { Kind = OutputKind.Kline, SymbolId = symbolId };
        e.Kline.Data = new KlineData
        {
            OpenTimeNs = openMs * 1_000_000,
            CloseTimeNs = (openMs + 59_999) * 1_000_000,
            Open = new Price(price),
            High = new Price(price + 100_000_000),
            Low = new Price(price - 100_000_000),
            Close = new Price(price + 50_000_000),
            Volume = new Quantity(1_234_500_000 + (i % 13 * 100_000_000)),
            QuoteVolume = new Quantity(76_345_678_900_000 + (i % 101 * 100_000_000)),
            TradeCount = 1000 + (i % 500),
            Interval = KlineInterval.Minute1,
            IsClosed = (i & 1) == 0,
            RecordId = Guid.CreateVersion7(),
        };
        e.Kline.EventTimeNs = (openMs + 60_123) * 1_000_000;
        e.Kline.ReceiveTimeNs = (openMs + 60_456) * 1_000_000;
        return e;
    }

    private static (Measurement Measurement, string Counters) RunSink(ScenarioContext context, CassandraServer server, long rows)
    {
        var symbols = new SymbolTable(Symbols * 2);
        var ids = Enumerable.Range(0, Symbols).Select(s => symbols.GetOrAdd(SymbolName(s))).ToArray();
        var events = new OutputEvent[rows];
        for (var i = 0L; i < rows; i++)
        {
            events[i] = Row(i, ids[i % Symbols]);
        }

        var options = SinkOptions(server, NewKeyspace("ours")) with
        {
            RowsPerBatch = Variable(RowsPerBatchVariable, new CassandraSinkOptions().RowsPerBatch),
        };
        var writer = CassandraSinkWriter.OpenAsync(options).GetAwaiter().GetResult(); // schema and prepares: before the clock
        var journal = Directory.CreateTempSubdirectory("lowlatency-perf-cassandra-").FullName;
        try
        {
            var sinkOptions = new BatchingSinkOptions
            {
                Name = "cassandra",
                JournalDirectory = journal,
                BatchSize = Variable("SINK_BATCH_SIZE", new BatchingSinkOptions { Name = "default" }.BatchSize),
                MaxInFlightBatches = Variable("SINK_MAX_IN_FLIGHT", new BatchingSinkOptions { Name = "default" }.MaxInFlightBatches),
            };
            using var sink = new BatchingSink<CassandraSinkWriter>(sinkOptions, writer, symbols);
            var gate = new StartGate();
            var signal = new CompletionSignal();
            var drained = false;
            var feeder = context.StartThread("sink", context.NextCpu(), () =>
            {
                gate.Wait();
                for (var i = 0; i < events.Length; i++)
                {
                    sink.OnEvent(in events[i], endOfBatch: i == events.Length - 1);
                }

                drained = sink.Drain(TimeSpan.FromMinutes(2));
                signal.Complete(Stopwatch.GetTimestamp());
            });

            var window = context.BeginMeasurement();
            var cpuBefore = ThreadCpu.Capture(server.ProcessId ?? 0, "cassandra");
            gate.Open();
            context.AwaitCompletion(signal, ScenarioContext.Timeout(rows, nanosecondsPerEvent: 500_000), progress: null, feeder);
            var measurement = window.End(signal.EndTimestamp);
            var cpu = ThreadCpu.PerMessage(cpuBefore, ThreadCpu.Capture(server.ProcessId ?? 0, "cassandra"), rows).Replace("µs/msg", "µs/row", StringComparison.Ordinal);
            var c = sink.Counters;
            if (!drained || c.EventsWritten != rows || c.Failures != 0)
            {
                throw new VerificationException($"the sink wrote {c.EventsWritten:N0} of {rows:N0} rows ({c.Failures} failures, drained: {drained}).");
            }

            VerifyAndDrop(server, options.Keyspace, rows);
            return (measurement, string.Create(CultureInfo.InvariantCulture,
                $"{c.Batches:N0} sink batches of {sinkOptions.BatchSize:N0} ({sinkOptions.MaxInFlightBatches} in flight), ≤ {options.RowsPerBatch} rows per BATCH, {c.Retries} retries, {cpu}"));
        }
        finally
        {
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Directory.Delete(journal, recursive: true);
        }
    }

    /// <summary>Runs node-writer.js into a fresh keyspace (schema made by our sink, so it is the same); its rows/s, and the
    /// CPU per row of Cassandra (from node's start to its exit) and of node (its timed part).</summary>
    private static (double RowsPerSecond, string Cpu) RunNodeDriver(CassandraServer server, long rows)
    {
        var options = SinkOptions(server, NewKeyspace("node"));
        CassandraSinkWriter.OpenAsync(options).GetAwaiter().GetResult().DisposeAsync().AsTask().GetAwaiter().GetResult();

        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["NODE_PATH"] = NodeModules();
        foreach (var argument in (string[])[Path.Combine(AppContext.BaseDirectory, "node-writer.js"), server.Host, Text(server.Port), options.Keyspace, Text(rows), Text(Symbols), Text(NodeConcurrency)])
        {
            start.ArgumentList.Add(argument);
        }

        var cpuBefore = ThreadCpu.Capture(server.ProcessId ?? 0, "cassandra");
        using var node = Process.Start(start) ?? throw new RunAbortedException("could not start node.");
        var error = node.StandardError.ReadToEndAsync();
        var output = node.StandardOutput.ReadToEnd();
        if (!node.WaitForExit(TimeSpan.FromMinutes(5)) || node.ExitCode != 0)
        {
            throw new RunAbortedException($"node-writer.js failed (exit {(node.HasExited ? node.ExitCode : -1)}): {error.Result}{output}");
        }

        var cpu = ThreadCpu.PerMessage(cpuBefore, ThreadCpu.Capture(server.ProcessId ?? 0, "cassandra"), rows).Replace("µs/msg", "µs/row", StringComparison.Ordinal);

        using var result = JsonDocument.Parse(output);
        var root = result.RootElement;
        if (root.GetProperty("errors").GetInt32() != 0)
        {
            throw new VerificationException($"the Node driver failed {root.GetProperty("errors").GetInt32()} inserts, first: {root.GetProperty("firstError")}");
        }

        VerifyAndDrop(server, options.Keyspace, rows);
        return (rows / root.GetProperty("seconds").GetDouble(),
            string.Create(CultureInfo.InvariantCulture, $"{cpu}, node {root.GetProperty("cpuSeconds").GetDouble() * 1e6 / rows:0.00}"));
    }

    /// <summary>Checks that every partition holds exactly its rows, then drops the keyspace (memory and disk stay flat over runs).</summary>
    private static void VerifyAndDrop(CassandraServer server, string keyspace, long rows)
    {
        using var connection = new CassandraConnection(new CassandraOptions { Host = server.Host, Port = server.Port });
        for (var s = 0; s < Symbols; s++)
        {
            using var count = connection.QueryAsync($"SELECT COUNT(*) FROM {keyspace}.assets WHERE asset_name = '{SymbolName(s)}'").AsTask().GetAwaiter().GetResult();
            if (count.GetInt64(0, 0) != rows / Symbols)
            {
                throw new VerificationException($"{keyspace}.assets holds {count.GetInt64(0, 0):N0} rows of {SymbolName(s)}, not {rows / Symbols:N0}.");
            }
        }

        connection.ExecuteNonQueryAsync($"DROP KEYSPACE {keyspace}").AsTask().GetAwaiter().GetResult();
    }

    private static CassandraSinkOptions SinkOptions(CassandraServer server, string keyspace) => new()
    {
        Cassandra = new CassandraOptions { Host = server.Host, Port = server.Port },
        Keyspace = keyspace,
    };

    private static string NewKeyspace(string writer) => $"perf_{writer}_{Interlocked.Increment(ref s_keyspaces)}";

    private static string SymbolName(int s) => $"PERF{s:D3}USDT";

    /// <summary>An experiment's setting from the environment (the daemon's own variable where it has one), else the default.</summary>
    private static int Variable(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The Node driver's node_modules: <c>LOWLATENCY_NODE_CASSANDRA_DRIVER</c>, else the repository's <c>.ci/.tools/cassandra-driver</c>.</summary>
    private static string NodeModules()
    {
        if (Environment.GetEnvironmentVariable("LOWLATENCY_NODE_CASSANDRA_DRIVER") is { Length: > 0 } configured)
        {
            return configured;
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, ".ci", ".tools", "cassandra-driver", "node_modules");
            if (File.Exists(Path.Combine(candidate, "cassandra-driver", "package.json")))
            {
                return candidate;
            }
        }

        throw new RunAbortedException("the Node cassandra-driver is not installed: run `bash .ci/cassandra-driver.sh`.");
    }

    private static CassandraServer StartServer()
    {
        if (CassandraInstallation.Home is null || CassandraInstallation.JavaPath is null)
        {
            throw new RunAbortedException(CassandraInstallation.MissingReason);
        }

        var server = CassandraServer.Start();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Dispose(); // the java process is not our child's child: kill it
        return server;
    }
}

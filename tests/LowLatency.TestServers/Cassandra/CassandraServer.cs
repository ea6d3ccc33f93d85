using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LowLatency.TestSupport.Cassandra;

/// <summary>
/// A throwaway Apache Cassandra 2.1 on free ports of 127.0.0.1 (CQL and storage), with its own cassandra.yaml and its
/// data, commit log, saved caches and logs in a temporary directory; launched as <c>java ... CassandraDaemon</c>
/// (the recipe of shared/ENVIRONMENT.md: the bundled launcher's JVM flags are gone from Java 17). It can be stopped
/// and started again on the same ports with the same data (reconnect tests); at dispose the process tree is killed and
/// the directory deleted. About 830 MB and 5-20 s to start, so test collections share one.
/// </summary>
public sealed class CassandraServer : ThrowawayServer
{
    /// <summary>The default superuser Cassandra creates (some seconds after start) when the password authenticator is on.</summary>
    public const string DefaultUser = "cassandra";

    /// <inheritdoc cref="DefaultUser"/>
    public const string DefaultPassword = "cassandra";

    // java.base packages Cassandra 2.1 (jamm, netty, its off-heap code) reaches into; Java 17 closes them by default.
    private static readonly string[] s_openPackages =
    [
        "java.lang", "java.lang.reflect", "java.lang.ref", "java.lang.invoke", "java.util", "java.util.concurrent",
        "java.util.concurrent.atomic", "java.util.concurrent.locks", "java.util.regex", "java.nio", "java.nio.channels",
        "java.nio.charset", "java.io", "java.net", "java.math", "java.text", "java.time", "java.security", "sun.nio.ch",
        "sun.nio.cs", "jdk.internal.ref", "jdk.internal.misc", "jdk.internal.loader", "sun.security.action",
    ];

    private static readonly string[] s_exportPackages = ["jdk.internal.ref", "sun.nio.ch", "jdk.internal.misc"];

    private CassandraServer(bool passwordAuthenticator, bool durableCommitLog)
        : base("lowlatency-cassandra-")
    {
        PasswordAuthenticator = passwordAuthenticator;
        DurableCommitLog = durableCommitLog;
        Port = ServerProcess.FreePort();
        StoragePort = ServerProcess.FreePort();
        File.WriteAllText(Path.Combine(DataDirectory, "cassandra.yaml"), Yaml());
        // The bundled logback.xml logs DEBUG to stdout, a few lines per request: CPU on a shared 2-core machine, and
        // strings in the test process that captures them. INFO keeps start-up, schema changes and errors.
        File.WriteAllText(Path.Combine(DataDirectory, "logback.xml"), """
            <configuration>
              <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
                <encoder><pattern>%-5level %date{HH:mm:ss,SSS} %msg%n</pattern></encoder>
              </appender>
              <root level="INFO"><appender-ref ref="STDOUT" /></root>
            </configuration>
            """);
    }

    /// <summary>The CQL native-transport port.</summary>
    public int Port { get; }

    /// <summary>The inter-node port (unused by one node, but it must be free).</summary>
    public int StoragePort { get; }

    /// <summary>Whether logins are required (PasswordAuthenticator; user <see cref="DefaultUser"/>).</summary>
    public bool PasswordAuthenticator { get; }

    /// <summary>
    /// Whether a write is acknowledged only once its commit log is on disk (<c>commitlog_sync: batch</c>), so a kill loses
    /// nothing acknowledged. Otherwise periodic (Cassandra's default, every 10 s here): replay after a kill stops at the
    /// last sync, so writes acknowledged since then are gone (seen in the restart tests).
    /// </summary>
    public bool DurableCommitLog { get; }

    /// <summary>How long the last start took until the CQL port answered (and, with authentication, a login worked).</summary>
    public TimeSpan StartTime { get; private set; }

    /// <summary>Starts a server and waits until it answers CQL (and, with the authenticator, accepts the default login).</summary>
    public static CassandraServer Start(bool passwordAuthenticator = false, bool durableCommitLog = false) =>
        StartNew(new CassandraServer(passwordAuthenticator, durableCommitLog));

    /// <summary>Starts the server again (same ports, same data) after <see cref="ThrowawayServer.Stop"/>.</summary>
    /// <remarks>Declared here too, so <c>server.Start()</c> is not taken for the static factory.</remarks>
    public new void Start() => base.Start();

    /// <summary>Starts the server (same ports, same data after a stop) and waits until it is ready.</summary>
    protected override ServerProcess Launch()
    {
        var home = CassandraInstallation.Home ?? throw new InvalidOperationException(CassandraInstallation.MissingReason);
        var java = CassandraInstallation.JavaPath ?? throw new InvalidOperationException(CassandraInstallation.MissingReason);
        var lib = Path.Combine(home, "lib");
        string[] arguments =
        [
            "-cp", $"{Path.Combine(home, "conf")}:{lib}/*",
            $"-javaagent:{Path.Combine(lib, "jamm-0.2.6.jar")}",
            "-Xms512m", "-Xmx1g", "-Xss512k", "-XX:+UseSerialGC",
            .. s_openPackages.SelectMany(p => (string[])["--add-opens", $"java.base/{p}=ALL-UNNAMED"]),
            .. s_exportPackages.SelectMany(p => (string[])["--add-exports", $"java.base/{p}=ALL-UNNAMED"]),
            $"-Dcassandra.config=file://{Path.Combine(DataDirectory, "cassandra.yaml")}",
            "-Dcassandra-foreground=yes",
            $"-Dlogback.configurationFile={Path.Combine(DataDirectory, "logback.xml")}",
            $"-Dcassandra.logdir={Path.Combine(DataDirectory, "logs")}",
            $"-Dcassandra.storagedir={DataDirectory}",
            "-Djava.net.preferIPv4Stack=true",
            "org.apache.cassandra.service.CassandraDaemon",
        ];
        var started = Stopwatch.StartNew();
        var process = ServerProcess.Start(
            java,
            arguments,
            DataDirectory,
            $"Cassandra answering CQL on {Host}:{Port}{(PasswordAuthenticator ? " and accepting the default login" : string.Empty)}",
            () => Answers() && (!PasswordAuthenticator || LogsIn()),
            TimeSpan.FromSeconds(120));
        StartTime = started.Elapsed;
        return process;
    }

    private string Yaml()
    {
        string Dir(string name) => Path.Combine(DataDirectory, name);
        var yaml = new StringBuilder();
        yaml.AppendLine("cluster_name: lowlatency-test")
            .AppendLine("num_tokens: 1")
            .AppendLine("partitioner: org.apache.cassandra.dht.Murmur3Partitioner")
            .AppendLine(CultureInfo.InvariantCulture, $"authenticator: {(PasswordAuthenticator ? "PasswordAuthenticator" : "AllowAllAuthenticator")}")
            .AppendLine("authorizer: AllowAllAuthorizer")
            .AppendLine(CultureInfo.InvariantCulture, $"data_file_directories: [{Dir("data")}]")
            .AppendLine(CultureInfo.InvariantCulture, $"commitlog_directory: {Dir("commitlog")}")
            .AppendLine(CultureInfo.InvariantCulture, $"saved_caches_directory: {Dir("saved_caches")}")
            .AppendLine(DurableCommitLog ? "commitlog_sync: batch" : "commitlog_sync: periodic")
            .AppendLine(DurableCommitLog ? "commitlog_sync_batch_window_in_ms: 2" : "commitlog_sync_period_in_ms: 10000")
            .AppendLine("seed_provider:")
            .AppendLine("  - class_name: org.apache.cassandra.locator.SimpleSeedProvider")
            .AppendLine("    parameters:")
            .AppendLine("      - seeds: \"127.0.0.1\"")
            .AppendLine("listen_address: 127.0.0.1")
            .AppendLine("rpc_address: 127.0.0.1")
            .AppendLine(CultureInfo.InvariantCulture, $"storage_port: {StoragePort}")
            .AppendLine("start_native_transport: true")
            .AppendLine(CultureInfo.InvariantCulture, $"native_transport_port: {Port}")
            .AppendLine("start_rpc: false")
            .AppendLine("endpoint_snitch: SimpleSnitch")
            .AppendLine("auto_snapshot: false")
            .AppendLine("hinted_handoff_enabled: false")
            // Test tables are small: a large batch of one partition must not be refused for its size.
            .AppendLine("batch_size_warn_threshold_in_kb: 64");
        return yaml.ToString();
    }

    /// <summary>Whether the CQL port answers OPTIONS with SUPPORTED (protocol v3): accepting TCP is not yet serving CQL.</summary>
    private bool Answers() => Exchange(probe => probe.Request(0x05, []) == 0x06);

    /// <summary>Whether the default superuser can log in (SASL PLAIN after STARTUP answered AUTHENTICATE).</summary>
    private bool LogsIn() => Exchange(probe =>
    {
        if (probe.Request(0x01, StartupBody()) != 0x03)
        {
            return false;
        }

        var token = Encoding.UTF8.GetBytes($"\0{DefaultUser}\0{DefaultPassword}");
        var body = new byte[4 + token.Length];
        BinaryPrimitives.WriteInt32BigEndian(body, token.Length);
        token.CopyTo(body, 4);
        return probe.Request(0x0F, body) == 0x10;
    });

    private static byte[] StartupBody()
    {
        var body = new List<byte> { 0, 1 };
        foreach (var text in (string[])["CQL_VERSION", "3.0.0"])
        {
            body.Add(0);
            body.Add((byte)text.Length);
            body.AddRange(Encoding.ASCII.GetBytes(text));
        }

        return [.. body];
    }

    private bool Exchange(Func<Probe, bool> talk)
    {
        try
        {
            using var client = new TcpClient();
            client.ReceiveTimeout = client.SendTimeout = 5_000;
            client.Connect(IPAddress.Loopback, Port);
            return talk(new Probe(client.GetStream()));
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return false;
        }
    }

    /// <summary>Just enough CQL v3 framing to ask whether the server is ready, independent of the client under test.</summary>
    private readonly struct Probe(NetworkStream stream)
    {
        /// <summary>Sends one request on stream 0 and returns the opcode of the answer.</summary>
        public int Request(byte opcode, byte[] body)
        {
            var frame = new byte[9 + body.Length];
            frame[0] = 3;
            frame[4] = opcode;
            BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), body.Length);
            body.CopyTo(frame, 9);
            stream.Write(frame);
            var header = new byte[9];
            stream.ReadExactly(header);
            var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5));
            if (length is < 0 or > 1 << 20)
            {
                throw new IOException("Not a CQL answer.");
            }

            stream.ReadExactly(new byte[length]);
            return header[4];
        }
    }
}

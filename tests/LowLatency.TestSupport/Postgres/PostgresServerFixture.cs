using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace LowLatency.TestSupport.Postgres;

/// <summary>
/// A real PostgreSQL server for a test class (<c>IClassFixture&lt;PostgresServerFixture&gt;</c>): a throwaway cluster made
/// by initdb in a temporary directory and started by pg_ctl on a free port of 127.0.0.1, with its own socket directory,
/// so it never meets the system's service or another test run. Password authentication over TCP (scram-sha-256) with
/// <see cref="User"/> and <see cref="Password"/>, so a wrong password is a real authentication failure. When the tests
/// run as root, initdb and pg_ctl run as the <c>postgres</c> user (the server refuses to run as root) through runuser,
/// and the directories are handed to that user. <see cref="Stop"/> and <see cref="Start"/> take the server down and up
/// again on the same port and data (fault tests). Dispose stops it and removes the directory.
/// </summary>
public sealed class PostgresServerFixture : IDisposable
{
    /// <summary>The superuser initdb creates.</summary>
    public const string User = "postgres";

    /// <summary>The superuser's password.</summary>
    public const string Password = "lowlatency-test";

    /// <summary>The database initdb creates.</summary>
    public const string Database = "postgres";

    private const string ServerUser = "postgres";

    private static readonly bool s_root = Environment.UserName == "root";

    private readonly string? _bin;
    private readonly string _directory;
    private readonly string _data;
    private readonly string _sockets;
    private readonly string _log;

    /// <summary>Creates and starts the cluster, unless PostgreSQL is absent and the tests will skip.</summary>
    public PostgresServerFixture()
    {
        // As root, under /tmp: the server's user must be able to reach the directory, and root's TMPDIR may be private.
        _directory = Path.Combine(s_root ? "/tmp" : Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture, $"lowlatency-pg-{Environment.ProcessId}-{Guid.NewGuid():N}"));
        _data = Path.Combine(_directory, "data");
        _sockets = Path.Combine(_directory, "sockets");
        _log = Path.Combine(_directory, "server.log");
        _bin = PostgresAvailability.BinDirectory;
        if (!PostgresAvailability.ShouldRun)
        {
            return;
        }

        if (_bin is null)
        {
            throw new InvalidOperationException(PostgresAvailability.MissingReason);
        }

        try
        {
            Directory.CreateDirectory(_sockets);
            var passwordFile = Path.Combine(_directory, "password");
            File.WriteAllText(passwordFile, Password + "\n");
            if (s_root)
            {
                Run("chown", ["-R", ServerUser, _directory], asServerUser: false);
            }

            // Trust on the socket (nobody else can reach it: it is in our directory), passwords over TCP, where the tests connect.
            Run(Path.Combine(_bin, "initdb"), ["-D", _data, "-U", User, "--pwfile", passwordFile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-instructions"], asServerUser: s_root);
            File.Delete(passwordFile);
            Port = FreePort();
            Start();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Always 127.0.0.1.</summary>
    public string Host => "127.0.0.1";

    /// <summary>The server's TCP port, kept across <see cref="Stop"/> and <see cref="Start"/>.</summary>
    public int Port { get; }

    /// <summary>An Npgsql connection string for <see cref="User"/> on <see cref="Database"/>.</summary>
    public string ConnectionString => string.Create(
        CultureInfo.InvariantCulture,
        $"Host={Host};Port={Port};Username={User};Password={Password};Database={Database};SSL Mode=Disable");

    /// <summary>What the server logged (for failure messages).</summary>
    public string ServerLog => File.Exists(_log) ? File.ReadAllText(_log) : "(no server log)";

    /// <summary>Starts the server and waits until it accepts connections (pg_ctl -w).</summary>
    public void Start() => PgCtl(
        "start", "-w", "-t", "60", "-l", _log,
        "-o", string.Create(CultureInfo.InvariantCulture, $"-p {Port} -k {_sockets} -c listen_addresses=127.0.0.1 -c max_connections=50"));

    /// <summary>Stops the server (fast shutdown: open sessions are ended, as in a crash of the clients' view) and waits.</summary>
    public void Stop() => PgCtl("stop", "-w", "-t", "60", "-m", "fast");

    public void Dispose()
    {
        if (_bin is not null && File.Exists(Path.Combine(_data, "postmaster.pid")))
        {
            try
            {
                PgCtl("stop", "-w", "-t", "60", "-m", "immediate");
            }
            catch (InvalidOperationException)
            {
                // Already gone; the directory goes anyway.
            }
        }

        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private void PgCtl(params string[] arguments) => Run(Path.Combine(_bin!, "pg_ctl"), ["-D", _data, .. arguments], asServerUser: s_root);

    /// <summary>Runs a command to its end (as the server's user when root); throws with its output if it fails.</summary>
    private void Run(string file, string[] arguments, bool asServerUser)
    {
        var start = new ProcessStartInfo(asServerUser ? "runuser" : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asServerUser)
        {
            foreach (var a in (string[])["-u", ServerUser, "--", file])
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");

        // Read both streams to their end concurrently: a full pipe would block the child.
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(file)} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{output}{error.Result}\n{ServerLog}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

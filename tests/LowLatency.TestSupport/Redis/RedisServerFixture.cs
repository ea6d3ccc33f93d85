using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LowLatency.TestSupport.Redis;

/// <summary>
/// A throwaway <c>redis-server</c> on a free port of 127.0.0.1, in its own temporary directory, persisting nothing
/// (<c>--save '' --appendonly no</c>). It can be stopped and started again on the same port (reconnect tests) and is
/// killed at dispose. Extra arguments configure it like redis.conf lines (<c>--requirepass s</c>, <c>--user ...</c>).
/// </summary>
public sealed class RedisServer : IDisposable
{
    private readonly string[] _arguments;
    private readonly string _directory;
    private readonly StringBuilder _log = new();
    private Process? _process;

    private RedisServer(int port, string[] arguments)
    {
        Port = port;
        _arguments = arguments;
        _directory = Directory.CreateTempSubdirectory("lowlatency-redis-").FullName;
    }

    public int Port { get; }

    public string Host => "127.0.0.1";

    /// <summary>Whether the server process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>What the server printed (for failure messages).</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts a server on a free port and waits until it accepts connections.</summary>
    public static RedisServer Start(params string[] arguments)
    {
        var server = new RedisServer(FreePort(), arguments);
        try
        {
            server.Start();
        }
        catch
        {
            server.Dispose();
            throw;
        }

        return server;
    }

    /// <summary>Starts the server again (same port, same arguments, empty data) after <see cref="Stop"/>.</summary>
    public void Start()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("The Redis server is already running.");
        }

        var path = RedisAvailability.ServerPath ?? throw new InvalidOperationException(RedisAvailability.MissingReason);
        var start = new ProcessStartInfo(path)
        {
            WorkingDirectory = _directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", Host,
                     "--save", string.Empty, "--appendonly", "no", "--daemonize", "no", "--dir", _directory,
                     "--protected-mode", "no", .. _arguments])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start redis-server.");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        Poll.Until(
            () => process.HasExited || Accepts(),
            $"redis-server to accept connections on {Host}:{Port}",
            TimeSpan.FromSeconds(20),
            () => Log);
        if (process.HasExited)
        {
            throw new InvalidOperationException($"redis-server exited with code {process.ExitCode}:\n{Log}");
        }
    }

    /// <summary>Kills the server (no shutdown handshake: clients see the connection drop) and waits for it to go.</summary>
    public void Stop()
    {
        var process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }

        if (!process.HasExited)
        {
            process.Kill();
            process.WaitForExit(10_000);
        }

        process.Dispose();
    }

    /// <summary>Stops the server and starts it again on the same port.</summary>
    public void Restart()
    {
        Stop();
        Start();
    }

    public void Dispose()
    {
        Stop();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless.
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }

    private bool Accepts()
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// A real Redis for a test class (<c>IClassFixture&lt;RedisServerFixture&gt;</c>): one plain server started with the
/// fixture, plus any servers a test starts through <see cref="StartServer"/> (with a password, an ACL user, or to
/// restart), all killed at dispose. Tests sharing the plain server use their own keys or databases.
/// </summary>
public sealed class RedisServerFixture : IDisposable
{
    private readonly List<RedisServer> _servers = [];
    private readonly RedisServer? _server;

    /// <summary>Starts the plain server, unless redis-server is absent and the tests will skip.</summary>
    public RedisServerFixture() => _server = RedisAvailability.ShouldRun ? RedisServer.Start("--enable-debug-command", "yes") : null;

    /// <summary>The plain server (no password, 16 databases, DEBUG enabled so tests can ask for every RESP3 type).</summary>
    public RedisServer Server => _server ?? throw new InvalidOperationException(RedisAvailability.MissingReason);

    /// <summary>Starts another server with extra redis.conf arguments; it is killed with the fixture.</summary>
    public RedisServer StartServer(params string[] arguments)
    {
        var server = RedisServer.Start(arguments);
        lock (_servers)
        {
            _servers.Add(server);
        }

        return server;
    }

    public void Dispose()
    {
        _server?.Dispose();
        lock (_servers)
        {
            foreach (var server in _servers)
            {
                server.Dispose();
            }
        }
    }
}

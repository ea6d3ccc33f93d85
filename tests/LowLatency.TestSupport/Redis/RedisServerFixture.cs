using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace LowLatency.TestSupport.Redis;

/// <summary>
/// A throwaway <c>redis-server</c> on a free port of 127.0.0.1, in its own temporary directory, persisting nothing
/// (<c>--save '' --appendonly no</c>). It can be stopped and started again on the same port (reconnect tests) and is
/// killed at dispose. Extra arguments configure it like redis.conf lines (<c>--requirepass s</c>, <c>--user ...</c>).
/// </summary>
public sealed class RedisServer : ThrowawayServer
{
    private readonly string[] _arguments;

    private RedisServer(int port, string[] arguments)
        : base("lowlatency-redis-")
    {
        Port = port;
        _arguments = arguments;
    }

    public int Port { get; }

    /// <summary>Starts a server on a free port and waits until it accepts connections.</summary>
    public static RedisServer Start(params string[] arguments) => StartNew(new RedisServer(ServerProcess.FreePort(), arguments));

    /// <summary>Starts the server again (same port, same arguments, empty data) after <see cref="ThrowawayServer.Stop"/>.</summary>
    /// <remarks>Declared here too, so <c>server.Start()</c> is not taken for the static factory.</remarks>
    public new void Start() => base.Start();

    /// <summary>Starts redis-server (same port, same arguments, empty data) and waits until it accepts connections.</summary>
    protected override ServerProcess Launch()
    {
        var path = RedisAvailability.ServerPath ?? throw new InvalidOperationException(RedisAvailability.MissingReason);
        return ServerProcess.Start(
            path,
            ["--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", Host, "--save", string.Empty, "--appendonly", "no",
                "--daemonize", "no", "--dir", DataDirectory, "--protected-mode", "no", .. _arguments],
            DataDirectory,
            $"redis-server accepting connections on {Host}:{Port}",
            Accepts,
            TimeSpan.FromSeconds(20));
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

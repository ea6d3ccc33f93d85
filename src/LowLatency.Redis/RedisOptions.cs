using System.Text;

namespace LowLatency.Redis;

/// <summary>
/// How to reach and log in to one Redis server. Field names follow the environment variables users of the original
/// pipelines know (REDIS_HOST, REDIS_PORT, REDIS_PASSWORD, REDIS_USERNAME, REDIS_DB); the host parses those.
/// </summary>
public sealed record RedisOptions
{
    /// <summary>REDIS_HOST. Default <c>127.0.0.1</c>.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>REDIS_PORT. Default 6379.</summary>
    public int Port { get; init; } = 6379;

    /// <summary>REDIS_PASSWORD. Default none: no AUTH is sent. Never logged (see <see cref="ToString"/>).</summary>
    public string? Password { get; init; }

    /// <summary>REDIS_USERNAME, the ACL user (Redis 6+). Default none: <c>AUTH password</c> logs in as <c>default</c>.</summary>
    public string? Username { get; init; }

    /// <summary>REDIS_DB, the database SELECTed after connecting. Default 0 (no SELECT is sent).</summary>
    public int Database { get; init; }

    /// <summary>Whether to speak TLS (Redis built with TLS, or a TLS proxy). Default false.</summary>
    public bool Tls { get; init; }

    /// <summary>The name the server certificate must carry. Default <see cref="Host"/>.</summary>
    public string? TlsTargetHost { get; init; }

    /// <summary>
    /// REDIS_TLS_CA_FILE: a PEM file of the certificate authorities that sign the server's certificate, trusted instead of
    /// the system's (a private CA, as Redis deployments usually have). Default none: the system's trust store.
    /// </summary>
    public string? TlsCaFile { get; init; }

    /// <summary>2 for RESP2 (no HELLO, works with every server), 3 to send <c>HELLO 3</c> (Redis 6+). Default 2.</summary>
    public int Protocol { get; init; } = 2;

    /// <summary>Sent with <c>CLIENT SETNAME</c> (or HELLO's SETNAME) so operators see who is connected. Default none.</summary>
    public string? ClientName { get; init; }

    /// <summary>The limit on one TCP connect. Default 5 s. The asynchronous connect honours it exactly; the synchronous
    /// one (kept blocking so later receives do not allocate) bounds the kernel's SYN retries to about this long on Linux.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The limit on one send or one receive; a server silent for longer counts as gone. Default 5 s.</summary>
    public TimeSpan IoTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Connection attempts per use before giving up (the use then throws). Default 3.</summary>
    public int ConnectAttempts { get; init; } = 3;

    /// <summary>The wait after the first failed attempt; doubles after each further failure. Default 100 ms.</summary>
    public TimeSpan ReconnectBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The ceiling of the doubling wait between attempts. Default 2 s.</summary>
    public TimeSpan MaxReconnectBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The initial size of the send and receive buffers; they grow for larger batches. Default 64 KiB.</summary>
    public int BufferSize { get; init; } = 64 * 1024;

    /// <summary>Where the server is, as <c>host:port/db</c>, for messages.</summary>
    public string Endpoint => $"{Host}:{Port}/{Database}";

    /// <summary>Every field except the password, which is only said to be set or not.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append("RedisOptions { ").Append(Endpoint)
            .Append(", Username = ").Append(Username ?? "(default)")
            .Append(", Password = ").Append(Password is null ? "(none)" : "(set)")
            .Append(", Tls = ").Append(Tls)
            .Append(", TlsCaFile = ").Append(TlsCaFile)
            .Append(", Protocol = ").Append(Protocol).Append(" }");
        return text.ToString();
    }

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Host);
        if (Port is <= 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(Port), Port, "REDIS_PORT must be 1 to 65535.");
        }

        if (Database < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Database), Database, "REDIS_DB must be 0 or more.");
        }

        if (Protocol is not (2 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(Protocol), Protocol, "The protocol is RESP2 (2) or RESP3 (3).");
        }

        if (Username is not null && Password is null)
        {
            throw new ArgumentException("REDIS_USERNAME needs REDIS_PASSWORD (ACL login is AUTH username password).");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(ConnectAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(BufferSize, 256);
    }
}

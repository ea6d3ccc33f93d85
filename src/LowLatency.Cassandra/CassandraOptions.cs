using System.Text;

namespace LowLatency.Cassandra;

/// <summary>
/// How to reach and log in to one Cassandra node. The host maps the environment variables users of the original
/// pipelines know (ASSET_CASSANDRA_HOST, ...) onto these fields.
/// </summary>
public sealed record CassandraOptions
{
    /// <summary>The node's address. Default <c>127.0.0.1</c>.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The CQL native-transport port. Default 9042.</summary>
    public int Port { get; init; } = 9042;

    /// <summary>The login for PasswordAuthenticator (SASL PLAIN). Default none: a server that asks for a login fails the connect.</summary>
    public string? Username { get; init; }

    /// <summary>The password. Default none. Never logged (see <see cref="ToString"/>).</summary>
    public string? Password { get; init; }

    /// <summary>The keyspace to <c>USE</c> on every new connection. Default none (qualify table names).</summary>
    public string? Keyspace { get; init; }

    /// <summary>
    /// The native protocol version: 0 negotiates (v4, falling back to v3 when the server refuses v4, as Cassandra 2.1
    /// does), 3 or 4 forces it. Default 0. The version found is kept for reconnects.
    /// </summary>
    public int ProtocolVersion { get; init; }

    /// <summary>The consistency of requests that do not name one. Default LOCAL_ONE.</summary>
    public CqlConsistency Consistency { get; init; } = CqlConsistency.LocalOne;

    /// <summary>The limit on one TCP connect plus the handshake. Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The limit on one request, from sending to its answer. Default 12 s (above the server's own 10 s
    /// request timeout, so a server-side timeout arrives as its error rather than as ours).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(12);

    /// <summary>Connection attempts per request that finds no connection, before it fails. Default 3.</summary>
    public int ConnectAttempts { get; init; } = 3;

    /// <summary>The wait after the first failed attempt; doubles after each further failure. Default 100 ms.</summary>
    public TimeSpan ReconnectBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The largest response body accepted, in bytes. A frame declaring more is a protocol error that drops the
    /// connection; its declared length is never allocated. Default 64 MiB (the server's own limit is 256 MB).</summary>
    public int MaxFrameSize { get; init; } = 64 * 1024 * 1024;

    /// <summary>Requests in flight at once on the connection (stream ids 0 to this - 1); further requests wait for a
    /// free id. Default 1024; at most 32768.</summary>
    public int MaxRequestsInFlight { get; init; } = 1024;

    /// <summary>Rows per page when a read does not say. Default 5000.</summary>
    public int PageSize { get; init; } = 5000;

    /// <summary>The initial receive and send buffer size; they grow for larger frames. Default 64 KiB.</summary>
    public int BufferSize { get; init; } = 64 * 1024;

    /// <summary>Where the node is, as <c>host:port</c>, for messages.</summary>
    public string Endpoint => $"{Host}:{Port}";

    /// <summary>Every field except the password, which is only said to be set or not.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append("CassandraOptions { ").Append(Endpoint)
            .Append(", Username = ").Append(Username ?? "(none)")
            .Append(", Password = ").Append(Password is null ? "(none)" : "(set)")
            .Append(", Keyspace = ").Append(Keyspace ?? "(none)")
            .Append(", ProtocolVersion = ").Append(ProtocolVersion == 0 ? "negotiate" : ProtocolVersion.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Append(" }");
        return text.ToString();
    }

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Host);
        if (Port is <= 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(Port), Port, "The port must be 1 to 65535.");
        }

        if (ProtocolVersion is not (0 or 3 or 4))
        {
            throw new ArgumentOutOfRangeException(nameof(ProtocolVersion), ProtocolVersion, "The protocol version is 0 (negotiate), 3 or 4.");
        }

        if ((Username is null) != (Password is null))
        {
            throw new ArgumentException("A login needs both Username and Password.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(ConnectAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFrameSize, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRequestsInFlight, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxRequestsInFlight, 32768);
        ArgumentOutOfRangeException.ThrowIfLessThan(PageSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(BufferSize, 256);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RequestTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ConnectTimeout, TimeSpan.Zero);
    }
}

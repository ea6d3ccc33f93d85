namespace LowLatency.Cassandra;

/// <summary>The error codes of the ERROR message (protocol section 9).</summary>
public enum CassandraErrorCode
{
    ServerError = 0x0000,
    ProtocolError = 0x000A,
    /// <summary>Bad credentials, or a login the authenticator refused.</summary>
    AuthenticationError = 0x0100,
    Unavailable = 0x1000,
    Overloaded = 0x1001,
    IsBootstrapping = 0x1002,
    TruncateError = 0x1003,
    WriteTimeout = 0x1100,
    ReadTimeout = 0x1200,
    ReadFailure = 0x1300,
    FunctionFailure = 0x1400,
    WriteFailure = 0x1500,
    SyntaxError = 0x2000,
    Unauthorized = 0x2100,
    Invalid = 0x2200,
    ConfigError = 0x2300,
    AlreadyExists = 0x2400,
    Unprepared = 0x2500,
}

/// <summary>
/// Everything the client throws for Cassandra: a server ERROR (<see cref="Code"/> set, <see cref="ServerMessage"/> as
/// sent) or a client-side failure (<see cref="Code"/> null: <see cref="CassandraConnectionException"/>,
/// <see cref="CassandraTimeoutException"/>, <see cref="CassandraProtocolException"/>).
/// </summary>
public class CassandraException : Exception
{
    public CassandraException(CassandraErrorCode code, string serverMessage, string message)
        : base(message)
    {
        Code = code;
        ServerMessage = serverMessage;
    }

    public CassandraException()
    {
        ServerMessage = string.Empty;
    }

    public CassandraException(string message)
        : base(message) => ServerMessage = string.Empty;

    public CassandraException(string message, Exception? innerException)
        : base(message, innerException) => ServerMessage = string.Empty;

    /// <summary>The server's error code; null when the client itself failed the request.</summary>
    public CassandraErrorCode? Code { get; }

    /// <summary>The server's error message as sent (empty for client-side failures).</summary>
    public string ServerMessage { get; }
}

/// <summary>Logging in failed (0x0100): wrong user or password. Not retried: the same credentials fail the same way.</summary>
public sealed class CassandraAuthenticationException : CassandraException
{
    public CassandraAuthenticationException(string serverMessage, string message)
        : base(CassandraErrorCode.AuthenticationError, serverMessage, message)
    {
    }

    public CassandraAuthenticationException()
    {
    }

    public CassandraAuthenticationException(string message)
        : base(message)
    {
    }

    public CassandraAuthenticationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Unavailable (0x1000): fewer replicas alive than the consistency level needs.</summary>
public sealed class CassandraUnavailableException(string serverMessage, string message, CqlConsistency consistency, int required, int alive)
    : CassandraException(CassandraErrorCode.Unavailable, serverMessage, message)
{
    public CqlConsistency Consistency { get; } = consistency;

    public int Required { get; } = required;

    public int Alive { get; } = alive;
}

/// <summary>Write_timeout (0x1100) and Read_timeout (0x1200): the coordinator gave up waiting for replicas. The write
/// may have been applied on some of them.</summary>
public sealed class CassandraServerTimeoutException(
    CassandraErrorCode code, string serverMessage, string message, CqlConsistency consistency, int received, int blockFor, string? writeType)
    : CassandraException(code, serverMessage, message)
{
    public CqlConsistency Consistency { get; } = consistency;

    /// <summary>Replicas that answered.</summary>
    public int Received { get; } = received;

    /// <summary>Replicas the consistency level waits for.</summary>
    public int BlockFor { get; } = blockFor;

    /// <summary>For write timeouts: SIMPLE, BATCH, UNLOGGED_BATCH, COUNTER or BATCH_LOG; null for reads.</summary>
    public string? WriteType { get; } = writeType;
}

/// <summary>Already_exists (0x2400): the keyspace or table to create exists.</summary>
public sealed class CassandraAlreadyExistsException(string serverMessage, string message, string keyspace, string table)
    : CassandraException(CassandraErrorCode.AlreadyExists, serverMessage, message)
{
    public string Keyspace { get; } = keyspace;

    /// <summary>Empty when the keyspace itself exists.</summary>
    public string Table { get; } = table;
}

/// <summary>
/// The connection failed: could not connect, was reset or closed, or was dropped after a protocol violation. Every
/// request in flight on it fails with this exception (the server may still have executed some: retry idempotent
/// writes); the next request reconnects.
/// </summary>
public sealed class CassandraConnectionException : CassandraException
{
    public CassandraConnectionException()
    {
    }

    public CassandraConnectionException(string message)
        : base(message)
    {
    }

    public CassandraConnectionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>No answer within <see cref="CassandraOptions.RequestTimeout"/>. The connection stays up; the request's
/// stream id is reused only after the late answer arrives (or the connection is replaced).</summary>
public sealed class CassandraTimeoutException : CassandraException
{
    public CassandraTimeoutException()
    {
    }

    public CassandraTimeoutException(string message)
        : base(message)
    {
    }

    public CassandraTimeoutException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The server sent something that is not valid CQL protocol (a length beyond the maximum frame size, an
/// unknown opcode, a truncated body). The connection is dropped.</summary>
public sealed class CassandraProtocolException : CassandraException
{
    public CassandraProtocolException()
    {
    }

    public CassandraProtocolException(string message)
        : base(message)
    {
    }

    public CassandraProtocolException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

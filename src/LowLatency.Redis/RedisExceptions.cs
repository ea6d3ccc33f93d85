namespace LowLatency.Redis;

/// <summary>The server answered with an error (<c>-ERR</c>, <c>-WRONGTYPE</c>, <c>!</c> bulk error, ...).</summary>
public class RedisServerException : Exception
{
    public RedisServerException(string message)
        : base(message) => ServerMessage = message;

    public RedisServerException(string message, string serverMessage)
        : base(message) => ServerMessage = serverMessage;

    public RedisServerException()
    {
        ServerMessage = string.Empty;
    }

    public RedisServerException(string message, Exception innerException)
        : base(message, innerException) => ServerMessage = message;

    /// <summary>The server's error text as sent, e.g. <c>WRONGPASS invalid username-password pair ...</c>.</summary>
    public string ServerMessage { get; }

    /// <summary>The first word of the error (ERR, WRONGTYPE, WRONGPASS, NOAUTH, ...).</summary>
    public string Prefix
    {
        get
        {
            var space = ServerMessage.IndexOf(' ', StringComparison.Ordinal);
            return space < 0 ? ServerMessage : ServerMessage[..space];
        }
    }
}

/// <summary>
/// Logging in failed: wrong password, unknown or disabled ACL user, or a server that requires a password none was
/// configured for. Not retried: reconnecting with the same credentials would fail the same way.
/// </summary>
public sealed class RedisAuthenticationException : RedisServerException
{
    public RedisAuthenticationException(string message, string serverMessage)
        : base(message, serverMessage)
    {
    }

    public RedisAuthenticationException()
    {
    }

    public RedisAuthenticationException(string message)
        : base(message)
    {
    }

    public RedisAuthenticationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The connection failed (could not connect, reset, timed out, or the server sent bytes that are not RESP). Commands
/// that were written or sent but not answered are failed, never silently dropped: <see cref="UnansweredCommands"/> says
/// how many, counted from the first unanswered one, so the caller can retry them. The next use reconnects.
/// </summary>
public sealed class RedisConnectionException : Exception
{
    public RedisConnectionException(string message, int unansweredCommands, Exception? innerException)
        : base(message, innerException) => UnansweredCommands = unansweredCommands;

    public RedisConnectionException()
    {
    }

    public RedisConnectionException(string message)
        : base(message)
    {
    }

    public RedisConnectionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Commands whose replies were not read: the last this many commands given to the connection. The server
    /// may still have executed some of them (its reply lost with the connection), so retry idempotent writes (SET, HSET,
    /// EXPIRE) as they are and make others (XADD, INCR) safe to repeat, e.g. with explicit stream ids.</summary>
    public int UnansweredCommands { get; }
}

namespace LowLatency.Cassandra;

/// <summary>Turns an ERROR body (&lt;code&gt;&lt;message&gt;, then per-code details) into the matching exception.</summary>
internal static class CassandraErrors
{
    public static CassandraErrorCode Code(CqlResponse response)
    {
        var reader = new CqlReader(response.BodySpan);
        reader.SkipPrefix(response.Header.Flags);
        return (CassandraErrorCode)reader.ReadInt();
    }

    public static CassandraException ToException(CqlResponse response, string endpoint)
    {
        var reader = new CqlReader(response.BodySpan);
        reader.SkipPrefix(response.Header.Flags);
        var code = (CassandraErrorCode)reader.ReadInt();
        var serverMessage = reader.ReadString();
        var message = $"Cassandra error {Name(code)} (0x{(int)code:X4}) from {endpoint}: {serverMessage}";
        switch (code)
        {
            case CassandraErrorCode.AuthenticationError:
                return new CassandraAuthenticationException(serverMessage, message);
            case CassandraErrorCode.Unavailable:
                var consistency = reader.ReadConsistency();
                var required = reader.ReadInt();
                return new CassandraUnavailableException(serverMessage, message, consistency, required, reader.ReadInt());
            case CassandraErrorCode.WriteTimeout or CassandraErrorCode.ReadTimeout:
                var level = reader.ReadConsistency();
                var received = reader.ReadInt();
                var blockFor = reader.ReadInt();
                var writeType = code == CassandraErrorCode.WriteTimeout ? reader.ReadString() : null;
                return new CassandraServerTimeoutException(code, serverMessage, message, level, received, blockFor, writeType);
            case CassandraErrorCode.AlreadyExists:
                var keyspace = reader.ReadString();
                return new CassandraAlreadyExistsException(serverMessage, message, keyspace, reader.ReadString());
            default:
                return new CassandraException(code, serverMessage, message);
        }
    }

    /// <summary>The spec's name of an error code (an unknown code keeps its number).</summary>
    public static string Name(CassandraErrorCode code) =>
        Enum.IsDefined(code) ? code.ToString() : $"code {(int)code}";
}

using System.Text;

namespace LowLatency.Cassandra;

/// <summary>How a read or write runs: consistency, page size and where to resume. Defaults come from the options.</summary>
public readonly record struct CqlQueryOptions
{
    /// <summary>The consistency level; null: <see cref="CassandraOptions.Consistency"/>.</summary>
    public CqlConsistency? Consistency { get; init; }

    /// <summary>Rows per page for reads; 0: <see cref="CassandraOptions.PageSize"/>.</summary>
    public int PageSize { get; init; }

    /// <summary>The <see cref="CqlRowSet.PagingState"/> of the previous page; null starts at the beginning.</summary>
    public byte[]? PagingState { get; init; }
}

/// <summary>A request body: its opcode and how it encodes. Structs, so sending dispatches without boxing.</summary>
internal interface ICqlRequest
{
    CqlOpcode Opcode { get; }

    void WriteBody(CqlWriter writer, int protocolVersion);
}

internal readonly struct OptionsRequest : ICqlRequest
{
    public CqlOpcode Opcode => CqlOpcode.Options;

    public void WriteBody(CqlWriter writer, int protocolVersion)
    {
    }
}

internal readonly struct StartupRequest : ICqlRequest
{
    private static readonly KeyValuePair<string, string>[] s_options = [new("CQL_VERSION", "3.0.0")];

    public CqlOpcode Opcode => CqlOpcode.Startup;

    public void WriteBody(CqlWriter writer, int protocolVersion) => writer.WriteStringMap(s_options);
}

/// <summary>SASL PLAIN for PasswordAuthenticator: the token is <c>\0user\0password</c> in UTF-8.</summary>
internal readonly struct PlainAuthResponse(string username, string password) : ICqlRequest
{
    public CqlOpcode Opcode => CqlOpcode.AuthResponse;

    public void WriteBody(CqlWriter writer, int protocolVersion)
    {
        var user = Encoding.UTF8.GetByteCount(username);
        var secret = Encoding.UTF8.GetByteCount(password);
        writer.WriteInt(2 + user + secret);
        var token = writer.Reserve(2 + user + secret);
        token[0] = 0;
        Encoding.UTF8.GetBytes(username, token[1..]);
        token[1 + user] = 0;
        Encoding.UTF8.GetBytes(password, token[(2 + user)..]);
    }
}

internal readonly struct PrepareRequest(string query) : ICqlRequest
{
    public CqlOpcode Opcode => CqlOpcode.Prepare;

    public void WriteBody(CqlWriter writer, int protocolVersion) => writer.WriteLongString(query);
}

/// <summary>QUERY: the CQL text, then the query parameters.</summary>
internal readonly struct QueryRequest(string query, CqlValues? values, CqlQueryOptions options, CqlConsistency consistency) : ICqlRequest
{
    public CqlOpcode Opcode => CqlOpcode.Query;

    public void WriteBody(CqlWriter writer, int protocolVersion)
    {
        writer.WriteLongString(query);
        QueryParameters.Write(writer, values, options, consistency, skipMetadata: false);
    }
}

/// <summary>EXECUTE: the prepared id, then the query parameters.</summary>
internal readonly struct ExecuteRequest(byte[] id, CqlValues? values, CqlQueryOptions options, CqlConsistency consistency, bool skipMetadata)
    : ICqlRequest
{
    public CqlOpcode Opcode => CqlOpcode.Execute;

    public void WriteBody(CqlWriter writer, int protocolVersion)
    {
        writer.WriteShortBytes(id);
        QueryParameters.Write(writer, values, options, consistency, skipMetadata);
    }
}

internal readonly struct BatchRequest(CqlBatch batch, CqlConsistency consistency) : ICqlRequest
{
    public CqlOpcode Opcode => CqlOpcode.Batch;

    public void WriteBody(CqlWriter writer, int protocolVersion) => batch.WriteBody(writer, consistency);
}

/// <summary>&lt;consistency&gt;&lt;flags&gt;[values][page size][paging state], shared by QUERY and EXECUTE.</summary>
internal static class QueryParameters
{
    private const byte Values = 0x01;
    private const byte SkipMetadata = 0x02;
    private const byte PageSize = 0x04;
    private const byte WithPagingState = 0x08;

    public static void Write(CqlWriter writer, CqlValues? values, CqlQueryOptions options, CqlConsistency consistency, bool skipMetadata)
    {
        writer.WriteConsistency(options.Consistency ?? consistency);
        var flags = (byte)((values is { Count: > 0 } ? Values : 0) | (skipMetadata ? SkipMetadata : 0) | (options.PageSize > 0 ? PageSize : 0)
            | (options.PagingState is not null ? WithPagingState : 0));
        writer.WriteByte(flags);
        if (values is { Count: > 0 })
        {
            writer.WriteShort(checked((ushort)values.Count));
            writer.WriteRaw(values.Encoded);
        }

        if (options.PageSize > 0)
        {
            writer.WriteInt(options.PageSize);
        }

        if (options.PagingState is not null)
        {
            writer.WriteBytes(options.PagingState);
        }
    }
}

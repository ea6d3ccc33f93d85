using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace LowLatency.Cassandra;

/// <summary>
/// The client for one Cassandra node: one multiplexed connection (many requests in flight at once, from any thread),
/// QUERY, PREPARE/EXECUTE, BATCH and paged reads. Thread-safe.
/// </summary>
/// <remarks>
/// <para>Connecting is lazy (first request) or explicit (<see cref="ConnectAsync"/>): OPTIONS (protocol v4, or v3 when
/// the server refuses v4), STARTUP with CQL 3.0.0, the SASL PLAIN login if the server asks for one, and <c>USE</c> of the
/// keyspace (the configured one, or the last one a <c>USE</c> statement chose).</para>
/// <para>When the connection drops, every request in flight fails with <see cref="CassandraConnectionException"/>; the
/// next request reconnects (up to <see cref="CassandraOptions.ConnectAttempts"/> attempts with doubling waits).
/// Prepared statements are prepared again on the new connection before their next execution, and again whenever the
/// server answers UNPREPARED (it forgets them on restart).</para>
/// </remarks>
public sealed class CassandraConnection : IAsyncDisposable, IDisposable
{
    private readonly CassandraOptions _options;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly ConcurrentDictionary<string, CqlPreparedStatement> _prepared = new(StringComparer.Ordinal);
    private CqlChannel? _channel;
    private int _protocolVersion;
    private int _generation;
    private string? _keyspace;
    private bool _disposed;

    public CassandraConnection(CassandraOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _keyspace = options.Keyspace;
        _protocolVersion = options.ProtocolVersion;
    }

    public CassandraOptions Options => _options;

    /// <summary>The protocol version in use (3 or 4); 0 before the first connection negotiated it.</summary>
    public int ProtocolVersion => Volatile.Read(ref _protocolVersion);

    /// <summary>How many connections were established: 1 after the first, +1 per reconnect.</summary>
    public int Connects => Volatile.Read(ref _generation);

    /// <summary>Whether a connection is open (it may still turn out to be dead on the next use).</summary>
    public bool IsConnected => Volatile.Read(ref _channel) is { IsFailed: false };

    /// <summary>Requests in flight on the current connection.</summary>
    public int InFlight => Volatile.Read(ref _channel)?.InFlight ?? 0;

    /// <summary>Connects and logs in now (instead of on the first request), so bad credentials fail at start-up.</summary>
    public async ValueTask ConnectAsync(CancellationToken cancellationToken = default) =>
        await GetChannelAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Runs CQL text with optional bound values (QUERY); dispose the result. A read returns its first page.</summary>
    public async ValueTask<CqlRowSet> QueryAsync(string query, CqlValues? values = null, CqlQueryOptions options = default,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var channel = await GetChannelAsync(cancellationToken).ConfigureAwait(false);
        var response = await channel.SendAsync(new QueryRequest(query, values, WithPageSize(options), _options.Consistency), cancellationToken)
            .ConfigureAwait(false);
        return ToRowSet(response, null);
    }

    /// <summary>Runs CQL text that returns no rows (schema changes, writes) and says what kind of result came.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<CqlResultKind> ExecuteNonQueryAsync(string query, CqlValues? values = null, CqlConsistency? consistency = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var channel = await GetChannelAsync(cancellationToken).ConfigureAwait(false);
        var request = new QueryRequest(query, values, new CqlQueryOptions { Consistency = consistency }, _options.Consistency);
        return ToResultKind(await channel.SendAsync(request, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Prepares a statement (once per connection: the statement is cached by its text).</summary>
    public async ValueTask<CqlPreparedStatement> PrepareAsync(string query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var statement = _prepared.GetOrAdd(query, static q => new CqlPreparedStatement(q));
        var channel = await GetChannelAsync(cancellationToken).ConfigureAwait(false);
        await EnsurePreparedAsync(statement, channel, cancellationToken).ConfigureAwait(false);
        return statement;
    }

    /// <summary>Executes a prepared statement (EXECUTE); dispose the result. Prepares it again when needed.</summary>
    public async ValueTask<CqlRowSet> ExecuteAsync(CqlPreparedStatement statement, CqlValues? values = null, CqlQueryOptions options = default,
        CancellationToken cancellationToken = default)
    {
        var (response, columns) = await ExecuteCoreAsync(statement, values, WithPageSize(options), cancellationToken).ConfigureAwait(false);
        return ToRowSet(response, columns);
    }

    /// <summary>Executes a prepared write and says what kind of result came (no row set: the write path's call).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<CqlResultKind> ExecuteNonQueryAsync(CqlPreparedStatement statement, CqlValues? values = null,
        CqlConsistency? consistency = null, CancellationToken cancellationToken = default)
    {
        var (response, _) = await ExecuteCoreAsync(statement, values, new CqlQueryOptions { Consistency = consistency }, cancellationToken)
            .ConfigureAwait(false);
        return ToResultKind(response);
    }

    /// <summary>Sends a BATCH (prepares its prepared statements first when needed).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask BatchAsync(CqlBatch batch, CqlConsistency? consistency = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        for (var attempt = 0; ; attempt++)
        {
            var channel = await GetChannelAsync(cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < batch.Count; i++)
            {
                if (batch.StatementAt(i) is { } statement)
                {
                    await EnsurePreparedAsync(statement, channel, cancellationToken).ConfigureAwait(false);
                }
            }

            var response = await channel.SendAsync(new BatchRequest(batch, consistency ?? _options.Consistency), cancellationToken)
                .ConfigureAwait(false);
            if (attempt == 0 && IsUnprepared(response))
            {
                response.Return();
                for (var i = 0; i < batch.Count; i++)
                {
                    if (batch.StatementAt(i) is { Id: { } id } statement)
                    {
                        statement.Invalidate(id);
                    }
                }

                continue;
            }

            ToResultKind(response);
            return;
        }
    }

    /// <summary>
    /// Reads every page of a query, one after another (each page is requested when the previous one was consumed, and
    /// disposed when the enumeration moves on: copy out what must outlive it). <paramref name="values"/> must not change
    /// while enumerating.
    /// </summary>
    public IAsyncEnumerable<CqlRowSet> QueryPagesAsync(string query, CqlValues? values = null, int pageSize = 0,
        CqlConsistency? consistency = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return PagesAsync((options, token) => QueryAsync(query, values, options, token), pageSize, consistency, cancellationToken);
    }

    /// <inheritdoc cref="QueryPagesAsync"/>
    public IAsyncEnumerable<CqlRowSet> ExecutePagesAsync(CqlPreparedStatement statement, CqlValues? values = null, int pageSize = 0,
        CqlConsistency? consistency = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(statement);
        return PagesAsync((options, token) => ExecuteAsync(statement, values, options, token), pageSize, consistency, cancellationToken);
    }

    /// <summary>Drops the current connection as if the network had (tests, and callers that know it is dead): requests
    /// in flight fail with <see cref="CassandraConnectionException"/>; the next request reconnects.</summary>
    public void DropConnection() => Volatile.Read(ref _channel)?.Dispose();

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Interlocked.Exchange(ref _channel, null)?.Dispose();
        _connectLock.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Fetches page after page, each from the paging state of the one before, until the last.</summary>
    private static async IAsyncEnumerable<CqlRowSet> PagesAsync(Func<CqlQueryOptions, CancellationToken, ValueTask<CqlRowSet>> fetch, int pageSize,
        CqlConsistency? consistency, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        byte[]? pagingState = null;
        do
        {
            var page = await fetch(new CqlQueryOptions { Consistency = consistency, PageSize = pageSize, PagingState = pagingState }, cancellationToken)
                .ConfigureAwait(false);
            pagingState = page.PagingState;
            try
            {
                yield return page;
            }
            finally
            {
                page.Dispose();
            }
        }
        while (pagingState is not null);
    }

    private CqlQueryOptions WithPageSize(CqlQueryOptions options) =>
        options.PageSize > 0 ? options : options with { PageSize = _options.PageSize };

    private static bool IsUnprepared(CqlResponse response) =>
        response.Header.Opcode == CqlOpcode.Error && response.Header.Length >= 4 &&
        CassandraErrors.Code(response) == CassandraErrorCode.Unprepared;

    /// <summary>EXECUTE, preparing first when the statement has no id on this connection, and once more when the
    /// server answers UNPREPARED (it forgot the id: restarted, or evicted it from its cache).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(CqlResponse Response, IReadOnlyList<CqlColumn> Columns)> ExecuteCoreAsync(CqlPreparedStatement statement,
        CqlValues? values, CqlQueryOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(statement);
        for (var attempt = 0; ; attempt++)
        {
            var channel = await GetChannelAsync(cancellationToken).ConfigureAwait(false);
            var id = await EnsurePreparedAsync(statement, channel, cancellationToken).ConfigureAwait(false);
            var request = new ExecuteRequest(id.Id, values, options, _options.Consistency, skipMetadata: id.ResultColumns.Count > 0);
            var response = await channel.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (attempt == 0 && IsUnprepared(response))
            {
                response.Return();
                statement.Invalidate(id);
                continue;
            }

            return (response, id.ResultColumns);
        }
    }

    /// <summary>The kind of a RESULT (rows are dropped unread), or the server's error as an exception. Returns the buffer.</summary>
    private CqlResultKind ToResultKind(CqlResponse response)
    {
        if (response.Header.Opcode != CqlOpcode.Result)
        {
            throw Unexpected(response, "RESULT");
        }

        try
        {
            var reader = new CqlReader(response.BodySpan);
            reader.SkipPrefix(response.Header.Flags);
            var kind = (CqlResultKind)reader.ReadInt();
            if (kind == CqlResultKind.SetKeyspace)
            {
                Volatile.Write(ref _keyspace, reader.ReadString()); // re-applied on reconnect
            }

            return kind;
        }
        finally
        {
            response.Return();
        }
    }

    /// <summary>The answer as a row set, or the server's error as an exception. Takes over the response's buffer.</summary>
    private CqlRowSet ToRowSet(CqlResponse response, IReadOnlyList<CqlColumn>? knownColumns)
    {
        if (response.Header.Opcode != CqlOpcode.Result)
        {
            throw Unexpected(response, "RESULT");
        }

        var reader = new CqlReader(response.BodySpan);
        reader.SkipPrefix(response.Header.Flags);
        var set = CqlRowSet.Parse(response.Body, reader.Position, response.Header.Length, knownColumns);
        if (set.Keyspace is { } keyspace)
        {
            Volatile.Write(ref _keyspace, keyspace); // re-applied on reconnect
        }

        return set;
    }

    /// <summary>Returns the buffer and makes the exception for an answer that is not the expected one (ERROR included).</summary>
    private CassandraException Unexpected(CqlResponse response, string expected)
    {
        try
        {
            return response.Header.Opcode == CqlOpcode.Error
                ? CassandraErrors.ToException(response, _options.Endpoint)
                : new CassandraProtocolException($"Cassandra at {_options.Endpoint} answered {response.Header.Opcode} where {expected} was expected.");
        }
        finally
        {
            response.Return();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<PreparedId> EnsurePreparedAsync(CqlPreparedStatement statement, CqlChannel channel, CancellationToken cancellationToken)
    {
        if (statement.Id is { } current && current.Generation == channel.Generation)
        {
            return current;
        }

        var response = await channel.SendAsync(new PrepareRequest(statement.Query), cancellationToken).ConfigureAwait(false);
        if (response.Header.Opcode != CqlOpcode.Result)
        {
            throw Unexpected(response, "RESULT");
        }

        try
        {
            var reader = new CqlReader(response.BodySpan);
            reader.SkipPrefix(response.Header.Flags);
            if ((CqlResultKind)reader.ReadInt() != CqlResultKind.Prepared)
            {
                throw new CassandraProtocolException($"Cassandra at {_options.Endpoint} answered PREPARE with another kind of result.");
            }

            var id = reader.ReadShortBytes().ToArray();
            // Bind-marker metadata: flags, count, (v4) partition-key indexes, column specs.
            var flags = reader.ReadInt();
            var count = reader.ReadInt();
            if (count < 0 || count > reader.Remaining)
            {
                throw new CassandraProtocolException($"Malformed prepared metadata: {count} bind markers.");
            }

            if (channel.ProtocolVersion >= 4)
            {
                var keys = reader.ReadInt();
                if (keys < 0 || keys > reader.Remaining / 2)
                {
                    throw new CassandraProtocolException($"Malformed prepared metadata: {keys} partition-key indexes.");
                }

                reader.Skip(2 * keys);
            }

            var variables = CqlRowSet.ReadColumnSpecs(ref reader, count, (flags & 0x0001) != 0);
            var resultColumns = CqlRowSet.ReadMetadata(ref reader, null, out _);
            var prepared = new PreparedId(id, channel.Generation, variables, resultColumns);
            statement.Set(prepared);
            return prepared;
        }
        finally
        {
            response.Return();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<CqlChannel> GetChannelAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var channel = Volatile.Read(ref _channel);
        if (channel is { IsFailed: false })
        {
            return channel;
        }

        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            channel = Volatile.Read(ref _channel);
            if (channel is { IsFailed: false })
            {
                return channel;
            }

            channel?.Dispose();
            channel = await ConnectWithRetriesAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _channel, channel);
            return channel;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private async ValueTask<CqlChannel> ConnectWithRetriesAsync(CancellationToken cancellationToken)
    {
        var backoff = _options.ReconnectBackoff;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await ConnectOnceAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsConnectionFailure(e) && !cancellationToken.IsCancellationRequested)
            {
                if (attempt >= _options.ConnectAttempts)
                {
                    throw new CassandraConnectionException(
                        $"Could not connect to Cassandra at {_options.Endpoint} after {attempt} attempts: {e.Message}", e);
                }
            }

            await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
            backoff *= 2;
        }
    }

    private static bool IsConnectionFailure(Exception e) =>
        e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or CassandraConnectionException
            or CassandraTimeoutException;

    /// <summary>Opens a channel and runs the handshake; negotiates the protocol version on the first connection.</summary>
    private async ValueTask<CqlChannel> ConnectOnceAsync(CancellationToken cancellationToken)
    {
        var version = Volatile.Read(ref _protocolVersion);
        var negotiating = version == 0;
        if (negotiating)
        {
            version = 4;
        }

        while (true)
        {
            var generation = Volatile.Read(ref _generation) + 1;
            var channel = await CqlChannel.OpenAsync(_options, version, generation, cancellationToken).ConfigureAwait(false);
            try
            {
                CqlResponse options;
                try
                {
                    options = await channel.SendAsync(new OptionsRequest(), cancellationToken).ConfigureAwait(false);
                }
                catch (CassandraConnectionException) when (negotiating && version == 4)
                {
                    // A server that drops a v4 frame instead of answering it: try v3 on a fresh connection.
                    channel.Dispose();
                    version = 3;
                    continue;
                }

                if (options.Header.Opcode == CqlOpcode.Error && negotiating && version == 4)
                {
                    // Cassandra before 2.2 answers a v4 frame with an error in a v3 frame (ServerError or ProtocolError,
                    // "Invalid or unsupported protocol version"): speak v3 on a fresh connection.
                    options.Return();
                    channel.Dispose();
                    version = 3;
                    continue;
                }

                if (options.Header.Opcode != CqlOpcode.Supported)
                {
                    throw Unexpected(options, "SUPPORTED");
                }

                options.Return();
                await StartupAsync(channel, cancellationToken).ConfigureAwait(false);
                if (Volatile.Read(ref _keyspace) is { } keyspace)
                {
                    var use = await channel.SendAsync(
                        new QueryRequest($"USE \"{keyspace.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", null, default, _options.Consistency),
                        cancellationToken).ConfigureAwait(false);
                    ToRowSet(use, null).Dispose();
                }

                Volatile.Write(ref _protocolVersion, version);
                Volatile.Write(ref _generation, generation);
                return channel;
            }
            catch
            {
                channel.Dispose();
                throw;
            }
        }
    }

    /// <summary>STARTUP, then the SASL PLAIN exchange when the server answers AUTHENTICATE.</summary>
    private async ValueTask StartupAsync(CqlChannel channel, CancellationToken cancellationToken)
    {
        var response = await channel.SendAsync(new StartupRequest(), cancellationToken).ConfigureAwait(false);
        if (response.Header.Opcode == CqlOpcode.Ready)
        {
            response.Return();
            return;
        }

        if (response.Header.Opcode != CqlOpcode.Authenticate)
        {
            throw Unexpected(response, "READY or AUTHENTICATE");
        }

        string authenticator;
        try
        {
            var reader = new CqlReader(response.BodySpan);
            reader.SkipPrefix(response.Header.Flags);
            authenticator = reader.ReadString();
        }
        finally
        {
            response.Return();
        }

        if (_options.Username is null || _options.Password is null)
        {
            throw new CassandraAuthenticationException(string.Empty,
                $"Cassandra at {_options.Endpoint} requires a login ({authenticator}), and no Username/Password is configured.");
        }

        response = await channel.SendAsync(new PlainAuthResponse(_options.Username, _options.Password), cancellationToken).ConfigureAwait(false);
        if (response.Header.Opcode == CqlOpcode.AuthSuccess)
        {
            response.Return();
            return;
        }

        if (response.Header.Opcode == CqlOpcode.Error)
        {
            var error = Unexpected(response, "AUTH_SUCCESS");
            throw error is { Code: CassandraErrorCode.AuthenticationError }
                ? new CassandraAuthenticationException(error.ServerMessage,
                    $"Cassandra authentication failed for user '{_options.Username}' at {_options.Endpoint}: {error.ServerMessage}")
                : error;
        }

        throw Unexpected(response, "AUTH_SUCCESS (PasswordAuthenticator needs no further challenge)");
    }
}

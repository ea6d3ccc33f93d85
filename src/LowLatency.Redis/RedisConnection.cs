using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace LowLatency.Redis;

/// <summary>
/// One pipelined connection to one Redis server, owned by one thread (not thread-safe). Commands are written into a
/// reusable send buffer (<see cref="Command"/>), sent together by <see cref="Flush"/>, and their replies read in order by
/// <see cref="ReadReplies{THandler}"/> into a reusable receive buffer, parsed in place: once the buffers have grown to
/// the batch size, a write-flush-read cycle allocates nothing.
/// </summary>
/// <remarks>
/// <para>Connecting is lazy (first flush) or explicit (<see cref="Connect"/>); it runs HELLO 3 or AUTH, CLIENT SETNAME
/// and SELECT. A connection that fails (reset, closed, timed out, bytes that are not RESP) is dropped; the commands that
/// were queued or in flight then fail together with a <see cref="RedisConnectionException"/> telling how many, and the
/// next flush reconnects (up to <see cref="RedisOptions.ConnectAttempts"/> attempts with doubling waits) and logs in
/// again. Before sending on an idle connection, a closed one is noticed (a zero-cost poll) and replaced, so a server
/// restart between batches costs no failed batch.</para>
/// <para>Each I/O routine has one core taking <c>bool async</c>: the synchronous API completes it synchronously.</para>
/// </remarks>
public sealed class RedisConnection : IDisposable, IAsyncDisposable
{
    private readonly RedisOptions _options;
    private readonly RespWriter _output;
    private readonly RespWriter _setup = new(256);
    private byte[] _input;
    private int _inputStart;
    private int _inputEnd;
    private Socket? _socket;
    private Stream? _stream;
    private int _inFlight;
    private bool _handshaking;
    private bool _disposed;

    public RedisConnection(RedisOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _output = new RespWriter(options.BufferSize);
        _input = ArrayPool<byte>.Shared.Rent(options.BufferSize);
    }

    public RedisOptions Options => _options;

    /// <summary>A chain policy that trusts the authorities in <paramref name="caFile"/> (PEM) and nothing else.</summary>
    private static X509ChainPolicy TrustOnly(string caFile)
    {
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(caFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new RedisConnectionException($"REDIS_TLS_CA_FILE: cannot read the certificate authorities from {caFile}: {e.Message}", e);
        }

        if (authorities.Count == 0)
        {
            throw new RedisConnectionException($"REDIS_TLS_CA_FILE: {caFile} holds no PEM certificate.");
        }

        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.AddRange(authorities);
        return policy;
    }

    /// <summary>Whether a connection is open (it may still turn out to be dead on the next use).</summary>
    public bool IsConnected => _stream is not null;

    /// <summary>How many times a connection was established and logged in: 1 after the first, +1 per reconnect.</summary>
    public int Connects { get; private set; }

    /// <summary>Commands written but not yet flushed.</summary>
    public int Queued => _output.Commands;

    /// <summary>Commands flushed whose replies were not read yet.</summary>
    public int InFlight => _inFlight;

    /// <summary>Starts a command of <paramref name="arguments"/> parts (name included); follow with that many <c>Arg</c>s:
    /// <c>connection.Command(3).Arg("EXPIRE"u8).Arg(key).Arg(60)</c>.</summary>
    public RespWriter Command(int arguments)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _output.Command(arguments);
    }

    /// <summary>Connects and logs in now (instead of on the first flush), so bad credentials fail at start-up.</summary>
    public void Connect() => EnsureConnectedAsync(async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="Connect"/>
    public ValueTask ConnectAsync(CancellationToken cancellationToken = default) => EnsureConnectedAsync(async: true, cancellationToken);

    /// <summary>Sends every queued command in one write (connecting first if needed).</summary>
    public void Flush() => FlushCoreAsync(async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="Flush"/>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => FlushCoreAsync(async: true, cancellationToken);

    /// <summary>
    /// Reads the replies of every flushed command, in order, into <paramref name="handler"/>, and returns how many. Error
    /// replies are replies (the handler sees them); only a failed connection throws.
    /// </summary>
    /// <exception cref="RedisConnectionException">The connection failed; the handler saw the replies that did arrive and
    /// <see cref="RedisConnectionException.UnansweredCommands"/> counts the rest.</exception>
    public int ReadReplies<THandler>(ref THandler handler)
        where THandler : IRespReplyHandler
    {
        // Not through ReadRepliesCoreAsync: that one holds the handler by value, and a failure half-way would lose what
        // the replies that did arrive told the caller's handler.
        ObjectDisposedException.ThrowIf(_disposed, this);
        var count = 0;
        while (!ParseBuffered(ref handler, ref count))
        {
            FillAsync(async: false, CancellationToken.None).GetAwaiter().GetResult();
        }

        return count;
    }

    /// <summary>As <see cref="ReadReplies{THandler}"/>; returns the handler (a struct handler is copied in and out, so
    /// after a failure only a class handler shows the replies that arrived; the exception counts the others).</summary>
    public async ValueTask<THandler> ReadRepliesAsync<THandler>(THandler handler, CancellationToken cancellationToken = default)
        where THandler : IRespReplyHandler =>
        (await ReadRepliesCoreAsync(async: true, handler, cancellationToken).ConfigureAwait(false)).Handler;

    /// <summary>
    /// Runs one command and returns its reply as objects (tests, setup, rare paths: allocates). The pipeline must be empty.
    /// </summary>
    /// <exception cref="RedisServerException">The server answered with an error.</exception>
    public RedisReply Execute(params string[] arguments) =>
        ExecuteCoreAsync(async: false, arguments, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="Execute"/>
    public ValueTask<RedisReply> ExecuteAsync(string[] arguments, CancellationToken cancellationToken = default) =>
        ExecuteCoreAsync(async: true, arguments, cancellationToken);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Close();
        _output.Dispose();
        _setup.Dispose();
        ArrayPool<byte>.Shared.Return(_input);
        _input = [];
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The server's error text as an exception: login errors as <see cref="RedisAuthenticationException"/>.</summary>
    public static RedisServerException ToException(string serverMessage, string endpoint) =>
        serverMessage.StartsWith("NOAUTH", StringComparison.Ordinal) || serverMessage.StartsWith("WRONGPASS", StringComparison.Ordinal)
            ? new RedisAuthenticationException($"Redis authentication failed at {endpoint}: {serverMessage}", serverMessage)
            : new RedisServerException($"Redis error from {endpoint}: {serverMessage}", serverMessage);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FlushCoreAsync(bool async, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_output.IsComplete)
        {
            throw new InvalidOperationException("The last command misses arguments; complete it before flushing.");
        }

        if (_output.Commands == 0)
        {
            return;
        }

        if (_stream is not null && _inFlight == 0 && _inputStart == _inputEnd && PeerClosed(_socket!))
        {
            Close();
        }

        if (_stream is null)
        {
            try
            {
                await EnsureConnectedAsync(async, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Nothing was sent; the exception tells the caller (RedisConnectionException counts the commands).
                _output.Reset();
                throw;
            }
        }

        try
        {
            if (async)
            {
                await _stream!.WriteAsync(_output.Written, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                _stream!.Write(_output.Written.Span);
            }
        }
        catch (Exception e) when (IsConnectionFailure(e))
        {
            throw Fail("sending failed", e);
        }

        _inFlight += _output.Commands;
        _output.Reset();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(THandler Handler, int Count)> ReadRepliesCoreAsync<THandler>(
        bool async, THandler handler, CancellationToken cancellationToken)
        where THandler : IRespReplyHandler
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var count = 0;
        while (!ParseBuffered(ref handler, ref count))
        {
            await FillAsync(async, cancellationToken).ConfigureAwait(false);
        }

        return (handler, count);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RedisReply> ExecuteCoreAsync(bool async, string[] arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        if (_output.Commands != 0 || _inFlight != 0)
        {
            throw new InvalidOperationException("Execute needs an empty pipeline: flush and read the pipelined commands first.");
        }

        var command = _output.Command(arguments.Length);
        foreach (var argument in arguments)
        {
            command.Arg(argument);
        }

        await FlushCoreAsync(async, cancellationToken).ConfigureAwait(false);
        var (collector, _) = await ReadRepliesCoreAsync(async, new RedisReplyCollector(), cancellationToken).ConfigureAwait(false);
        var reply = collector.Replies[0];
        return reply.IsError ? throw ToException(reply.Text!, _options.Endpoint) : reply;
    }

    /// <summary>Hands every complete buffered reply to the handler, adding them to <paramref name="count"/>; returns
    /// whether every in-flight command is answered (false: receive more).</summary>
    private bool ParseBuffered<THandler>(ref THandler handler, ref int count)
        where THandler : IRespReplyHandler
    {
        var start = _inputStart;
        var reader = new RespReader(_input.AsSpan(start, _inputEnd - start));
        while (_inFlight > 0)
        {
            var status = reader.TryRead(out var reply);
            if (status == RespStatus.NeedMoreData)
            {
                break;
            }

            if (status == RespStatus.Malformed)
            {
                throw Fail("the server sent bytes that are not RESP", null);
            }

            // Consumed before the handler runs, so a throwing handler cannot make a reply count twice.
            _inputStart = start + reader.Consumed;
            if (reply.Type == RespType.Push)
            {
                continue; // RESP3 out-of-band data (invalidation, pub/sub): not the answer to a command
            }

            _inFlight--;
            handler.OnReply(count, reply);
            count++;
        }

        return _inFlight == 0;
    }

    /// <summary>Receives more bytes after the unparsed rest of the buffer (moved to the front first), growing the buffer
    /// when one reply does not fit.</summary>
    private async ValueTask FillAsync(bool async, CancellationToken cancellationToken)
    {
        if (_inputStart > 0)
        {
            _input.AsSpan(_inputStart, _inputEnd - _inputStart).CopyTo(_input);
            _inputEnd -= _inputStart;
            _inputStart = 0;
        }

        if (_inputEnd == _input.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(checked(_input.Length * 2));
            _input.AsSpan(0, _inputEnd).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_input);
            _input = bigger;
        }

        int received;
        try
        {
            received = async
                ? await ReadWithTimeoutAsync(_input.AsMemory(_inputEnd), cancellationToken).ConfigureAwait(false)
                : _stream!.Read(_input.AsSpan(_inputEnd));
        }
        catch (Exception e) when (IsConnectionFailure(e))
        {
            throw Fail(e is OperationCanceledException && !cancellationToken.IsCancellationRequested ? "no reply within the I/O timeout" : "receiving failed", e);
        }

        if (received == 0)
        {
            throw Fail("the server closed the connection", null);
        }

        _inputEnd += received;
    }

    private async ValueTask<int> ReadWithTimeoutAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.IoTimeout);
        return await _stream!.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
    }

    private async ValueTask EnsureConnectedAsync(bool async, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_stream is not null)
        {
            return;
        }

        var backoff = _options.ReconnectBackoff;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ConnectOnceAsync(async, cancellationToken).ConfigureAwait(false);
                Connects++;
                return;
            }
            catch (Exception e) when (IsConnectionFailure(e) && !cancellationToken.IsCancellationRequested)
            {
                Close();
                if (attempt >= _options.ConnectAttempts)
                {
                    throw new RedisConnectionException(
                        $"Could not connect to Redis at {_options.Endpoint} after {attempt} attempts: {e.Message}; " +
                        $"{_output.Commands} queued commands were not sent.",
                        _output.Commands,
                        e);
                }
            }
            catch (Exception)
            {
                Close();
                throw;
            }

            if (async)
            {
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                Thread.Sleep(backoff);
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxReconnectBackoff.Ticks));
        }
    }

    private async ValueTask ConnectOnceAsync(bool async, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp)
        {
            NoDelay = true,
            ReceiveTimeout = (int)_options.IoTimeout.TotalMilliseconds,
            SendTimeout = (int)_options.IoTimeout.TotalMilliseconds,
        };
        _socket = socket;
        if (async)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.ConnectTimeout);
            await socket.ConnectAsync(_options.Host, _options.Port, timeout.Token).ConfigureAwait(false);
        }
        else
        {
            // The synchronous connect has no timeout of its own; a blocking socket would wait for the OS (minutes), so
            // connect non-blocking and wait for writability up to ConnectTimeout.
            // A blocking connect: a socket that was ever non-blocking stays so underneath on Unix, and .NET then
            // emulates each blocking receive with a wait that allocates (seen: 184 bytes per receive that had to wait).
            // Its timeout is the kernel's SYN retries, bounded below to roughly ConnectTimeout.
            LimitSynRetries(socket, _options.ConnectTimeout);
            socket.Connect(_options.Host, _options.Port);
        }

        Stream stream = new NetworkStream(socket, ownsSocket: true);
        _stream = stream;
        if (_options.Tls)
        {
            var tls = new SslStream(stream, leaveInnerStreamOpen: false);
            _stream = tls;
            var authentication = new SslClientAuthenticationOptions { TargetHost = _options.TlsTargetHost ?? _options.Host };
            if (_options.TlsCaFile is { } caFile)
            {
                authentication.CertificateChainPolicy = TrustOnly(caFile);
            }

            if (async)
            {
                await tls.AuthenticateAsClientAsync(authentication, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                tls.AuthenticateAsClient(authentication);
            }
        }

        _inputStart = _inputEnd = 0;
        await HandshakeAsync(async, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>HELLO 3 (with AUTH and SETNAME) or AUTH and CLIENT SETNAME, then SELECT: one round trip.</summary>
    private async ValueTask HandshakeAsync(bool async, CancellationToken cancellationToken)
    {
        var o = _options;
        _setup.Reset();
        var steps = new List<string>(3);
        if (o.Protocol == 3)
        {
            var arguments = 2 + (o.Password is null ? 0 : 3) + (o.ClientName is null ? 0 : 2);
            _setup.Command(arguments).Arg("HELLO"u8).Arg(3);
            if (o.Password is not null)
            {
                _setup.Arg("AUTH"u8).Arg(o.Username ?? "default").Arg(o.Password);
            }

            if (o.ClientName is not null)
            {
                _setup.Arg("SETNAME"u8).Arg(o.ClientName);
            }

            steps.Add("HELLO");
        }
        else
        {
            if (o.Password is not null)
            {
                _setup.Command(o.Username is null ? 2 : 3).Arg("AUTH"u8);
                if (o.Username is not null)
                {
                    _setup.Arg(o.Username);
                }

                _setup.Arg(o.Password);
                steps.Add("AUTH");
            }

            if (o.ClientName is not null)
            {
                _setup.Command(3).Arg("CLIENT"u8).Arg("SETNAME"u8).Arg(o.ClientName);
                steps.Add("CLIENT SETNAME");
            }
        }

        if (o.Database != 0)
        {
            _setup.Command(2).Arg("SELECT"u8).Arg(o.Database);
            steps.Add("SELECT");
        }

        if (steps.Count == 0)
        {
            return;
        }

        if (async)
        {
            await _stream!.WriteAsync(_setup.Written, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            _stream!.Write(_setup.Written.Span);
        }

        _inFlight = steps.Count;
        RedisReplyCollector collector;
        _handshaking = true;
        try
        {
            (collector, _) = await ReadRepliesCoreAsync(async, new RedisReplyCollector(), cancellationToken).ConfigureAwait(false);
        }
        catch (RedisConnectionException e)
        {
            // Lost while logging in: an I/O failure like any other, so EnsureConnectedAsync retries; the queued commands
            // stay queued (Fail leaves them alone while _handshaking).
            throw new IOException(e.Message, e);
        }
        finally
        {
            _handshaking = false;
        }

        for (var i = 0; i < steps.Count; i++)
        {
            var reply = collector.Replies[i];
            if (!reply.IsError)
            {
                continue;
            }

            var message = reply.Text!;
            throw steps[i] switch
            {
                "HELLO" when message.StartsWith("NOPROTO", StringComparison.Ordinal) || message.Contains("unknown command", StringComparison.Ordinal) =>
                    new RedisServerException($"Redis at {o.Endpoint} does not speak RESP3 (HELLO 3 failed; use protocol 2): {message}", message),
                "HELLO" or "AUTH" => new RedisAuthenticationException(
                    $"Redis authentication failed for user '{o.Username ?? "default"}' at {o.Endpoint}: {message}", message),
                _ => new RedisServerException($"{steps[i]} failed while connecting to Redis at {o.Endpoint}: {message}", message),
            };
        }
    }

    /// <summary>
    /// Linux's TCP_SYNCNT: with r SYN retries a connect to a silent host gives up after about 2^(r+1) - 1 seconds
    /// (1, 3, 7, 15, ...), instead of the default of about 2 minutes. Chooses the largest r within the timeout (at least 1).
    /// </summary>
    private static void LimitSynRetries(Socket socket, TimeSpan timeout)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        const int IpProtoTcp = 6;
        const int TcpSynCount = 7;
        var retries = 1;
        while (retries < 6 && (1 << (retries + 2)) - 1 <= timeout.TotalSeconds)
        {
            retries++;
        }

        socket.SetRawSocketOption(IpProtoTcp, TcpSynCount, BitConverter.GetBytes(retries));
    }

    /// <summary>Whether an idle socket was closed by the server: readable with nothing to read means end of stream.</summary>
    private static bool PeerClosed(Socket socket)
    {
        try
        {
            return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    private static bool IsConnectionFailure(Exception e) =>
        e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or AuthenticationException;

    /// <summary>Drops the connection and fails every queued and in-flight command, counting them for the caller.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private RedisConnectionException Fail(string what, Exception? inner)
    {
        var unanswered = _handshaking ? 0 : _inFlight + _output.Commands;
        _inFlight = 0;
        if (!_handshaking)
        {
            _output.Reset();
        }

        Close();
        return new RedisConnectionException(
            $"Redis connection to {_options.Endpoint} failed: {what}; {unanswered} commands unanswered (the caller may retry them).",
            unanswered,
            inner);
    }

    private void Close()
    {
        var stream = _stream;
        var socket = _socket;
        _stream = null;
        _socket = null;
        _inputStart = _inputEnd = 0;
        stream?.Dispose();
        socket?.Dispose();
    }
}

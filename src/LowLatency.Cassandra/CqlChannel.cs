using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace LowLatency.Cassandra;

/// <summary>One answer: its header and its body in a pooled array (the receiver returns it, or hands it on).</summary>
internal readonly record struct CqlResponse(CqlFrameHeader Header, byte[] Body)
{
    public ReadOnlySpan<byte> BodySpan => Body.AsSpan(0, Header.Length);

    public void Return() => ArrayPool<byte>.Shared.Return(Body);
}

/// <summary>
/// One TCP connection speaking one protocol version, multiplexed: up to <see cref="CassandraOptions.MaxRequestsInFlight"/>
/// requests in flight, each on its own stream id, their answers matched by stream id in whatever order they come. A
/// single read loop parses every complete frame in its receive buffer and completes the waiting request (a pooled
/// value-task source per stream id: no allocation per request). Writes are serialised by a lock on one reusable send
/// buffer. A timer fails requests that outlive the request timeout. Once it fails (I/O error, closed, protocol
/// violation) it stays failed: every waiting request fails with <see cref="CassandraConnectionException"/> and the
/// owner opens a new channel.
/// </summary>
internal sealed class CqlChannel : IDisposable
{
    private readonly CassandraOptions _options;
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SemaphoreSlim _streams;
    private readonly CqlWriter _writer;
    private readonly Slot?[] _slots;
    private readonly int[] _freeIds;
    private readonly Lock _idLock = new();
    private readonly Timer _timer;
    private int _freeCount;
    private Exception? _failure;

    private CqlChannel(CassandraOptions options, Socket socket, int protocolVersion, int generation)
    {
        _options = options;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        ProtocolVersion = protocolVersion;
        Generation = generation;
        _writer = new CqlWriter(options.BufferSize);
        _slots = new Slot?[options.MaxRequestsInFlight];
        _freeIds = new int[options.MaxRequestsInFlight];
        // Highest first on the stack, so ids are handed out from 0 upwards.
        for (var i = 0; i < _freeIds.Length; i++)
        {
            _freeIds[i] = _freeIds.Length - 1 - i;
        }

        _freeCount = _freeIds.Length;
        _streams = new SemaphoreSlim(_freeIds.Length, _freeIds.Length);
        var period = TimeSpan.FromMilliseconds(Math.Clamp(options.RequestTimeout.TotalMilliseconds / 10, 10, 250));
        _timer = new Timer(static state => ((CqlChannel)state!).ExpireRequests(), this, period, period);
        _ = ReadLoopAsync();
    }

    public int ProtocolVersion { get; }

    /// <summary>Which connection of its owner this is: 1 for the first, +1 per reconnect (prepared ids belong to one).</summary>
    public int Generation { get; }

    public bool IsFailed => Volatile.Read(ref _failure) is not null;

    /// <summary>Requests sent whose answer has not arrived (or whose stream id awaits a late answer).</summary>
    public int InFlight
    {
        get
        {
            lock (_idLock)
            {
                return _freeIds.Length - _freeCount;
            }
        }
    }

    /// <summary>Connects to the node within the connect timeout.</summary>
    public static async Task<CqlChannel> OpenAsync(CassandraOptions options, int protocolVersion, int generation, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.ConnectTimeout);
            await socket.ConnectAsync(options.Host, options.Port, timeout.Token).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new CqlChannel(options, socket, protocolVersion, generation);
    }

    /// <summary>Sends one request on a free stream id and waits for its answer (an ERROR answer is an answer too).</summary>
    /// <exception cref="CassandraConnectionException">The connection failed before the answer came.</exception>
    /// <exception cref="CassandraTimeoutException">No answer within the request timeout.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<CqlResponse> SendAsync<TRequest>(TRequest request, CancellationToken cancellationToken)
        where TRequest : struct, ICqlRequest
    {
        ThrowIfFailed();
        await _streams.WaitAsync(cancellationToken).ConfigureAwait(false);
        Slot slot;
        lock (_idLock)
        {
            var id = _freeIds[--_freeCount];
            slot = _slots[id] ??= new Slot(this, (short)id);
        }

        slot.Arm(Stopwatch.GetTimestamp() + (long)(_options.RequestTimeout.TotalSeconds * Stopwatch.Frequency));
        var sent = false;
        try
        {
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ThrowIfFailed();
                _writer.Reset();
                _writer.BeginFrame(ProtocolVersion, slot.Stream, request.Opcode);
                request.WriteBody(_writer, ProtocolVersion);
                _writer.EndFrame();
                sent = true;
                // Not cancellable: a frame cut off half-way would garble the stream for every other request.
                await _stream.WriteAsync(_writer.Written, CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (Exception e)
        {
            if (sent)
            {
                Fail(e, "sending failed");
                slot.TryComplete(default, e as CassandraException ?? new CassandraConnectionException(
                    $"Cassandra connection to {_options.Endpoint} failed: sending failed: {e.Message}", e));
            }
            else
            {
                // Nothing went out: no answer will come, so the stream id is free again at once.
                slot.Disarm();
                slot.ReleaseWire();
                slot.ReleaseCaller();
                throw;
            }
        }

        var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static (state, token) => ((Slot)state!).TryComplete(default, new OperationCanceledException(token)), slot)
            : default;
        try
        {
            return await new ValueTask<CqlResponse>(slot, slot.Version).ConfigureAwait(false);
        }
        finally
        {
            // Unregistered before the id is released, so a late cancellation cannot complete the id's next request.
            registration.Dispose();
            slot.ReleaseCaller();
        }
    }

    public void Dispose() => Fail(new ObjectDisposedException(nameof(CqlChannel)), "the connection was closed");

    private void ThrowIfFailed()
    {
        if (Volatile.Read(ref _failure) is { } failure)
        {
            throw new CassandraConnectionException($"Cassandra connection to {_options.Endpoint} failed: {failure.Message}", failure);
        }
    }

    private async Task ReadLoopAsync()
    {
        using var frames = new CqlFrameBuffer(_options.BufferSize, _options.MaxFrameSize);
        try
        {
            while (true)
            {
                CqlFrameStatus status;
                while ((status = ParseFrames(frames)) == CqlFrameStatus.NeedMoreData)
                {
                    var received = await _stream.ReadAsync(frames.Writable).ConfigureAwait(false);
                    if (received == 0)
                    {
                        throw new IOException("the server closed the connection");
                    }

                    frames.Advance(received);
                }
            }
        }
        catch (Exception e)
        {
            Fail(e, e is CassandraProtocolException ? "protocol violation" : "receiving failed");
        }
    }

    /// <summary>Dispatches every complete frame; returns NeedMoreData when the rest is incomplete (anything else throws).</summary>
    private CqlFrameStatus ParseFrames(CqlFrameBuffer frames)
    {
        while (true)
        {
            var status = frames.TryReadFrame(0, out var header, out var body);
            if (status == CqlFrameStatus.NeedMoreData)
            {
                return status;
            }

            // The version is checked here, not by the decoder: while negotiating, a server refuses v4 in a v3 ERROR frame.
            if (status != CqlFrameStatus.Ok || (header.ProtocolVersion != ProtocolVersion && header.Opcode != CqlOpcode.Error))
            {
                throw new CassandraProtocolException(Describe(status, header));
            }

            Dispatch(header, body);
        }
    }

    private static string Describe(CqlFrameStatus status, CqlFrameHeader header) => status switch
    {
        CqlFrameStatus.BadLength => $"the server sent a frame of {header.Length} bytes, beyond the maximum frame size (CassandraOptions.MaxFrameSize)",
        CqlFrameStatus.UnknownOpcode => $"the server sent unknown opcode 0x{(byte)header.Opcode:X2}",
        _ => $"the server sent a frame of version byte 0x{header.Version:X2}",
    };

    private void Dispatch(CqlFrameHeader header, ReadOnlySpan<byte> body)
    {
        if (header.Stream < 0)
        {
            return; // an EVENT: this client registers for none
        }

        var slot = header.Stream < _slots.Length ? Volatile.Read(ref _slots[header.Stream]) : null;
        if (slot is null || !slot.IsWaitingForWire)
        {
            throw new CassandraProtocolException($"the server answered stream {header.Stream}, which has no request");
        }

        var copy = ArrayPool<byte>.Shared.Rent(Math.Max(header.Length, 1));
        body.CopyTo(copy);
        if (!slot.TryComplete(new CqlResponse(header, copy), null))
        {
            ArrayPool<byte>.Shared.Return(copy); // the caller gave up (timeout, cancellation): a late answer
        }

        slot.ReleaseWire();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Fail(Exception cause, string what)
    {
        if (Interlocked.CompareExchange(ref _failure, cause, null) is not null)
        {
            return;
        }

        _timer.Dispose();
        _stream.Dispose();
        foreach (var slot in _slots)
        {
            if (slot is not null && slot.IsWaitingForWire)
            {
                slot.TryComplete(default, new CassandraConnectionException(
                    $"Cassandra connection to {_options.Endpoint} failed: {what}: {cause.Message}; the request was not answered.", cause));
                slot.ReleaseWire();
            }
        }
    }

    private void ExpireRequests()
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var slot in _slots)
        {
            slot?.TryExpire(now, _options.Endpoint, _options.RequestTimeout);
        }
    }

    private void ReturnId(short stream)
    {
        lock (_idLock)
        {
            _freeIds[_freeCount++] = stream;
        }

        _streams.Release();
    }

    /// <summary>
    /// The waiter of one stream id. Two holds keep the id reserved: the caller's (until it has read the answer) and the
    /// wire's (until the answer arrived or the connection failed); the id is free again when both are released, so a
    /// late answer to a timed-out request can never be taken for the answer to the id's next request.
    /// </summary>
    /// <remarks>
    /// <see cref="_pending"/> holds the number of the current arming while the request waits, 0 once completed; it
    /// changes by Interlocked operations so exactly one of answer, timeout, cancellation and connection failure
    /// completes the value-task source, and a timeout judged on an earlier arming can never complete a later one.
    /// <see cref="_holds"/> and <see cref="_wire"/> also change only by Interlocked operations (full fences), so an
    /// arming is visible to <see cref="Fail"/> before the sender checks whether the channel failed.
    /// </remarks>
    private sealed class Slot(CqlChannel channel, short stream) : IValueTaskSource<CqlResponse>
    {
        private ManualResetValueTaskSourceCore<CqlResponse> _core = new() { RunContinuationsAsynchronously = true };
        private int _arms;
        private int _pending;
        private int _holds;
        private int _wire;
        private long _deadline;

        public short Stream { get; } = stream;

        public short Version => _core.Version;

        public bool IsWaitingForWire => Volatile.Read(ref _wire) == 1;

        /// <summary>Readies the slot for a request (only the sender holding the free id calls it).</summary>
        public void Arm(long deadline)
        {
            _core.Reset();
            _arms = _arms == int.MaxValue ? 1 : _arms + 1;
            Volatile.Write(ref _deadline, deadline);
            Interlocked.Exchange(ref _holds, 2);
            Interlocked.Exchange(ref _wire, 1);
            Interlocked.Exchange(ref _pending, _arms);
        }

        /// <summary>Nothing was sent: no completion will be awaited.</summary>
        public void Disarm() => Interlocked.Exchange(ref _pending, 0);

        public bool TryComplete(CqlResponse response, Exception? error)
        {
            var arming = Volatile.Read(ref _pending);
            return arming != 0 && TryComplete(arming, response, error);
        }

        /// <summary>Fails the request with a timeout if the arming it was judged on is past its deadline.</summary>
        public void TryExpire(long now, string endpoint, TimeSpan timeout)
        {
            var arming = Volatile.Read(ref _pending);
            if (arming != 0 && now > Volatile.Read(ref _deadline))
            {
                TryComplete(arming, default, new CassandraTimeoutException(
                    $"Cassandra at {endpoint} did not answer within {timeout.TotalSeconds:0.###} s (stream {Stream})."));
            }
        }

        public void ReleaseWire()
        {
            if (Interlocked.Exchange(ref _wire, 0) == 1)
            {
                Release();
            }
        }

        public void ReleaseCaller() => Release();

        public CqlResponse GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);

        private bool TryComplete(int arming, CqlResponse response, Exception? error)
        {
            if (Interlocked.CompareExchange(ref _pending, 0, arming) != arming)
            {
                return false;
            }

            if (error is null)
            {
                _core.SetResult(response);
            }
            else
            {
                _core.SetException(error);
            }

            return true;
        }

        private void Release()
        {
            if (Interlocked.Decrement(ref _holds) == 0)
            {
                channel.ReturnId(Stream);
            }
        }
    }
}

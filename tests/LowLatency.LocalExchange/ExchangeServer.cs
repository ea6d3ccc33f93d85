using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LowLatency.LocalExchange;

/// <summary>
/// A local Binance Spot market-stream server for tests and load: Kestrel on 127.0.0.1 serving <c>/stream?streams=a/b</c>
/// (combined), <c>/ws/&lt;stream&gt;</c> and <c>/ws</c> (raw), answering SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS,
/// SET_PROPERTY and GET_PROPERTY, with Binance's limits (streams per connection, incoming messages per second, pings and
/// pong timeout, connection age), playing an <see cref="ExchangeFeed"/> on a live timeline, recording what every
/// connection did, and injecting faults on demand.
/// </summary>
/// <example>
/// <code>
/// await using var exchange = await ExchangeServer.StartAsync(new() { Feed = ExchangeFeed.FromRecordings(paths), Speed = 10, StartPaused = true });
/// using var client = new ClientWebSocket();
/// await client.ConnectAsync(exchange.StreamUri("btcusdt@trade"), CancellationToken.None);
/// exchange.Play();
/// </code>
/// </example>
public sealed partial class ExchangeServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ILogger _logger;
    private readonly List<ExchangeConnection> _connections = [];   // every connection ever accepted; lock: itself
    private readonly CancellationTokenSource _stopping = new();
    private readonly long _started = Stopwatch.GetTimestamp();
    private TaskCompletionSource _connectionAdded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _playing = Task.CompletedTask;
    private int _accepted;
    private Uri? _baseUri;

    private ExchangeServer(ExchangeServerOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(options.Loops, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.Speed, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxStreamsPerConnection, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxIncomingMessagesPerSecond, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxIncomingMessageBytes, 125, nameof(options));

        Options = options;
        Feed = options.Feed ?? ExchangeFeed.Empty;
        TotalFrames = options.Loops == 0 ? long.MaxValue : (long)Feed.Count * options.Loops;
        Withheld = new bool[Feed.Count];
        Timeline = new Timeline(Feed, options.Speed, TotalFrames);
        _logger = options.LoggerFactory?.CreateLogger<ExchangeServer>() ?? NullLogger<ExchangeServer>.Instance;

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        if (options.LoggerFactory is { } loggerFactory)
        {
            builder.Services.AddSingleton(loggerFactory);
        }

        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // A raw connection, not the HTTP pipeline: the exchange reads the upgrade request and does the framing itself.
            kestrel.Listen(IPAddress.Loopback, options.Port, listen => listen.Run(AcceptAsync));
        });
        _app = builder.Build();
    }

    /// <summary>Starts an exchange on 127.0.0.1 (an ephemeral port unless <see cref="ExchangeServerOptions.Port"/> is set).</summary>
    public static async Task<ExchangeServer> StartAsync(ExchangeServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var exchange = new ExchangeServer(options ?? new ExchangeServerOptions());
        await exchange._app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = exchange._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        exchange._baseUri = new Uri($"ws://127.0.0.1:{new Uri(address).Port}");
        exchange._playing = exchange.Timeline.RunAsync(exchange._stopping.Token);
        if (!exchange.Options.StartPaused)
        {
            exchange.Play();
        }

        return exchange;
    }

    /// <summary>The server's address, <c>ws://127.0.0.1:&lt;port&gt;</c>: what BINANCE_WS_URL points at.</summary>
    public Uri BaseUri => _baseUri ?? throw new InvalidOperationException("The exchange has not started.");

    /// <summary>The options it was started with.</summary>
    public ExchangeServerOptions Options { get; }

    /// <summary>The frames it plays.</summary>
    public ExchangeFeed Feed { get; }

    /// <summary>Time since the exchange was created; every recorded time is on this clock.</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

    /// <summary>How many frames the shared timeline has played (across loops).</summary>
    public long FramesPlayed => Timeline.Published;

    /// <summary>Completes when the shared timeline has played every frame of every loop.</summary>
    public Task PlaybackCompleted => Timeline.Completed;

    /// <summary>Every connection accepted so far, open or closed, in order of acceptance.</summary>
    public IReadOnlyList<ExchangeConnection> Connections
    {
        get
        {
            lock (_connections)
            {
                return [.. _connections];
            }
        }
    }

    internal Timeline Timeline { get; }

    internal long TotalFrames { get; }

    /// <summary>By feed frame index: frames never sent to anyone (see <see cref="Withhold"/>).</summary>
    internal bool[] Withheld { get; }

    /// <summary><c>ws://…/stream?streams=a/b/c</c>: the combined endpoint for <paramref name="streams"/>.</summary>
    public Uri StreamUri(params IReadOnlyList<string> streams) => new(BaseUri, $"/stream?streams={string.Join('/', streams)}");

    /// <summary><c>ws://…/ws/a/b</c> (or <c>ws://…/ws</c> with no stream): the raw endpoint.</summary>
    public Uri RawStreamUri(params IReadOnlyList<string> streams) => new(BaseUri, streams.Count == 0 ? "/ws" : $"/ws/{string.Join('/', streams)}");

    /// <summary>Starts the shared timeline (when started with <see cref="ExchangeServerOptions.StartPaused"/>); idempotent.</summary>
    public void Play() => Timeline.Play();

    /// <summary>Waits until the <paramref name="number"/>-th connection (from 1) has been accepted, and returns it.</summary>
    public async Task<ExchangeConnection> WaitForConnectionAsync(int number = 1, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(number, 1);
        while (true)
        {
            Task added;
            lock (_connections)
            {
                if (_connections.Count >= number)
                {
                    return _connections[number - 1];
                }

                added = _connectionAdded.Task;
            }

            await added.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// An exchange-made gap: the frames of <paramref name="stream"/> whose sequence number (trade id <c>t</c>, aggTrade
    /// <c>a</c>, depth or bookTicker <c>u</c>; see <see cref="ExchangeFeed.SequenceOf"/>) is in
    /// [<paramref name="fromSequence"/>, <paramref name="toSequence"/>] are never sent to anyone, from now on.
    /// </summary>
    /// <returns>How many frames of the feed (one loop) are withheld by this call.</returns>
    public int Withhold(string stream, long fromSequence, long toSequence)
    {
        if (!Feed.TryGetStreamId(stream, out var id))
        {
            return 0;
        }

        var count = 0;
        for (var i = 0; i < Feed.Count; i++)
        {
            if (Feed.EntryAt(i).StreamId == id && Feed.SequenceOf(i) is { } sequence && sequence >= fromSequence && sequence <= toSequence)
            {
                Volatile.Write(ref Withheld[i], true);
                count++;
            }
        }

        return count;
    }

    /// <summary>Drops every open connection, abruptly (TCP reset) or with a clean close.</summary>
    public Task DropAllAsync(DropKind kind = DropKind.Abort) =>
        Task.WhenAll(OpenConnections().Select(c => Drop(c, kind)));

    /// <summary>Drops every open connection every <paramref name="interval"/> until the returned handle is disposed.</summary>
    public IDisposable DropEvery(TimeSpan interval, DropKind kind = DropKind.Abort)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        _ = DropPeriodicallyAsync(interval, kind, stop.Token);
        return new DropSchedule(stop);
    }

    /// <summary>Sends <c>serverShutdown</c> to every open connection and closes each one (1001) after <paramref name="grace"/>.</summary>
    public Task SendServerShutdownAsync(TimeSpan grace) =>
        Task.WhenAll(OpenConnections().Select(c => c.SendServerShutdownAsync(grace)));

    /// <summary>Stops playing, drops every connection (TCP reset) and stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        var connections = Connections;
        foreach (var connection in connections)
        {
            connection.AbortCore(CloseReason.ExchangeStopped, "the exchange stopped");
        }

        try
        {
            await _playing.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped while paused or playing.
        }

        try
        {
            await Task.WhenAll(connections.Select(c => (Task)c.Closed)).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A connection stuck in Kestrel: stopping the server below ends it.
        }

        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private static Task Drop(ExchangeConnection connection, DropKind kind)
    {
        if (kind == DropKind.Close)
        {
            return connection.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "going away");
        }

        connection.Abort();
        return Task.CompletedTask;
    }

    private async Task DropPeriodicallyAsync(TimeSpan interval, DropKind kind, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await DropAllAsync(kind).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The schedule was disposed, or the exchange stopped.
        }
    }

    private ExchangeConnection[] OpenConnections() => [.. Connections.Where(c => c.IsOpen)];

    private async Task AcceptAsync(ConnectionContext context)
    {
        try
        {
            await HandshakeThenServeAsync(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ConnectionResetException or InvalidOperationException)
        {
            // The client left during the handshake, or the exchange is stopping.
        }
    }

    private async Task HandshakeThenServeAsync(ConnectionContext context)
    {
        var request = await WebSocketHandshake.ReadRequestAsync(context.Transport.Input, _stopping.Token).ConfigureAwait(false);
        if (request is null)
        {
            return;
        }

        var rejection = WebSocketHandshake.Validate(request);
        var (status, phrase) = (400, "Bad Request");
        IReadOnlyList<string> streams = [];
        var combined = false;
        if (rejection is null && !TryRoute(request, out streams, out combined, out rejection))
        {
            (status, phrase) = (404, "Not Found");
        }

        if (rejection is null && streams.Count > Options.MaxStreamsPerConnection)
        {
            rejection = $"too many streams: {streams.Count} requested, at most {Options.MaxStreamsPerConnection} per connection";
        }

        if (rejection is null && streams.FirstOrDefault(s => !ControlProtocol.IsValidStreamName(s)) is { } invalid)
        {
            rejection = $"invalid stream name '{invalid}'";
        }

        if (rejection is not null)
        {
            LogRejected(request.Target, rejection);
            await context.Transport.Output.WriteAsync(WebSocketHandshake.ErrorResponse(status, phrase, rejection)).ConfigureAwait(false);
            return;
        }

        // Subscribed before the 101 goes out, so the client misses nothing played after its handshake; registered after
        // it, so a fault injected into every connection never hits one whose handshake is unfinished.
        var cursor = Options.Mode == FeedMode.PerConnection ? 0 : Timeline.Published;
        var connection = new ExchangeConnection(this, context, Interlocked.Increment(ref _accepted), request.Target, combined, cursor);
        connection.SubscribeAtConnect(streams);
        await context.Transport.Output.WriteAsync(WebSocketHandshake.SwitchingProtocols(request.Header("sec-websocket-key")!)).ConfigureAwait(false);
        lock (_connections)
        {
            _connections.Add(connection);
            Interlocked.Exchange(ref _connectionAdded, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }

        if (_stopping.IsCancellationRequested)
        {
            connection.AbortCore(CloseReason.ExchangeStopped, "the exchange stopped"); // DisposeAsync may have missed it
        }

        LogOpened(connection.Number, request.Target);
        await connection.RunAsync().ConfigureAwait(false);
        var close = connection.Close!;
        LogClosed(connection.Number, close.Reason, close.Description, connection.FramesSent);
    }

    // /stream?streams=a/b (combined), /ws/a/b and /ws (raw); a trailing slash is tolerated.
    private static bool TryRoute(UpgradeRequest request, out IReadOnlyList<string> streams, out bool combined, out string? rejection)
    {
        var path = request.Path.TrimEnd('/');
        rejection = null;
        if (path == "/stream")
        {
            combined = true;
            streams = Split(request.QueryValue("streams"));
            return true;
        }

        if (path == "/ws" || path.StartsWith("/ws/", StringComparison.Ordinal))
        {
            combined = false;
            streams = Split(Uri.UnescapeDataString(path.Length > 3 ? path[4..] : string.Empty));
            return true;
        }

        combined = false;
        streams = [];
        rejection = $"no such endpoint: {request.Path} (use /stream?streams=..., /ws/<stream> or /ws)";
        return false;

        static string[] Split(string? names) => [.. (names ?? string.Empty).Split('/', StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal)];
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {Number} opened: {Target}")]
    private partial void LogOpened(int number, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {Number} closed: {Reason} ({Description}) after {Frames} frames")]
    private partial void LogClosed(int number, CloseReason reason, string description, long frames);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upgrade refused for {Target}: {Reason}")]
    private partial void LogRejected(string target, string reason);

    private sealed class DropSchedule(CancellationTokenSource stop) : IDisposable
    {
        public void Dispose()
        {
            stop.Cancel();
            stop.Dispose();
        }
    }
}

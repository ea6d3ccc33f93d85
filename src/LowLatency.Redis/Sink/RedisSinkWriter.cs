using System.Buffers;
using System.Net.Sockets;
using System.Text;
using LowLatency.Aggregation;
using LowLatency.Sinks;
using LowLatency.Sinks.Batching;
using LowLatency.Telemetry;

namespace LowLatency.Redis.Sink;

/// <summary>Options of the Redis hot tier.</summary>
public sealed record RedisSinkOptions
{
    /// <summary>The server and credentials (<c>REDIS_HOST</c>, <c>REDIS_PORT</c>, <c>REDIS_PASSWORD</c>, <c>REDIS_USERNAME</c>, <c>REDIS_DB</c>).</summary>
    public RedisOptions Redis { get; init; } = new();

    /// <summary>TTL of the <c>ticker:{SYMBOL}</c> hashes, seconds (<c>TICKER_TTL_SECONDS</c>, default 60).</summary>
    public int TickerTtlSeconds { get; init; } = 60;

    /// <summary>
    /// A ticker whose event time is more than this behind the newest event time the sink has seen is stale and rejected
    /// (<c>TICKER_WATERMARK_DELAY_MS</c>, default 10,000: the original hot path's watermark).
    /// </summary>
    public long TickerWatermarkDelayMs { get; init; } = 10_000;

    /// <summary>A ticker whose event time is more than this ahead of the wall clock is rejected (<c>TICKER_MAX_FUTURE_MS</c>, default 5,000).</summary>
    public long TickerMaxFutureMs { get; init; } = 5_000;

    /// <summary>The alerts stream's key (capped with <c>MAXLEN ~</c> <see cref="AlertStreamLength"/>).</summary>
    public string AlertStream { get; init; } = "alerts";

    /// <summary>About how many alerts the stream keeps. Default 10,000.</summary>
    public int AlertStreamLength { get; init; } = 10_000;

    /// <summary>How long an alert's id is remembered so that a replayed alert is not added twice, seconds. Default 1 day.</summary>
    public int AlertDedupSeconds { get; init; } = 86_400;
}

/// <summary>Why the Redis sink refused a ticker (counted per reason).</summary>
public enum TickerRejection : byte
{
    /// <summary>Older than the newest ticker already written for the symbol (never overwrite newer with older).</summary>
    Older,

    /// <summary>Further behind the newest event time seen than the watermark delay.</summary>
    Stale,

    /// <summary>Further ahead of the wall clock than the allowed future.</summary>
    Future,
}

/// <summary>
/// The Redis hot tier (issue 6), the layout users of the original pipelines read: <c>ticker:{SYMBOL}</c> hashes with
/// the live ticker's fields and a TTL; the last closed candle per symbol and interval as the hash
/// <c>candle:{SYMBOL}:{interval}</c>; alerts in a capped stream. One pipelined connection: a batch is one round trip.
/// </summary>
/// <remarks>
/// <para>
/// Late data, as the original hot path ruled it: a ticker from the future (<see cref="RedisSinkOptions.TickerMaxFutureMs"/>
/// ahead of the wall clock), one behind the watermark (the newest event time seen less
/// <see cref="RedisSinkOptions.TickerWatermarkDelayMs"/>), and one older than the symbol's stored ticker are rejected and
/// counted by reason. "Older than stored" is decided in Redis by a script, against the stored <c>event_time</c>, so it
/// also holds across restarts and when a spilled batch is replayed after newer data. Candles follow the same rule on
/// <c>open_time</c>: only a candle at least as recent as the stored one replaces it.
/// </para>
/// <para>
/// Alerts: each is added once to the stream (<c>XADD … MAXLEN ~</c>), guarded by a key <c>alert:{id}</c> set with NX
/// and a TTL, so a replay after a crash does not add it again. The scripts are loaded once per connection
/// (<c>SCRIPT LOAD</c>) and run with <c>EVALSHA</c>; a server restart that forgets them is a transient failure that
/// reloads them.
/// </para>
/// </remarks>
public sealed class RedisSinkWriter : IBatchWriter, IDisposable
{
    // KEYS[1] ticker key. ARGV[1] event time (ms), ARGV[2] TTL (s), ARGV[3..] field/value pairs.
    private const string TickerScript = """
        local stored = redis.call('HGET', KEYS[1], 'event_time')
        if stored and tonumber(stored) > tonumber(ARGV[1]) then return 0 end
        redis.call('HSET', KEYS[1], unpack(ARGV, 3))
        redis.call('EXPIRE', KEYS[1], ARGV[2])
        return 1
        """;

    // KEYS[1] candle key. ARGV[1] open time (ms), ARGV[2..] field/value pairs.
    private const string CandleScript = """
        local stored = redis.call('HGET', KEYS[1], 'open_time')
        if stored and tonumber(stored) > tonumber(ARGV[1]) then return 0 end
        redis.call('HSET', KEYS[1], unpack(ARGV, 2))
        return 1
        """;

    // KEYS[1] stream, KEYS[2] dedup key. ARGV[1] max length, ARGV[2] dedup TTL (s), ARGV[3..] field/value pairs.
    private const string AlertScript = """
        if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then return 0 end
        redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, 3))
        return 1
        """;

    private readonly RedisSinkOptions _options;
    private readonly RedisConnection _connection;
    private readonly SemaphoreSlim _exclusive = new(1, 1); // one pipeline: one batch at a time on it
    private readonly RespFieldWriter _fields = new();
    private readonly ArrayBufferWriter<byte> _key = new(128);
    private readonly byte[] _tickerTtl;
    private readonly byte[] _alertLength;
    private readonly byte[] _alertDedup;
    private readonly byte[] _alertStream;
    private readonly long[] _rejected = new long[Enum.GetValues<TickerRejection>().Length];
    private OutputRecords? _records;
    private long[] _lastTickerMs = new long[1024];
    private long _newestEventMs = long.MinValue;
    private byte[]? _tickerSha;
    private byte[]? _candleSha;
    private byte[]? _alertSha;
    private long _tickers;
    private long _candles;
    private long _alerts;
    private long _olderCandles;
    private long _alertsSeen;
    private OutputKind[] _queued = new OutputKind[1024];
    private int _queuedCount;
    private int[] _latestTicker = new int[1024];
    private long _coalesced;

    /// <summary>Creates the writer; nothing connects until <see cref="ConnectAsync"/> or the first batch.</summary>
    public RedisSinkWriter(RedisSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _connection = new RedisConnection(options.Redis);
        _tickerTtl = Encoding.ASCII.GetBytes(options.TickerTtlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _alertLength = Encoding.ASCII.GetBytes(options.AlertStreamLength.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _alertDedup = Encoding.ASCII.GetBytes(options.AlertDedupSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _alertStream = Encoding.UTF8.GetBytes(options.AlertStream);
        Array.Fill(_lastTickerMs, long.MinValue);
    }

    /// <summary>Tickers, candles and alerts the store took (replays that changed nothing included).</summary>
    public (long Tickers, long Candles, long Alerts) Written => (Volatile.Read(ref _tickers), Volatile.Read(ref _candles), Volatile.Read(ref _alerts));

    /// <summary>Tickers not written because a later one of the same symbol was in the same batch.</summary>
    public long Coalesced => Volatile.Read(ref _coalesced);

    /// <summary>Candles not written because the stored one is more recent; alerts not added because they were before (replays).</summary>
    public (long OlderCandles, long AlertsSeen) Skipped => (Volatile.Read(ref _olderCandles), Volatile.Read(ref _alertsSeen));

    /// <summary>Tickers refused for <paramref name="reason"/>.</summary>
    public long Rejected(TickerRejection reason) => Volatile.Read(ref _rejected[(int)reason]);

    /// <summary>Connects, logs in and loads the scripts now, so bad credentials fail at start-up.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        await _exclusive.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await LoadScriptsAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _exclusive.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask WriteAsync(OutputBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await _exclusive.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_tickerSha is null)
            {
                await LoadScriptsAsync(cancellationToken).ConfigureAwait(false);
            }

            var records = _records ??= new OutputRecords(batch.Symbols);
            var nowMs = WallClock.UnixNanoseconds() / 1_000_000;
            _queuedCount = 0;
            MarkLatestTickers(batch.Events);
            int tickers = 0, candles = 0, alerts = 0;
            var events = batch.Events;
            for (var i = 0; i < events.Length; i++)
            {
                ref readonly var e = ref events[i];
                switch (e.Kind)
                {
                    case OutputKind.Ticker when _latestTicker[e.SymbolId] != i:
                        _coalesced++; // a later ticker of the symbol in this batch replaces it: one write per symbol
                        break;
                    case OutputKind.Ticker when Admit(e.SymbolId, e.Ticker.EventTimeNs / 1_000_000, nowMs):
                        WriteTicker(records, in e);
                        tickers++;
                        break;
                    case OutputKind.Candle:
                        WriteCandle(records, in e);
                        candles++;
                        break;
                    case OutputKind.Alert:
                        WriteAlert(records, in e);
                        alerts++;
                        break;
                }
            }

            if (_connection.Queued == 0)
            {
                return;
            }

            await _connection.FlushAsync(cancellationToken).ConfigureAwait(false);
            var replies = await _connection.ReadRepliesAsync(new ScriptReplies(_queued), cancellationToken).ConfigureAwait(false);
            _queuedCount = 0;
            if (replies.FirstError is { } error)
            {
                if (error.StartsWith("NOSCRIPT", StringComparison.Ordinal))
                {
                    _tickerSha = null; // the server restarted: load them again, then the batch is retried
                    throw new RedisConnectionException($"Redis forgot the sink's scripts ({error}); reloading.", 0, null);
                }

                throw new RedisServerException($"Redis refused a write of the batch: {error}", error);
            }

            // 0 from the ticker and candle scripts: older than what is stored; from the alert script: added before (a replay).
            _rejected[(int)TickerRejection.Older] += replies.TickersRefused;
            _olderCandles += replies.CandlesRefused;
            _alertsSeen += replies.AlertsSeen;
            Volatile.Write(ref _tickers, _tickers + tickers);
            Volatile.Write(ref _candles, _candles + candles);
            Volatile.Write(ref _alerts, _alerts + alerts);
        }
        finally
        {
            _exclusive.Release();
        }
    }

    /// <inheritdoc />
    public bool IsTransient(Exception failure) =>
        failure is RedisConnectionException or IOException or SocketException or TimeoutException or ObjectDisposedException
        || (failure is RedisServerException server && server is not RedisAuthenticationException
            && (server.ServerMessage.StartsWith("LOADING", StringComparison.Ordinal) || server.ServerMessage.StartsWith("BUSY", StringComparison.Ordinal)
                || server.ServerMessage.StartsWith("TRYAGAIN", StringComparison.Ordinal) || server.ServerMessage.StartsWith("MASTERDOWN", StringComparison.Ordinal)));

    /// <inheritdoc />
    public void Dispose()
    {
        _connection.Dispose();
        _fields.Dispose();
        _exclusive.Dispose();
    }

    /// <summary>Finds, per symbol, the batch index of its last ticker (<see cref="_latestTicker"/>).</summary>
    private void MarkLatestTickers(ReadOnlySpan<OutputEvent> events)
    {
        for (var i = 0; i < events.Length; i++)
        {
            if (events[i].Kind == OutputKind.Ticker)
            {
                var symbol = events[i].SymbolId;
                if ((uint)symbol >= (uint)_latestTicker.Length)
                {
                    Array.Resize(ref _latestTicker, Math.Max(symbol + 1, _latestTicker.Length * 2));
                }

                _latestTicker[symbol] = i;
            }
        }
    }

    /// <summary>Remembers what the next queued command is, so its reply is counted by kind.</summary>
    private void Queue(OutputKind kind)
    {
        if (_queuedCount == _queued.Length)
        {
            Array.Resize(ref _queued, _queued.Length * 2);
        }

        _queued[_queuedCount++] = kind;
    }

    /// <summary>The ticker rules that need no round trip: future, stale, and older than this process already wrote.</summary>
    private bool Admit(int symbolId, long eventMs, long nowMs)
    {
        if (eventMs > nowMs + _options.TickerMaxFutureMs)
        {
            _rejected[(int)TickerRejection.Future]++;
            return false;
        }

        _newestEventMs = Math.Max(_newestEventMs, eventMs);
        if (eventMs < _newestEventMs - _options.TickerWatermarkDelayMs)
        {
            _rejected[(int)TickerRejection.Stale]++;
            return false;
        }

        if ((uint)symbolId >= (uint)_lastTickerMs.Length)
        {
            var grown = new long[Math.Max(symbolId + 1, _lastTickerMs.Length * 2)];
            Array.Fill(grown, long.MinValue);
            _lastTickerMs.CopyTo(grown, 0);
            _lastTickerMs = grown;
        }

        if (eventMs < _lastTickerMs[symbolId])
        {
            _rejected[(int)TickerRejection.Older]++;
            return false;
        }

        _lastTickerMs[symbolId] = eventMs;
        return true;
    }

    private void WriteTicker(OutputRecords records, in OutputEvent e)
    {
        records.Write(_fields, e);
        Key("ticker:"u8, records.Symbols.GetUtf8(e.SymbolId));
        var command = Script(_tickerSha, "1"u8, leading: 3).Arg(_key.WrittenSpan).Arg(_fields.ValueOf("event_time"u8)).Arg(_tickerTtl);
        EndScript(command, OutputKind.Ticker);
    }

    private void WriteCandle(OutputRecords records, in OutputEvent e)
    {
        records.Write(_fields, e);
        Key("candle:"u8, records.Symbols.GetUtf8(e.Candle.SymbolId));
        _key.Write(":"u8);
        _key.Write(OutputRecords.IntervalName(e.Candle.IntervalNs));
        var command = Script(_candleSha, "1"u8, leading: 2).Arg(_key.WrittenSpan).Arg(_fields.ValueOf("open_time"u8));
        EndScript(command, OutputKind.Candle);
    }

    private void WriteAlert(OutputRecords records, in OutputEvent e)
    {
        records.Write(_fields, e);
        Key("alert:"u8, _fields.ValueOf("id"u8));
        var command = Script(_alertSha, "2"u8, leading: 4).Arg(_alertStream).Arg(_key.WrittenSpan).Arg(_alertLength).Arg(_alertDedup);
        EndScript(command, OutputKind.Alert);
    }

    /// <summary>The key <paramref name="prefix"/><paramref name="name"/> in <see cref="_key"/>.</summary>
    private void Key(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> name)
    {
        _key.ResetWrittenCount();
        _key.Write(prefix);
        _key.Write(name);
    }

    /// <summary>
    /// Starts <c>EVALSHA sha numkeys</c> for a command whose <paramref name="leading"/> keys and arguments the caller
    /// adds next, and whose record fields <see cref="EndScript"/> adds after them.
    /// </summary>
    private RespWriter Script(byte[]? sha, ReadOnlySpan<byte> keys, int leading) =>
        _connection.Command(3 + leading + (2 * _fields.Count)).Arg("EVALSHA"u8).Arg(sha).Arg(keys);

    /// <summary>Appends the record's fields and remembers the command's kind for its reply.</summary>
    private void EndScript(RespWriter command, OutputKind kind)
    {
        _fields.AppendFields(command);
        Queue(kind);
    }

    private async Task LoadScriptsAsync(CancellationToken cancellationToken)
    {
        _tickerSha = await LoadAsync(TickerScript, cancellationToken).ConfigureAwait(false);
        _candleSha = await LoadAsync(CandleScript, cancellationToken).ConfigureAwait(false);
        _alertSha = await LoadAsync(AlertScript, cancellationToken).ConfigureAwait(false);
    }

    private async Task<byte[]> LoadAsync(string script, CancellationToken cancellationToken)
    {
        var reply = await _connection.ExecuteAsync(["SCRIPT", "LOAD", script], cancellationToken).ConfigureAwait(false);
        return Encoding.ASCII.GetBytes(reply.Text ?? throw new RedisServerException("SCRIPT LOAD returned no digest."));
    }

    /// <summary>The scripts' replies (1 applied, 0 refused) counted by the kind of command they answer; the first error's text.</summary>
    private struct ScriptReplies(OutputKind[] kinds) : IRespReplyHandler
    {
        public long TickersRefused;
        public long CandlesRefused;
        public long AlertsSeen;
        public string? FirstError;

        public void OnReply(int index, in RespReply reply)
        {
            if (reply.IsError)
            {
                FirstError ??= Encoding.UTF8.GetString(reply.Payload);
                return;
            }

            if (reply.Type != RespType.Integer || reply.Value != 0)
            {
                return;
            }

            switch (kinds[index])
            {
                case OutputKind.Ticker:
                    TickersRefused++;
                    break;
                case OutputKind.Candle:
                    CandlesRefused++;
                    break;
                case OutputKind.Alert:
                    AlertsSeen++;
                    break;
            }
        }
    }
}

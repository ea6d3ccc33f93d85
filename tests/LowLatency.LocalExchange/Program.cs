using System.Globalization;
using System.Runtime.InteropServices;
using LowLatency.Connectors.Replay;
using LowLatency.LocalExchange;
using Microsoft.Extensions.Logging;

// lowlatency-local-exchange: serves recordings or generated load as a local Binance Spot stream server until SIGTERM,
// SIGINT or the end of standard input, so the daemon can run against it (BINANCE_WS_URL). The first line on stdout is
// the contract: "URL ws://127.0.0.1:<port>", printed once the server listens. Everything else goes to stderr.
// With --measure it instead measures what the server can send to one local client and prints the figures.
// Exit codes: 0 stopped on request (or measured), 1 could not start, 2 bad command line.
const string Usage = """
    Usage: lowlatency-local-exchange (--recording PATH... | --generate N) [options]

    Serves a local Binance Spot market-stream server on 127.0.0.1: /stream?streams=a/b (combined), /ws/<stream> and
    /ws (raw), live SUBSCRIBE/UNSUBSCRIBE/LIST_SUBSCRIPTIONS, Binance's limits, pings. Prints "URL ws://127.0.0.1:PORT"
    as the first line on stdout and runs until SIGTERM, SIGINT or standard input closes.

    Feed:
      --recording PATH     a recording (hftbacktest or cryptofeed, plain or gzip); repeatable, merged by receive time
      --generate N         N frames of the deterministic load generator instead (50 symbols, 50 k frames/s at 1x)
      --symbols K          generator symbols (default 50)
      --seed S             generator seed (default 1)
    Playback:
      --speed X            speed factor of the shared timeline (default 1 = real time)
      --max-speed          release every frame at once
      --loop N             play the feed N times, 0 = forever (default 1)
      --per-connection     each connection gets the whole feed from its first subscription, as fast as it can take it
      --start-paused       wait for the first connection before playing
    Limits (Binance's by default):
      --port N             port (default 0: ephemeral)
      --max-streams N      streams per connection (default 1024)
      --max-messages N     incoming messages per second per connection (default 5)
      --ping-interval S    seconds between pings, 0 = none (default 20)
      --pong-timeout S     seconds a ping may stay unanswered (default 60)
      --max-age S          seconds a connection may live (default 86400)
      --throttle B         bytes per second of market data per connection, 0 = unlimited (default 0)
    Other:
      --verbose            log connections to stderr
      --ignore-stdin       do not stop when standard input ends (implied when stdin is /dev/null)
      --measure S          instead of serving: measure for S seconds what the server sends to one local client that
                           discards (a ClientWebSocket, then a raw socket that only counts), print frames/s and MB/s
      --help               show this text
    """;

var recordings = new List<string>();
int? generate = null;
int symbols = new MarketDataGeneratorOptions().SymbolCount;
ulong seed = new MarketDataGeneratorOptions().Seed;
var defaults = new ExchangeServerOptions();
var (speed, loops, mode, startPaused, port) = (defaults.Speed, defaults.Loops, defaults.Mode, defaults.StartPaused, defaults.Port);
var (maxStreams, maxMessages, throttle) = (defaults.MaxStreamsPerConnection, defaults.MaxIncomingMessagesPerSecond, defaults.ThrottleBytesPerSecond);
var (pingInterval, pongTimeout, maxAge) = (defaults.PingInterval, defaults.PongTimeout, defaults.MaxConnectionAge);
var ignoreStdin = false;
var verbose = false;
double? measureSeconds = null;
try
{
    for (var i = 0; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--recording": recordings.Add(Value(ref i)); break;
            case "--generate": generate = Int(ref i, 1); break;
            case "--symbols": symbols = Int(ref i, 1); break;
            case "--seed": seed = (ulong)Int(ref i, 0); break;
            case "--speed": speed = Double(ref i); break;
            case "--max-speed": speed = ExchangeServerOptions.AsFastAsPossible; break;
            case "--loop": loops = Int(ref i, 0); break;
            case "--per-connection": mode = FeedMode.PerConnection; break;
            case "--start-paused": startPaused = true; break;
            case "--port": port = Int(ref i, 0); break;
            case "--max-streams": maxStreams = Int(ref i, 1); break;
            case "--max-messages": maxMessages = Int(ref i, 1); break;
            case "--ping-interval": pingInterval = TimeSpan.FromSeconds(Double(ref i)); break;
            case "--pong-timeout": pongTimeout = TimeSpan.FromSeconds(Double(ref i)); break;
            case "--max-age": maxAge = TimeSpan.FromSeconds(Double(ref i)); break;
            case "--throttle": throttle = Int(ref i, 0); break;
            case "--verbose": verbose = true; break;
            case "--ignore-stdin": ignoreStdin = true; break;
            case "--measure": measureSeconds = Double(ref i); break;
            case "--help" or "-h":
                Console.WriteLine(Usage);
                return 0;
            default:
                throw new FormatException($"Unknown argument '{args[i]}'.");
        }
    }

    if ((recordings.Count == 0) == (generate is null))
    {
        throw new FormatException("Give either --recording PATH (one or more) or --generate N.");
    }
}
catch (FormatException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine("Run with --help for the usage.");
    return 2;
}

ExchangeFeed feed;
try
{
    feed = generate is { } frames
        ? ExchangeFeed.FromGenerator(frames, new MarketDataGeneratorOptions { SymbolCount = symbols, Seed = seed })
        : ExchangeFeed.FromRecordings(recordings);
}
catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}

Console.Error.WriteLine(
    $"lowlatency-local-exchange: {feed.Count:N0} frames, {feed.TotalBytes / 1e6:0.0} MB, {feed.Streams.Count} streams, " +
    $"{feed.DurationNs / 1e9:0.###} s of feed time{(feed.SkippedLines > 0 ? $", {feed.SkippedLines} non-stream line(s) skipped" : "")}");

if (measureSeconds is { } seconds)
{
    await CeilingMeasurement.RunAsync(feed, loops, TimeSpan.FromSeconds(seconds), Console.Error).ConfigureAwait(false);
    return 0;
}

using var loggerFactory = verbose
    ? LoggerFactory.Create(b => b.AddSimpleConsole(c => c.SingleLine = true).AddConsole(c => c.LogToStandardErrorThreshold = LogLevel.Trace))
    : null;
var options = new ExchangeServerOptions
{
    Feed = feed,
    Speed = speed,
    Loops = loops,
    Mode = mode,
    StartPaused = startPaused,
    Port = port,
    MaxStreamsPerConnection = maxStreams,
    MaxIncomingMessagesPerSecond = maxMessages,
    PingInterval = pingInterval,
    PongTimeout = pongTimeout,
    MaxConnectionAge = maxAge,
    ThrottleBytesPerSecond = throttle,
    LoggerFactory = loggerFactory,
};

ExchangeServer exchange;
try
{
    exchange = await ExchangeServer.StartAsync(options).ConfigureAwait(false);
}
catch (IOException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}

await using (exchange.ConfigureAwait(false))
{
    using var stop = new ManualResetEventSlim();
    string? reason = null;
    void Stop(string why)
    {
        Interlocked.CompareExchange(ref reason, why, null);
        stop.Set();
    }

    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; Stop("SIGTERM"); });
    using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; Stop("SIGINT"); });
    var watchStdin = !ignoreStdin && !StdinIsDevNull();
    if (watchStdin)
    {
        new Thread(() =>
        {
            using var stdin = Console.OpenStandardInput();
            var buffer = new byte[256];
            while (stdin.Read(buffer) > 0)
            {
                // Input is ignored: only its end matters.
            }

            Stop("end of standard input");
        })
        { IsBackground = true, Name = "stdin-watch" }.Start();
    }

    if (options.StartPaused)
    {
        _ = exchange.WaitForConnectionAsync().ContinueWith(_ => exchange.Play(), TaskScheduler.Default);
    }

    var url = exchange.BaseUri.GetLeftPart(UriPartial.Authority); // ws://127.0.0.1:PORT, without Uri's trailing slash
    Console.Out.WriteLine($"URL {url}");
    Console.Out.Flush();
    Console.Error.WriteLine(
        $"lowlatency-local-exchange: serving at {url} ({options.Mode}, speed {(double.IsPositiveInfinity(options.Speed) || options.Speed == 0 ? "max" : options.Speed.ToString("0.###", CultureInfo.InvariantCulture) + "x")}, " +
        $"{(options.Loops == 0 ? "forever" : $"{options.Loops} loop(s)")}); e.g. BINANCE_WS_URL={url} or " +
        $"{exchange.StreamUri(feed.Streams.Take(3).ToArray())}; stops on SIGTERM, SIGINT{(watchStdin ? " or end of stdin" : "")}");

    stop.Wait();
    Console.Error.WriteLine($"lowlatency-local-exchange: stopping ({reason}); {exchange.Connections.Count} connection(s) served, {exchange.FramesPlayed:N0} frames played");
}

return 0;

string Value(ref int index)
{
    if (index + 1 >= args.Length)
    {
        throw new FormatException($"{args[index]} needs a value.");
    }

    return args[++index];
}

int Int(ref int index, int min)
{
    var name = args[index];
    if (!int.TryParse(Value(ref index), NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min)
    {
        throw new FormatException($"{name} needs a whole number of at least {min}; got '{args[index]}'.");
    }

    return value;
}

double Double(ref int index)
{
    var name = args[index];
    if (!double.TryParse(Value(ref index).TrimEnd('x', 'X'), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0)
    {
        throw new FormatException($"{name} needs a non-negative number; got '{args[index]}'.");
    }

    return value;
}

// A non-interactive shell gives a background job /dev/null as stdin: its immediate end is no request to stop.
static bool StdinIsDevNull()
{
    try
    {
        return OperatingSystem.IsLinux() && new FileInfo("/proc/self/fd/0").LinkTarget == "/dev/null";
    }
    catch (IOException)
    {
        return false;
    }
}

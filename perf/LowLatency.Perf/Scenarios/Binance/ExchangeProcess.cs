using System.Diagnostics;
using System.Globalization;

namespace LowLatency.Perf.Scenarios.Binance;

/// <summary>
/// The local exchange's command (<c>lowlatency-local-exchange</c>, copied beside the harness by the project reference) as
/// a child process, serving generated frames. Out of process, as a real exchange is, so that everything this process
/// allocates, collects or runs on its thread pool is the client's: in process, Kestrel's multi-segment socket sends
/// allocate about 1.5 B per frame (<c>IOVector[]</c>, <c>GCHandle[]</c>) on the same pool threads that run the client's
/// receive loops, and the client's figures could not be told from the server's.
/// </summary>
/// <remarks>
/// The command stops when its standard input ends, so a harness that dies leaves no exchange behind; <see cref="Dispose"/>
/// closes it and waits, and kills the child (by its own handle) only if it does not exit.
/// </remarks>
internal sealed class ExchangeProcess : IDisposable
{
    private const string CommandName = "lowlatency-local-exchange";
    private const string UrlPrefix = "URL ";
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromMinutes(2); // it generates the feed first
    private static ExchangeProcess? s_perConnection;
    private static long s_perConnectionFrames;

    // The live timeline wakes the exchange's pool threads 10 k times a second; by default each then spins for more work
    // before it sleeps, and those spins took about 70% of a core (sampled from /proc while binance-latency ran) from the
    // client on this 2-core machine. A remote exchange would not share our cores at all.
    private static readonly Dictionary<string, string> s_noThreadPoolSpinning = new() { ["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "0" };

    private readonly Process _process;

    private ExchangeProcess(Process process, Uri baseUri)
    {
        _process = process;
        BaseUri = baseUri;
    }

    /// <summary>The child's process id.</summary>
    public int Id => _process.Id;

    /// <summary><c>ws://127.0.0.1:PORT</c>.</summary>
    public Uri BaseUri { get; }

    /// <summary>
    /// The exchange of the throughput scenarios: <paramref name="frames"/> generated frames (the generator's defaults, the
    /// same as <see cref="GeneratedFeed"/>), the whole feed to each connection as fast as it takes it, no pings. Kept across
    /// runs and scenarios (each connection gets the feed from its first frame), so its send path is warm after the first.
    /// </summary>
    public static ExchangeProcess PerConnection(long frames)
    {
        if (s_perConnection is { } running && s_perConnectionFrames == frames && !running._process.HasExited)
        {
            return running;
        }

        s_perConnection?.Dispose();
        s_perConnection = null;
        if (s_perConnectionFrames == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => s_perConnection?.Dispose();
        }

        s_perConnectionFrames = frames;
        return s_perConnection = Start(Generate(frames, "--per-connection", "--max-speed"));
    }

    /// <summary>
    /// A fresh exchange playing <paramref name="frames"/> generated frames once on its live timeline at
    /// <paramref name="speed"/>, from the moment the first connection arrives. The caller disposes it.
    /// </summary>
    public static ExchangeProcess Timeline(long frames, double speed) =>
        Start(Generate(frames, "--speed", speed.ToString("R", CultureInfo.InvariantCulture), "--start-paused"), s_noThreadPoolSpinning);

    /// <summary><c>ws://…/stream?streams=a/b</c>: the combined endpoint for <paramref name="streams"/>.</summary>
    public Uri StreamUri(IEnumerable<string> streams) => new(BaseUri, "/stream?streams=" + string.Join('/', streams));

    /// <summary>Ends its standard input (it stops and exits) and waits; kills it if it has not exited within 10 s.</summary>
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            try
            {
                _process.StandardInput.Close();
            }
            catch (IOException)
            {
                // It exited meanwhile.
            }

            if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                _process.Kill();
                _process.WaitForExit();
            }
        }

        _process.Dispose();
    }

    private static string[] Generate(long frames, params string[] playback) =>
        ["--generate", frames.ToString(CultureInfo.InvariantCulture), .. playback, "--ping-interval", "0", "--max-age", "0"];

    private static ExchangeProcess Start(string[] arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        // The apphost when there is one (what `dotnet run` builds), else the dll through the dotnet host on the PATH.
        var apphost = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? CommandName + ".exe" : CommandName);
        var start = new ProcessStartInfo(File.Exists(apphost) ? apphost : "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (!File.Exists(apphost))
        {
            start.ArgumentList.Add("exec");
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, CommandName + ".dll"));
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new RunAbortedException($"could not start {CommandName}.");
        var errors = new List<string>();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (errors)
                {
                    errors.Add(line); // a few lines: the feed summary and the serving line
                }
            }
        };
        process.BeginErrorReadLine();

        var first = process.StandardOutput.ReadLineAsync();
        if (!first.Wait(s_startTimeout) || first.Result is not { } url || !url.StartsWith(UrlPrefix, StringComparison.Ordinal))
        {
            var state = process.HasExited ? $"exited with {process.ExitCode}" : "still running";
            if (!process.HasExited)
            {
                process.Kill();
            }

            process.WaitForExit();
            string stderr;
            lock (errors)
            {
                stderr = string.Join(" / ", errors);
            }

            process.Dispose();
            throw new RunAbortedException($"{CommandName} printed no URL line ({state}): {stderr}");
        }

        return new ExchangeProcess(process, new Uri(url[UrlPrefix.Length..]));
    }
}

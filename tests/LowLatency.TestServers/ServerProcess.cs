using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LowLatency.TestSupport;

/// <summary>
/// A server process a fixture owns (redis-server, Cassandra's java): started with its output captured (the last lines
/// kept, for failure messages), waited for until it is ready or has exited, killed with its children at dispose.
/// </summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _log = new();
    private readonly int _logLines;

    private ServerProcess(Process process, int logLines)
    {
        _process = process;
        _logLines = logLines;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process printed.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return string.Join('\n', _log);
            }
        }
    }

    /// <summary>The resident memory of the process in bytes (0 once it has exited).</summary>
    public long ResidentBytes
    {
        get
        {
            if (_process.HasExited)
            {
                return 0;
            }

            _process.Refresh();
            return _process.WorkingSet64;
        }
    }

    /// <summary>
    /// Starts <paramref name="path"/> and polls <paramref name="ready"/> until it holds, failing with the log if the
    /// process exits first or <paramref name="timeout"/> passes (the process is then killed).
    /// </summary>
    public static ServerProcess Start(string path, IEnumerable<string> arguments, string workingDirectory, string what, Func<bool> ready,
        TimeSpan timeout, int logLines = 500)
    {
        var start = new ProcessStartInfo(path)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var server = new ServerProcess(Process.Start(start) ?? throw new InvalidOperationException($"Could not start {what}."), logLines);
        try
        {
            server._process.OutputDataReceived += (_, e) => server.Append(e.Data);
            server._process.ErrorDataReceived += (_, e) => server.Append(e.Data);
            server._process.BeginOutputReadLine();
            server._process.BeginErrorReadLine();
            WaitUntil(() => server.HasExited || ready(), $"{what} to be ready", timeout, () => server.Log);
            if (server.HasExited)
            {
                server._process.WaitForExit(); // drains the redirected output into the log
                throw new InvalidOperationException($"{what} exited with code {server._process.ExitCode}:\n{server.Log}");
            }
        }
        catch
        {
            server.Dispose();
            throw;
        }

        return server;
    }

    /// <summary>A program on PATH (or in the Debian locations), as the shell would find it; null when absent.</summary>
    public static string? FindExecutable(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(Path.PathSeparator).Concat(["/usr/bin", "/usr/sbin", "/usr/local/bin"]))
        {
            var candidate = Path.Combine(directory, name);
            if (directory.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>A TCP port of 127.0.0.1 that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Deletes a fixture's temporary directory; a leftover is harmless, so failing to is no error.</summary>
    public static void DeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Kills the process and its children (no shutdown: clients see the connection drop) and waits for them.</summary>
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(30_000);
        }

        _process.Dispose();
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; throws <see cref="TimeoutException"/> with the log at the deadline.
    /// (Poll.Until in TestSupport does the same for tests, failing through xunit; this project has no xunit.)</summary>
    private static void WaitUntil(Func<bool> condition, string what, TimeSpan timeout, Func<string> describe)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!condition())
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for: {what}\n{describe()}");
            }

            Thread.Sleep(10);
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.Enqueue(line);
            while (_log.Count > _logLines)
            {
                _log.Dequeue();
            }
        }
    }
}

/// <summary>
/// A throwaway server on 127.0.0.1 in a temporary directory of its own: started by <see cref="Launch"/>, stopped (killed:
/// clients see the connection drop) and started again with the same directory and ports (reconnect tests); killed and
/// its directory deleted at dispose.
/// </summary>
public abstract class ThrowawayServer : IDisposable
{
    private ServerProcess? _process;
    private string _lastLog = string.Empty;

    protected ThrowawayServer(string directoryPrefix) => DataDirectory = Directory.CreateTempSubdirectory(directoryPrefix).FullName;

    public string Host => "127.0.0.1";

    /// <summary>Whether the server process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The server process id while it runs.</summary>
    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>The last lines the server printed (for failure messages), also after it stopped.</summary>
    public string Log => _process?.Log ?? _lastLog;

    /// <summary>The resident memory of the server process in bytes (0 when it is not running).</summary>
    public long ResidentBytes => _process?.ResidentBytes ?? 0;

    /// <summary>The server's own temporary directory.</summary>
    protected string DataDirectory { get; }

    /// <summary>Starts the server (again, after <see cref="Stop"/>) and waits until it is ready.</summary>
    public void Start()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"{GetType().Name} is already running.");
        }

        _process = Launch();
    }

    /// <summary>Kills the server (no shutdown handshake: clients see the connection drop) and waits for it to go.</summary>
    public void Stop()
    {
        var process = _process;
        _process = null;
        if (process is not null)
        {
            _lastLog = process.Log;
            process.Dispose();
        }
    }

    /// <summary>Stops the server and starts it again on the same port.</summary>
    public void Restart()
    {
        Stop();
        Start();
    }

    public void Dispose()
    {
        Stop();
        ServerProcess.DeleteDirectory(DataDirectory);
        GC.SuppressFinalize(this);
    }

    /// <summary>Starts a new server, disposing it (directory included) if it does not come up.</summary>
    protected static TServer StartNew<TServer>(TServer server)
        where TServer : ThrowawayServer
    {
        try
        {
            server.Start();
        }
        catch
        {
            server.Dispose();
            throw;
        }

        return server;
    }

    /// <summary>Starts the server process and waits until it is ready (<see cref="ServerProcess.Start"/>).</summary>
    protected abstract ServerProcess Launch();
}

using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LowLatency.TestSupport;

/// <summary>
/// A .NET program of this repository (an assembly copied beside the tests) run as a child process through the running
/// <c>dotnet</c> host, with its own environment variables: for tests that must stop it the hard way (<see cref="Kill"/>
/// is SIGKILL, like <c>kill -9</c>) or as an operator would (<see cref="Terminate()"/> is SIGTERM). Its standard output and
/// error are collected into <see cref="Output"/>.
/// </summary>
public sealed partial class DotnetProcess : IDisposable
{
    private const int Sigterm = 15;
    private readonly Process _process;
    private readonly StringWriter _output = new(); // appended to by the reader threads; every access locks it

    private DotnetProcess(Process process) => _process = process;

    /// <summary>The child's process id.</summary>
    public int Id => _process.Id;

    /// <summary>Whether it has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Its exit code (once <see cref="HasExited"/>).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>What it wrote to standard output and error so far, interleaved by line.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The dotnet host running this process (tests run under <c>dotnet</c>), or <c>dotnet</c> from PATH.</summary>
    public static string DotnetHost() =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    /// <summary>Sends SIGTERM to <paramref name="pid"/>.</summary>
    public static void Terminate(int pid)
    {
        if (kill(pid, Sigterm) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, SIGTERM) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>
    /// Starts <paramref name="assemblyFileName"/> (beside the test assembly) with <paramref name="arguments"/> and the
    /// current environment plus <paramref name="environment"/>. Standard input is /dev/null.
    /// </summary>
    public static DotnetProcess Start(string assemblyFileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(environment);
        var start = StartInfo(assemblyFileName, arguments);
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {assemblyFileName}.");
        var child = new DotnetProcess(process);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>
    /// How to start <paramref name="assemblyFileName"/> (beside the test assembly) with <paramref name="arguments"/> through
    /// the dotnet host, standard output and error redirected (the caller adds standard input or environment as needed).
    /// </summary>
    public static ProcessStartInfo StartInfo(string assemblyFileName, IEnumerable<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assemblyFileName));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary>SIGKILL: the process ends at once, with no chance to flush, commit or clean up.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>SIGTERM: the process is asked to stop.</summary>
    public void Terminate() => Terminate(_process.Id);

    /// <summary>Waits up to <paramref name="timeout"/> for it to exit; once it has, <see cref="Output"/> is complete.</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            return false;
        }

        _process.WaitForExit(); // only the overload without a timeout also waits for the readers to reach the end
        return true;
    }

    /// <summary>Kills it if it still runs.</summary>
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.WriteLine(line);
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}

using System.Diagnostics;

namespace LowLatency.TestSupport.Kafka;

/// <summary>
/// The <c>lowlatency-kafka-broker</c> command run as a child process: for tests of the command itself and for tests whose
/// clients must not share the broker's process. Starts it, reads the <c>BOOTSTRAP</c> line, and stops it by closing its
/// standard input (<see cref="CloseInput"/>), by SIGTERM (<see cref="Terminate"/>) or, on dispose, by force.
/// </summary>
public sealed class KafkaBrokerProcess : IDisposable
{
    /// <summary>The command's file name (its assembly), copied beside every assembly that references TestSupport.</summary>
    public const string AssemblyFileName = "lowlatency-kafka-broker.dll";

    private const string BootstrapPrefix = "BOOTSTRAP ";

    private readonly Process _process;

    /// <remarks>Appended to by the process's stderr reader thread, read by the test: every access locks it.</remarks>
    private readonly StringWriter _errors;

    private KafkaBrokerProcess(Process process, string bootstrapServers, StringWriter errors)
    {
        _process = process;
        BootstrapServers = bootstrapServers;
        _errors = errors;
    }

    /// <summary>What the command printed after <c>BOOTSTRAP</c>.</summary>
    public string BootstrapServers { get; }

    /// <summary>The child's process id.</summary>
    public int Id => _process.Id;

    /// <summary>Whether the command has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The command's exit code (once <see cref="HasExited"/>).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>What the command wrote to stderr so far.</summary>
    public string StandardError => Read(_errors);

    /// <summary>
    /// Starts the command with <paramref name="arguments"/> (e.g. <c>--topic t:4</c>) through the running <c>dotnet</c> host
    /// and waits up to <paramref name="timeout"/> (default <see cref="Poll.DefaultTimeout"/>) for its BOOTSTRAP line.
    /// Standard input stays open (a pipe) until <see cref="CloseInput"/>. Fails the test if the line does not come.
    /// </summary>
    public static KafkaBrokerProcess Start(IEnumerable<string> arguments, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var start = DotnetProcess.StartInfo(AssemblyFileName, arguments);
        start.RedirectStandardInput = true;

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {AssemblyFileName}.");
        var bootstrap = process.StandardOutput.ReadLineAsync();
        var errors = new StringWriter();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (errors)
                {
                    errors.WriteLine(line);
                }
            }
        };
        process.BeginErrorReadLine();

        if (!bootstrap.Wait(timeout ?? Poll.DefaultTimeout) || bootstrap.Result is not { } line || !line.StartsWith(BootstrapPrefix, StringComparison.Ordinal))
        {
            var exited = process.HasExited ? $"exited with {process.ExitCode}" : "still running";
            process.Kill();
            process.WaitForExit();
            Xunit.Assert.Fail($"{AssemblyFileName} printed no BOOTSTRAP line ({exited}); stderr: {Read(errors)}");
            throw new UnreachableException();
        }

        return new KafkaBrokerProcess(process, line[BootstrapPrefix.Length..], errors);
    }

    /// <summary>Closes the command's standard input: it stops and exits with 0.</summary>
    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Sends SIGTERM: it stops and exits with 0.</summary>
    public void Terminate() => DotnetProcess.Terminate(_process.Id);

    /// <summary>Waits up to <paramref name="timeout"/> for the command to exit; returns whether it did. Once it has,
    /// <see cref="StandardError"/> holds everything it wrote.</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            return false;
        }

        // Only the overload without a timeout also waits for the stderr reader to reach the end of the stream.
        _process.WaitForExit();
        return true;
    }

    /// <summary>Kills the command if it still runs.</summary>
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private static string Read(StringWriter errors)
    {
        lock (errors)
        {
            return errors.ToString();
        }
    }
}

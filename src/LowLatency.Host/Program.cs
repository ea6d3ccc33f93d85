using LowLatency.Host.Daemon;
using LowLatency.Host.Replay;

namespace LowLatency.Host;

/// <summary><c>lowlatency &lt;command&gt; [options]</c>. Exit codes: 0 success, 1 the run failed, 2 bad command line.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var command = args.Length == 0 ? "replay" : args[0];
        var rest = args.Length == 0 ? [] : args[1..];
        switch (command)
        {
            case "replay":
                return ReplayCommand.Run(rest, Console.Out);
            case "run":
                return RunCommand.FromEnvironment(Console.Error);
            case "help" or "--help" or "-h":
                Console.Out.WriteLine(ReplayCommandOptions.Usage);
                return 0;
            default:
                Console.Error.WriteLine($"Unknown command '{command}'.");
                Console.Error.WriteLine(ReplayCommandOptions.Usage);
                return 2;
        }
    }
}

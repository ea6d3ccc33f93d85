using System.Globalization;
using LowLatency.Sinks.Files;

namespace LowLatency.Host.Replay;

/// <summary>Options of <c>lowlatency replay</c>; every default is the one documented in <see cref="Usage"/>.</summary>
public sealed record ReplayCommandOptions
{
    public const string Usage = """
        lowlatency replay [files...] [options]

          files               recorded sessions (gzip or plain; formats auto-detected), merged by receive time.
                              Or Parquet: .parquet files or directories of them (a cold tier's candles/ or a
                              trades dataset), merged by time: trades go through the engine like live trades,
                              stored candles are written out as they are (at max speed).
                              With no file, the deterministic generator runs instead.
          --speed max|N       max (default) or N times real time, using the recorded receive times
          --loop N            replay each file N times (default 1)
          --generate N        messages to generate when no file is given (default 5000000)
          --symbols N         symbols for the generator (default 50)
          --seed N            generator seed (default 1)
          --shards N          aggregation shards on their own threads (default: cores - 1, at least 1)
          --intervals LIST    candle intervals, e.g. 1s,1m,5m,15m,1h (the default)
          --lateness D        allowed lateness, e.g. 2s (default), 500ms
          --out DIR           where the candles, alerts and tickers files go (default ./out)
          --format jsonl|csv  JSON lines (default: candles.jsonl, ...) or CSV with a header (candles.csv, ...)
          --ring-size N       slots of the input and output rings, a power of two (default 16384)
          --wait yield|busy   how shards and the sink wait for events: yield (default; fits more threads than
                              cores) or busy (spin; lowest latency when every shard has a core of its own)
          --quiet-alerts      do not print alerts on the console (they are always written to the alerts file)
          --no-pin            do not pin threads to CPUs
        """;

    public IReadOnlyList<string> Files { get; init; } = [];

    public double Speed { get; init; }

    public int Loops { get; init; } = 1;

    public long Generate { get; init; } = 5_000_000;

    public int Symbols { get; init; } = 50;

    public ulong Seed { get; init; } = 1;

    public int Shards { get; init; } = Math.Max(1, Environment.ProcessorCount - 1);

    public IReadOnlyList<TimeSpan> Intervals { get; init; } =
        [TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), TimeSpan.FromHours(1)];

    public TimeSpan Lateness { get; init; } = TimeSpan.FromSeconds(2);

    public string OutputDirectory { get; init; } = "out";

    public OutputFileFormat Format { get; init; } = OutputFileFormat.JsonLines;

    public int RingSize { get; init; } = 16_384;

    public bool Pin { get; init; } = true;

    public bool BusySpin { get; init; }

    public bool PrintAlerts { get; init; } = true;

    /// <summary>Parses the command line; throws <see cref="FormatException"/> with a clear message on bad input.</summary>
    public static ReplayCommandOptions Parse(ReadOnlySpan<string> arguments)
    {
        var args = arguments.ToArray();
        var options = new ReplayCommandOptions();
        var files = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{arg} needs a value.");
            options = arg switch
            {
                "--speed" => options with { Speed = ParseSpeed(Value()) },
                "--loop" => options with { Loops = ParseInt(arg, Value(), 1) },
                "--generate" => options with { Generate = ParseLong(arg, Value(), 1) },
                "--symbols" => options with { Symbols = ParseInt(arg, Value(), 1) },
                "--seed" => options with { Seed = ulong.Parse(Value(), CultureInfo.InvariantCulture) },
                "--shards" => options with { Shards = ParseInt(arg, Value(), 1) },
                "--intervals" => options with { Intervals = [.. Value().Split(',').Select(ParseDuration)] },
                "--lateness" => options with { Lateness = ParseDuration(Value()) },
                "--out" => options with { OutputDirectory = Value() },
                "--format" => options with
                {
                    Format = Value() switch
                    {
                        "jsonl" => OutputFileFormat.JsonLines,
                        "csv" => OutputFileFormat.Csv,
                        var other => throw new FormatException($"--format takes 'jsonl' or 'csv', not '{other}'."),
                    },
                },
                "--ring-size" => options with { RingSize = ParsePowerOfTwo(arg, Value()) },
                "--no-pin" => options with { Pin = false },
                "--quiet-alerts" => options with { PrintAlerts = false },
                "--wait" => options with
                {
                    BusySpin = Value() switch
                    {
                        "busy" => true,
                        "yield" => false,
                        var other => throw new FormatException($"--wait takes 'yield' or 'busy', not '{other}'."),
                    },
                },
                _ when arg.StartsWith('-') => throw new FormatException($"Unknown option {arg}."),
                _ => AddFile(options, files, arg),
            };
        }

        return options with { Files = files };
    }

    private static ReplayCommandOptions AddFile(ReplayCommandOptions options, List<string> files, string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            throw new FormatException($"No such file or directory: {path}");
        }

        files.Add(path);
        return options;
    }

    private static double ParseSpeed(string text) =>
        text == "max" ? 0
        : double.TryParse(text.TrimEnd('x'), NumberStyles.Float, CultureInfo.InvariantCulture, out var speed) && speed > 0 ? speed
        : throw new FormatException($"--speed takes 'max' or a positive number, not '{text}'.");

    private static int ParseInt(string name, string text, int minimum) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= minimum ? value
        : throw new FormatException($"{name} takes a whole number of at least {minimum}, not '{text}'.");

    private static long ParseLong(string name, string text, long minimum) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= minimum ? value
        : throw new FormatException($"{name} takes a whole number of at least {minimum}, not '{text}'.");

    private static int ParsePowerOfTwo(string name, string text)
    {
        var value = ParseInt(name, text, 2);
        return int.IsPow2(value) ? value : throw new FormatException($"{name} must be a power of two, not {value}.");
    }

    /// <summary>Parses <c>500ms</c>, <c>1s</c>, <c>1m</c>, <c>1h</c>, <c>1d</c>.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        var unitStart = text.TakeWhile(char.IsAsciiDigit).Count();
        if (unitStart == 0 || !long.TryParse(text.AsSpan(0, unitStart), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            throw new FormatException($"'{text}' is not a duration such as 500ms, 1s, 1m, 1h or 1d.");
        }

        return text[unitStart..] switch
        {
            "ms" => TimeSpan.FromMilliseconds(n),
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            "h" => TimeSpan.FromHours(n),
            "d" => TimeSpan.FromDays(n),
            _ => throw new FormatException($"'{text}' is not a duration such as 500ms, 1s, 1m, 1h or 1d."),
        };
    }
}

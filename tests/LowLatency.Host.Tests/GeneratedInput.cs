using System.Globalization;
using System.Text;
using System.Text.Json;
using LowLatency.Connectors.Replay;
using LowLatency.Host.Replay;

namespace LowLatency.Host.Tests;

/// <summary>
/// Generated frames for a daemon test, kept with what checking the result needs: a recording of them for the replay
/// path (the uninterrupted reference) and each symbol's newest trade time (which candles must have closed).
/// </summary>
internal sealed class GeneratedInput
{
    private const long LatenessMs = 2_000; // the daemon's and the replay's default allowed lateness
    private readonly Dictionary<string, long> _newestTradeMs = [];

    /// <summary>Generates <paramref name="count"/> frames and writes them as a recording into <paramref name="directory"/>.</summary>
    public GeneratedInput(string directory, int count, MarketDataGeneratorOptions options)
    {
        Directory.CreateDirectory(directory);
        Recording = Path.Combine(directory, "input.txt");
        var generator = new MarketDataGenerator(options);
        var buffer = new byte[generator.MaxFrameBytes];
        using var writer = new StreamWriter(Recording, append: false, new UTF8Encoding(false));
        for (var i = 0; i < count; i++)
        {
            var length = generator.WriteNext(buffer, out var timeNs);
            var symbol = generator.Symbols[generator.LastSymbolIndex];
            Frames.Add((symbol, buffer[..length]));
            var text = Encoding.UTF8.GetString(buffer, 0, length);
            writer.Write(timeNs.ToString(CultureInfo.InvariantCulture));
            writer.Write(' ');
            writer.WriteLine(text);
            if (text.Contains("\"e\":\"trade\"", StringComparison.Ordinal))
            {
                _newestTradeMs[symbol] = Math.Max(_newestTradeMs.GetValueOrDefault(symbol), TradeTimeMs(text));
            }
        }
    }

    /// <summary>The frames with their symbols (the Kafka keys), in order.</summary>
    public List<(string Symbol, byte[] Frame)> Frames { get; } = [];

    /// <summary>The recording: one "receive-ns frame" line per frame.</summary>
    public string Recording { get; }

    /// <summary>
    /// Checks the candle records a daemon wrote against the replay path over every frame (1 s and 1 m candles): each
    /// record equals the replay's candle of its key (rolling volatility aside), and every candle its symbol's own
    /// trades closed before the input ended was written. Returns the distinct keys written.
    /// </summary>
    public HashSet<string> AssertCandlesEqualTheReplay(IReadOnlyList<(string Key, string Value)> records, string workDirectory, string context = "")
    {
        var expected = ReplayCandles(workDirectory).ToDictionary(c => c.Key, c => DaemonTopics.WithoutVolatility(c.Value));

        var wrong = records.Where(r => !expected.TryGetValue(r.Key, out var value) || value != DaemonTopics.WithoutVolatility(r.Value)).Take(5).ToList();
        Assert.True(wrong.Count == 0, "records that differ from the uninterrupted run:\n" + string.Join("\n", wrong.Select(w => $"{w.Value}\nexpected {expected.GetValueOrDefault(w.Key)}")) + "\n" + context);
        var keys = records.Select(r => r.Key).ToHashSet();
        var lost = expected.Keys.Where(key => !keys.Contains(key) && ClosedByItsTrades(key)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} candles closed but never written, e.g. {string.Join(", ", lost.Take(10))}");
        Assert.NotEmpty(keys);
        return keys;
    }

    /// <summary>The uninterrupted run: the replay path's candles over every frame, by key (SYMBOL:interval:open_ms), as JSON lines.</summary>
    public Dictionary<string, string> ReplayCandles(string workDirectory, string intervals = "1s,1m")
    {
        var output = Path.Combine(workDirectory, "replay-" + Guid.NewGuid().ToString("N"));
        Assert.Equal(0, ReplayCommand.Run([Recording, "--out", output, "--no-pin", "--quiet-alerts", "--intervals", intervals], TextWriter.Null));
        return File.ReadLines(Path.Combine(output, "candles.jsonl")).ToDictionary(DaemonTopics.CandleKey);
    }

    /// <summary>Whether the candle <paramref name="key"/> (SYMBOL:interval:open_ms) ends more than the lateness before its symbol's last trade.</summary>
    public bool ClosedByItsTrades(string key)
    {
        var parts = key.Split(':');
        var intervalMs = parts[1] == "1s" ? 1_000 : 60_000;
        var openMs = long.Parse(parts[2], CultureInfo.InvariantCulture);
        return openMs + intervalMs + LatenessMs < _newestTradeMs[parts[0]];
    }

    private static long TradeTimeMs(string frame)
    {
        using var doc = JsonDocument.Parse(frame);
        var data = doc.RootElement.TryGetProperty("data", out var d) ? d : doc.RootElement;
        return data.GetProperty("T").GetInt64();
    }
}

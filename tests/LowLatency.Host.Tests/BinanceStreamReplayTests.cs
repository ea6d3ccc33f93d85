using System.Globalization;
using System.Text;
using LowLatency.Connectors.Binance;
using LowLatency.Host.Replay;
using LowLatency.LocalExchange;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Exchange;

namespace LowLatency.Host.Tests;

/// <summary>
/// The Binance client's output is market data the engine can use unchanged: the frames it delivers from the local
/// exchange, through forced disconnects and rotations, give the replay path the same candles as the recording itself.
/// </summary>
public sealed class BinanceStreamReplayTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lowlatency-wsreplay-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [DataFact]
    public async Task Receive_RecordingThroughDropsAndRotations_SameCandlesAsTheReplayOfTheRecording()
    {
        // Both sessions at 20x (about 17 s); one line dropped every 1.5 s while its twin is open with data; every
        // connection rotated after 2 s.
        var feed = RecordedFeeds.BtcUsdtAndEthUsdt;
        await using var exchange = await ExchangeServer.StartAsync(new ExchangeServerOptions { Feed = feed, Speed = 20, StartPaused = true });
        var handler = new DeliveredFrames();
        await using var client = new BinanceStreamClient<DeliveredFrames>(
            new BinanceStreamOptions
            {
                Url = exchange.BaseUri,
                Streams = feed.Streams,
                Redundancy = 2,
                RotateAfter = TimeSpan.FromSeconds(2),
                SupervisionInterval = TimeSpan.FromMilliseconds(20),
                ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
                ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
                ReplacementTimeout = TimeSpan.FromSeconds(10),
            },
            handler);
        client.Start();
        Poll.Until(() => exchange.Connections.Count(c => c.Close is null && c.Streams.Count == feed.Streams.Count) == 2, "both lines subscribed");
        exchange.Play();

        var drops = 0;
        while (!exchange.PlaybackCompleted.IsCompleted)
        {
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            var open = client.GetConnections().Where(c => c.State == BinanceConnectionState.Open && c.HasData && !c.IsReplacement).ToList();
            var victims = exchange.Connections.Where(c => c.Close is null && c.Streams.Count == feed.Streams.Count).ToList();
            if (open.Select(c => c.Line).Distinct().Count() == 2 && victims.Count >= 2)
            {
                victims[drops++ % victims.Count].Abort();
            }
        }

        Poll.Until(() => handler.Count == feed.Count, "every recorded frame delivered", TimeSpan.FromSeconds(20), () =>
            $"{handler.Count} of {feed.Count}; gaps {client.Counters.Gaps} ({client.Counters.MissingIds} ids), held back {client.Counters.HeldBack}, " +
            $"reconnects {client.Counters.Reconnects}, rotations {client.Counters.Rotations}, drops {drops}\n" + string.Join('\n', client.GetConnections()));
        Assert.True(drops >= 3, $"only {drops} drops");
        Assert.True(client.Counters.Rotations >= 2, $"only {client.Counters.Rotations} rotations");
        Assert.Equal(0, client.Counters.Gaps);

        // The reference: the recording's own frames with their recorded receive times. The delivered frames carry the
        // client's receive times; candles are built from the exchange's trade times, so they must not differ.
        Directory.CreateDirectory(_dir);
        var recorded = Path.Combine(_dir, "recorded.txt");
        File.WriteAllLines(recorded, Enumerable.Range(0, feed.Count).Select(i =>
            $"{feed.TimeOf(i).ToString(CultureInfo.InvariantCulture)} {Encoding.UTF8.GetString(feed.CombinedFrame(i).Span)}"));
        var delivered = Path.Combine(_dir, "delivered.txt");
        File.WriteAllLines(delivered, handler.Lines);

        var expected = Candles(recorded, "recorded-out");
        var actual = Candles(delivered, "delivered-out");
        Assert.True(expected.Count > 100, $"only {expected.Count} candles");
        Assert.Equal(expected, actual);
    }

    private List<string> Candles(string recording, string output)
    {
        var dir = Path.Combine(_dir, output);
        Assert.Equal(0, ReplayCommand.Run([recording, "--out", dir, "--no-pin", "--quiet-alerts", "--intervals", "1s,1m"], TextWriter.Null));
        return [.. File.ReadLines(Path.Combine(dir, "candles.jsonl")).Order(StringComparer.Ordinal)];
    }

    /// <summary>Every delivered frame as a recording line (the client serialises calls; the lock is for the test's reads).</summary>
    private sealed class DeliveredFrames : IBinanceFrameHandler
    {
        private readonly Lock _lock = new();
        private readonly List<string> _lines = [];

        public int Count
        {
            get
            {
                lock (_lock)
                {
                    return _lines.Count;
                }
            }
        }

        public List<string> Lines
        {
            get
            {
                lock (_lock)
                {
                    return [.. _lines];
                }
            }
        }

        public void OnFrame(ReadOnlySpan<byte> frame, long receiveTimeNs)
        {
            var line = $"{receiveTimeNs.ToString(CultureInfo.InvariantCulture)} {Encoding.UTF8.GetString(frame)}";
            lock (_lock)
            {
                _lines.Add(line);
            }
        }

        public void OnGap(in StreamGap gap)
        {
        }
    }
}

using System.Collections;
using LowLatency.Connectors.Binance;
using LowLatency.Host.Daemon;
using LowLatency.Host.Replay;
using LowLatency.LocalExchange;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Exchange;

namespace LowLatency.Host.Tests;

/// <summary>
/// <c>lowlatency run</c> without Kafka: Binance over WebSocket (here the local exchange playing the real sessions), the
/// engine, and the file sink.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class LiveModeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lowlatency-live-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void FromVariables_NoKafka_LiveModeWithTheOriginalConnectorsStreams()
    {
        var options = DaemonOptions.FromVariables(new Hashtable());
        Assert.Null(options.BootstrapServers);
        Assert.NotNull(options.Live);
        Assert.Equal(["btcusdt@trade", "ethusdt@trade", "bnbusdt@trade", "btcusdt@kline_1m", "ethusdt@kline_1m", "btcusdt@ticker"], options.Live.Streams);
        Assert.Equal(new Uri("wss://stream.binance.com:9443"), options.Live.Url);
        Assert.Equal(2, options.Live.Redundancy);

        var custom = DaemonOptions.FromVariables(new Hashtable
        {
            ["BINANCE_WS_URL"] = "ws://127.0.0.1:9000",
            ["BINANCE_STREAMS"] = "solusdt@aggTrade,SOLUSDT@bookTicker",
            ["WS_REDUNDANCY"] = "1",
            ["PING_INTERVAL_SECONDS"] = "5",
            ["RECONNECT_MAX_DELAY_SECONDS"] = "7",
            ["WS_CONNECTION_TIMEOUT"] = "3",
        }).Live!;
        Assert.Equal(["solusdt@aggTrade", "solusdt@bookTicker"], custom.Streams);
        Assert.Equal((1, 5.0, 7.0, 3.0), (custom.Redundancy, custom.KeepAliveInterval.TotalSeconds, custom.ReconnectMaxDelay.TotalSeconds, custom.ConnectTimeout.TotalSeconds));

        var connector = DaemonOptions.FromVariables(new Hashtable { ["LOWLATENCY_ROLE"] = "connector", ["KAFKA_BOOTSTRAP_SERVERS"] = "b:1", ["TOPIC_RAW_TRADES"] = "t" });
        Assert.Equal((DaemonRole.Connector, "b:1", "t"), (connector.Role, connector.BootstrapServers, connector.RawTopics.Trades));
        Assert.NotNull(connector.Live); // the connector reads Binance even though Kafka is configured
        Assert.Contains("KAFKA_BOOTSTRAP_SERVERS", Assert.Throws<FormatException>(() => DaemonOptions.FromVariables(new Hashtable { ["LOWLATENCY_ROLE"] = "connector" })).Message);
        Assert.Null(DaemonOptions.FromVariables(new Hashtable { ["KAFKA_BOOTSTRAP_SERVERS"] = "b:1" }).Live); // the engine reads Kafka

        foreach (var (name, value) in new[] { ("LOWLATENCY_ROLE", "both"), ("BINANCE_WS_URL", "http://x"), ("WS_REDUNDANCY", "5"), ("BINANCE_STREAMS", " , "), ("WS_REDUNDANCY", "0"), ("PING_INTERVAL_SECONDS", "x") })
        {
            Assert.Contains(name, Assert.Throws<FormatException>(() => DaemonOptions.FromVariables(new Hashtable { [name] = value })).Message);
        }
    }

    [DataFact]
    public async Task Run_LiveFromTheLocalExchange_SameCandlesAsTheReplayOfTheRecordings()
    {
        // The real BTCUSDT and ETHUSDT sessions, played as fast as the client takes them once both of its redundant
        // connections are subscribed; the candles come only from the trades.
        await using var exchange = await ExchangeServer.StartAsync(new ExchangeServerOptions
        {
            Feed = RecordedFeeds.BtcUsdtAndEthUsdt,
            Speed = ExchangeServerOptions.AsFastAsPossible,
            StartPaused = true,
        });
        var output = Path.Combine(_dir, "live");
        var daemon = InProcessDaemon.Start(new DaemonOptions
        {
            Live = new BinanceStreamOptions { Url = exchange.BaseUri, Streams = ["btcusdt@trade", "ethusdt@trade"], Redundancy = 2 },
            OutputDirectory = output,
            Intervals = [TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)],
            Shards = 2,
            HttpListen = null,
        });
        try
        {
            await exchange.WaitForConnectionAsync(2).WaitAsync(TimeSpan.FromSeconds(30));
            Poll.Until(() => exchange.Connections.Count(c => c.Streams.Count == 2) >= 2, "both connections subscribed to both streams", TimeSpan.FromSeconds(30), () => daemon.Log);
            exchange.Play();
            await exchange.PlaybackCompleted.WaitAsync(TimeSpan.FromSeconds(60));
            var trades = 9_757 + 6_106; // the two recordings' trade frames (see ../shared/data/README.md)
            Poll.Until(
                () => exchange.Connections.Where(c => c.Close is null).Sum(c => c.FramesSent) >= 2L * trades,
                "every trade sent on both connections", TimeSpan.FromSeconds(30), () => daemon.Log);
        }
        finally
        {
            Thread.Sleep(2_000); // what the client has received reaches the ring
            Assert.Equal(0, daemon.Stop());
        }

        // The replay path over the recordings closes its last candles at the end, as live mode does when it stops.
        var replay = Path.Combine(_dir, "replay");
        Assert.Equal(0, ReplayCommand.Run(
            [TestData.PathOf(RecordedFeeds.BtcUsdtPath), TestData.PathOf(RecordedFeeds.EthUsdtPath), "--out", replay, "--no-pin", "--quiet-alerts", "--intervals", "1s,1m"],
            TextWriter.Null));
        var expected = File.ReadLines(Path.Combine(replay, "candles.jsonl")).ToDictionary(DaemonTopics.CandleKey);
        var live = File.ReadLines(Path.Combine(output, "candles.jsonl")).ToDictionary(DaemonTopics.CandleKey);
        Assert.Equal(expected.Count, live.Count);
        var wrong = live.Where(c => !expected.TryGetValue(c.Key, out var e) || e != c.Value).Take(3).Select(c => $"live   {c.Value}\nreplay {expected.GetValueOrDefault(c.Key)}");
        Assert.True(!wrong.Any(), string.Join("\n", wrong) + "\n" + daemon.Log);
        Assert.Contains("0 gaps, drained: True", daemon.Log, StringComparison.Ordinal);
    }
}

using System.Text;
using Confluent.Kafka;
using LowLatency.Connectors.Binance;
using LowLatency.Host.Daemon;
using LowLatency.LocalExchange;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Exchange;
using LowLatency.TestSupport.Kafka;

namespace LowLatency.Host.Tests;

/// <summary>
/// <c>LOWLATENCY_ROLE=connector</c>: Binance over WebSocket (the local exchange playing the real sessions) produced to
/// the raw topics, through a broker outage.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class ConnectorRoleTests(MockKafkaFixture kafka) : IClassFixture<MockKafkaFixture>, IDisposable
{
    private const int Broker = 1;
    private readonly DaemonTopics _topics = new(kafka);

    public void Dispose()
    {
        if (KafkaAvailability.ShouldRun)
        {
            kafka.Cluster.SetBrokerUp(Broker); // whatever happened, the next test finds it up
        }
    }

    [KafkaDataFact]
    public async Task Run_Connector_EveryFrameOnceOnItsRawTopicKeyedBySymbol_ThroughABrokerOutage()
    {
        var feed = RecordedFeeds.BtcUsdtAndEthUsdt;
        string[] streams = ["btcusdt@trade", "ethusdt@trade", "btcusdt@bookTicker", "ethusdt@bookTicker", "btcusdt@depth@100ms"];
        var trades = kafka.CreateTopic("raw-trades", 4);
        var tickers = kafka.CreateTopic("raw-tickers", 4);
        var expected = Enumerable.Range(0, feed.Count).Where(i => streams.Contains(feed.StreamOf(i))).ToList();

        // Played at 20x (about 17 s), so the outage below falls in the middle of the session.
        await using var exchange = await ExchangeServer.StartAsync(new ExchangeServerOptions { Feed = feed, Speed = 20, StartPaused = true });
        var daemon = InProcessDaemon.Start(new DaemonOptions
        {
            Role = DaemonRole.Connector,
            BootstrapServers = kafka.BootstrapServers,
            Live = new BinanceStreamOptions { Url = exchange.BaseUri, Streams = streams, Redundancy = 2 },
            RawTopics = (trades, kafka.CreateTopic("raw-klines", 1), tickers),
            Compression = "zstd", // the mock broker keeps 5 MiB per partition; a symbol's book tickers are about 4 MiB raw
            HttpListen = null,
        });
        try
        {
            Poll.Until(() => exchange.Connections.Count(c => c.Streams.Count == streams.Length) >= 2, "both connections subscribed", TimeSpan.FromSeconds(30), () => daemon.Log);
            exchange.Play();
            Thread.Sleep(4_000);
            kafka.Cluster.SetBrokerDown(Broker); // frames wait in the producer's bounded buffer, then go out
            Thread.Sleep(5_000);
            kafka.Cluster.SetBrokerUp(Broker);
            await exchange.PlaybackCompleted.WaitAsync(TimeSpan.FromSeconds(90));
            Thread.Sleep(2_000); // what the client has received reaches the producer
        }
        finally
        {
            Assert.Equal(0, daemon.Stop()); // flushes every buffered frame
        }

        // Every trade and book-ticker frame once, on its topic, keyed by its symbol, in the exchange's order per symbol;
        // depth frames go to no raw topic.
        var produced = Read(trades).Concat(Read(tickers)).ToList();
        var wanted = expected.Where(i => !feed.StreamOf(i).Contains("@depth", StringComparison.Ordinal)).Select(i => Encoding.UTF8.GetString(feed.CombinedFrame(i).Span)).ToList();
        Assert.Equal(wanted.Count, produced.Count);
        Assert.Equal(wanted.Order(StringComparer.Ordinal), produced.Select(p => p.Value).Order(StringComparer.Ordinal));
        Assert.All(produced, p => Assert.Equal(p.Key.ToLowerInvariant() + "@", p.Value[11..(11 + p.Key.Length + 1)]));
        Assert.All(produced.Where(p => p.Topic == trades), p => Assert.Contains("@trade\"", p.Value, StringComparison.Ordinal));
        var position = wanted.Select((frame, index) => (frame, index)).ToDictionary(w => w.frame, w => w.index, StringComparer.Ordinal);
        foreach (var symbol in produced.GroupBy(p => (p.Topic, p.Key)))
        {
            var indexes = symbol.Select(s => position[s.Value]).ToList(); // the feed's positions, in the topic's order
            Assert.True(indexes.SequenceEqual(indexes.Order()), $"{symbol.Key}: frames out of the exchange's order");
        }

        Assert.Contains("0 failed, flushed: True", daemon.Log, StringComparison.Ordinal);
        Assert.Contains("librdkafka retries with backoff, frames wait in the bounded buffer", daemon.Log, StringComparison.Ordinal); // the outage was felt
    }

    private List<(string Topic, string Key, string Value)> Read(string topic)
    {
        _topics.AssertNothingDropped(topic);
        var total = _topics.CountMessages(topic);
        var records = new List<(string Topic, string Key, string Value)>();
        using var consumer = _topics.Consumer(MockKafkaFixture.NewGroupId("read"));
        consumer.Subscribe(topic);
        Poll.Until(() =>
        {
            while (records.Count < total && consumer.Consume(100) is { } r)
            {
                Assert.True(r.Message.Headers.TryGetLastBytes("lowlatency.receive_ns", out var receive) && receive.Length > 0);
                records.Add((topic, Encoding.UTF8.GetString(r.Message.Key), Encoding.UTF8.GetString(r.Message.Value)));
            }

            return records.Count >= total;
        }, $"{total} records of {topic} read back", TimeSpan.FromSeconds(60), () => $"{records.Count} read");

        // Within a partition the consumer returns the producer's order; across partitions the test groups by symbol.
        return records;
    }
}

using System.Collections;
using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using LowLatency.Codecs.Avro;
using LowLatency.Connectors.Binance;
using LowLatency.Connectors.Replay;
using LowLatency.Engine;
using LowLatency.Host.Daemon;
using LowLatency.Host.Replay;
using LowLatency.Kafka;
using LowLatency.Kafka.Sink;
using LowLatency.Sinks.Avro;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Kafka;
using Microsoft.Extensions.Logging;

namespace LowLatency.Host.Tests;

/// <summary>The daemon against a real (mock) Kafka broker: the candles of the replay path, commits, restart, poison.</summary>
[Collection(DaemonCollection.Name)]
public sealed class RunCommandTests(MockKafkaFixture kafka) : IClassFixture<MockKafkaFixture>, IDisposable
{
    private readonly DaemonTopics _topics = new(kafka);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lowlatency-run-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void FromVariables_BadValues_FailNamingTheVariable()
    {
        Assert.Null(DaemonOptions.FromVariables(new Hashtable()).BootstrapServers); // live mode (LiveModeTests)
        var good = new Hashtable { ["KAFKA_BOOTSTRAP_SERVERS"] = "127.0.0.1:9092" };
        Assert.Equal("127.0.0.1:9092", DaemonOptions.FromVariables(good).BootstrapServers);
        Assert.Equal(4, DaemonOptions.FromVariables(good).InputTopics.Count);
        Assert.Equal("b:1", DaemonOptions.FromVariables(new Hashtable { ["REDPANDA_BROKERS"] = "b:1" }).BootstrapServers);
        foreach (var (name, value) in new[]
        {
            ("RING_SIZE", "1000"), ("KAFKA_ACKS", "2"), ("KAFKA_COMPRESSION", "brotli"), ("BATCH_SIZE", "0"), ("OUTPUT_FORMAT", "xml"),
            ("CANDLE_INTERVALS", "1s,fortnight"), ("LOG_LEVEL", "Loud"), ("ASSET_SCHEMA_LOCATION", "/no/such.avsc"), ("SHARDS", "x"),
            ("HTTP_LISTEN", "localhost:8080"), ("HTTP_LISTEN", "127.0.0.1"), ("HTTP_LISTEN", "::1:80"), ("HTTP_LISTEN", "1.2.3.4:99999"),
            ("KAFKA_OUTPUT_ENCODING", "protobuf"), ("KAFKA_OUTPUT_ENCODING", "Avro"), ("AVRO_SCHEMA_ID_CANDLES", "7"), ("SHARD_WAIT", "nap"),
        })
        {
            var variables = new Hashtable(good) { [name] = value };
            var e = Assert.Throws<FormatException>(() => DaemonOptions.FromVariables(variables));
            Assert.StartsWith(name, e.Message, StringComparison.Ordinal);
        }

        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8080), DaemonOptions.FromVariables(good).HttpListen);
        Assert.Null(DaemonOptions.FromVariables(new Hashtable(good) { ["HTTP_LISTEN"] = "" }).HttpListen);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 0), DaemonOptions.FromVariables(new Hashtable(good) { ["HTTP_LISTEN"] = "[::1]:0" }).HttpListen);

        Assert.Equal(ShardWait.Yield, DaemonOptions.FromVariables(good).ShardWait);
        Assert.Equal(ShardWait.Sleep, DaemonOptions.FromVariables(new Hashtable(good) { ["SHARD_WAIT"] = "Sleep" }).ShardWait);
        Assert.Equal(ShardWait.Spin, DaemonOptions.FromVariables(new Hashtable(good) { ["SHARD_WAIT"] = "spin" }).ShardWait);

        // Live mode's own variables are read only without Kafka.
        Assert.Equal(BinanceWebSocketTransport.Framed, DaemonOptions.FromVariables(new Hashtable()).Live!.Transport);
        Assert.Equal(BinanceWebSocketTransport.ClientWebSocket, DaemonOptions.FromVariables(new Hashtable { ["BINANCE_WS_TRANSPORT"] = "ClientWebSocket" }).Live!.Transport);
        var transport = Assert.Throws<FormatException>(() => DaemonOptions.FromVariables(new Hashtable { ["BINANCE_WS_TRANSPORT"] = "websocket-sharp" }));
        Assert.StartsWith("BINANCE_WS_TRANSPORT", transport.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromVariables_OutputEncoding_JsonByDefaultAvroBareOrWithAllThreeSchemaIds()
    {
        var good = new Hashtable { ["KAFKA_BOOTSTRAP_SERVERS"] = "127.0.0.1:9092" };
        Assert.Equal(OutputEncoding.Json, DaemonOptions.FromVariables(good).OutputEncoding);
        Assert.Null(DaemonOptions.FromVariables(good).OutputSchemaIds);

        var avro = new Hashtable(good) { ["KAFKA_OUTPUT_ENCODING"] = "avro" };
        Assert.Equal(OutputEncoding.Avro, DaemonOptions.FromVariables(avro).OutputEncoding);
        Assert.Null(DaemonOptions.FromVariables(avro).OutputSchemaIds);
        Assert.Null(DaemonOptions.FromVariables(new Hashtable(avro) { ["AVRO_SCHEMA_ID_CANDLES"] = "" }).OutputSchemaIds);

        var confluent = new Hashtable(avro) { ["AVRO_SCHEMA_ID_CANDLES"] = "11", ["AVRO_SCHEMA_ID_ALERTS"] = "0", ["AVRO_SCHEMA_ID_TICKERS"] = "2147483647" };
        Assert.Equal(new OutputSchemaIds(11, 0, int.MaxValue), DaemonOptions.FromVariables(confluent).OutputSchemaIds);

        // Each id bad on its own, one missing (the message names the missing one), or ids without Avro.
        foreach (var (name, value, fails) in new[]
        {
            ("AVRO_SCHEMA_ID_CANDLES", "-1", "AVRO_SCHEMA_ID_CANDLES"), ("AVRO_SCHEMA_ID_ALERTS", "x", "AVRO_SCHEMA_ID_ALERTS"),
            ("AVRO_SCHEMA_ID_TICKERS", "1.5", "AVRO_SCHEMA_ID_TICKERS"), ("AVRO_SCHEMA_ID_ALERTS", "", "AVRO_SCHEMA_ID_ALERTS"),
            ("KAFKA_OUTPUT_ENCODING", "json", "AVRO_SCHEMA_ID_CANDLES"),
        })
        {
            var variables = new Hashtable(confluent) { [name] = value };
            var e = Assert.Throws<FormatException>(() => DaemonOptions.FromVariables(variables));
            Assert.StartsWith(fails, e.Message, StringComparison.Ordinal);
        }
    }

    [KafkaFact]
    public void Run_HttpListen_MetricsCountTheMessagesAndHealthIsReady()
    {
        var input = kafka.CreateTopic("http-trades", 1);
        var candlesTopic = kafka.CreateTopic("http-aggs", 1);
        var t0 = 1_723_161_255_000L;
        _topics.Produce(input, [.. Enumerable.Range(1, 5).Select(i => ("BTCUSDT",
            Encoding.UTF8.GetBytes($$"""{"e":"trade","E":{{t0 + i}},"s":"BTCUSDT","t":{{i}},"p":"61837.64000000","q":"0.00100000","T":{{t0 + i}},"m":false,"M":true}"""))),
            ("BTCUSDT", [0xFF, 0xFE])]);

        Uri? address = null;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        (HttpStatusCode Status, string? Type, string Body) Get(string path)
        {
            using var response = http.Send(new HttpRequestMessage(HttpMethod.Get, new Uri(address!, path)));
            using var reader = new StreamReader(response.Content.ReadAsStream());
            return (response.StatusCode, response.Content.Headers.ContentType?.ToString(), reader.ReadToEnd());
        }

        (HttpStatusCode Status, string? Type, string Body) metrics = (0, null, string.Empty);
        var health = metrics;
        var options = Options(input, candlesTopic, MockKafkaFixture.NewGroupId("http"));
        RunUntil(options, () =>
        {
            if (address is null)
            {
                return false;
            }

            (metrics, health) = (Get("/metrics"), Get("/health"));
            DaemonTopics.LastCount = $"/health {health.Status}: {health.Body}\n/metrics:\n{metrics.Body}";
            return metrics.Body.Contains($"lowlatency_kafka_source_messages_total{{topic=\"{input}\"}} 6\n", StringComparison.Ordinal)
                && health.Status == HttpStatusCode.OK && Get("/health/ready").Status == HttpStatusCode.OK && Get("/health/live").Status == HttpStatusCode.OK;
        }, httpStarted: a => address = a);

        Assert.Equal(IPAddress.Loopback.ToString(), address!.Host);
        Assert.NotEqual(0, address.Port);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", metrics.Type);
        PrometheusText.AssertValid(metrics.Body);
        Assert.Contains("# TYPE lowlatency_pipeline_ingest_to_aggregated_duration_seconds histogram\n", metrics.Body, StringComparison.Ordinal);
        Assert.Contains("lowlatency_pipeline_rejected_total{reason=\"", metrics.Body, StringComparison.Ordinal);
        Assert.Contains("lowlatency_pipeline_input_ring_usage_ratio ", metrics.Body, StringComparison.Ordinal);
        Assert.Contains("lowlatency_kafka_source_assigned_partitions 1\n", metrics.Body, StringComparison.Ordinal);
        Assert.Contains("lowlatency_kafka_source_rewinds_total 0\n", metrics.Body, StringComparison.Ordinal);

        using var json = JsonDocument.Parse(health.Body);
        Assert.Equal("healthy", json.RootElement.GetProperty("status").GetString());
        var components = json.RootElement.GetProperty("components");
        Assert.Equal(1, components.GetProperty("kafka_source").GetProperty("details").GetProperty("assigned_partitions").GetInt32());
        Assert.Equal(2, components.GetProperty("pipeline").GetProperty("details").GetProperty("shards_running").GetInt32());
        Assert.Equal("healthy", components.GetProperty("kafka_sink").GetProperty("status").GetString());
        Assert.Equal("healthy", components.GetProperty("file_sink").GetProperty("status").GetString());

        // Stopped with the daemon: the port no longer answers.
        Assert.ThrowsAny<HttpRequestException>(() => Get("/health/live"));
    }

    [Fact]
    public void Readme_ConfigurationTable_ListsEveryVariableWithItsDefault()
    {
        var readme = File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "README.md"));
        Assert.All(DaemonOptions.Variables, v => Assert.Contains($"| `{v.Name}` | `lowlatency run` | {v.Default} |", readme, StringComparison.Ordinal));
    }

    [KafkaDataFact]
    public void Run_RealTradesThroughKafka_SameCandlesAsReplayAndRestartChangesNothing()
    {
        // The real BTCUSDT and ETHUSDT trades, produced keyed by symbol as the original connector did.
        var trades = ReadTrades("binance/recordings/spot_btcusdt_20240808.gz").Concat(ReadTrades("binance/recordings/spot_ethusdt_20240808.gz")).ToList();
        var input = kafka.CreateTopic("raw-trades", 4);
        var candlesTopic = kafka.CreateTopic("processed-aggs", 4);
        _topics.Produce(input, trades.Select(t => (t.Symbol, Encoding.UTF8.GetBytes(t.Frame))));

        // The replay path's candles for the same frames (it also closes the last open ones at the end).
        var recording = Path.Combine(_dir, "trades.txt");
        Directory.CreateDirectory(_dir);
        File.WriteAllLines(recording, trades.OrderBy(t => t.ReceiveNs).Select(t => $"{t.ReceiveNs} {t.Frame}"));
        Assert.Equal(0, ReplayCommand.Run([recording, "--out", Path.Combine(_dir, "replay"), "--no-pin", "--quiet-alerts", "--intervals", "1s,1m"], TextWriter.Null));
        var expected = File.ReadLines(Path.Combine(_dir, "replay", "candles.jsonl")).ToDictionary(DaemonTopics.CandleKey);

        var options = Options(input, candlesTopic, groupId: MockKafkaFixture.NewGroupId("daemon"));
        var first = RunUntil(options, _topics.Settled(candlesTopic, above: expected.Count - 11)); // at most 2 x (3 + 2) stay open

        // Every candle the daemon wrote is the replay's, byte for byte. Only the candles still open when the input ended
        // are missing (the replay closes them at its end; the daemon leaves them to be rebuilt): those that end after
        // the symbol's watermark, its newest trade time minus the 2 s lateness.
        var written = _topics.ReadCandles(candlesTopic);
        Assert.Equal(written.Count, written.Select(c => c.Key).Distinct().Count());
        var diff = written.Where(c => expected[c.Key] != c.Value).Take(2).Select(c => $"\nreplay {expected[c.Key]}\ndaemon {c.Value}");
        Assert.True(!diff.Any(), string.Concat(diff));
        var newest = trades.GroupBy(t => t.Symbol).ToDictionary(g => g.Key, g => g.Max(t => t.TradeTimeMs));
        var missing = expected.Keys.Except(written.Select(c => c.Key)).ToList();
        Assert.NotEmpty(missing);
        Assert.All(missing, key =>
        {
            using var candle = JsonDocument.Parse(expected[key]);
            var c = candle.RootElement;
            Assert.True(c.GetProperty("close_time").GetInt64() + 1 > newest[c.GetProperty("symbol").GetString()!] - 2_000, $"{key} was closed but not written");
        });
        Assert.Contains("drained: True", first, StringComparison.Ordinal);

        // A second daemon in the same group resumes from the commit, which lies before the open candles' first trades,
        // with the partitions' clocks kept with it: it reads everything after the commit again, rebuilds the candles
        // that were open, which stay open (no newer trade closes them), and keeps the closed ones closed. It writes
        // nothing: the restart changes nothing.
        var partitions = Enumerable.Range(0, 4).Select(p => new Confluent.Kafka.TopicPartition(input, p)).ToList();
        long replayed;
        using (var observer = _topics.Consumer(options.GroupId))
        {
            replayed = trades.Count - observer.Committed(partitions, Poll.DefaultTimeout).Sum(c => Math.Max(0, c.Offset.Value));
        }

        Assert.InRange(replayed, 1, trades.Count - 1);
        Uri? address = null;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var second = RunUntil(options, () =>
        {
            var metrics = address is null ? string.Empty : http.GetStringAsync(new Uri(address, "/metrics")).GetAwaiter().GetResult();
            DaemonTopics.LastCount = $"waiting for the second daemon to read the {replayed} messages after the commit";
            return metrics.Contains($"lowlatency_kafka_source_messages_total{{topic=\"{input}\"}} {replayed}\n", StringComparison.Ordinal);
        }, httpStarted: a => address = a);
        Assert.Contains("drained: True", second, StringComparison.Ordinal);
        var rewritten = _topics.CountMessages(candlesTopic) - written.Count;
        Assert.True(rewritten == 0, $"the restart wrote {rewritten} candles again ({replayed} messages read again after the commit)\n" +
            $"first daemon:\n{first}\nsecond daemon:\n{second}"); // once seen in CI under load (59 candles): the logs say which commit or clock was missing
    }

    [KafkaFact]
    public void Run_PoisonMessages_CountedDeadLetteredAndThePartitionKeepsFlowing()
    {
        var input = kafka.CreateTopic("poison", 1);
        var candlesTopic = kafka.CreateTopic("poison-aggs", 1);
        var deadLetters = kafka.CreateTopic("dead", 1);
        var t0 = 1_723_161_255_000L;
        string Trade(long id, long ms) =>
            $$"""{"e":"trade","E":{{ms}},"s":"BTCUSDT","t":{{id}},"p":"61837.64000000","q":"0.00100000","T":{{ms}},"m":false,"M":true}""";
        _topics.Produce(input,
        [
            ("BTCUSDT", Encoding.UTF8.GetBytes(Trade(1, t0))),
            ("BTCUSDT", """{"e":"trade","E":17231612"""u8.ToArray()),
            ("BTCUSDT", [0xFF, 0xFE, 0x00]),
            ("BTCUSDT", Encoding.UTF8.GetBytes(Trade(2, t0 + 5_000))), // closes the first 1 s candle (lateness 2 s)
        ]);

        // The Avro topic: a good `assets` record, one under a schema id nobody registered, and a truncated one.
        var assets = kafka.CreateTopic("assets", 1);
        var record = new Dictionary<string, object?>
        {
            ["id"] = "0f8fad5b-d9cb-469f-a165-70867728950e", ["asset_name"] = "BTCUSDT", ["open"] = "61837.64", ["high"] = "61900",
            ["low"] = "61800.1", ["close"] = "61850.5", ["volume"] = "12.345", ["quote_volume"] = "763000.12", ["trades"] = "42",
            ["is_closed"] = "true", ["timestamp"] = "1723161240000", ["close_time"] = "1723161299999", ["collected_at"] = "1723161300123",
        };
        var body = AvroGenericDatum.Write(AvroPlan.Compile(AssetPriceSchema.Schema), record);
        byte[] Framed(int schemaId)
        {
            var header = new byte[ConfluentFraming.HeaderLength];
            ConfluentFraming.TryWriteHeader(header, schemaId);
            return [.. header, .. body];
        }

        var wrongSchema = Framed(9);
        var truncated = Framed(1)[..^5];
        _topics.Produce(assets, [("BTCUSDT", Framed(1)), ("BTCUSDT", wrongSchema), ("BTCUSDT", truncated)]);

        var options = Options(input, candlesTopic, MockKafkaFixture.NewGroupId("poison")) with
        {
            DeadLetterTopic = deadLetters,
            InputTopics = new Dictionary<string, FrameFormat> { [input] = FrameFormat.BinanceJson, [assets] = FrameFormat.AssetPriceAvro },
        };
        RunUntil(options, () => _topics.CountMessages(candlesTopic) >= 1 && _topics.CountMessages(deadLetters) >= 4);
        Assert.Equal(4, _topics.CountMessages(deadLetters));

        using var consumer = _topics.Consumer(MockKafkaFixture.NewGroupId("dlq-reader"));
        consumer.Subscribe(deadLetters);
        var letters = new List<(string Value, string Reason, string Topic)>();
        Poll.Until(() =>
        {
            if (consumer.Consume(100) is { } r)
            {
                letters.Add((
                    Convert.ToHexString(r.Message.Value),
                    Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("lowlatency.reason")),
                    Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("lowlatency.topic"))));
            }

            return letters.Count >= 4;
        }, "four dead letters");

        // Each with its original bytes, its topic and a reason; the topics' other messages went through.
        Assert.Contains(letters, l => l.Value == Convert.ToHexString("""{"e":"trade","E":17231612"""u8) && l.Topic == input && l.Reason.StartsWith("Malformed", StringComparison.Ordinal));
        Assert.Contains(letters, l => l.Value == "FFFE00" && l.Topic == input && l.Reason.StartsWith("Malformed", StringComparison.Ordinal));
        Assert.Contains(letters, l => l.Value == Convert.ToHexString(wrongSchema) && l.Topic == assets && l.Reason.Contains("schema id not registered", StringComparison.Ordinal));
        Assert.Contains(letters, l => l.Value == Convert.ToHexString(truncated) && l.Topic == assets && !l.Reason.StartsWith("Ok", StringComparison.Ordinal));
    }

    private DaemonOptions Options(string input, string candlesTopic, string groupId) =>
        _topics.DaemonOptions(input, candlesTopic, groupId, Path.Combine(_dir, "out-" + groupId));

    [KafkaFact]
    public void Run_TwoDaemonsInOneGroup_SplitThePartitionsAndHandOverWithoutLoss()
    {
        // Generated frames of 50 symbols, keyed by symbol over 4 partitions; the first half before the daemons start,
        // the second after one of them has left.
        var generator = new MarketDataGenerator(new MarketDataGeneratorOptions { MeanGapNs = 3_000_000 }); // 2 minutes of event time
        var buffer = new byte[generator.MaxFrameBytes];
        var frames = new List<(string Symbol, long TimeNs, byte[] Frame)>();
        for (var i = 0; i < 40_000; i++)
        {
            var length = generator.WriteNext(buffer, out var timeNs);
            frames.Add((generator.Symbols[generator.LastSymbolIndex], timeNs, buffer[..length]));
        }

        var input = kafka.CreateTopic("split", 4);
        var candlesTopic = kafka.CreateTopic("split-aggs", 4);
        var group = MockKafkaFixture.NewGroupId("split");
        _topics.Produce(input, frames.Take(20_000).Select(f => (f.Symbol, f.Frame)));

        var a = InProcessDaemon.Start(Options(input, candlesTopic, group));
        var b = InProcessDaemon.Start(Options(input, candlesTopic, group) with { OutputDirectory = Path.Combine(_dir, "out-b") });
        var firstHalf = _topics.Settled(candlesTopic, above: 0);
        Poll.Until(() => a.Log.Contains("assigned", StringComparison.Ordinal) && b.Log.Contains("assigned", StringComparison.Ordinal)
            && firstHalf(), "both daemons assigned and their output settled", TimeSpan.FromSeconds(90), () => $"{DaemonTopics.LastCount}\nA:\n{a.Log}\nB:\n{b.Log}");
        var aShare = System.Text.RegularExpressions.Regex.Matches(a.Log, @"(\d+) partition\(s\) assigned")[^1].Groups[1].Value;
        Assert.InRange(int.Parse(aShare, System.Globalization.CultureInfo.InvariantCulture), 1, 3); // the partitions were split
        var bLogBeforeHandOver = b.Log.Length;
        Assert.Equal(0, a.Stop());

        // A has left (drained, committed); B takes its partitions (the group may take more than one rebalance to get
        // there), then the second half.
        Poll.Until(() => b.Log[bLogBeforeHandOver..].Contains("4 partition(s) assigned", StringComparison.Ordinal), "B owns all four partitions", TimeSpan.FromSeconds(60), () => b.Log);
        _topics.Produce(input, frames.Skip(20_000).Select(f => (f.Symbol, f.Frame)));
        var beforeSecondHalf = _topics.CountMessages(candlesTopic);
        Poll.Until(_topics.Settled(candlesTopic, above: beforeSecondHalf), "the second half settled", TimeSpan.FromSeconds(90), () => $"{DaemonTopics.LastCount}\nB:\n{b.Log}");
        Assert.Equal(0, b.Stop());

        // The reference: the replay path over every frame.
        var recording = Path.Combine(_dir, "split.txt");
        File.WriteAllLines(recording, frames.Select(f => $"{f.TimeNs} {Encoding.UTF8.GetString(f.Frame)}"));
        Assert.Equal(0, ReplayCommand.Run([recording, "--out", Path.Combine(_dir, "split-replay"), "--no-pin", "--quiet-alerts", "--intervals", "1s,1m"], TextWriter.Null));
        var expected = File.ReadLines(Path.Combine(_dir, "split-replay", "candles.jsonl")).ToDictionary(DaemonTopics.CandleKey);

        // Every candle written equals the replay's (rolling volatility aside: a handed-over symbol restarts its window),
        // and every replay candle that closed before the input ended was written.
        var written = _topics.ReadCandles(candlesTopic).ToDictionary(c => c.Key, c => c.Value);
        Assert.All(written, c => Assert.Equal(DaemonTopics.WithoutVolatility(expected[c.Key]), DaemonTopics.WithoutVolatility(c.Value)));
        var newest = new Dictionary<string, long>();
        foreach (var (symbol, _, frame) in frames)
        {
            using var doc = JsonDocument.Parse(frame);
            var data = doc.RootElement.TryGetProperty("data", out var d) ? d : doc.RootElement;
            if (data.TryGetProperty("e", out var e) && e.GetString() == "trade")
            {
                newest[symbol] = Math.Max(newest.GetValueOrDefault(symbol), data.GetProperty("T").GetInt64());
            }
        }

        var lost = expected.Where(c => !written.ContainsKey(c.Key)).Select(c => JsonDocument.Parse(c.Value).RootElement)
            .Where(c => c.GetProperty("close_time").GetInt64() + 1 <= newest[c.GetProperty("symbol").GetString()!] - 2_000)
            .Select(c => DaemonTopics.CandleKey(c.GetRawText())).ToList();
        Assert.True(lost.Count == 0, "closed but never written: " + string.Join(", ", lost.Take(10)));
    }

    /// <summary>Runs the daemon in this process until <paramref name="condition"/> holds, then stops it as SIGTERM would; returns its log.</summary>
    private static string RunUntil(DaemonOptions options, Func<bool> condition, int timeoutSeconds = 90, Action<Uri>? httpStarted = null)
    {
        var log = new StringWriter();
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(new InProcessDaemon.WriterLoggerProvider(log)));
        using var stop = new CancellationTokenSource();
        var exit = -1;
        var daemon = new Thread(() => exit = RunCommand.Run(options, loggers, stop.Token, httpStarted));
        daemon.Start();
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        var met = false;
        while (DateTime.UtcNow < deadline && daemon.IsAlive && !(met = condition()))
        {
            Thread.Sleep(100);
        }

        stop.Cancel();
        Assert.True(daemon.Join(TimeSpan.FromSeconds(60)), "the daemon stops within a minute of the stop request");
        Assert.True(met, $"condition before the deadline ({DaemonTopics.LastCount}); log:\n{log}");
        Assert.Equal(0, exit);
        return log.ToString();
    }

    private sealed record RecordedTrade(string Symbol, long ReceiveNs, long TradeTimeMs, string Frame);

    private static IEnumerable<RecordedTrade> ReadTrades(string relativePath)
    {
        using var reader = new StreamReader(new GZipStream(File.OpenRead(TestData.PathOf(relativePath)), CompressionMode.Decompress), Encoding.UTF8);
        while (reader.ReadLine() is { } line)
        {
            if (!line.Contains("@trade\"", StringComparison.Ordinal))
            {
                continue;
            }

            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var frame = line[(space + 1)..];
            using var doc = JsonDocument.Parse(frame);
            var data = doc.RootElement.GetProperty("data");
            yield return new RecordedTrade(
                data.GetProperty("s").GetString()!, long.Parse(line[..space], System.Globalization.CultureInfo.InvariantCulture), data.GetProperty("T").GetInt64(), frame);
        }
    }
}

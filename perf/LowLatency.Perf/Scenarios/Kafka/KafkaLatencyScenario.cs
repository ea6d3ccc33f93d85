using System.Buffers.Binary;
using System.Buffers.Text;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using LowLatency.Aggregation;
using LowLatency.Connectors.Replay;
using LowLatency.Engine;
using LowLatency.Kafka;
using LowLatency.Kafka.Sink;
using LowLatency.Kafka.Source;
using LowLatency.KafkaBroker;
using LowLatency.Market;
using LowLatency.Perf.Harness;
using LowLatency.Ring;
using LowLatency.Telemetry;

namespace LowLatency.Perf.Scenarios.Kafka;

/// <summary>
/// <c>kafka-latency</c>: issue 4's target, "p99 from produce to closed candle visible on the derived topic ≤ 5 ms at
/// 10 k msg/s offered". A paced producer offers generated Binance trades (<c>--rate</c>, default 10,000 msg/s) to a
/// fresh in-process mock broker; the daemon path (<see cref="KafkaSource"/> → <see cref="MarketDataPipeline"/> →
/// <see cref="KafkaSink"/>, as <c>lowlatency run</c> wires it, with 1 s … 1 h candles and no allowed lateness) turns
/// them into candles on the derived topic, which a plain consumer reads. Everything runs in this process, so both
/// ends of every latency are <see cref="Stopwatch"/> timestamps of one clock.
/// </summary>
/// <remarks>
/// <para>
/// <b>What is measured.</b> A candle of symbol S and bucket [s, s + 1 s) closes when the daemon applies the first trade
/// of S whose trade time is at or past s + 1 s + lateness (lateness 0 here): that trade moves S's watermark past the
/// bucket. Its trade time is the wall clock at its produce call (the producer rewrites the generator's <c>E</c> and
/// <c>T</c>), so candles close as trades flow. The latency of the candle is from the <see cref="Stopwatch"/> timestamp
/// taken right before that trade's <c>Produce</c> call to the timestamp taken when <c>Consume</c> on the candle topic
/// returns the candle. It excludes the wait for S's next trade after the second ends (that depends on S's trade rate,
/// not on the engine). Only the 1 s candles are measured (the 1 m … 1 h candles closed by the same trades are produced
/// too, as the daemon does, but not timed). Each symbol has a partition of its own (the producer keys by symbol and
/// names the partition), so nothing but S's own trades can close S's candles: with several symbols on a partition the
/// shard would also close a quiet symbol's candles at a commit mark, on the partition's clock, and the "closing trade"
/// would not be defined.
/// </para>
/// <para>
/// <b>The bare floor, same run.</b> A second plain consumer reads the raw topic and times each message from the same
/// produce timestamp (carried in a header) to its <c>Consume</c>: the broker and client's own round trip, reported as
/// <c>+ bare</c>. The engine's part is roughly the difference, plus a second round trip (the sink's produce to the
/// derived topic and the candle consumer's fetch).
/// </para>
/// <para>
/// <b>Settings.</b> Every producer (the load's and the sink's) has <c>linger.ms</c> 0 and <c>acks=all</c> (idempotent);
/// every consumer (the daemon's source, the bare and the candle consumer) has <c>fetch.wait.max.ms</c> 1, since the
/// default 500 ms would be the whole figure. The daemon's other settings are its defaults, commit marks every second
/// included: the sink flushes its producer at each mark, and candles behind the mark in the output ring wait for that
/// flush, so it is part of what is measured. The producer paces in 1 ms steps: it sleeps 1 ms, then produces every
/// message that is due (about 10 at 10 k/s), because a busy-waiting producer would take one of the two cores from the
/// broker and the daemon. Each run first offers 2 s of warm-up (group join done, JIT warm), not measured, then
/// min(<c>--latency-events</c>, 60,000) measured messages (6 s at 10 k/s); a harness warm-up run offers 2 s of
/// measured messages only.
/// </para>
/// </remarks>
internal sealed class KafkaLatencyScenario : IScenario
{
    /// <summary>Symbols, and partitions of the raw topic: one each (see the remarks).</summary>
    internal const int Symbols = 64;

    /// <summary>Measured messages per run at most: 6 s at 10 k msg/s, which keeps a default run (1 short warm-up + 5 runs) near a minute.</summary>
    private const long MaxMeasuredMessages = 60_000;

    private const string Topic = "binance.trades";

    private const string CandlesTopic = "processed_aggs";

    private const int CandlePartitions = 8;

    /// <summary>The raw message's header holding its produce timestamp (8 bytes, little-endian <see cref="Stopwatch"/> ticks).</summary>
    private const string ProducedAtHeader = "lowlatency.produced_at";

    /// <summary>Seconds of closes kept per symbol: a candle must reach its consumer within this long to be matched.</summary>
    private const int CloseWindow = 64;

    private static readonly TimeSpan s_inRunWarmup = TimeSpan.FromSeconds(2);

    /// <summary>The librdkafka settings every consumer of the run gets: fetch responses as soon as one message is there.</summary>
    private static readonly Dictionary<string, string> s_lowLatencyConsumer = new() { ["fetch.wait.max.ms"] = "1" };

    public string Name => "kafka-latency";

    public ScenarioKind Kind => ScenarioKind.Latency;

    public string Category => KafkaScenarios.Category;

    public string Description =>
        $"Paced producer (--rate msg/s, linger.ms 0, acks=all) of generated Binance trades, event time = wall clock, {Symbols} symbols a partition each " +
        "-> KafkaSource -> 1 shard (lateness 0) -> KafkaSink (linger.ms 0) -> candle consumer: produce of the trade that closes a 1 s candle " +
        "-> candle consumed; + bare: produce -> consume of the raw topic, same run; fetch.wait.max.ms 1; " +
        $"2 s warm-up then min(--latency-events, {MaxMeasuredMessages:N0}) messages per run.";

    public string? Baseline => null;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var rate = context.Options.Rate;
        var warmupMessages = (long)(rate * s_inRunWarmup.TotalSeconds);
        var measuredMessages = context.IsWarmup ? warmupMessages : Math.Min(context.Options.LatencyEvents, MaxMeasuredMessages);
        var total = warmupMessages + measuredMessages;
        var timeout = ScenarioContext.Timeout(total, nanosecondsPerEvent: 1e9 / rate);
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);

        LibRdKafka.EnsureResolvable();
        using var cluster = MockKafkaCluster.Start(
            brokers: 1,
            new MockTopic(Topic, Symbols),
            new MockTopic(CandlesTopic, CandlePartitions),
            new MockTopic("alerts", 8),
            new MockTopic("tickers", 8));

        var symbols = new SymbolTable(4096);
        var watermark = new CommitWatermark(shards: 1, durableSinks: 1, partitionCapacity: 1024);
        using var pipeline = new MarketDataPipeline(symbols, new MarketDataPipelineOptions
        {
            Shards = 1,
            Pin = context.Options.Pin,
            CommitMarks = watermark,
            FlushOpenCandlesOnShutdown = false,
            Candles = new CandleAggregatorOptions { AllowedLateness = TimeSpan.Zero },
        });
        using var sink = new KafkaSink(
            new KafkaSinkOptions { BootstrapServers = cluster.BootstrapServers, CandlesTopic = CandlesTopic, BatchTimeoutMs = 0 },
            symbols,
            watermark);
        pipeline.Output.HandleEventsWith(new KafkaSinkHandler(sink), context.ProcessorOptions("sink-kafka", cpu: null));
        using var source = new KafkaSource(
            new KafkaSourceOptions
            {
                BootstrapServers = cluster.BootstrapServers,
                GroupId = "lowlatency-perf-" + Guid.NewGuid().ToString("N"),
                Topics = new Dictionary<string, FrameFormat> { [Topic] = FrameFormat.BinanceJson },
                SessionTimeoutMs = 6_000,
                Config = s_lowLatencyConsumer,
            },
            pipeline,
            watermark);
        pipeline.Start();

        var closes = new CloseLog(Symbols, CloseWindow);
        var generator = new MarketDataGenerator(new MarketDataGeneratorOptions { SymbolCount = Symbols, BookTickerWeight = 0, DepthUpdateWeight = 0 });
        var symbolIndexes = generator.Symbols.Select((name, index) => (name, index)).ToDictionary(s => s.name, s => s.index, StringComparer.Ordinal);
        var candleLatency = new LatencyHistogram(highestTrackableValue: 60_000_000_000);
        var bareLatency = new LatencyHistogram(highestTrackableValue: 60_000_000_000);
        var candlesDone = new CompletionSignal();
        var gate = new StartGate();
        using var stop = new CancellationTokenSource();
        var threads = new List<DedicatedThread>();
        try
        {
            threads.Add(context.StartThread("source", context.NextCpu(), () => source.Run(stop.Token)));

            // The group join (a few seconds with the mock) happens before the first offered message, not inside a run.
            while (source.AssignedPartitions < Symbols)
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new RunAbortedException($"the source was assigned {source.AssignedPartitions} of {Symbols} partitions before the deadline.");
                }

                Thread.Sleep(10);
            }

            long bareReceived = 0, bareMissingStamp = 0;
            var bare = context.StartThread("bare-consumer", cpu: null, () =>
            {
                using var consumer = LowLatencyConsumer(cluster.BootstrapServers);
                consumer.Assign(Enumerable.Range(0, Symbols).Select(p => new TopicPartitionOffset(Topic, p, Offset.Beginning)));
                long n = 0, missing = 0;
                while (n < total && !stop.IsCancellationRequested)
                {
                    if (consumer.Consume(100) is not { } result)
                    {
                        continue;
                    }

                    var now = Stopwatch.GetTimestamp();
                    n++;
                    if (!result.Message.Headers.TryGetLastBytes(ProducedAtHeader, out var stamp) || stamp.Length != sizeof(long))
                    {
                        missing++;
                        continue;
                    }

                    var producedAt = BinaryPrimitives.ReadInt64LittleEndian(stamp);
                    if (producedAt >= closes.MeasureFrom)
                    {
                        bareLatency.Record(Timing.TicksToNanoseconds(now - producedAt));
                    }
                }

                // Read by the main thread after it has joined this one.
                (bareReceived, bareMissingStamp) = (n, missing);
            });
            threads.Add(bare);

            long candlesReceived = 0, unmatched = 0;
            var candleConsumer = context.StartThread("candle-consumer", cpu: null, () =>
            {
                using var consumer = LowLatencyConsumer(cluster.BootstrapServers);
                consumer.Assign(Enumerable.Range(0, CandlePartitions).Select(p => new TopicPartitionOffset(CandlesTopic, p, Offset.Beginning)));
                long n = 0, missed = 0, measured = 0;
                while (!stop.IsCancellationRequested)
                {
                    if (closes.ProducerDone && measured == closes.MeasuredCloses)
                    {
                        candlesDone.Complete(Stopwatch.GetTimestamp());
                        break;
                    }

                    if (consumer.Consume(100) is not { } result)
                    {
                        continue;
                    }

                    var now = Stopwatch.GetTimestamp();
                    n++;
                    if (!result.Message.Headers.TryGetLastBytes("lowlatency.key", out var key)
                        || !TryParseSecondCandle(key, symbolIndexes, out var symbol, out var openSecond))
                    {
                        continue; // 1 m … 1 h candles: closed by the same trades, not timed
                    }

                    if (!closes.TryGetClose(symbol, openSecond, out var closedAt))
                    {
                        missed++;
                        continue;
                    }

                    if (closedAt >= closes.MeasureFrom)
                    {
                        measured++;
                        candleLatency.Record(Timing.TicksToNanoseconds(now - closedAt));
                    }
                }

                (candlesReceived, unmatched) = (n, missed);
            });
            threads.Add(candleConsumer);

            var producer = context.StartThread("producer", cpu: null, () =>
                Produce(cluster.BootstrapServers, generator, closes, gate, rate, warmupMessages, total, stop.Token));
            threads.Add(producer);

            var window = context.BeginMeasurement();
            gate.Open();
            context.AwaitCompletion(candlesDone, timeout, progress: null, producer, bare);
            var measurement = window.End(candlesDone.EndTimestamp);

            // The source has handed every message to the pipeline by now unless something is wrong; give it a moment.
            while (pipeline.Messages < total && Stopwatch.GetTimestamp() < deadline)
            {
                Thread.Sleep(10);
            }

            stop.Cancel();
            JoinAll(threads);
            pipeline.Complete(TimeSpan.FromSeconds(30));

            var tooLate = pipeline.Shards.Sum(s => s.Handler.Counters.TooLateTrades);
            if (source.Rejected != 0 || pipeline.Messages != total || tooLate != 0)
            {
                throw new VerificationException($"the daemon took {pipeline.Messages:N0} of {total:N0} messages, {source.Rejected:N0} rejected, {tooLate:N0} too late for their candle.");
            }

            if (bareReceived != total || bareMissingStamp != 0)
            {
                throw new VerificationException($"the bare consumer received {bareReceived:N0} of {total:N0} messages, {bareMissingStamp:N0} without a produce timestamp.");
            }

            // Every 1 s candle must have a closing trade, and none may arrive before it was produced: else the
            // definition above does not describe what the daemon does, and the figures would be of something else.
            if (unmatched != 0 || candleLatency.NegativeCount != 0 || candleLatency.TotalCount != closes.MeasuredCloses)
            {
                throw new VerificationException(
                    $"{unmatched:N0} candles without a closing trade, {candleLatency.NegativeCount:N0} consumed before their closing trade was produced, " +
                    $"{candleLatency.TotalCount:N0} of {closes.MeasuredCloses:N0} measured closes timed.");
            }

            return context.CreateResult(
                measuredMessages,
                measurement,
                $"daemon defaults (yielding shard); {closes.MeasuredCloses:N0} 1 s candles timed, {candlesReceived:N0} outputs consumed, {source.Commits} commits",
                pipeline.Options.RingSize,
                candleLatency.Summarize()) with
            {
                OtherLatencies = new Dictionary<string, LatencySummary> { ["bare"] = bareLatency.Summarize() },
            };
        }
        finally
        {
            // On an abort too: every thread leaves its Kafka client before the cluster and the pipeline are disposed.
            stop.Cancel();
            JoinAll(threads);
        }
    }

    /// <summary>
    /// The paced load (producer thread): one generated trade every 1/<paramref name="rate"/> s on average, in 1 ms
    /// steps, each stamped, rewritten to the wall clock and logged as the close of its symbol's previous second when
    /// it starts a new one.
    /// </summary>
    private static void Produce(string bootstrapServers, MarketDataGenerator generator, CloseLog closes, StartGate gate, long rate, long warmupMessages, long total, CancellationToken stop)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 0,
            EnableDeliveryReports = false, // the bare consumer checks that every message arrived
        }).Build();
        var keys = generator.Symbols.Select(Encoding.UTF8.GetBytes).ToArray();
        var partitions = Enumerable.Range(0, Symbols).Select(p => new TopicPartition(Topic, p)).ToArray();
        var lastSecond = new long[Symbols];
        Array.Fill(lastSecond, -1);
        var buffer = new byte[generator.MaxFrameBytes];
        var pace = Timing.NanosecondsToTicks(1_000_000_000 / rate);

        gate.Wait();
        var due = Stopwatch.GetTimestamp();
        for (var i = 0L; i < total && !stop.IsCancellationRequested; i++)
        {
            while (Stopwatch.GetTimestamp() < due)
            {
                Thread.Sleep(1);
            }

            if (i == warmupMessages)
            {
                closes.StartMeasuring(Stopwatch.GetTimestamp());
            }

            var length = generator.WriteNext(buffer, out _);
            var symbol = generator.LastSymbolIndex;
            var frame = buffer.AsSpan(0, length);

            // WallClock is monotonic (Stopwatch-based), so each symbol's trade times never go back, as on Binance.
            var milliseconds = WallClock.UnixNanoseconds() / 1_000_000;
            RewriteMilliseconds(frame, "\"E\":"u8, milliseconds);
            RewriteMilliseconds(frame, "\"T\":"u8, milliseconds);
            var message = new Message<byte[], byte[]> { Key = keys[symbol], Value = frame.ToArray() };

            var producedAt = Stopwatch.GetTimestamp();
            var second = milliseconds / 1_000;
            if (second > lastSecond[symbol] && lastSecond[symbol] >= 0)
            {
                closes.Record(symbol, lastSecond[symbol], producedAt);
            }

            lastSecond[symbol] = second;
            var stamp = new byte[sizeof(long)];
            BinaryPrimitives.WriteInt64LittleEndian(stamp, producedAt);
            message.Headers = [new Header(ProducedAtHeader, stamp)];
            while (true)
            {
                try
                {
                    producer.Produce(partitions[symbol], message);
                    break;
                }
                catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(1));
                }
            }

            due += pace;
        }

        closes.FinishProducing();
        if (producer.Flush(TimeSpan.FromSeconds(30)) != 0)
        {
            throw new InvalidOperationException("the load producer could not deliver every message within 30 s.");
        }
    }

    /// <summary>Overwrites the 13-digit millisecond value after <paramref name="field"/> (the generator's 2024 times and today's both have 13 digits).</summary>
    private static void RewriteMilliseconds(Span<byte> frame, ReadOnlySpan<byte> field, long milliseconds)
    {
        var at = frame.IndexOf(field) + field.Length;
        if (at < field.Length || at + 13 >= frame.Length || frame[at + 13] != (byte)','
            || !Utf8Formatter.TryFormat(milliseconds, frame.Slice(at, 13), out var written) || written != 13)
        {
            throw new InvalidOperationException($"cannot rewrite {Encoding.UTF8.GetString(field)} in {Encoding.UTF8.GetString(frame)}.");
        }
    }

    /// <summary>Parses the sink's candle key <c>SYMBOL:1s:open_time_ms</c>; false for other intervals or records.</summary>
    private static bool TryParseSecondCandle(ReadOnlySpan<byte> key, Dictionary<string, int> symbolIndexes, out int symbol, out long openSecond)
    {
        symbol = -1;
        openSecond = 0;
        var first = key.IndexOf((byte)':');
        if (first < 0 || !key[(first + 1)..].StartsWith("1s:"u8))
        {
            return false;
        }

        if (!Utf8Parser.TryParse(key[(first + 4)..], out long openMilliseconds, out var consumed) || consumed != key.Length - first - 4
            || !symbolIndexes.TryGetValue(Encoding.UTF8.GetString(key[..first]), out symbol))
        {
            throw new InvalidOperationException($"unexpected candle key '{Encoding.UTF8.GetString(key)}'.");
        }

        openSecond = openMilliseconds / 1_000;
        return true;
    }

    private static IConsumer<Ignore, byte[]> LowLatencyConsumer(string bootstrapServers) =>
        new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig(new Dictionary<string, string>(s_lowLatencyConsumer))
        {
            BootstrapServers = bootstrapServers,
            GroupId = "lowlatency-perf", // required by Confluent; partitions are assigned, so it never joins
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
        }).Build();

    private static void JoinAll(List<DedicatedThread> threads)
    {
        foreach (var thread in threads)
        {
            if (!thread.Join(TimeSpan.FromSeconds(60)))
            {
                throw new RunAbortedException($"{thread.Name} did not stop.");
            }
        }

        threads.Clear();
    }

    /// <summary>
    /// When each symbol's seconds closed: the <see cref="Stopwatch"/> timestamp of the produce call of the trade that
    /// started the symbol's next second, for the last <see cref="CloseWindow"/> seconds. Written by the producer thread,
    /// read by the candle consumer.
    /// </summary>
    private sealed class CloseLog(int symbols, int window)
    {
        private readonly long[] _second = Enumerable.Repeat(-1L, symbols * window).ToArray();
        private readonly long[] _closedAt = new long[symbols * window];

        /// <remarks>Written once by the producer before any measured close is recorded (volatile): a reader that sees a
        /// measured close through <see cref="TryGetClose"/>'s acquire also sees this.</remarks>
        private long _measureFrom = long.MaxValue;

        private long _measuredCloses;

        /// <remarks>Set (release) after the last <see cref="_measuredCloses"/> update; read with acquire.</remarks>
        private int _producerDone;

        /// <summary>Timestamps at or after this are measured; <see cref="long.MaxValue"/> during the in-run warm-up.</summary>
        public long MeasureFrom => Volatile.Read(ref _measureFrom);

        /// <summary>Closes recorded since <see cref="MeasureFrom"/>; final once <see cref="ProducerDone"/>.</summary>
        public long MeasuredCloses => Volatile.Read(ref _measuredCloses);

        public bool ProducerDone => Volatile.Read(ref _producerDone) != 0;

        public void StartMeasuring(long timestamp) => Volatile.Write(ref _measureFrom, timestamp);

        public void FinishProducing() => Volatile.Write(ref _producerDone, 1);

        /// <remarks>The timestamp is stored before the second (release), so a reader that finds the second finds its timestamp.</remarks>
        public void Record(int symbol, long second, long producedAt)
        {
            var slot = (symbol * window) + (int)(second % window);
            _closedAt[slot] = producedAt;
            Volatile.Write(ref _second[slot], second);
            if (producedAt >= _measureFrom)
            {
                Volatile.Write(ref _measuredCloses, _measuredCloses + 1);
            }
        }

        public bool TryGetClose(int symbol, long second, out long producedAt)
        {
            var slot = (symbol * window) + (int)(second % window);
            var found = Volatile.Read(ref _second[slot]) == second;
            producedAt = found ? _closedAt[slot] : 0;
            return found;
        }
    }
}

using LowLatency.Market;
using LowLatency.Ring;

namespace LowLatency.Aggregation.Tests;

public sealed class MarketDataShardTests
{
    /// <summary>Collects one shard's output (each shard has its own lists: one writer each).</summary>
    private struct CollectingOutput : IShardOutput
    {
        public List<Candle> Candles;
        public List<Alert> Alerts;
        public List<int> TickerSymbols;
        public List<(int SymbolId, KlineData Kline, long EventTimeNs, long ReceiveTimeNs)> Klines;
        public List<(int SymbolId, long TradeId, long ReceiveTimeNs)> Trades;

        public readonly void OnCandle(in Candle candle, in CandleMetrics metrics) => Candles.Add(candle);

        public readonly void OnKline(int symbolId, in KlineData kline, long eventTimeNs, long receiveTimeNs) => Klines.Add((symbolId, kline, eventTimeNs, receiveTimeNs));

        public readonly void OnAlert(in Alert alert) => Alerts.Add(alert);

        public readonly void OnTrade(int symbolId, in TradeData trade, long receiveTimeNs) => Trades.Add((symbolId, trade.TradeId, receiveTimeNs));

        public readonly void OnTicker(int symbolId, in LiveTicker ticker) => TickerSymbols.Add(symbolId);
    }

    private static CollectingOutput NewOutput() => new() { Candles = [], Alerts = [], TickerSymbols = [], Klines = [], Trades = [] };

    private static void Publish(ValueRingBuffer<MarketEvent> ring, CandleAggregatorTests.Trade trade)
    {
        var s = ring.Next();
        ref var e = ref ring[s];
        e.Kind = MarketEventKind.Trade;
        e.SymbolId = trade.Symbol;
        e.EventTimeNs = trade.TimeNs;
        e.ReceiveTimeNs = trade.TimeNs;
        e.Payload.Trade = new TradeData
        {
            TradeId = trade.Id,
            FirstTradeId = trade.Id,
            LastTradeId = trade.Id,
            Price = new Price(trade.Price),
            Quantity = new Quantity(trade.Quantity),
            TradeTimeNs = trade.TimeNs,
            IsBuyerMaker = trade.BuyerMaker,
        };
        ring.Publish(s);
    }

    [Fact]
    public void OnEvent_Kline_PassedThroughAsItArrivedByItsSymbolsShard()
    {
        var outputs = new[] { NewOutput(), NewOutput() };
        var disruptor = new ValueDisruptor<MarketEvent>(64, ProducerType.Single, new YieldingWaitStrategy(), () => MarketEvent.Create(4));
        for (var i = 0; i < 2; i++)
        {
            disruptor.HandleEventsWith(new MarketDataShard<CollectingOutput>(i, 2, outputs[i], new CandleAggregatorOptions { SymbolCapacity = 16 }));
        }

        disruptor.Start();
        var id = Guid.Parse("aa3afd44-8119-4565-809b-9df75d6ddab0");
        var s = disruptor.RingBuffer.Next();
        ref var e = ref disruptor.RingBuffer[s];
        e.Kind = MarketEventKind.Kline;
        e.SymbolId = 3;
        e.EventTimeNs = 1_723_161_300_123_000_000;
        e.ReceiveTimeNs = 1_723_161_300_200_000_000;
        e.Payload.Kline = new KlineData
        {
            OpenTimeNs = 1_723_161_240_000_000_000,
            CloseTimeNs = 1_723_161_299_999_000_000,
            Open = Price.Parse("61837.63"),
            Close = Price.Parse("61850.01"),
            Volume = Quantity.Parse("12.345"),
            TradeCount = 1234,
            Interval = KlineInterval.Minute1,
            IsClosed = true,
            RecordId = id,
        };
        disruptor.RingBuffer.Publish(s);
        Assert.True(disruptor.Shutdown(TimeSpan.FromSeconds(30)));

        Assert.Empty(outputs[0].Klines); // symbol 3 is shard 1's
        var (symbolId, kline, eventTime, receiveTime) = Assert.Single(outputs[1].Klines);
        Assert.Equal((3, 1_723_161_300_123_000_000L, 1_723_161_300_200_000_000L), (symbolId, eventTime, receiveTime));
        Assert.Equal((id, Price.Parse("61850.01"), 1234L, true), (kline.RecordId, kline.Close, kline.TradeCount, kline.IsClosed));
        Assert.Empty(outputs[1].Candles); // a kline is not a trade: it makes no candle of its own
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Shards_SplittingSymbolsAcrossShards_ChangesNoSymbolsCandles(int shardCount)
    {
        var options = new CandleAggregatorOptions { SymbolCapacity = 16 };
        var trades = CandleAggregatorTests.GenerateTrades(seed: 5, symbols: 7, perSymbol: 2000);
        var expected = CandleAggregatorTests.Aggregate(trades, options, out _);

        var outputs = Enumerable.Range(0, shardCount).Select(_ => NewOutput()).ToArray();
        var disruptor = new ValueDisruptor<MarketEvent>(1024, ProducerType.Single, new YieldingWaitStrategy(), () => MarketEvent.Create(4));
        var shards = Enumerable.Range(0, shardCount)
            .Select(i => disruptor.HandleEventsWith(new MarketDataShard<CollectingOutput>(i, shardCount, outputs[i], options)))
            .ToArray();
        disruptor.Start();
        foreach (var trade in trades)
        {
            Publish(disruptor.RingBuffer, trade);
        }

        Assert.True(disruptor.Shutdown(TimeSpan.FromSeconds(30))); // drains, halts, and each shard flushes its candles

        static object Key(Candle c) => (c.SymbolId, c.IntervalIndex, c.OpenTimeNs, c.Open, c.High, c.Low, c.Close, c.Volume, c.QuoteVolumeRaw, c.TradeCount, c.HasGap);
        var actual = outputs.SelectMany(o => o.Candles).ToList();
        Assert.Equal(expected.Select(Key).OrderBy(k => k.ToString()), actual.Select(Key).OrderBy(k => k.ToString()));

        for (var i = 0; i < shardCount; i++)
        {
            Assert.All(outputs[i].Candles, c => Assert.Equal(i, c.SymbolId % shardCount)); // each shard kept to its symbols
            Assert.Equal(trades.Count(t => t.Symbol % shardCount == i), shards[i].Handler.Counters.EventsByKind[(int)MarketEventKind.Trade]);
            Assert.Equal(trades.Count(t => t.Symbol % shardCount != i), shards[i].Handler.Counters.NotOwned);
        }
    }

    [Fact]
    public void Shard_WhaleTradeAndTickers_ReachTheOutput()
    {
        var output = NewOutput();
        var shard = new MarketDataShard<CollectingOutput>(0, 1, output, new CandleAggregatorOptions { SymbolCapacity = 4, Intervals = [TimeSpan.FromSeconds(1)], AllowedLateness = TimeSpan.Zero });
        var evt = MarketEvent.Create(4);
        evt.Kind = MarketEventKind.Trade;
        evt.SymbolId = 2;
        evt.Payload.Trade = new TradeData { TradeId = 1, Price = Price.Parse("60000"), Quantity = Quantity.Parse("2"), TradeTimeNs = 1_000_000_000 };
        evt.IngestTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
        shard.OnEvent(ref evt, 0, true);
        Assert.Equal(1, shard.Counters.IngestToAggregatedNs.TotalCount); // sequence 0 is sampled
        evt.Payload.Trade = new TradeData { TradeId = 2, Price = Price.Parse("60001"), Quantity = Quantity.Parse("0.1"), TradeTimeNs = 2_000_000_000 };
        shard.OnEvent(ref evt, 1, true);
        Assert.Equal(1, shard.Counters.IngestToAggregatedNs.TotalCount); // sequence 1 is not

        Assert.Equal(AlertKind.WhaleTrade, Assert.Single(output.Alerts).Kind); // 120,000 notional
        Assert.Single(output.Candles);                                         // the first second closed
        Assert.Equal([2], output.TickerSymbols);
        Assert.Equal(Price.Parse("60001"), shard.Tickers[2].LastPrice);

        shard.OnShutdown();
        Assert.Equal(2, output.Candles.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OnEvent_Trades_PassedThroughOnlyWhenAskedAndOnlyRawTrades(bool passTrades)
    {
        var output = NewOutput();
        var shard = new MarketDataShard<CollectingOutput>(0, 1, output, new CandleAggregatorOptions { SymbolCapacity = 4 }, passTrades: passTrades);
        var evt = MarketEvent.Create(4);
        evt.SymbolId = 3;
        evt.ReceiveTimeNs = 5_000;
        foreach (var (kind, id) in (ReadOnlySpan<(MarketEventKind, long)>)[(MarketEventKind.Trade, 10), (MarketEventKind.AggTrade, 900), (MarketEventKind.Trade, 11)])
        {
            evt.Kind = kind;
            evt.Payload.Trade = new TradeData { TradeId = id, Price = Price.Parse("1"), Quantity = Quantity.Parse("1"), TradeTimeNs = id * 1_000_000 };
            shard.OnEvent(ref evt, id, true);
        }

        Assert.Equal(passTrades ? [(3, 10L, 5_000L), (3, 11L, 5_000L)] : [], output.Trades);
    }
}

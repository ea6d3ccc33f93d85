using LowLatency.Market;

namespace LowLatency.Codecs;

/// <summary>
/// One OHLCV row from a source that carries whole candles without trade ids or taker volumes (the Avro <c>assets</c>
/// records, Debezium kline rows), written into a kline event in one place so every such decoder fills it alike.
/// </summary>
internal readonly ref struct KlineRow
{
    public required int SymbolId { get; init; }

    public required long EventTimeNs { get; init; }

    public required long OpenTimeNs { get; init; }

    public required long CloseTimeNs { get; init; }

    public required long Open { get; init; }

    public required long High { get; init; }

    public required long Low { get; init; }

    public required long Close { get; init; }

    public required long Volume { get; init; }

    public required long QuoteVolume { get; init; }

    public required long Trades { get; init; }

    public required KlineInterval Interval { get; init; }

    public required bool IsClosed { get; init; }

    /// <summary>The producer's id of the record (<see cref="KlineData.RecordId"/>); empty by default.</summary>
    public Guid RecordId { get; init; }

    /// <summary>Makes <paramref name="evt"/> this kline (trade ids -1 and taker volumes 0: the row has none).</summary>
    public void WriteTo(ref MarketEvent evt)
    {
        evt.Kind = MarketEventKind.Kline;
        evt.SymbolId = SymbolId;
        evt.EventTimeNs = EventTimeNs;
        ref var k = ref evt.Payload.Kline;
        k.RecordId = RecordId;
        k.OpenTimeNs = OpenTimeNs;
        k.CloseTimeNs = CloseTimeNs;
        k.FirstTradeId = -1;
        k.LastTradeId = -1;
        k.Open = new Price(Open);
        k.High = new Price(High);
        k.Low = new Price(Low);
        k.Close = new Price(Close);
        k.Volume = new Quantity(Volume);
        k.QuoteVolume = new Quantity(QuoteVolume);
        k.TakerBuyBaseVolume = default;
        k.TakerBuyQuoteVolume = default;
        k.TradeCount = Trades;
        k.Interval = Interval;
        k.IsClosed = IsClosed;
    }
}

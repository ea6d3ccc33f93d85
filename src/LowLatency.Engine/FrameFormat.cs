namespace LowLatency.Engine;

/// <summary>How a source's frames are decoded into the input ring (<see cref="MarketDataPipeline.Publish(FrameFormat, ReadOnlySpan{byte}, long, long)"/>).</summary>
public enum FrameFormat
{
    /// <summary>Binance JSON, raw payload or the combined-stream wrapper (<c>raw_trades</c>, <c>raw_klines</c>, <c>raw_tickers</c>, recordings).</summary>
    BinanceJson,

    /// <summary>
    /// Avro records of the original pipelines' <c>assets</c> schema (topic <c>data.asset_prices</c>), Confluent-framed,
    /// decoded into kline events by <c>AssetPriceDecoder</c>.
    /// </summary>
    AssetPriceAvro,

    /// <summary>
    /// Debezium JSON change events of a kline table (e.g. <c>cap_stock.public.kline_data</c>), with or without the schema
    /// envelope, decoded into kline events by <c>KlineChangeDecoder</c>; deletes and tombstones are skipped.
    /// </summary>
    DebeziumKlineJson,
}

namespace LowLatency.Codecs.Avro;

/// <summary>
/// The schema of topic <c>data.asset_prices</c>: record <c>io.binance.assets</c>, thirteen fields, every one a string
/// (prices as decimal text, <c>trades</c> as integer text, <c>is_closed</c> as a boolean word, times as ms-since-epoch
/// integers or ISO-8601). Used as the reader's schema by <see cref="AssetPriceDecoder"/> and as the writer's by
/// <see cref="AssetPriceEncoder"/>.
/// </summary>
/// <remarks>
/// As a reader's schema, fields the engine can do without carry defaults (the specification's resolution then accepts a
/// writer that lacks them): <c>id</c>, <c>quote_volume</c>, <c>trades</c>, <c>is_closed</c> and <c>collected_at</c>.
/// Defaults do not change the Parsing Canonical Form, so the fingerprint is that of the plain all-string record.
/// </remarks>
public static class AssetPriceSchema
{
    /// <summary>The Kafka topic carrying these records.</summary>
    public const string Topic = "data.asset_prices";

    /// <summary>The <c>.avsc</c> text.</summary>
    public const string Json = """
        {
          "type": "record",
          "name": "assets",
          "namespace": "io.binance",
          "doc": "One candle of one asset, as the collectors publish it on data.asset_prices.",
          "fields": [
            {"name": "id", "type": "string", "doc": "UUID of the record.", "default": ""},
            {"name": "asset_name", "type": "string", "doc": "Symbol, e.g. BTCUSDT."},
            {"name": "open", "type": "string"},
            {"name": "high", "type": "string"},
            {"name": "low", "type": "string"},
            {"name": "close", "type": "string"},
            {"name": "volume", "type": "string"},
            {"name": "quote_volume", "type": "string", "default": "0"},
            {"name": "trades", "type": "string", "default": "0"},
            {"name": "is_closed", "type": "string", "doc": "true/false (True, 1 and 0 accepted).", "default": "false"},
            {"name": "timestamp", "type": "string", "doc": "Candle open time: ms since the epoch, or ISO-8601."},
            {"name": "close_time", "type": "string", "doc": "Candle close time: ms since the epoch, or ISO-8601."},
            {"name": "collected_at", "type": "string", "doc": "When the collector fetched it (the event time).", "default": ""}
          ]
        }
        """;

    // Field positions in Json, in declaration (= encoding) order.
    internal const int Id = 0;
    internal const int AssetName = 1;
    internal const int Open = 2;
    internal const int High = 3;
    internal const int Low = 4;
    internal const int Close = 5;
    internal const int Volume = 6;
    internal const int QuoteVolume = 7;
    internal const int Trades = 8;
    internal const int IsClosed = 9;
    internal const int Timestamp = 10;
    internal const int CloseTime = 11;
    internal const int CollectedAt = 12;
    internal const int FieldCount = 13;

    private static readonly Lazy<AvroSchema> s_schema = new(() => AvroSchema.Parse(Json));

    /// <summary>The parsed schema.</summary>
    public static AvroSchema Schema => s_schema.Value;
}

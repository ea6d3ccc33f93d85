using System.Text.Json;
using LowLatency.Aggregation;
using LowLatency.Codecs.Avro;
using LowLatency.Market;
using LowLatency.Sinks;

namespace LowLatency.Kafka.Tests;

/// <summary>
/// Output events of every kind with the values that are easy to get wrong in a binary encoding (negative and large
/// mantissas, zero volume, NaN and infinite metrics, every alert type and interval name), and the comparison of a
/// decoded Avro record with the JSON record of the same event.
/// </summary>
internal static class OutputSamples
{
    public static readonly string[] Symbols = ["BTCUSDT", "ETHUSDT", "1000SHIBUSDT"];

    private static readonly long[] s_intervals = [1_000_000_000, 60_000_000_000, 300_000_000_000, 3_600_000_000_000, 86_400_000_000_000, 7_000_000_000];

    /// <summary>Registers <see cref="Symbols"/> in a new table.</summary>
    public static SymbolTable Table()
    {
        var table = new SymbolTable(64);
        foreach (var symbol in Symbols)
        {
            table.GetOrAdd(symbol);
        }

        return table;
    }

    /// <summary><paramref name="count"/> events of each kind, from a fixed seed.</summary>
    public static List<OutputEvent> Events(int count, int seed = 4)
    {
        var random = new Random(seed);
        long Mantissa(long max) => random.NextInt64(0, max);
        var events = new List<OutputEvent>(3 * count);
        for (var i = 0; i < count; i++)
        {
            var symbol = i % Symbols.Length;
            var t0 = 1_723_161_255_000_000_000L + (i * 60_000_000_000L);
            var volume = i % 7 == 0 ? 0 : Mantissa(1_000_000_000_000);
            var buy = i % 5 == 0 ? volume : Mantissa(volume + 1);
            events.Add(new OutputEvent
            {
                Kind = OutputKind.Candle,
                SymbolId = symbol,
                Candle = new Candle
                {
                    SymbolId = symbol,
                    IntervalNs = s_intervals[i % s_intervals.Length],
                    OpenTimeNs = t0,
                    Open = new Price(Mantissa(10_000_000_000_000)),
                    High = new Price(Mantissa(10_000_000_000_000)),
                    Low = new Price(i == 1 ? 1 : Mantissa(10_000_000_000_000)),
                    Close = new Price(Mantissa(10_000_000_000_000)),
                    Volume = new Quantity(volume),
                    QuoteVolumeRaw = (Int128)volume * Mantissa(10_000_000_000_000),
                    TakerBuyVolume = new Quantity(buy),
                    TakerBuyQuoteVolumeRaw = (Int128)buy * Mantissa(10_000_000_000_000),
                    TradeCount = random.Next(0, 100_000),
                    FirstTradeId = 3_000_000_000L + (i * 1000),
                    LastTradeId = 3_000_000_000L + (i * 1000) + 999,
                    HasGap = i % 3 == 0,
                    LateTrades = i % 4,
                },
                Metrics = new CandleMetrics(
                    PriceChangePercent: (random.NextDouble() - 0.5) * 20,
                    BuySellRatio: volume == 0 ? double.NaN : buy == volume ? double.PositiveInfinity : random.NextDouble() * 3,
                    LogReturn: double.NaN,
                    RollingVolatility: i < 2 ? double.NaN : random.NextDouble() / 100,
                    RollingCount: i),
            });
            var kind = (AlertKind)(1 + (i % 3));
            events.Add(new OutputEvent
            {
                Kind = OutputKind.Alert,
                SymbolId = symbol,
                Alert = new Alert
                {
                    Kind = kind,
                    SymbolId = symbol,
                    TimeNs = t0 + 123_456_789,
                    TradeId = 4_000_000_000L + i,
                    Price = new Price(Mantissa(10_000_000_000_000)),
                    Value = kind == AlertKind.PriceSpike && i % 2 == 0 ? -Mantissa(1_000_000_000) : Mantissa(100_000_000_000_000),
                    Threshold = Mantissa(100_000_000_000_000),
                },
            });
            var open = Mantissa(10_000_000_000_000);
            events.Add(new OutputEvent
            {
                Kind = OutputKind.Ticker,
                SymbolId = symbol,
                Ticker = new LiveTicker
                {
                    LastPrice = new Price(Mantissa(10_000_000_000_000)),
                    Open = new Price(open),
                    High = new Price(Mantissa(10_000_000_000_000)),
                    Low = new Price(Mantissa(10_000_000_000_000)),
                    Volume = new Quantity(Mantissa(1_000_000_000_000_000)),
                    QuoteVolume = new Quantity(Mantissa(1_000_000_000_000_000)),
                    TradeCount = random.Next(0, 10_000_000),
                    BidPrice = new Price(Mantissa(10_000_000_000_000)),
                    AskPrice = new Price(Mantissa(10_000_000_000_000)),
                    EventTimeNs = t0 + 5_000_000,
                    UpdatedAtNs = t0 + 7_654_321,
                    Has24h = i % 4 != 0,
                },
            });
        }

        return events;
    }

    /// <summary>The JSON record the file sink and the JSON Kafka sink write for <paramref name="e"/>.</summary>
    public static JsonElement Json(OutputRecords records, in OutputEvent e)
    {
        using var row = new JsonRowWriter();
        records.Write(row, e);
        using var document = JsonDocument.Parse(row.Buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    /// <summary>The deterministic record key (the <c>lowlatency.key</c> header).</summary>
    public static string Key(OutputRecords records, in OutputEvent e)
    {
        var key = new System.Buffers.ArrayBufferWriter<byte>();
        records.WriteKey(key, e);
        return System.Text.Encoding.UTF8.GetString(key.WrittenSpan);
    }

    /// <summary>Decodes <paramref name="body"/> with the schema and asserts every field equals the JSON record's, in the same order.</summary>
    public static void AssertSameRecord(JsonElement json, AvroSchema schema, ReadOnlySpan<byte> body)
    {
        var record = Assert.IsType<Dictionary<string, object?>>(AvroGenericDatum.Read(AvroPlan.Compile(schema), body));
        Assert.Equal(json.EnumerateObject().Select(p => p.Name), schema.Fields.Select(f => f.Name));
        Assert.Equal(json.EnumerateObject().Select(p => p.Name), record.Keys);
        foreach (var property in json.EnumerateObject())
        {
            var value = record[property.Name];
            var field = schema.GetField(property.Name)!;
            switch (property.Value.ValueKind)
            {
                case JsonValueKind.String:
                    Assert.Equal(property.Value.GetString(), Assert.IsType<string>(value));
                    break;
                case JsonValueKind.True or JsonValueKind.False:
                    Assert.Equal(property.Value.GetBoolean(), Assert.IsType<bool>(value));
                    break;
                case JsonValueKind.Null:
                    Assert.True(value is null, $"{property.Name}: expected null, decoded {value}.");
                    break;
                case JsonValueKind.Number when field.Schema.Type == AvroType.Long:
                    Assert.Equal(property.Value.GetInt64(), Assert.IsType<long>(value));
                    break;
                case JsonValueKind.Number:
                    Assert.Equal(property.Value.GetDouble(), Assert.IsType<double>(value));
                    break;
                default:
                    Assert.Fail($"{property.Name}: unexpected JSON {property.Value.ValueKind}.");
                    break;
            }
        }
    }
}

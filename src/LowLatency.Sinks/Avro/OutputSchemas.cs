using System.Reflection;
using LowLatency.Aggregation;
using LowLatency.Codecs.Avro;

namespace LowLatency.Sinks.Avro;

/// <summary>
/// The Avro schemas of the output records (<see cref="OutputRecords"/>): <c>io.lowlatency.Candle</c>,
/// <c>io.lowlatency.Alert</c> and <c>io.lowlatency.Ticker</c>, with the JSON records' fields, names, order and meaning.
/// The <c>.avsc</c> files beside this one (src/LowLatency.Sinks/Avro/) are what a user registers in a schema registry;
/// they are embedded in the assembly and read from there, so the files and the writer cannot disagree.
/// </summary>
/// <remarks>
/// Types a consumer expects: <c>long</c> for ids and counts, <c>long</c> with logical type <c>timestamp-millis</c> for
/// times (ms since the epoch, as the JSON integers), <c>boolean</c>, <c>double</c> for ratios, and <c>["null","double"]</c>
/// where the JSON record writes null (a ratio or volatility that is not defined). Prices, volumes and the values of
/// alerts are <c>string</c>s holding the exact decimal text, as in the JSON records: the engine's fixed-point values
/// printed without float rounding, so a reader gets the exchange's digits back. Avro's <c>decimal</c> logical type
/// would need one fixed scale for every symbol of a topic (a schema parameter, not a per-value one), and <c>double</c>
/// would round. Strings, not enums, for the interval and the alert type, so new values do not break existing readers.
/// </remarks>
public static class OutputSchemas
{
    private static readonly Lazy<AvroSchema> s_candle = new(() => Parse("candle.avsc"));
    private static readonly Lazy<AvroSchema> s_alert = new(() => Parse("alert.avsc"));
    private static readonly Lazy<AvroSchema> s_ticker = new(() => Parse("ticker.avsc"));

    /// <summary><c>io.lowlatency.Candle</c>: a closed candle (topic <c>processed_aggs</c> by default).</summary>
    public static AvroSchema Candle => s_candle.Value;

    /// <summary><c>io.lowlatency.Alert</c>: an alert (topic <c>alerts</c> by default).</summary>
    public static AvroSchema Alert => s_alert.Value;

    /// <summary><c>io.lowlatency.Ticker</c>: a ticker snapshot (topic <c>tickers</c> by default).</summary>
    public static AvroSchema Ticker => s_ticker.Value;

    /// <summary>The schema of <paramref name="record"/>'s records.</summary>
    public static AvroSchema For(OutputKind record) => record switch
    {
        OutputKind.Candle => Candle,
        OutputKind.Alert => Alert,
        OutputKind.Ticker => Ticker,
        _ => throw new ArgumentOutOfRangeException(nameof(record), record, "Only candles, alerts and tickers are records."),
    };

    /// <summary>The <c>.avsc</c> text of <paramref name="record"/>'s schema, as shipped (to register it as it is).</summary>
    public static string Json(OutputKind record) => ReadResource(record switch
    {
        OutputKind.Candle => "candle.avsc",
        OutputKind.Alert => "alert.avsc",
        OutputKind.Ticker => "ticker.avsc",
        _ => throw new ArgumentOutOfRangeException(nameof(record), record, "Only candles, alerts and tickers are records."),
    });

    private static AvroSchema Parse(string file) => AvroSchema.Parse(ReadResource(file));

    private static string ReadResource(string file)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("LowLatency.Sinks.Avro." + file)
            ?? throw new InvalidOperationException($"Schema resource {file} is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>The Confluent Schema Registry ids the three output schemas are registered under.</summary>
/// <param name="Candles">Id of <see cref="OutputSchemas.Candle"/>.</param>
/// <param name="Alerts">Id of <see cref="OutputSchemas.Alert"/>.</param>
/// <param name="Tickers">Id of <see cref="OutputSchemas.Ticker"/>.</param>
public readonly record struct OutputSchemaIds(int Candles, int Alerts, int Tickers)
{
    /// <summary>The id of <paramref name="record"/>'s schema.</summary>
    public int For(OutputKind record) => record switch
    {
        OutputKind.Candle => Candles,
        OutputKind.Alert => Alerts,
        _ => Tickers,
    };
}

using System.Buffers;
using System.Text;
using LowLatency.Aggregation;
using LowLatency.Market;
using LowLatency.Sinks;
using Npgsql;
using NpgsqlTypes;

namespace LowLatency.Postgres;

/// <summary>
/// One closed candle as the <c>candles</c> table stores it: the fields, names and units of the candle record every sink
/// writes (<see cref="OutputRecords"/>): times in ms since the Unix epoch (<c>close_time</c> is the last ms of the
/// bucket, as Binance spells it), prices and volumes as 8-decimal fixed-point mantissas (<see cref="FixedPoint"/>),
/// written as exact <c>numeric</c>. Metrics that are not finite (no previous candle, nothing sold) are stored as null, as
/// the JSON files write them, and read back as NaN.
/// </summary>
public readonly record struct CandleRow(
    string Symbol,
    string Interval,
    long OpenTimeMs,
    long CloseTimeMs,
    long Open,
    long High,
    long Low,
    long Close,
    long Volume,
    long QuoteVolume,
    long TakerBuyVolume,
    long TakerBuyQuoteVolume,
    long Vwap,
    long Trades,
    long FirstTradeId,
    long LastTradeId,
    bool HasGap,
    int LateTrades,
    double PriceChangePercent,
    double BuySellRatio,
    double Volatility) : IPostgresRow
{
    /// <summary>
    /// The row of a closed candle, by the conventions of <see cref="OutputRecords"/>: the symbol's name (never the
    /// process's dense id), the interval's name, ms times and 8-decimal mantissas.
    /// </summary>
    public static CandleRow From(in Candle c, in CandleMetrics m, SymbolTable symbols)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        return new CandleRow(
            symbols.GetName(c.SymbolId),
            Encoding.UTF8.GetString(OutputRecords.IntervalName(c.IntervalNs)),
            c.OpenTimeNs / 1_000_000,
            (c.CloseTimeNs / 1_000_000) - 1,
            c.Open.Mantissa,
            c.High.Mantissa,
            c.Low.Mantissa,
            c.Close.Mantissa,
            c.Volume.Mantissa,
            c.QuoteVolume.Mantissa,
            c.TakerBuyVolume.Mantissa,
            c.TakerBuyQuoteVolume.Mantissa,
            c.Vwap.Mantissa,
            c.TradeCount,
            c.FirstTradeId,
            c.LastTradeId,
            c.HasGap,
            c.LateTrades,
            m.PriceChangePercent,
            m.BuySellRatio,
            m.RollingVolatility);
    }

    static PostgresTable IPostgresRow.Table { get; } = new(
        "candles",
        ["symbol", "interval", "open_time", "close_time", "open", "high", "low", "close", "volume", "quote_volume",
         "taker_buy_volume", "taker_buy_quote_volume", "vwap", "trades", "first_trade_id", "last_trade_id", "has_gap",
         "late_trades", "price_change_pct", "buy_sell_ratio", "volatility"],
        Key: ["symbol", "interval", "open_time"],
        TimeColumn: "open_time");

    async ValueTask IPostgresRow.WriteAsync(NpgsqlBinaryImporter importer, CancellationToken cancellationToken)
    {
        await importer.WriteAsync(Symbol, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(Interval, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteTimeAsync(importer, OpenTimeMs, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteTimeAsync(importer, CloseTimeMs, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDecimalAsync(importer, Open, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDecimalAsync(importer, High, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDecimalAsync(importer, Low, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDecimalAsync(importer, Close, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDecimalAsync(importer, Volume, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDecimalAsync(importer, QuoteVolume, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDecimalAsync(importer, TakerBuyVolume, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDecimalAsync(importer, TakerBuyQuoteVolume, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDecimalAsync(importer, Vwap, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(Trades, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(FirstTradeId, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(LastTradeId, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(HasGap, NpgsqlDbType.Boolean, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(LateTrades, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDoubleAsync(importer, PriceChangePercent, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDoubleAsync(importer, BuySellRatio, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDoubleAsync(importer, Volatility, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// One alert as the <c>alerts</c> table stores it, with the alert record's fields (<see cref="OutputRecords"/>):
/// <see cref="Id"/> is the record's deterministic key (<c>SYMBOL:type:trade_id</c> or <c>SYMBOL:type:open_time_ms</c>),
/// so a replay writes the same ids; <see cref="Value"/> and <see cref="Threshold"/> are 8-decimal mantissas.
/// </summary>
public readonly record struct AlertRow(
    string Id,
    string Symbol,
    string Type,
    long TimeMs,
    long TradeId,
    long Price,
    long Value,
    long Threshold) : IPostgresRow
{
    /// <summary>
    /// The row of an alert. The id is the one <see cref="OutputRecords.WriteKey"/> writes (so files, Kafka and the
    /// database agree), and the type is read from it rather than spelled a second time here.
    /// </summary>
    public static AlertRow From(in Alert a, OutputRecords records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var key = new ArrayBufferWriter<byte>(64);
        var e = new OutputEvent { Kind = OutputKind.Alert, SymbolId = a.SymbolId, Alert = a };
        records.WriteKey(key, e);
        var id = Encoding.UTF8.GetString(key.WrittenSpan);
        var symbol = records.Symbols.GetName(a.SymbolId);

        // SYMBOL:type:number; symbol names hold no ':'.
        var type = id[(symbol.Length + 1)..id.LastIndexOf(':')];
        return new AlertRow(id, symbol, type, a.TimeNs / 1_000_000, a.TradeId, a.Price.Mantissa, a.Value, a.Threshold);
    }

    static PostgresTable IPostgresRow.Table { get; } = new(
        "alerts",
        ["id", "symbol", "type", "time", "trade_id", "price", "value", "threshold"],
        Key: ["id"],
        TimeColumn: "time");

    async ValueTask IPostgresRow.WriteAsync(NpgsqlBinaryImporter importer, CancellationToken cancellationToken)
    {
        await importer.WriteAsync(Id, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(Symbol, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(Type, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteTimeAsync(importer, TimeMs, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(TradeId, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDecimalAsync(importer, Price, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDecimalAsync(importer, Value, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDecimalAsync(importer, Threshold, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// One raw trade as the optional <c>trades</c> table stores it, keyed by (symbol, trade id): Binance trade ids are
/// unique per symbol, so a replayed trade lands on its own row. Price and quantity are 8-decimal mantissas.
/// </summary>
public readonly record struct TradeRow(
    string Symbol,
    long TradeId,
    long Price,
    long Quantity,
    long TimeMs,
    bool BuyerIsMaker) : IPostgresRow
{
    static PostgresTable IPostgresRow.Table { get; } = new(
        "trades",
        ["symbol", "trade_id", "price", "quantity", "time", "buyer_is_maker"],
        Key: ["symbol", "trade_id"],
        TimeColumn: "time");

    async ValueTask IPostgresRow.WriteAsync(NpgsqlBinaryImporter importer, CancellationToken cancellationToken)
    {
        await importer.WriteAsync(Symbol, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(TradeId, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDecimalAsync(importer, Price, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteDecimalAsync(importer, Quantity, cancellationToken).ConfigureAwait(false);
        await PostgresColumns.WriteTimeAsync(importer, TimeMs, cancellationToken).ConfigureAwait(false);
        await importer.WriteAsync(BuyerIsMaker, NpgsqlDbType.Boolean, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// The rows one <see cref="PostgresWriter.WriteAsync"/> commits together. Reusable: <see cref="Clear"/> keeps the
/// lists' capacity, so a sink that fills one batch per flush stops allocating lists once it has seen its largest batch.
/// </summary>
public sealed class PostgresBatch
{
    /// <summary>Closed candles; a later row with the same key overrides an earlier one.</summary>
    public List<CandleRow> Candles { get; } = [];

    /// <summary>Alerts; a later row with the same id overrides an earlier one.</summary>
    public List<AlertRow> Alerts { get; } = [];

    /// <summary>Raw trades (optional); a later row with the same key overrides an earlier one.</summary>
    public List<TradeRow> Trades { get; } = [];

    /// <summary>All rows.</summary>
    public int Count => Candles.Count + Alerts.Count + Trades.Count;

    /// <summary>
    /// Adds the row of an output event: a candle or an alert. Tickers (the hot tier's, in Redis) and marks are not
    /// stored here; returns whether a row was added.
    /// </summary>
    public bool Add(in OutputEvent e, OutputRecords records)
    {
        ArgumentNullException.ThrowIfNull(records);
        switch (e.Kind)
        {
            case OutputKind.Candle:
                Candles.Add(CandleRow.From(e.Candle, e.Metrics, records.Symbols));
                return true;
            case OutputKind.Alert:
                Alerts.Add(AlertRow.From(e.Alert, records));
                return true;
            default:
                return false;
        }
    }

    /// <summary>Forgets the rows, keeping the capacity.</summary>
    public void Clear()
    {
        Candles.Clear();
        Alerts.Clear();
        Trades.Clear();
    }
}

/// <summary>A table's name, columns in COPY order, key (the ON CONFLICT target) and the time column retention uses.</summary>
internal sealed record PostgresTable(string Name, string[] Columns, string[] Key, string TimeColumn);

/// <summary>A row type of a table: its description and how it writes itself into a binary COPY.</summary>
internal interface IPostgresRow
{
    static abstract PostgresTable Table { get; }

    ValueTask WriteAsync(NpgsqlBinaryImporter importer, CancellationToken cancellationToken);
}

/// <summary>The column encodings the rows share.</summary>
internal static class PostgresColumns
{
    /// <summary>
    /// An 8-decimal mantissa as an exact <see cref="decimal"/> (the mantissa with scale 8, no arithmetic): numeric keeps
    /// every digit Binance sent, where a double would round prices and volumes.
    /// </summary>
    public static decimal ToDecimal(long mantissa)
    {
        var magnitude = mantissa < 0 ? unchecked((ulong)-mantissa) : (ulong)mantissa;
        return new decimal(unchecked((int)magnitude), unchecked((int)(magnitude >> 32)), 0, mantissa < 0, FixedPoint.Decimals);
    }

    /// <summary>Ms since the Unix epoch as a UTC <see cref="DateTime"/> (what Npgsql writes to timestamptz).</summary>
    public static DateTime ToTime(long ms) => DateTime.UnixEpoch.AddTicks(ms * TimeSpan.TicksPerMillisecond);

    public static ValueTask WriteDecimalAsync(NpgsqlBinaryImporter importer, long mantissa, CancellationToken cancellationToken) =>
        new(importer.WriteAsync(ToDecimal(mantissa), NpgsqlDbType.Numeric, cancellationToken));

    public static ValueTask WriteTimeAsync(NpgsqlBinaryImporter importer, long ms, CancellationToken cancellationToken) =>
        new(importer.WriteAsync(ToTime(ms), NpgsqlDbType.TimestampTz, cancellationToken));

    public static ValueTask WriteDoubleAsync(NpgsqlBinaryImporter importer, double value, CancellationToken cancellationToken) =>
        double.IsFinite(value)
            ? new(importer.WriteAsync(value, NpgsqlDbType.Double, cancellationToken))
            : new(importer.WriteNullAsync(cancellationToken));
}

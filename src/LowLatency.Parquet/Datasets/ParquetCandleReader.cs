using LowLatency.Aggregation;
using LowLatency.Market;
using LowLatency.Parquet.Reading;
using LowLatency.Parquet.Sink;

namespace LowLatency.Parquet.Datasets;

/// <summary>
/// Candles from the cold tier's files (<see cref="ParquetSinkWriter.CandleSchema"/>), merged across files in the order
/// the engine closed them (close time, then file order), as the output events the engine emitted: for
/// <c>lowlatency replay</c> of stored candles into the file sink, and for the query side.
/// </summary>
public sealed class ParquetCandleReader : ParquetMerge<ParquetCandleReader.CandleCursor>
{
    public ParquetCandleReader(IReadOnlyList<string> files)
        : base(files, (file, reader) => new CandleCursor(file, reader))
    {
    }

    /// <summary>The next candle; false after the last. Symbols are added to <paramref name="symbols"/>.</summary>
    public bool TryRead(SymbolTable symbols, out OutputEvent candle)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        if (!MoveNext(out var c))
        {
            candle = default;
            return false;
        }

        var row = c.Row;
        var symbolId = symbols.GetOrAdd(c.Symbols[row]);
        if (symbolId < 0)
        {
            throw new ParquetFormatException($"{c.File}, row {row}: symbol '{System.Text.Encoding.UTF8.GetString(c.Symbols[row])}' is empty, too long, or one too many for the symbol table.");
        }

        candle = new OutputEvent
        {
            Kind = OutputKind.Candle,
            SymbolId = symbolId,
            Candle = new Candle
            {
                SymbolId = symbolId,
                IntervalNs = c.IntervalsNs[row],
                OpenTimeNs = c.OpenTimes[row],
                Open = new Price(c.Opens[row]),
                High = new Price(c.Highs[row]),
                Low = new Price(c.Lows[row]),
                Close = new Price(c.Closes[row]),
                Volume = new Quantity(c.Volumes[row]),
                QuoteVolumeRaw = QuoteVolumeRaw(c.QuoteVolumes[row], c.Volumes[row], c.Vwaps?[row]),
                TakerBuyVolume = new Quantity(c.TakerBuyVolumes?[row] ?? 0),
                TakerBuyQuoteVolumeRaw = (Int128)(c.TakerBuyQuoteVolumes?[row] ?? 0) * FixedPoint.Scale,
                TradeCount = c.Trades[row],
                FirstTradeId = c.FirstIds[row],
                LastTradeId = c.LastIds[row],
                HasGap = c.Gaps[row],
                LateTrades = (int)(c.LateTrades?[row] ?? 0),
            },
            Metrics = new CandleMetrics(c.PriceChanges[row], c.BuySellRatios[row], double.NaN, c.Volatilities[row], 0),
        };
        return true;
    }

    /// <summary>
    /// The candle keeps its quote volume at 16 decimals and derives both the stored quote volume (8 decimals) and the vwap
    /// from it; the file holds those two. The lowest raw value that gives both back is in the range the original lay in,
    /// so the replayed candle's quote volume and vwap equal the stored ones exactly.
    /// </summary>
    private static Int128 QuoteVolumeRaw(long quoteVolume, long volume, long? vwap)
    {
        var raw = (Int128)quoteVolume * FixedPoint.Scale;
        return volume > 0 && vwap is { } v ? Int128.Max(raw, (Int128)v * volume) : raw;
    }

    /// <summary>An interval's name as the sinks write it (1s, 1m, 5m, 15m, 1h, 4h, 1d) in nanoseconds.</summary>
    public static long IntervalNanoseconds(ReadOnlySpan<byte> name) => name switch
    {
        _ when name.SequenceEqual("1s"u8) => 1_000_000_000,
        _ when name.SequenceEqual("1m"u8) => 60_000_000_000,
        _ when name.SequenceEqual("5m"u8) => 300_000_000_000,
        _ when name.SequenceEqual("15m"u8) => 900_000_000_000,
        _ when name.SequenceEqual("1h"u8) => 3_600_000_000_000,
        _ when name.SequenceEqual("4h"u8) => 14_400_000_000_000,
        _ when name.SequenceEqual("1d"u8) => 86_400_000_000_000,
        _ => throw new ParquetFormatException($"Interval '{System.Text.Encoding.UTF8.GetString(name)}' is not one of 1s, 1m, 5m, 15m, 1h, 4h, 1d."),
    };

    public sealed class CandleCursor(string file, ParquetFileReader reader) : Cursor(file, reader)
    {
        public override long Time => OpenTimes[Row] + IntervalsNs[Row];

        internal byte[][] Symbols { get; private set; } = [];

        internal long[] IntervalsNs { get; private set; } = [];

        internal long[] OpenTimes { get; private set; } = [];

        internal long[] Opens { get; private set; } = [];

        internal long[] Highs { get; private set; } = [];

        internal long[] Lows { get; private set; } = [];

        internal long[] Closes { get; private set; } = [];

        internal long[] Volumes { get; private set; } = [];

        internal long[] QuoteVolumes { get; private set; } = [];

        internal long[]? Vwaps { get; private set; }

        internal long[]? TakerBuyVolumes { get; private set; }

        internal long[]? TakerBuyQuoteVolumes { get; private set; }

        internal long[] Trades { get; private set; } = [];

        internal long[] FirstIds { get; private set; } = [];

        internal long[] LastIds { get; private set; } = [];

        internal bool[] Gaps { get; private set; } = [];

        internal long[]? LateTrades { get; private set; }

        internal double[] PriceChanges { get; private set; } = [];

        internal double[] BuySellRatios { get; private set; } = [];

        internal double[] Volatilities { get; private set; } = [];

        protected override int Load(int rowGroup)
        {
            Symbols = ColumnValues.Strings(Read(rowGroup, "symbol"));
            IntervalsNs = Array.ConvertAll(ColumnValues.Strings(Read(rowGroup, "interval")), name => IntervalNanoseconds(name));
            OpenTimes = ColumnValues.EpochNanoseconds(Read(rowGroup, "open_time"));
            Opens = ColumnValues.FixedPoints(Read(rowGroup, "open"));
            Highs = ColumnValues.FixedPoints(Read(rowGroup, "high"));
            Lows = ColumnValues.FixedPoints(Read(rowGroup, "low"));
            Closes = ColumnValues.FixedPoints(Read(rowGroup, "close"));
            Volumes = ColumnValues.FixedPoints(Read(rowGroup, "volume"));
            QuoteVolumes = ColumnValues.FixedPoints(Read(rowGroup, "quote_volume"));
            Vwaps = TryRead(rowGroup, "vwap") is { } vwap ? ColumnValues.FixedPoints(vwap) : null;
            TakerBuyVolumes = TryRead(rowGroup, "taker_buy_volume") is { } tbv ? ColumnValues.FixedPoints(tbv) : null;
            TakerBuyQuoteVolumes = TryRead(rowGroup, "taker_buy_quote_volume") is { } tbq ? ColumnValues.FixedPoints(tbq) : null;
            Trades = ColumnValues.Integers(Read(rowGroup, "trades"));
            FirstIds = ColumnValues.Integers(Read(rowGroup, "first_trade_id"));
            LastIds = ColumnValues.Integers(Read(rowGroup, "last_trade_id"));
            Gaps = ColumnValues.Booleans(Read(rowGroup, "has_gap"));
            LateTrades = TryRead(rowGroup, "late_trades") is { } late ? ColumnValues.Integers(late) : null;
            PriceChanges = ColumnValues.Doubles(Read(rowGroup, "price_change_pct"));
            BuySellRatios = ColumnValues.Doubles(Read(rowGroup, "buy_sell_ratio"));
            Volatilities = ColumnValues.Doubles(Read(rowGroup, "volatility"));
            return OpenTimes.Length;
        }
    }
}

using LowLatency.Parquet.Reading;

namespace LowLatency.Parquet.Datasets;

/// <summary>One trade read from Parquet: prices and quantities as 8-decimal mantissas, the time in Unix nanoseconds.</summary>
/// <param name="Symbol">The symbol's UTF-8 bytes (shared with the reader's buffers: copy to keep).</param>
/// <param name="TradeId">The exchange's trade id.</param>
/// <param name="Price">The price's mantissa (8 decimals).</param>
/// <param name="Quantity">The quantity's mantissa (8 decimals).</param>
/// <param name="TimeNs">The trade time, Unix nanoseconds.</param>
/// <param name="IsBuyerMaker">Null when the file has no <c>is_buyer_maker</c> column.</param>
public readonly record struct ParquetTrade(byte[] Symbol, long TradeId, long Price, long Quantity, long TimeNs, bool? IsBuyerMaker);

/// <summary>
/// Trades from Parquet files (<see cref="ParquetDatasetKind.Trades"/>: ours, DuckDB's, or an exchange dump converted to
/// Parquet), merged across files in time order, for <c>lowlatency replay</c>.
/// </summary>
public sealed class ParquetTradeReader : ParquetMerge<ParquetTradeReader.TradeCursor>
{
    public ParquetTradeReader(IReadOnlyList<string> files)
        : base(files, (file, reader) => new TradeCursor(file, reader))
    {
    }

    /// <summary>The next trade in time order; false after the last.</summary>
    public bool TryRead(out ParquetTrade trade)
    {
        if (!MoveNext(out var c))
        {
            trade = default;
            return false;
        }

        var row = c.Row;
        trade = new ParquetTrade(c.Symbols?[row] ?? c.PartitionSymbol!, c.Ids[row], c.Prices[row], c.Quantities[row], c.Times[row], c.Makers?[row]);
        return true;
    }

    public sealed class TradeCursor : Cursor
    {
        internal TradeCursor(string file, ParquetFileReader reader)
            : base(file, reader)
        {
            PartitionSymbol = ParquetDataset.PartitionValue(file, "symbol");
            if (PartitionSymbol is null && !reader.Columns.Any(c => c.Name == "symbol"))
            {
                throw new ParquetFormatException($"{file}: no 'symbol' column and no symbol=… directory above it.");
            }
        }

        public override long Time => Times[Row];

        internal byte[]? PartitionSymbol { get; }

        internal byte[][]? Symbols { get; private set; }

        internal long[] Ids { get; private set; } = [];

        internal long[] Prices { get; private set; } = [];

        internal long[] Quantities { get; private set; } = [];

        internal long[] Times { get; private set; } = [];

        internal bool[]? Makers { get; private set; }

        protected override int Load(int rowGroup)
        {
            Symbols = TryRead(rowGroup, "symbol") is { } symbols ? ColumnValues.Strings(symbols) : null;
            Ids = ColumnValues.Integers(Read(rowGroup, "trade_id", "id"));
            Prices = ColumnValues.FixedPoints(Read(rowGroup, "price"));
            Quantities = ColumnValues.FixedPoints(Read(rowGroup, "quantity", "qty"));
            Times = ColumnValues.EpochNanoseconds(Read(rowGroup, "time", "trade_time", "timestamp"));
            Makers = TryRead(rowGroup, "is_buyer_maker") is { } makers ? ColumnValues.Booleans(makers) : null;
            return Times.Length;
        }
    }
}

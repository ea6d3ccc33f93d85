using LowLatency.Parquet.Datasets;
using LowLatency.TestSupport.Duckdb;

namespace LowLatency.Parquet.Tests;

/// <summary>
/// Trades files written by DuckDB with each of the physical and logical types a writer may choose for prices and times,
/// read back as the engine's numbers: 8-decimal mantissas and Unix nanoseconds.
/// </summary>
public class DatasetReaderTests
{
    // 2024-08-08 00:00:01.234567 UTC.
    private const long TimeUs = 1_723_075_201_234_567;

    [DuckdbTheory]
    [InlineData("CAST(p AS DECIMAL(18,8))", "CAST('2024-08-08 00:00:01.234567' AS TIMESTAMP)", 6_183_764_000_000, TimeUs * 1_000)] // INT64 decimal, micros
    [InlineData("CAST(p AS DECIMAL(9,2))", "CAST('2024-08-08 00:00:01.234567' AS TIMESTAMP_MS)", 6_183_764_000_000, 1_723_075_201_235_000_000)] // INT32 decimal, millis (DuckDB rounds the cast)
    [InlineData("CAST(p AS DECIMAL(38,10))", "CAST('2024-08-08 00:00:01.234567' AS TIMESTAMP_NS)", 6_183_764_000_000, TimeUs * 1_000)] // FIXED_LEN_BYTE_ARRAY, nanos
    [InlineData("CAST(p AS DOUBLE)", "CAST(1723075201234 AS BIGINT)", 6_183_764_000_000, 1_723_075_201_234_000_000)] // double, plain INT64 ms
    [InlineData("p", "CAST('2024-08-08 00:00:01.234567+00' AS TIMESTAMPTZ)", 6_183_764_000_000, TimeUs * 1_000)] // a decimal string, UTC micros
    public void Read_TradesWrittenByDuckdb_PricesAndTimesInTheEngineUnits(string price, string time, long expectedPrice, long expectedTimeNs)
    {
        using var dir = new TempDirectory();
        var path = dir.File("trades.parquet");
        using (var db = new DuckdbConnection())
        {
            db.Query(
                $"""
                COPY (SELECT 'BTCUSDT' AS symbol, 3735869211 AS trade_id, {price} AS price, CAST('0.00100000' AS DECIMAL(18,8)) AS quantity,
                             {time} AS time, true AS is_buyer_maker
                      FROM (SELECT '61837.64' AS p))
                TO {DuckdbConnection.Literal(path)} (FORMAT parquet)
                """);
        }

        Assert.Equal(ParquetDatasetKind.Trades, ParquetDataset.Detect([path]));
        using var reader = new ParquetTradeReader([path]);
        Assert.True(reader.TryRead(out var trade));
        Assert.Equal("BTCUSDT"u8.ToArray(), trade.Symbol);
        Assert.Equal(3_735_869_211, trade.TradeId);
        Assert.Equal(expectedPrice, trade.Price);
        Assert.Equal(100_000, trade.Quantity);
        Assert.Equal(expectedTimeNs, trade.TimeNs);
        Assert.True(trade.IsBuyerMaker);
        Assert.False(reader.TryRead(out _));
    }

    [DuckdbFact]
    public void Read_SeveralFiles_MergedInTimeOrderWithTheSymbolFromTheDirectory()
    {
        using var dir = new TempDirectory();
        foreach (var (symbol, offset) in (ReadOnlySpan<(string, int)>)[("BTCUSDT", 0), ("ETHUSDT", 1)])
        {
            Directory.CreateDirectory(dir.File($"symbol={symbol}"));
            using var db = new DuckdbConnection();
            db.Query(
                $"""
                COPY (SELECT i AS id, CAST(100 + i AS DOUBLE) AS price, 1.5 AS qty, CAST(1723075200000 + (2 * i) + {offset} AS BIGINT) AS trade_time
                      FROM range(1000) t(i))
                TO {DuckdbConnection.Literal(dir.File($"symbol={symbol}/part.parquet"))} (FORMAT parquet, ROW_GROUP_SIZE 100)
                """);
        }

        using var reader = new ParquetTradeReader(ParquetDataset.Files([dir.Path]));
        var order = new List<(string Symbol, long TimeNs)>();
        while (reader.TryRead(out var trade))
        {
            order.Add((System.Text.Encoding.UTF8.GetString(trade.Symbol), trade.TimeNs));
            Assert.Null(trade.IsBuyerMaker);
            Assert.Equal(150_000_000, trade.Quantity);
        }

        Assert.Equal(2000, order.Count);
        Assert.Equal(order.OrderBy(o => o.TimeNs).ToList(), order); // across files and row groups
        Assert.Equal("BTCUSDT", order[0].Symbol);
        Assert.Equal("ETHUSDT", order[1].Symbol);
    }
}

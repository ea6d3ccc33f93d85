using System.Globalization;

namespace LowLatency.Cassandra.Sink;

/// <summary>The keyspace, the two tables and their inserts (identifiers checked by <see cref="CassandraSinkOptions.IsIdentifier"/>).</summary>
internal static class CassandraSchema
{
    /// <summary>CREATE … IF NOT EXISTS for the keyspace and both tables, in order.</summary>
    public static IEnumerable<string> Statements(CassandraSinkOptions o)
    {
        var compaction = o.Compaction == "TimeWindowCompactionStrategy"
            ? "{'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'DAYS', 'compaction_window_size': 1}"
            : $"{{'class': '{o.Compaction}'}}";
        yield return string.Create(
            CultureInfo.InvariantCulture,
            $"CREATE KEYSPACE IF NOT EXISTS {o.Keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': {o.ReplicationFactor}}}");

        // The original consumer's table, column for column.
        yield return $"""
            CREATE TABLE IF NOT EXISTS {o.Keyspace}.{o.AssetsTable} (
                id uuid, asset_name text,
                open float, high float, low float, close float, volume float, quote_volume float,
                trades int, is_closed boolean,
                timestamp timestamp, close_time timestamp, collected_at timestamp, consumed_at timestamp,
                PRIMARY KEY (asset_name, timestamp))
            WITH CLUSTERING ORDER BY (timestamp DESC) AND compaction = {compaction}
            """;

        yield return $"""
            CREATE TABLE IF NOT EXISTS {o.Keyspace}.{o.CandlesTable} (
                symbol text, interval text, open_time timestamp, close_time timestamp,
                open decimal, high decimal, low decimal, close decimal,
                volume decimal, quote_volume decimal, taker_buy_volume decimal, taker_buy_quote_volume decimal, vwap decimal,
                trades bigint, first_trade_id bigint, last_trade_id bigint, has_gap boolean, late_trades int,
                price_change_pct double, buy_sell_ratio double, volatility double,
                PRIMARY KEY ((symbol, interval), open_time))
            WITH CLUSTERING ORDER BY (open_time DESC) AND compaction = {compaction}
            """;
    }

    public static string InsertAsset(CassandraSinkOptions o) =>
        $"INSERT INTO {o.Keyspace}.{o.AssetsTable} (id, asset_name, open, high, low, close, volume, quote_volume, trades, is_closed, " +
        "timestamp, close_time, collected_at, consumed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

    public static string InsertCandle(CassandraSinkOptions o) =>
        $"INSERT INTO {o.Keyspace}.{o.CandlesTable} (symbol, interval, open_time, close_time, open, high, low, close, volume, quote_volume, " +
        "taker_buy_volume, taker_buy_quote_volume, vwap, trades, first_trade_id, last_trade_id, has_gap, late_trades, " +
        "price_change_pct, buy_sell_ratio, volatility) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
}

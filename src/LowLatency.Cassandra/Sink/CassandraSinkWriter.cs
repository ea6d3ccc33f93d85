using System.Buffers.Binary;
using LowLatency.Aggregation;
using LowLatency.Market;
using LowLatency.Sinks;
using LowLatency.Sinks.Batching;

namespace LowLatency.Cassandra.Sink;

/// <summary>
/// The Cassandra analytics tier (issue 7): the original Spark consumer's table, written exactly (keyspace
/// <c>assets</c>, table <c>assets</c>: one row per asset record, <c>PRIMARY KEY (asset_name, timestamp)</c>, newest
/// first), and the engine's closed candles by (symbol, interval) and open time. The schema is created at start.
/// </summary>
/// <remarks>
/// <para>
/// Rows of <c>assets</c> are the klines passed through the shards (<see cref="OutputKind.Kline"/>): a
/// <c>data.asset_prices</c> record, a Binance kline, a Debezium kline row. As the Spark job did, prices and volumes are
/// cast to <c>float</c>, <c>trades</c> to <c>int</c>, the times to <c>timestamp</c>, and <c>consumed_at</c> is when the
/// engine consumed the record. Candles keep exact prices (<c>decimal</c>, scale 8, the engine's fixed point).
/// </para>
/// <para>
/// Writes are prepared INSERTs (upserts: a replayed batch writes the same rows again, so replays are idempotent),
/// grouped per partition into unlogged BATCHes of at most <see cref="CassandraSinkOptions.RowsPerBatch"/> rows, all
/// sent at once on the one multiplexed connection; a batch of the sink is durable when every BATCH has been
/// acknowledged at the connection's consistency.
/// </para>
/// </remarks>
public sealed class CassandraSinkWriter : IBatchWriter, IAsyncDisposable
{
    private readonly CassandraSinkOptions _options;
    private readonly CassandraConnection _connection;
    private readonly CqlPreparedStatement _insertAsset;
    private readonly CqlPreparedStatement _insertCandle;

    private CassandraSinkWriter(CassandraSinkOptions options, CassandraConnection connection, CqlPreparedStatement insertAsset, CqlPreparedStatement insertCandle)
    {
        _options = options;
        _connection = connection;
        _insertAsset = insertAsset;
        _insertCandle = insertCandle;
    }

    /// <inheritdoc />
    public bool WantsKlines => true;

    /// <summary>Connects, creates the keyspace and tables if missing, and prepares the inserts.</summary>
    public static async Task<CassandraSinkWriter> OpenAsync(CassandraSinkOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var connection = new CassandraConnection(options.Cassandra with { Keyspace = null });
        try
        {
            foreach (var statement in CassandraSchema.Statements(options))
            {
                await connection.ExecuteNonQueryAsync(statement, cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            var insertAsset = await connection.PrepareAsync(CassandraSchema.InsertAsset(options), cancellationToken).ConfigureAwait(false);
            var insertCandle = await connection.PrepareAsync(CassandraSchema.InsertCandle(options), cancellationToken).ConfigureAwait(false);
            return new CassandraSinkWriter(options, connection, insertAsset, insertCandle);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask WriteAsync(OutputBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var groups = new List<CqlBatch>();
        var open = new Dictionary<(int Symbol, long Interval), CqlBatch>();
        using var values = new CqlValues();
        try
        {
            foreach (ref readonly var e in batch.Events)
            {
                (int, long) partition;
                CqlPreparedStatement statement;
                values.Clear();
                switch (e.Kind)
                {
                    case OutputKind.Kline:
                        partition = (e.SymbolId, -1);
                        statement = _insertAsset;
                        BindAsset(values, batch.Symbols, e.SymbolId, in e.Kline);
                        break;
                    case OutputKind.Candle:
                        partition = (e.SymbolId, e.Candle.IntervalNs);
                        statement = _insertCandle;
                        BindCandle(values, batch.Symbols, in e.Candle, in e.Metrics);
                        break;
                    default:
                        continue; // alerts and tickers live in the other stores
                }

                if (!open.TryGetValue(partition, out var group) || group.Count == _options.RowsPerBatch)
                {
                    group = new CqlBatch();
                    groups.Add(group);
                    open[partition] = group;
                }

                group.Add(statement, values);
            }

            var sends = new Task[groups.Count];
            for (var i = 0; i < groups.Count; i++)
            {
                sends[i] = _connection.BatchAsync(groups[i], cancellationToken: cancellationToken).AsTask();
            }

            await Task.WhenAll(sends).ConfigureAwait(false);
        }
        finally
        {
            foreach (var group in groups)
            {
                group.Dispose();
            }
        }
    }

    /// <inheritdoc />
    public bool IsTransient(Exception failure) => failure is CassandraConnectionException or CassandraTimeoutException
        or CassandraServerTimeoutException or CassandraUnavailableException
        || failure is CassandraException { Code: CassandraErrorCode.Overloaded or CassandraErrorCode.IsBootstrapping or CassandraErrorCode.TruncateError }
        || failure is IOException;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _connection.DisposeAsync();

    /// <summary>
    /// id, asset_name, open, high, low, close, volume, quote_volume, trades, is_closed, timestamp, close_time,
    /// collected_at, consumed_at: the Spark job's casts (float, int, timestamp).
    /// </summary>
    private static void BindAsset(CqlValues values, SymbolTable symbols, int symbolId, in KlineRecord record)
    {
        ref readonly var k = ref record.Data;
        if (k.RecordId == Guid.Empty)
        {
            values.AddNull();
        }
        else
        {
            values.Add(k.RecordId);
        }

        values.Add(symbols.GetUtf8(symbolId));
        values.Add((float)k.Open.ToDouble());
        values.Add((float)k.High.ToDouble());
        values.Add((float)k.Low.ToDouble());
        values.Add((float)k.Close.ToDouble());
        values.Add((float)k.Volume.ToDouble());
        values.Add((float)k.QuoteVolume.ToDouble());
        values.Add((int)Math.Clamp(k.TradeCount, int.MinValue, int.MaxValue));
        values.Add(k.IsClosed);
        values.AddTimestamp(k.OpenTimeNs / 1_000_000);
        values.AddTimestamp(k.CloseTimeNs / 1_000_000);
        values.AddTimestamp(record.EventTimeNs / 1_000_000);
        values.AddTimestamp(record.ReceiveTimeNs / 1_000_000);
    }

    /// <summary>The candle record's fields (see <see cref="OutputRecords"/>), prices and volumes as exact decimals.</summary>
    private static void BindCandle(CqlValues values, SymbolTable symbols, in Candle c, in CandleMetrics m)
    {
        values.Add(symbols.GetUtf8(c.SymbolId));
        values.Add(OutputRecords.IntervalName(c.IntervalNs));
        values.AddTimestamp(c.OpenTimeNs / 1_000_000);
        values.AddTimestamp((c.CloseTimeNs / 1_000_000) - 1);
        Decimal(values, c.Open.Mantissa);
        Decimal(values, c.High.Mantissa);
        Decimal(values, c.Low.Mantissa);
        Decimal(values, c.Close.Mantissa);
        Decimal(values, c.Volume.Mantissa);
        Decimal(values, c.QuoteVolume.Mantissa);
        Decimal(values, c.TakerBuyVolume.Mantissa);
        Decimal(values, c.TakerBuyQuoteVolume.Mantissa);
        Decimal(values, c.Vwap.Mantissa);
        values.Add(c.TradeCount);
        values.Add(c.FirstTradeId);
        values.Add(c.LastTradeId);
        values.Add(c.HasGap);
        values.Add(c.LateTrades);
        Double(values, m.PriceChangePercent);
        Double(values, m.BuySellRatio);
        Double(values, m.RollingVolatility);
    }

    /// <summary>CQL <c>decimal</c>: a 4-byte scale, then the unscaled value as a minimal big-endian two's-complement varint.</summary>
    internal static void Decimal(CqlValues values, long mantissa)
    {
        Span<byte> bytes = stackalloc byte[12];
        BinaryPrimitives.WriteInt32BigEndian(bytes, FixedPoint.Decimals);
        BinaryPrimitives.WriteInt64BigEndian(bytes[4..], mantissa);
        var start = 4;
        while (start < 11 && ((bytes[start] == 0 && (bytes[start + 1] & 0x80) == 0) || (bytes[start] == 0xFF && (bytes[start + 1] & 0x80) != 0)))
        {
            start++; // drop sign-extension bytes, keeping one that carries the sign
        }

        BinaryPrimitives.WriteInt32BigEndian(bytes[(start - 4)..], FixedPoint.Decimals);
        values.Add(bytes[(start - 4)..]);
    }

    private static void Double(CqlValues values, double value)
    {
        if (double.IsNaN(value))
        {
            values.AddNull();
        }
        else
        {
            values.Add(value);
        }
    }
}

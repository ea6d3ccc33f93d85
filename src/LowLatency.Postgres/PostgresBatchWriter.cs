using LowLatency.Sinks;
using LowLatency.Sinks.Batching;

namespace LowLatency.Postgres;

/// <summary>
/// The PostgreSQL half of a batching sink (<c>BatchingSink&lt;PostgresBatchWriter&gt;</c>): turns a batch of output
/// events into candle and alert rows (<see cref="PostgresBatch.Add"/>; tickers belong to the hot tier and are skipped)
/// and writes them with <see cref="PostgresWriter.WriteAsync"/>, which completes once committed. Retries, spill and
/// commit marks are the sink framework's; <see cref="IsTransient"/> is the writer's classification.
/// </summary>
/// <remarks>
/// The sink may write different batches concurrently, so each call fills rows of its own (a few small allocations
/// per batch, off the pinned threads).
/// </remarks>
public sealed class PostgresBatchWriter(PostgresWriter writer) : IBatchWriter
{
    /// <summary>The writer batches go to.</summary>
    public PostgresWriter Writer => writer;

    /// <inheritdoc />
    public async ValueTask WriteAsync(OutputBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await writer.WriteAsync(Rows(batch), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public bool IsTransient(Exception failure) => PostgresWriter.IsTransient(failure);

    private static PostgresBatch Rows(OutputBatch batch)
    {
        var records = new OutputRecords(batch.Symbols);
        var rows = new PostgresBatch();
        foreach (ref readonly var e in batch.Events)
        {
            rows.Add(e, records);
        }

        return rows;
    }
}

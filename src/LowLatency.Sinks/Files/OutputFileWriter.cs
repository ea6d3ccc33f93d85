using LowLatency.Aggregation;
using LowLatency.Market;
using LowLatency.Ring;

namespace LowLatency.Sinks.Files;

/// <summary>The layout of the local output files.</summary>
public enum OutputFileFormat
{
    /// <summary>One JSON object per line (<c>.jsonl</c>), prices as exact decimal strings (the default).</summary>
    JsonLines,

    /// <summary>RFC 4180 comma-separated values with a header line (<c>.csv</c>), prices as exact decimals.</summary>
    Csv,
}

/// <summary>
/// Writes the output ring to three files in a directory: <c>candles</c>, <c>alerts</c> and <c>tickers</c>, as JSON lines
/// or CSV (<see cref="OutputFileFormat"/>). Each file has one reused buffer; buffers are written out at the end of each
/// ring batch, so the files stay current without a write per event. The rows are <see cref="OutputRecords"/>'s, so the
/// files carry exactly the fields (and exact decimals) the other sinks write.
/// </summary>
public sealed class OutputFileWriter : IDisposable
{
    private readonly OutputRecords _records;
    private readonly RowFile _candles;
    private readonly RowFile _alerts;
    private readonly RowFile _tickers;

    /// <summary>Creates (or truncates) the three files in <paramref name="directory"/>.</summary>
    public OutputFileWriter(string directory, SymbolTable symbols, OutputFileFormat format = OutputFileFormat.JsonLines)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        Directory.CreateDirectory(directory);
        _records = new OutputRecords(symbols);
        Format = format;
        _candles = new RowFile(Path.Combine(directory, "candles" + Extension(format)), format);
        _alerts = new RowFile(Path.Combine(directory, "alerts" + Extension(format)), format);
        _tickers = new RowFile(Path.Combine(directory, "tickers" + Extension(format)), format);
    }

    /// <summary>The files' format.</summary>
    public OutputFileFormat Format { get; }

    /// <summary>The file name extension of <paramref name="format"/>, with its dot.</summary>
    public static string Extension(OutputFileFormat format) => format == OutputFileFormat.Csv ? ".csv" : ".jsonl";

    /// <summary>Data lines written to each file (a CSV header is not counted).</summary>
    public (long Candles, long Alerts, long Tickers) Lines => (_candles.Lines, _alerts.Lines, _tickers.Lines);

    /// <summary>Appends one event to its file's buffer (marks and empty slots are not data and are skipped).</summary>
    public void Write(in OutputEvent e)
    {
        var file = e.Kind switch
        {
            OutputKind.Candle => _candles,
            OutputKind.Alert => _alerts,
            OutputKind.Ticker => _tickers,
            _ => null,
        };

        if (file is not null)
        {
            _records.Write(file.Rows, e);
            file.Lines++;
        }
    }

    /// <summary>Writes the buffered lines to the files (and to disk if <paramref name="durable"/>).</summary>
    public void Flush(bool durable = false)
    {
        _candles.Flush(durable);
        _alerts.Flush(durable);
        _tickers.Flush(durable);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Flush(durable: true);
        _candles.Dispose();
        _alerts.Dispose();
        _tickers.Dispose();
    }

    /// <summary>One output file: its row writer's buffer goes to the file on <see cref="Flush"/>.</summary>
    private sealed class RowFile(string path, OutputFileFormat format) : IDisposable
    {
        private readonly FileStream _file = new(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 1 << 16);

        public RowWriter Rows { get; } = format == OutputFileFormat.Csv ? new CsvRowWriter() : new JsonRowWriter();

        public long Lines { get; set; }

        public void Flush(bool durable)
        {
            if (Rows.Buffer.WrittenCount > 0)
            {
                _file.Write(Rows.Buffer.WrittenSpan);
                Rows.Clear();
            }

            _file.Flush(durable);
        }

        public void Dispose()
        {
            Rows.Dispose();
            _file.Dispose();
        }
    }
}

/// <summary>
/// The output ring's file handler: writes every event and flushes the files at the end of each batch. A commit mark
/// (<see cref="OutputKind.Mark"/>) is acknowledged to <paramref name="commitMarks"/> once the files are flushed to
/// disk (fsync), so a Kafka source commits only what survives a crash of the process or the machine.
/// </summary>
public readonly struct OutputFileHandler(OutputFileWriter writer, ICommitMarks? commitMarks = null) : IValueEventHandler<OutputEvent>
{
    /// <inheritdoc />
    public void OnEvent(ref OutputEvent data, long sequence, bool endOfBatch)
    {
        if (data.Kind == OutputKind.Mark)
        {
            writer.Flush(durable: true);
            commitMarks?.OnDurable(data.MarkId);
            return;
        }

        writer.Write(data);
        if (endOfBatch)
        {
            writer.Flush();
        }
    }

    /// <inheritdoc />
    public void OnShutdown() => writer.Flush(durable: true);
}

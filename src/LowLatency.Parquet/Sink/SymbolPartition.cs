using System.Globalization;
using System.Text.Json;
using LowLatency.Parquet.Writing;

namespace LowLatency.Parquet.Sink;

/// <summary>How far one stream of rows (a symbol's candles of one interval, or its alerts of one type) is in closed files.</summary>
/// <param name="TimeNs">The last row's time (a candle's open time, an alert's time).</param>
/// <param name="Id">Breaks ties at the same time (an alert's trade id; 0 for candles).</param>
internal readonly record struct HighWaterMark(long TimeNs, long Id)
{
    public bool Covers(long timeNs, long id) => timeNs < TimeNs || (timeNs == TimeNs && id <= Id);
}

/// <summary>
/// One symbol's directory of one dataset (<c>candles/symbol=BTCUSDT/</c>): its open files, one per UTC date, and its state
/// file <c>_lowlatency_state.json</c>, which holds the high-water marks of the rows in its closed files and, while files
/// are being published, the list of them.
/// </summary>
/// <remarks>
/// <para>
/// Publishing is two-phase, so a crash at any point leaves either the old files and old marks, or the new files and new
/// marks: the files are completed under <c>….parquet.sealed</c> (invisible to a reader of <c>*.parquet</c>), then the state
/// file is replaced atomically with the new marks and the sealed names, then the sealed files are renamed. A restart
/// finishes the renames the state file lists and deletes any other <c>.sealed</c> or <c>.tmp</c> file.
/// </para>
/// <para>
/// The marks make a restart idempotent: after a crash the daemon reads its input again from the last Kafka commit, which
/// may lie before rows already in closed files; those rows come again with the same key and are dropped here. The file
/// starts with an underscore, which Spark and Hive skip, and is not a <c>*.parquet</c> file, which DuckDB's globs skip.
/// </para>
/// </remarks>
internal sealed class SymbolPartition(string root)
{
    public const string StateFileName = "_lowlatency_state.json";
    public const string SealedSuffix = ".sealed";

    private readonly Dictionary<long, HighWaterMark> _marks = [];
    private readonly Dictionary<long, ParquetFileWriter> _files = [];
    private bool _recovered;

    /// <summary>The symbol's directory: <c>{dataset}/symbol={value}</c>.</summary>
    public string Root => root;

    /// <summary>Whether the marks were read in the current roll period (files open or not).</summary>
    public bool Loaded { get; private set; }

    public bool HasOpenFiles => _files.Count > 0;

    /// <summary>Whether the closed files (or this period's rows) already hold this row or a later one of the same stream.</summary>
    public bool Holds(long stream, long timeNs, long id) => _marks.TryGetValue(stream, out var mark) && mark.Covers(timeNs, id);

    /// <summary>Moves the stream's mark to a row just written.</summary>
    public void Advance(long stream, long timeNs, long id) => _marks[stream] = new HighWaterMark(timeNs, id);

    /// <summary>The open file of a UTC day, started on first use.</summary>
    public ParquetFileWriter File(long day, string name, ParquetSchema schema, ParquetWriterOptions options)
    {
        if (_files.TryGetValue(day, out var file))
        {
            return file;
        }

        var directory = Path.Combine(root, "date=" + DateTime.UnixEpoch.AddDays(day).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        Directory.CreateDirectory(directory);
        file = ParquetFileWriter.Create(Path.Combine(directory, name + SealedSuffix), schema, options);
        _files.Add(day, file);
        return file;
    }

    /// <summary>
    /// At the first use in a roll period: on the first in this process, finishes a publish that a crash interrupted and
    /// deletes leftovers of unfinished files; then reads the marks (keeping the higher of the file's and this process's, as
    /// another instance may have written the symbol since).
    /// </summary>
    public void Load()
    {
        var state = ReadState();
        if (!_recovered)
        {
            Recover(state.Pending);
            _recovered = true;
        }

        foreach (var (stream, mark) in state.Marks)
        {
            if (!_marks.TryGetValue(stream, out var mine) || mine.Covers(mark.TimeNs, mark.Id))
            {
                _marks[stream] = mark;
            }
        }

        Loaded = true;
    }

    /// <summary>Phase one: completes every open file under its sealed name (flushed to disk).</summary>
    /// <returns>The number of files sealed.</returns>
    public int Seal()
    {
        foreach (var file in _files.Values)
        {
            file.Complete();
        }

        return _files.Count;
    }

    /// <summary>Phase two: records the marks and the sealed files in the state file, then gives the files their final names.</summary>
    /// <returns>The number of files published.</returns>
    public int Publish()
    {
        var count = _files.Count;
        if (count > 0)
        {
            WriteState([.. _files.Values.Select(f => Path.GetRelativePath(root, Final(f.Path)))]);
            foreach (var file in _files.Values)
            {
                System.IO.File.Move(file.Path, Final(file.Path), overwrite: true);
            }
        }

        EndPeriod();
        return count;
    }

    /// <summary>Forgets the open files (disposing them deletes what they wrote) and starts a new roll period.</summary>
    public void Abandon() => EndPeriod();

    private void EndPeriod()
    {
        // Completed files are only closed here; the others delete their temporary files.
        foreach (var file in _files.Values)
        {
            file.Dispose();
        }

        _files.Clear();
        Loaded = false;
    }

    private static string Final(string sealedPath) => sealedPath[..^SealedSuffix.Length];

    private void Recover(IReadOnlyList<string> pending)
    {
        if (!Directory.Exists(root))
        {
            return;
        }

        var finishing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var relative in pending)
        {
            var final = Path.GetFullPath(Path.Combine(root, relative));
            if (!final.StartsWith(Path.GetFullPath(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"{Path.Combine(root, StateFileName)} lists a file outside its directory: '{relative}'.");
            }

            var sealedPath = final + SealedSuffix;
            if (System.IO.File.Exists(sealedPath))
            {
                System.IO.File.Move(sealedPath, final, overwrite: true);
            }

            finishing.Add(sealedPath);
        }

        foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            if ((path.EndsWith(SealedSuffix, StringComparison.Ordinal) || path.EndsWith(".tmp", StringComparison.Ordinal)) && !finishing.Contains(path))
            {
                System.IO.File.Delete(path); // a file that was being written or sealed when the process died: its rows come again
            }
        }
    }

    private (List<(long Stream, HighWaterMark Mark)> Marks, List<string> Pending) ReadState()
    {
        var path = Path.Combine(root, StateFileName);
        var marks = new List<(long, HighWaterMark)>();
        var pending = new List<string>();
        if (!System.IO.File.Exists(path))
        {
            return (marks, pending);
        }

        try
        {
            using var document = JsonDocument.Parse(System.IO.File.ReadAllBytes(path));
            var top = document.RootElement;
            if (top.GetProperty("version").GetInt32() != 1)
            {
                throw new InvalidDataException($"version {top.GetProperty("version")} is not 1");
            }

            foreach (var mark in top.GetProperty("marks").EnumerateArray())
            {
                marks.Add((mark.GetProperty("stream").GetInt64(), new HighWaterMark(mark.GetProperty("time_ns").GetInt64(), mark.GetProperty("id").GetInt64())));
            }

            foreach (var file in top.GetProperty("pending").EnumerateArray())
            {
                pending.Add(file.GetString() ?? throw new InvalidDataException("a pending file name is null"));
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new InvalidDataException($"The Parquet sink's state file {path} is damaged ({e.Message}); move it away to start the symbol's marks afresh (rows already in its files may then be written again).", e);
        }

        return (marks, pending);
    }

    private void WriteState(List<string> pending)
    {
        var path = Path.Combine(root, StateFileName);
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartObject();
                json.WriteNumber("version", 1);
                json.WriteStartArray("marks");
                foreach (var (id, mark) in _marks.OrderBy(m => m.Key))
                {
                    json.WriteStartObject();
                    json.WriteNumber("stream", id);
                    json.WriteNumber("time_ns", mark.TimeNs);
                    json.WriteNumber("id", mark.Id);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteStartArray("pending");
                foreach (var file in pending)
                {
                    json.WriteStringValue(file);
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            stream.Flush(flushToDisk: true);
        }

        System.IO.File.Move(temp, path, overwrite: true);
    }
}

using System.Text;
using LowLatency.Parquet.Reading;

namespace LowLatency.Parquet.Datasets;

/// <summary>What a Parquet file holds, told by its columns.</summary>
public enum ParquetDatasetKind
{
    /// <summary>Candles as the cold tier writes them: <c>symbol, interval, open_time, open … close, volume, …</c>.</summary>
    Candles,

    /// <summary>Trades: <c>symbol</c> (or a <c>symbol=…</c> directory), <c>trade_id</c> or <c>id</c>, <c>price</c>,
    /// <c>quantity</c> or <c>qty</c>, <c>time</c> (or <c>trade_time</c>, <c>timestamp</c>), optional <c>is_buyer_maker</c>.</summary>
    Trades,
}

/// <summary>
/// The files of a Parquet dataset: directories (a Hive layout such as <c>candles/symbol=…/date=…/</c>) expanded to their
/// <c>*.parquet</c> files, and a merge of their rows in time order across files, one row group per file in memory.
/// </summary>
public static class ParquetDataset
{
    /// <summary>Every <c>*.parquet</c> file under the given files and directories, in name order.</summary>
    public static List<string> Files(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                files.AddRange(Directory.EnumerateFiles(path, "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
            }
            else
            {
                files.Add(path);
            }
        }

        return files;
    }

    /// <summary>Whether a path names Parquet input: a <c>.parquet</c> file or a directory.</summary>
    public static bool IsParquetPath(string path) =>
        Directory.Exists(path) || path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase);

    /// <summary>The kind of every file (they must agree), by their columns.</summary>
    public static ParquetDatasetKind Detect(IReadOnlyList<string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count == 0)
        {
            throw new ParquetFormatException("No Parquet files found.");
        }

        ParquetDatasetKind? kind = null;
        foreach (var file in files)
        {
            using var reader = ParquetFileReader.Open(file);
            var names = reader.Columns.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            var this_ = names.Contains("open_time") && names.Contains("interval") ? ParquetDatasetKind.Candles
                : names.Contains("price") && (names.Contains("trade_id") || names.Contains("id")) ? ParquetDatasetKind.Trades
                : throw new ParquetFormatException($"{file}: neither candles (symbol, interval, open_time, …) nor trades (trade_id, price, quantity, time, …); its columns are {string.Join(", ", names)}.");
            if (kind is { } k && k != this_)
            {
                throw new ParquetFormatException($"{file} holds {this_}, the files before it {k}: replay one kind at a time.");
            }

            kind = this_;
        }

        return kind!.Value;
    }

    /// <summary>The value of a <c>name=value</c> directory in the path (Hive partitioning), percent-decoded, or null.</summary>
    internal static byte[]? PartitionValue(string file, string name)
    {
        var prefix = name + "=";
        for (var directory = Path.GetDirectoryName(Path.GetFullPath(file)); !string.IsNullOrEmpty(directory); directory = Path.GetDirectoryName(directory))
        {
            var part = Path.GetFileName(directory);
            if (part.StartsWith(prefix, StringComparison.Ordinal))
            {
                return Encoding.UTF8.GetBytes(Uri.UnescapeDataString(part[prefix.Length..]));
            }
        }

        return null;
    }
}

/// <summary>
/// Rows of several files merged by a time key: each file is read one row group at a time, and the file whose current row
/// is earliest goes next (ties by file order). Rows within a file are expected in time order, as the cold tier and
/// exchange dumps write them.
/// </summary>
/// <typeparam name="TCursor">A file's cursor.</typeparam>
public abstract class ParquetMerge<TCursor> : IDisposable
    where TCursor : ParquetMerge<TCursor>.Cursor
{
    private readonly List<TCursor> _cursors = [];
    private readonly PriorityQueue<TCursor, (long Time, int File)> _queue = new();
    private TCursor? _current;

    protected ParquetMerge(IReadOnlyList<string> files, Func<string, ParquetFileReader, TCursor> open)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(open);
        try
        {
            for (var i = 0; i < files.Count; i++)
            {
                var reader = ParquetFileReader.Open(files[i]);
                TCursor cursor;
                try
                {
                    cursor = open(files[i], reader);
                }
                catch
                {
                    reader.Dispose();
                    throw;
                }

                cursor.FileIndex = i;
                _cursors.Add(cursor);
                if (cursor.MoveNext())
                {
                    _queue.Enqueue(cursor, (cursor.Time, i));
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Rows read so far.</summary>
    public long Rows { get; private set; }

    /// <summary>Moves to the next row in time order; false at the end of every file.</summary>
    protected bool MoveNext(out TCursor cursor)
    {
        if (_current is { } previous && previous.MoveNext())
        {
            _queue.Enqueue(previous, (previous.Time, previous.FileIndex));
        }

        if (!_queue.TryDequeue(out _current, out _))
        {
            cursor = null!;
            return false;
        }

        Rows++;
        cursor = _current;
        return true;
    }

    public void Dispose()
    {
        foreach (var cursor in _cursors)
        {
            cursor.Reader.Dispose();
        }

        _cursors.Clear();
        _queue.Clear();
        GC.SuppressFinalize(this);
    }

    /// <summary>One file's position: its current row group's columns and the row in it.</summary>
    public abstract class Cursor(string file, ParquetFileReader reader)
    {
        private int _group = -1;
        private int _rows;

        public string File => file;

        public ParquetFileReader Reader => reader;

        /// <summary>The current row in the current row group.</summary>
        public int Row { get; private set; }

        /// <summary>The current row's time key.</summary>
        public abstract long Time { get; }

        internal int FileIndex { get; set; }

        /// <summary>Reads a row group's columns; returns its row count.</summary>
        protected abstract int Load(int rowGroup);

        internal bool MoveNext()
        {
            if (++Row < _rows)
            {
                return true;
            }

            while (++_group < reader.RowGroupCount)
            {
                try
                {
                    _rows = Load(_group);
                }
                catch (ParquetFormatException e) when (!e.Message.StartsWith(file, StringComparison.Ordinal))
                {
                    throw new ParquetFormatException($"{file}, row group {_group}: {e.Message}", e);
                }

                Row = 0;
                if (_rows > 0)
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>A required column, or a clear error naming the file and the alternatives.</summary>
        protected ParquetColumnData Read(int rowGroup, params string[] names) =>
            TryRead(rowGroup, names) ?? throw new ParquetFormatException($"{file}: no column {string.Join(" or ", names.Select(n => $"'{n}'"))}.");

        /// <summary>An optional column, or null.</summary>
        protected ParquetColumnData? TryRead(int rowGroup, params string[] names)
        {
            foreach (var name in names)
            {
                if (reader.Columns.Any(c => c.Name == name))
                {
                    return reader.ReadColumn(rowGroup, name);
                }
            }

            return null;
        }
    }
}

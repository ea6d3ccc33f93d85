namespace LowLatency.Connectors.Replay;

/// <summary>Something that yields recorded frames in order: one recording, or several merged.</summary>
public interface IFrameSource : IDisposable
{
    /// <summary>The next frame; its payload is valid until the next call. False at the end.</summary>
    bool TryRead(out RecordedFrame frame);

    /// <summary>Lines skipped as unreadable so far.</summary>
    long ErrorLines { get; }
}

/// <summary>
/// Merges several recordings by receive time (a k-way merge over their readers, one frame of look-ahead each), so
/// sessions recorded side by side (say BTCUSDT and ETHUSDT) replay interleaved as they were received, and a pacer can
/// pace the merged stream. Frames without a receive time go first, in file order. Ties keep file order.
/// </summary>
/// <remarks>
/// A returned frame's payload lives in its reader's buffer, so that reader is advanced only on the next call; the
/// other readers' look-ahead frames stay valid meanwhile because each reader owns its own buffer.
/// </remarks>
public sealed class MergedFrameSource : IFrameSource
{
    private readonly RecordingReader[] _readers;
    private readonly RecordedFrame[] _heads;
    private readonly bool[] _hasHead;
    private int _advance = -1; // the reader whose frame was returned last: read its next frame before choosing again
    private bool _primed;

    /// <summary>Merges the readers (which this source then owns and disposes).</summary>
    public MergedFrameSource(IReadOnlyList<RecordingReader> readers)
    {
        ArgumentNullException.ThrowIfNull(readers);
        ArgumentOutOfRangeException.ThrowIfZero(readers.Count);
        _readers = [.. readers];
        _heads = new RecordedFrame[_readers.Length];
        _hasHead = new bool[_readers.Length];
    }

    /// <summary>Opens every file at <paramref name="paths"/> and merges them.</summary>
    public static MergedFrameSource Open(IReadOnlyList<string> paths, RecordingReaderOptions? options = null) =>
        new([.. paths.Select(p => RecordingReader.Open(p, options))]);

    /// <inheritdoc />
    public long ErrorLines => _readers.Sum(r => r.ErrorLines);

    /// <inheritdoc />
    public bool TryRead(out RecordedFrame frame)
    {
        if (!_primed)
        {
            for (var i = 0; i < _readers.Length; i++)
            {
                _hasHead[i] = _readers[i].TryRead(out _heads[i]);
            }

            _primed = true;
        }
        else if (_advance >= 0)
        {
            _hasHead[_advance] = _readers[_advance].TryRead(out _heads[_advance]);
        }

        var best = -1;
        for (var i = 0; i < _readers.Length; i++)
        {
            if (_hasHead[i] && (best < 0 || _heads[i].ReceiveTimeNs < _heads[best].ReceiveTimeNs))
            {
                best = i;
            }
        }

        _advance = best;
        frame = best >= 0 ? _heads[best] : default;
        return best >= 0;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var reader in _readers)
        {
            reader.Dispose();
        }
    }
}

namespace LowLatency.Connectors.Replay;

/// <summary>
/// One raw frame of a recorded session: the exchange's bytes exactly as received, plus when they were received.
/// </summary>
/// <remarks>
/// <see cref="Payload"/> points into the reader's one reusable buffer: it is valid only until the next read from the
/// same reader. Copy it if it must outlive that.
/// </remarks>
public readonly struct RecordedFrame
{
    /// <summary>The value of <see cref="ReceiveTimeNs"/> when the recording format has no receive time.</summary>
    public const long NoReceiveTime = -1;

    public RecordedFrame(ReadOnlyMemory<byte> payload, long receiveTimeNs, long lineNumber)
    {
        Payload = payload;
        ReceiveTimeNs = receiveTimeNs;
        LineNumber = lineNumber;
    }

    /// <summary>The raw frame (JSON text, UTF-8), without the recording's prefix and line terminator.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The local receive time in nanoseconds since the Unix epoch, or <see cref="NoReceiveTime"/> (-1).</summary>
    public long ReceiveTimeNs { get; }

    /// <summary>The 1-based physical line of the recording the frame came from (header and blank lines count).</summary>
    public long LineNumber { get; }

    /// <summary>Whether the recording gave this frame a receive time.</summary>
    public bool HasReceiveTime => ReceiveTimeNs != NoReceiveTime;

    /// <summary>The same frame with another receive time (used by the pacer to shift looped sessions).</summary>
    public RecordedFrame WithReceiveTime(long receiveTimeNs) => new(Payload, receiveTimeNs, LineNumber);
}

/// <summary>The line formats of the recordings this reader understands.</summary>
public enum RecordingFormat
{
    /// <summary>Detect from the first non-blank line (the default).</summary>
    Auto = 0,

    /// <summary>hftbacktest: <c>&lt;receive time, ns since epoch&gt; &lt;raw frame&gt;</c>.</summary>
    NanosecondPrefixed,

    /// <summary>cryptofeed: a connect-URL header line, then <c>&lt;unix seconds, decimal&gt;: &lt;raw frame&gt;</c>.</summary>
    SecondsPrefixed,

    /// <summary>One bare JSON frame per line; no receive time (<see cref="RecordedFrame.NoReceiveTime"/>).</summary>
    BareJson,
}

/// <summary>Why a line of a recording was skipped.</summary>
public enum RecordingLineError
{
    /// <summary>No error.</summary>
    None = 0,

    /// <summary>The line is longer than <see cref="RecordingReaderOptions.MaxLineBytes"/>; it was skipped unread.</summary>
    Oversize,

    /// <summary>The timestamp prefix is missing, has a non-digit, or overflows.</summary>
    BadTimestamp,

    /// <summary>The separator between timestamp and frame (a space, or <c>": "</c>) is missing.</summary>
    MissingSeparator,

    /// <summary>Nothing follows the timestamp prefix.</summary>
    EmptyPayload,

    /// <summary>The first line matches none of the known formats.</summary>
    UnknownFormat,
}

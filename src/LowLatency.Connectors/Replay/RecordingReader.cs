using System.Diagnostics.CodeAnalysis;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;

namespace LowLatency.Connectors.Replay;

/// <summary>Options of <see cref="RecordingReader"/>; every default is documented where it is declared.</summary>
public sealed class RecordingReaderOptions
{
    /// <summary>The shared default instance.</summary>
    public static readonly RecordingReaderOptions Default = new();

    /// <summary>The format of the lines. Default <see cref="RecordingFormat.Auto"/>: detected from the first non-blank line.</summary>
    public RecordingFormat Format { get; init; } = RecordingFormat.Auto;

    /// <summary>
    /// The longest line accepted, in bytes without the terminator. Default 16 MiB. A longer line is counted as
    /// <see cref="RecordingLineError.Oversize"/> and skipped; the buffer never grows beyond this plus two bytes (room for
    /// a <c>"\r\n"</c> terminator).
    /// </summary>
    public int MaxLineBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>The buffer size at start-up, in bytes. Default 64 KiB; it doubles (up to the cap) when a line needs it.</summary>
    public int InitialBufferBytes { get; init; } = 64 * 1024;
}

/// <summary>
/// Reads a recorded session line by line and yields its raw frames with their receive times. Gzip is detected by the
/// magic bytes <c>1f 8b</c>, not the file name; the line format (<see cref="RecordingFormat"/>) is detected from the
/// first non-blank line.
/// </summary>
/// <remarks>
/// Nothing is allocated per line after start-up: one growable (capped) byte buffer, lines split over bytes with a
/// vectorised search, timestamps parsed from digits with integer arithmetic. Bad lines are counted by reason and
/// skipped; only I/O errors of the underlying stream throw. Not thread-safe: one reader per source thread.
/// </remarks>
public sealed class RecordingReader : IFrameSource
{
    private const long NanosPerSecond = 1_000_000_000;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly int _maxLineBytes;
    private readonly long[] _errorCounts = new long[Enum.GetValues<RecordingLineError>().Length];

    private byte[] _buffer;
    private int _start;      // first byte of the unconsumed data
    private int _end;        // one past the last byte read from the stream
    private int _scanned;    // bytes from _start already known to hold no '\n'
    private bool _endOfStream;
    private bool _discarding; // inside an oversize line: drop bytes until the next '\n'
    private bool _sawFirstLine;
    private long _lineNumber;

    /// <summary>Opens the file at <paramref name="path"/> (plain or gzip).</summary>
    public static RecordingReader Open(string path, RecordingReaderOptions? options = null)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        return new RecordingReader(file, options, leaveOpen: false);
    }

    /// <summary>Reads from <paramref name="stream"/> (plain or gzip, detected from its first two bytes).</summary>
    public RecordingReader(Stream stream, RecordingReaderOptions? options = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= RecordingReaderOptions.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxLineBytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MaxLineBytes, Array.MaxLength - 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InitialBufferBytes, 1);

        _maxLineBytes = options.MaxLineBytes;
        Format = options.Format;
        _buffer = new byte[Math.Min(options.InitialBufferBytes, options.MaxLineBytes + 2)];

        // Detect gzip by its magic bytes, then hand the two bytes back in front of the rest (the stream may not seek).
        var magic = new byte[2];
        var got = ReadAtLeast(stream, magic);
        IsGzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        if (got == 0)
        {
            _stream = stream;
            _leaveOpen = leaveOpen;
        }
        else
        {
            Stream prefixed = new PrefixedStream(magic.AsSpan(0, got).ToArray(), stream, leaveOpen);
            _stream = IsGzip ? new GZipStream(prefixed, CompressionMode.Decompress, leaveOpen: false) : prefixed;
            _leaveOpen = false; // the wrappers are ours; PrefixedStream honours leaveOpen for the caller's stream
        }
    }

    /// <summary>The line format: as configured, or as detected once the first non-blank line has been read.</summary>
    public RecordingFormat Format { get; private set; }

    /// <summary>Whether the source was gzip-compressed.</summary>
    public bool IsGzip { get; }

    /// <summary>The connect URL of a cryptofeed header line, if the recording had one (allocated once).</summary>
    public string? SourceUrl { get; private set; }

    /// <summary>Frames yielded so far.</summary>
    public long FramesRead { get; private set; }

    /// <summary>Physical lines consumed so far (frames, header, blank and skipped lines).</summary>
    public long LinesRead => _lineNumber;

    /// <summary>Blank lines skipped (not errors; cryptofeed files end with one).</summary>
    public long BlankLines { get; private set; }

    /// <summary>Header lines skipped (cryptofeed connect URLs).</summary>
    public long HeaderLines { get; private set; }

    /// <summary>Lines skipped because of an error, all reasons together.</summary>
    public long ErrorLines { get; private set; }

    /// <summary>Lines skipped for the given reason.</summary>
    public long ErrorCount(RecordingLineError reason) => _errorCounts[(int)reason];

    /// <summary>The reason the most recent bad line was skipped, and its line number.</summary>
    public RecordingLineError LastError { get; private set; }

    /// <summary>The line number of <see cref="LastError"/>.</summary>
    public long LastErrorLine { get; private set; }

    /// <summary>The current buffer size in bytes (grows by doubling up to <see cref="RecordingReaderOptions.MaxLineBytes"/> + 2).</summary>
    public int BufferBytes => _buffer.Length;

    /// <summary>Reads the next frame; false at the end of the recording. The payload is valid until the next call.</summary>
    public bool TryRead(out RecordedFrame frame)
    {
        while (TryReadLine(out var start, out var length))
        {
            if (TryParseLine(start, length, out frame))
            {
                FramesRead++;
                return true;
            }
        }

        frame = default;
        return false;
    }

    public void Dispose()
    {
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }

    // Finds the next complete line in the buffer, reading and growing as needed. Returns its offset and length
    // without the '\n' (and without a '\r' before it).
    private bool TryReadLine(out int start, out int length)
    {
        while (true)
        {
            var newline = _buffer.AsSpan(_start + _scanned, _end - _start - _scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var lineEnd = _start + _scanned + newline;
                start = _start;
                length = lineEnd - _start;
                _start = lineEnd + 1;
                _scanned = 0;
                _lineNumber++;
                if (_discarding)
                {
                    _discarding = false;
                    CountError(RecordingLineError.Oversize);
                    continue;
                }

                if (length > 0 && _buffer[start + length - 1] == (byte)'\r')
                {
                    length--;
                }

                if (length > _maxLineBytes)
                {
                    CountError(RecordingLineError.Oversize);
                    continue;
                }

                return true;
            }

            _scanned = _end - _start;
            if (_endOfStream)
            {
                return TryTakeLastLine(out start, out length);
            }

            if (_discarding || _scanned > _maxLineBytes + 1)
            {
                // The line is already too long: drop what we have and skip to its end without buffering it.
                _discarding = true;
                _start = _end = _scanned = 0;
            }

            MakeRoom();
            var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (read == 0)
            {
                _endOfStream = true;
            }

            _end += read;
        }
    }

    // The recording's last line may lack a terminator.
    private bool TryTakeLastLine(out int start, out int length)
    {
        start = _start;
        length = _end - _start;
        _start = _end;
        _scanned = 0;
        if (length == 0 && !_discarding)
        {
            return false;
        }

        _lineNumber++;
        if (_discarding || length > _maxLineBytes)
        {
            _discarding = false;
            CountError(RecordingLineError.Oversize);
            return false;
        }

        if (_buffer[start + length - 1] == (byte)'\r')
        {
            length--;
        }

        return true;
    }

    // Compacts the unconsumed bytes to the front, and doubles the buffer (up to the cap) if it is still full.
    private void MakeRoom()
    {
        if (_end < _buffer.Length)
        {
            return;
        }

        if (_start > 0)
        {
            var pending = _end - _start;
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
            _start = 0;
            _end = pending;
            if (_end < _buffer.Length)
            {
                return;
            }
        }

        Grow();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow()
    {
        // Full buffer, no newline, still within the cap (checked by the caller): grow, never beyond MaxLineBytes + 2
        // (the longest accepted line plus "\r\n"; the terminator's '\n' need not fit, it ends the search either way).
        var size = (int)Math.Min((long)_buffer.Length * 2, (long)_maxLineBytes + 2);
        var bigger = new byte[size];
        Buffer.BlockCopy(_buffer, 0, bigger, 0, _end);
        _buffer = bigger;
    }

    private bool TryParseLine(int start, int length, out RecordedFrame frame)
    {
        frame = default;
        var line = _buffer.AsSpan(start, length);
        if (line.IndexOfAnyExcept(" \t\r"u8) < 0)
        {
            BlankLines++;
            return false;
        }

        if (!_sawFirstLine)
        {
            _sawFirstLine = true;
            if (IsHeader(line))
            {
                if (Format is RecordingFormat.Auto or RecordingFormat.SecondsPrefixed)
                {
                    Format = RecordingFormat.SecondsPrefixed;
                    RememberHeader(line);
                    HeaderLines++;
                    return false;
                }
            }
            else if (Format == RecordingFormat.Auto)
            {
                Format = Detect(line);
                if (Format == RecordingFormat.Auto)
                {
                    _sawFirstLine = false; // try again on the next line
                    CountError(RecordingLineError.UnknownFormat);
                    return false;
                }
            }
        }

        switch (Format)
        {
            case RecordingFormat.NanosecondPrefixed:
                return TryParseNanosecondLine(start, line, out frame);
            case RecordingFormat.SecondsPrefixed:
                if (IsHeader(line))
                {
                    HeaderLines++; // cryptofeed writes a new header on reconnect
                    return false;
                }

                return TryParseSecondsLine(start, line, out frame);
            default:
                frame = new RecordedFrame(_buffer.AsMemory(start, line.Length), RecordedFrame.NoReceiveTime, _lineNumber);
                return true;
        }
    }

    private bool TryParseNanosecondLine(int start, ReadOnlySpan<byte> line, out RecordedFrame frame)
    {
        frame = default;
        var digits = CountDigits(line);
        if (digits == 0 || !TryParseUInt(line[..digits], out var ns))
        {
            return Fail(RecordingLineError.BadTimestamp);
        }

        if (digits == line.Length || line[digits] != (byte)' ')
        {
            return Fail(digits == line.Length ? RecordingLineError.EmptyPayload : RecordingLineError.MissingSeparator);
        }

        var payload = digits + 1;
        if (payload == line.Length)
        {
            return Fail(RecordingLineError.EmptyPayload);
        }

        frame = new RecordedFrame(_buffer.AsMemory(start + payload, line.Length - payload), ns, _lineNumber);
        return true;
    }

    private bool TryParseSecondsLine(int start, ReadOnlySpan<byte> line, out RecordedFrame frame)
    {
        frame = default;
        if (!TryParseSeconds(line, out var ns, out var consumed))
        {
            return Fail(RecordingLineError.BadTimestamp);
        }

        if (consumed == line.Length || line[consumed] != (byte)':')
        {
            return Fail(consumed == line.Length ? RecordingLineError.EmptyPayload : RecordingLineError.MissingSeparator);
        }

        var payload = consumed + 1;
        if (payload < line.Length && line[payload] == (byte)' ')
        {
            payload++;
        }

        if (payload == line.Length)
        {
            return Fail(RecordingLineError.EmptyPayload);
        }

        frame = new RecordedFrame(_buffer.AsMemory(start + payload, line.Length - payload), ns, _lineNumber);
        return true;
    }

    /// <summary>
    /// Parses <c>&lt;digits&gt;[.&lt;digits&gt;]</c> seconds into nanoseconds exactly, with integer arithmetic (no
    /// <c>double</c>): the fraction is padded to nine digits; digits below one nanosecond are truncated.
    /// </summary>
    internal static bool TryParseSeconds(ReadOnlySpan<byte> text, out long nanoseconds, out int consumed)
    {
        nanoseconds = 0;
        consumed = 0;
        var whole = CountDigits(text);
        if (whole == 0 || !TryParseUInt(text[..whole], out var seconds) || seconds > long.MaxValue / NanosPerSecond - 1)
        {
            return false;
        }

        long fraction = 0;
        consumed = whole;
        if (consumed < text.Length && text[consumed] == (byte)'.')
        {
            var fractionDigits = CountDigits(text[(consumed + 1)..]);
            if (fractionDigits == 0)
            {
                return false;
            }

            var scale = NanosPerSecond;
            for (var i = 0; i < fractionDigits; i++)
            {
                scale /= 10;
                fraction += (text[consumed + 1 + i] - '0') * scale; // scale reaches 0 past the ninth digit: truncation
            }

            consumed += 1 + fractionDigits;
        }

        nanoseconds = seconds * NanosPerSecond + fraction;
        return true;
    }

    private static bool TryParseUInt(ReadOnlySpan<byte> digits, out long value)
    {
        value = 0;
        if (digits.Length > 19)
        {
            return false;
        }

        ulong result = 0;
        foreach (var b in digits)
        {
            result = result * 10 + (uint)(b - '0');
        }

        if (result > long.MaxValue)
        {
            return false;
        }

        value = (long)result;
        return true;
    }

    private static int CountDigits(ReadOnlySpan<byte> text)
    {
        var end = text.IndexOfAnyExceptInRange((byte)'0', (byte)'9');
        return end < 0 ? text.Length : end;
    }

    private static RecordingFormat Detect(ReadOnlySpan<byte> line)
    {
        if (line[0] is (byte)'{' or (byte)'[')
        {
            return RecordingFormat.BareJson;
        }

        var digits = CountDigits(line);
        if (digits == 0 || digits == line.Length)
        {
            return RecordingFormat.Auto;
        }

        return line[digits] switch
        {
            (byte)' ' => RecordingFormat.NanosecondPrefixed,
            (byte)'.' or (byte)':' => RecordingFormat.SecondsPrefixed,
            _ => RecordingFormat.Auto,
        };
    }

    private static bool IsHeader(ReadOnlySpan<byte> line) =>
        line.StartsWith("wss://"u8) || line.StartsWith("ws://"u8) || line.StartsWith("https://"u8) || line.StartsWith("http://"u8);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RememberHeader(ReadOnlySpan<byte> line)
    {
        // cryptofeed: "<url> <-> <connect time>".
        var arrow = line.IndexOf(" <-> "u8);
        SourceUrl = Encoding.UTF8.GetString(arrow >= 0 ? line[..arrow] : line);
    }

    private bool Fail(RecordingLineError reason)
    {
        CountError(reason);
        return false;
    }

    private void CountError(RecordingLineError reason)
    {
        _errorCounts[(int)reason]++;
        ErrorLines++;
        LastError = reason;
        LastErrorLine = _lineNumber;
    }

    private static int ReadAtLeast(Stream stream, Span<byte> buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = stream.Read(buffer[total..]);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    /// <summary>Gives back the magic bytes read for detection, then the rest of the inner stream (works when it cannot seek).</summary>
    private sealed class PrefixedStream(byte[] prefix, Stream inner, bool leaveOpen) : Stream
    {
        private int _prefixUsed;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_prefixUsed < prefix.Length)
            {
                var n = Math.Min(buffer.Length, prefix.Length - _prefixUsed);
                prefix.AsSpan(_prefixUsed, n).CopyTo(buffer);
                _prefixUsed += n;
                return n;
            }

            return inner.Read(buffer);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !leaveOpen)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

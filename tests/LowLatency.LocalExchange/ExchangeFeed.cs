using System.Buffers;
using System.Text;
using System.Text.Json;
using LowLatency.Connectors.Replay;

namespace LowLatency.LocalExchange;

/// <summary>One frame of a feed given by a test: when it happens, on which stream, and its raw payload (JSON).</summary>
/// <param name="TimeNs">When the frame is played, ns on any clock (only differences matter; they are paced by the speed).</param>
/// <param name="Stream">The stream name, lowercase, e.g. <c>btcusdt@trade</c>.</param>
/// <param name="Data">The raw payload, e.g. <c>{"e":"trade",...}</c>; combined connections get it wrapped.</param>
public readonly record struct FeedFrame(long TimeNs, string Stream, string Data);

/// <summary>
/// The frames an exchange plays, prepared once before it starts: every frame's combined-stream bytes
/// (<c>{"stream":…,"data":…}</c>) back to back in one array, with the stream, the raw payload's position inside the
/// wrapper, and the play time of each. Raw (<c>/ws</c>) connections get the payload slice, combined ones the whole
/// wrapper, so sending a frame is a header plus one copy whatever the connection's format.
/// </summary>
/// <remarks>Immutable once built, so every connection of every exchange can share one feed.</remarks>
public sealed class ExchangeFeed
{
    private readonly byte[] _bytes;
    private readonly Entry[] _entries;
    private readonly string[] _streams;
    private readonly Dictionary<string, int> _streamIds;

    private ExchangeFeed(byte[] bytes, Entry[] entries, string[] streams, long skippedLines)
    {
        _bytes = bytes;
        _entries = entries;
        _streams = streams;
        _streamIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < streams.Length; i++)
        {
            _streamIds[streams[i]] = i;
        }

        SkippedLines = skippedLines;
        DurationNs = entries.Length < 2 ? 0 : entries[^1].TimeNs - entries[0].TimeNs;
    }

    /// <summary>A feed with no frames: the exchange still accepts connections and answers control messages.</summary>
    public static ExchangeFeed Empty { get; } = new([], [], [], 0);

    /// <summary>How many frames the feed holds (one pass; loops replay them).</summary>
    public int Count => _entries.Length;

    /// <summary>The stream names that occur in the feed, in order of first appearance.</summary>
    public IReadOnlyList<string> Streams => _streams;

    /// <summary>Play time of the last frame minus that of the first, in ns.</summary>
    public long DurationNs { get; }

    /// <summary>Lines of recordings that were not combined-stream frames (the REST depth snapshots) and were left out.</summary>
    public long SkippedLines { get; }

    /// <summary>The total size of every frame's combined-stream bytes.</summary>
    public long TotalBytes => _bytes.Length;

    /// <summary>
    /// Reads recordings (hftbacktest or cryptofeed lines, plain or gzip; see <see cref="RecordingReader"/>) and merges
    /// them by receive time, which becomes the play time. Lines that are not combined-stream frames (the REST depth
    /// snapshot each hftbacktest recording holds) are skipped and counted in <see cref="SkippedLines"/>.
    /// </summary>
    public static ExchangeFeed FromRecordings(params IReadOnlyList<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var builder = new Builder();
        using var source = MergedFrameSource.Open(paths);
        while (source.TryRead(out var frame))
        {
            builder.AddCombined(frame.Payload.Span, frame.HasReceiveTime ? frame.ReceiveTimeNs : 0);
        }

        return builder.Build();
    }

    /// <summary>
    /// <paramref name="frameCount"/> frames of <see cref="MarketDataGenerator"/> (deterministic for given options), played
    /// at their event times: 50 k frames/s at 1× with the default options.
    /// </summary>
    public static ExchangeFeed FromGenerator(int frameCount, MarketDataGeneratorOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(frameCount);
        var generator = new MarketDataGenerator(options);
        var buffer = new byte[generator.MaxFrameBytes];
        var builder = new Builder();
        for (var i = 0; i < frameCount; i++)
        {
            var length = generator.WriteNext(buffer, out var eventTimeNs);
            builder.AddCombined(buffer.AsSpan(0, length), eventTimeNs);
        }

        return builder.Build();
    }

    /// <summary>The given frames, in the given order (their times should not decrease; a frame is never played early).</summary>
    public static ExchangeFeed FromFrames(IEnumerable<FeedFrame> frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        var builder = new Builder();
        foreach (var frame in frames)
        {
            ArgumentException.ThrowIfNullOrEmpty(frame.Stream, nameof(frames));
            builder.Add(frame.Stream, Encoding.UTF8.GetBytes(frame.Data), frame.TimeNs);
        }

        return builder.Build();
    }

    /// <summary>The stream of frame <paramref name="index"/>.</summary>
    public string StreamOf(int index) => _streams[_entries[index].StreamId];

    /// <summary>The play time of frame <paramref name="index"/>, ns.</summary>
    public long TimeOf(int index) => _entries[index].TimeNs;

    /// <summary>Frame <paramref name="index"/> as a combined connection receives it: <c>{"stream":…,"data":…}</c>.</summary>
    public ReadOnlyMemory<byte> CombinedFrame(int index) => _bytes.AsMemory(_entries[index].Offset, _entries[index].Length);

    /// <summary>Frame <paramref name="index"/> as a raw connection receives it: the payload only.</summary>
    public ReadOnlyMemory<byte> RawFrame(int index) => _bytes.AsMemory(_entries[index].DataOffset, _entries[index].DataLength);

    /// <summary>
    /// The sequence number Binance gives frame <paramref name="index"/>: the trade id <c>t</c>, the aggregate trade id
    /// <c>a</c> of an aggTrade, otherwise the (last) update id <c>u</c> of a depth update or bookTicker; null if none.
    /// </summary>
    public long? SequenceOf(int index)
    {
        var reader = new Utf8JsonReader(RawFrame(index).Span);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        long? t = null, a = null, u = null;
        var isAggTrade = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.ValueSpan;
            reader.Read();
            if (name.SequenceEqual("e"u8))
            {
                isAggTrade = reader.ValueTextEquals("aggTrade"u8);
            }
            else if (reader.TokenType == JsonTokenType.Number && name.Length == 1)
            {
                switch (name[0])
                {
                    case (byte)'t': t = reader.GetInt64(); break;
                    case (byte)'a': a = reader.GetInt64(); break;
                    case (byte)'u': u = reader.GetInt64(); break;
                }
            }

            reader.Skip();
        }

        return t ?? (isAggTrade ? a : null) ?? u;
    }

    internal ref readonly Entry EntryAt(int index) => ref _entries[index];

    internal byte[] Bytes => _bytes;

    internal bool TryGetStreamId(string stream, out int id) => _streamIds.TryGetValue(stream, out id);

    /// <summary>Where one frame lives in the byte array.</summary>
    internal readonly record struct Entry(int StreamId, int Offset, int Length, int DataOffset, int DataLength, long TimeNs);

    private sealed class Builder
    {
        private readonly ArrayBufferWriter<byte> _bytes = new(1 << 20);
        private readonly List<Entry> _entries = [];
        private readonly List<string> _streams = [];
        private readonly Dictionary<string, int> _streamIds = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _byChars;
        private long _skipped;

        public Builder() => _byChars = _streamIds.GetAlternateLookup<ReadOnlySpan<char>>();

        // A recorded or generated combined frame: keep its bytes as they are, find the stream and the payload in them.
        public void AddCombined(ReadOnlySpan<byte> frame, long timeNs)
        {
            if (!TrySplitCombined(frame, out var stream, out var dataStart, out var dataLength))
            {
                _skipped++;
                return;
            }

            var offset = _bytes.WrittenCount;
            _bytes.Write(frame);
            _entries.Add(new Entry(StreamId(stream), offset, frame.Length, offset + dataStart, dataLength, timeNs));
        }

        public void Add(string stream, ReadOnlySpan<byte> data, long timeNs)
        {
            // The same bytes Binance sends: no whitespace inside the wrapper.
            var prefix = Encoding.UTF8.GetBytes($"{{\"stream\":\"{stream}\",\"data\":");
            var offset = _bytes.WrittenCount;
            _bytes.Write(prefix);
            _bytes.Write(data);
            _bytes.Write("}"u8);
            _entries.Add(new Entry(StreamId(Encoding.UTF8.GetBytes(stream)), offset, prefix.Length + data.Length + 1, offset + prefix.Length, data.Length, timeNs));
        }

        public ExchangeFeed Build()
        {
            if (_bytes.WrittenCount > Array.MaxLength / 2)
            {
                throw new InvalidOperationException($"The feed holds {_bytes.WrittenCount:N0} bytes; keep it under 1 GiB (fewer frames, or loops).");
            }

            return new ExchangeFeed(_bytes.WrittenSpan.ToArray(), [.. _entries], [.. _streams], _skipped);
        }

        private int StreamId(ReadOnlySpan<byte> utf8Name)
        {
            Span<char> chars = utf8Name.Length <= 256 ? stackalloc char[256] : new char[utf8Name.Length];
            var length = Encoding.UTF8.GetChars(utf8Name, chars);
            if (_byChars.TryGetValue(chars[..length], out var id))
            {
                return id;
            }

            var name = new string(chars[..length]);
            _streamIds.Add(name, _streams.Count);
            _streams.Add(name);
            return _streams.Count - 1;
        }

        // Binance writes the wrapper as {"stream":"<name>","data":<payload>}; anything else (a REST snapshot line,
        // another order of the two properties) goes through the JSON reader.
        private static bool TrySplitCombined(ReadOnlySpan<byte> frame, out ReadOnlySpan<byte> stream, out int dataStart, out int dataLength)
        {
            ReadOnlySpan<byte> head = "{\"stream\":\""u8;
            ReadOnlySpan<byte> middle = "\",\"data\":"u8;
            if (frame.StartsWith(head) && frame[^1] == (byte)'}')
            {
                var nameLength = frame[head.Length..].IndexOf((byte)'"');
                if (nameLength > 0 && frame[(head.Length + nameLength)..].StartsWith(middle))
                {
                    stream = frame.Slice(head.Length, nameLength);
                    dataStart = head.Length + nameLength + middle.Length;
                    dataLength = frame.Length - 1 - dataStart;
                    return dataLength > 0;
                }
            }

            return TrySplitWithReader(frame, out stream, out dataStart, out dataLength);
        }

        private static bool TrySplitWithReader(ReadOnlySpan<byte> frame, out ReadOnlySpan<byte> stream, out int dataStart, out int dataLength)
        {
            stream = default;
            dataStart = dataLength = 0;
            try
            {
                var reader = new Utf8JsonReader(frame);
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isStream = reader.ValueTextEquals("stream"u8);
                    var isData = reader.ValueTextEquals("data"u8);
                    reader.Read();
                    if (isStream && reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped)
                    {
                        stream = frame.Slice((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length);
                    }

                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    if (isData)
                    {
                        dataStart = start;
                        dataLength = (int)reader.BytesConsumed - start;
                    }
                }

                return !stream.IsEmpty && dataLength > 0;
            }
            catch (JsonException)
            {
                return false;
            }
        }
    }
}

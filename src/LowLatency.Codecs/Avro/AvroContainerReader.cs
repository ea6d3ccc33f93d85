using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace LowLatency.Codecs.Avro;

/// <summary>Limits of an <see cref="AvroContainerReader"/>: a corrupt or hostile file cannot make it allocate more.</summary>
public sealed class AvroContainerOptions
{
    /// <summary>The largest block accepted, compressed or uncompressed, in bytes. Default 64 MiB.</summary>
    public int MaxBlockBytes { get; init; } = 64 << 20;

    /// <summary>The largest file header (magic, metadata, sync) accepted, in bytes. Default 1 MiB.</summary>
    public int MaxHeaderBytes { get; init; } = 1 << 20;
}

/// <summary>One data block of a container file: <see cref="Count"/> records, binary-encoded back to back in <see cref="Data"/>.</summary>
public readonly struct AvroContainerBlock
{
    internal AvroContainerBlock(long count, ReadOnlyMemory<byte> data, long index)
    {
        Count = count;
        Data = data;
        Index = index;
    }

    /// <summary>The number of records in the block.</summary>
    public long Count { get; }

    /// <summary>The decompressed records; valid until the reader's next <see cref="AvroContainerReader.TryReadBlock"/>.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The zero-based position of the block in the file.</summary>
    public long Index { get; }
}

/// <summary>
/// Reads Avro object container files (specification, "Object Container Files"): the <c>Obj\x01</c> header with its
/// metadata map and sync marker, then blocks of records, with the <c>null</c>, <c>deflate</c> (raw RFC 1951) and
/// <c>snappy</c> (with each block's big-endian CRC-32 of the uncompressed data verified) codecs. Any other codec,
/// such as <c>zstandard</c>, is refused at open with <see cref="AvroStatus.UnsupportedCodec"/> naming it.
/// </summary>
/// <remarks>
/// It streams: one buffer holds the current block (grown to the largest block, then reused), another its decompressed
/// form. Reading a block allocates only for deflate's stream objects. Every declared size is checked against
/// <see cref="AvroContainerOptions"/> before anything is allocated. Failures after open are statuses
/// (<see cref="Status"/>, <see cref="Error"/>), and the reader stops at the first one.
/// </remarks>
public sealed class AvroContainerReader : IDisposable
{
    private const int SyncSize = 16;
    private static ReadOnlySpan<byte> Magic => "Obj\u0001"u8;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly AvroContainerOptions _options;
    private readonly byte[] _sync = new byte[SyncSize];
    private readonly Dictionary<string, byte[]> _metadata = new(StringComparer.Ordinal);
    private byte[] _buffer = new byte[64 * 1024];
    private byte[] _decompressed = [];
    private int _start;
    private int _end;
    private bool _eof;
    private long _blockIndex;

    private AvroContainerReader(Stream stream, bool leaveOpen, AvroContainerOptions options)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        _options = options;
        Codec = "null";
        Schema = null!;
        Plan = null!;
    }

    /// <summary>The writer's schema (<c>avro.schema</c>).</summary>
    public AvroSchema Schema { get; private set; }

    /// <summary>The writer's schema, compiled.</summary>
    public AvroPlan Plan { get; private set; }

    /// <summary>The codec (<c>avro.codec</c>; <c>null</c> when absent).</summary>
    public string Codec { get; private set; }

    /// <summary>Every metadata entry, the reserved <c>avro.*</c> ones included.</summary>
    public IReadOnlyDictionary<string, byte[]> Metadata => _metadata;

    /// <summary>The file's 16-byte sync marker.</summary>
    public ReadOnlySpan<byte> SyncMarker => _sync;

    /// <summary><see cref="AvroStatus.Ok"/> until a read fails; then why.</summary>
    public AvroStatus Status { get; private set; }

    /// <summary>A description of the failure, or null.</summary>
    public string? Error { get; private set; }

    /// <summary>Opens a container in <paramref name="stream"/>, reading its header; a bad header is a status and a message.</summary>
    public static AvroStatus TryOpen(Stream stream, out AvroContainerReader? reader, out string? error, AvroContainerOptions? options = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var candidate = new AvroContainerReader(stream, leaveOpen, options ?? new AvroContainerOptions());
        var status = candidate.ReadHeader();
        if (status != AvroStatus.Ok)
        {
            error = candidate.Error;
            reader = null;
            candidate.Dispose();
            return status;
        }

        reader = candidate;
        error = null;
        return AvroStatus.Ok;
    }

    /// <summary>Opens a container or throws <see cref="AvroException"/> with the status and a message (an unsupported codec names itself).</summary>
    public static AvroContainerReader Open(Stream stream, AvroContainerOptions? options = null, bool leaveOpen = false)
    {
        var status = TryOpen(stream, out var reader, out var error, options, leaveOpen);
        return status == AvroStatus.Ok ? reader! : throw new AvroException(status, error!);
    }

    /// <summary>Opens the container file at <paramref name="path"/>.</summary>
    public static AvroContainerReader Open(string path, AvroContainerOptions? options = null) =>
        Open(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan), options);

    /// <summary>
    /// Reads the next block. False at the end of the file (<see cref="Status"/> stays <see cref="AvroStatus.Ok"/>) or on a
    /// failure (<see cref="Status"/> and <see cref="Error"/> say what).
    /// </summary>
    public bool TryReadBlock(out AvroContainerBlock block)
    {
        block = default;
        if (Status != AvroStatus.Ok || (!Fill(1) && Buffered.IsEmpty))
        {
            return false; // failed earlier, or a clean end between blocks
        }

        long count, size;
        int headerLength;
        while (true)
        {
            var reader = new AvroReader(Buffered);
            var status = reader.ReadLong(out count);
            if (status == AvroStatus.Ok)
            {
                status = reader.ReadLong(out size);
            }
            else
            {
                size = 0;
            }

            if (status == AvroStatus.Truncated && !_eof && Fill(Buffered.Length + 1))
            {
                continue;
            }

            if (status != AvroStatus.Ok)
            {
                return Fail(status, $"block {_blockIndex}: bad block header ({status})");
            }

            headerLength = reader.Position;
            break;
        }

        if (count < 0 || size < 0)
        {
            return Fail(AvroStatus.NegativeLength, $"block {_blockIndex}: negative record count or size");
        }

        if (size > _options.MaxBlockBytes)
        {
            return Fail(AvroStatus.LengthTooLarge, $"block {_blockIndex}: {size} bytes is more than MaxBlockBytes ({_options.MaxBlockBytes})");
        }

        var total = headerLength + (int)size + SyncSize;
        if (!Fill(total))
        {
            return Fail(AvroStatus.Truncated, $"block {_blockIndex}: truncated ({size} data bytes and a sync marker declared, {Buffered.Length - headerLength} remain)");
        }

        var raw = Buffered.Slice(headerLength, (int)size);
        if (!Buffered.Slice(headerLength + (int)size, SyncSize).SequenceEqual(_sync))
        {
            return Fail(AvroStatus.BadHeader, $"block {_blockIndex}: sync marker does not match the header's");
        }

        var dataOffset = _start + headerLength;
        ReadOnlyMemory<byte> data;
        switch (Codec)
        {
            case "null":
                data = _buffer.AsMemory(dataOffset, (int)size);
                break;
            case "deflate":
                if (!TryInflate(dataOffset, (int)size, out var inflated))
                {
                    return false;
                }

                data = _decompressed.AsMemory(0, inflated);
                break;
            default: // snappy
                if (!TryUnsnappy(raw, out var length))
                {
                    return false;
                }

                data = _decompressed.AsMemory(0, length);
                break;
        }

        // Records that need at least one byte each cannot outnumber the bytes; zero-size ones are capped.
        if (Plan.RootCanBeEmpty ? count > AvroPlan.MaxZeroSizeItems : count > data.Length)
        {
            return Fail(AvroStatus.LengthTooLarge, $"block {_blockIndex}: {count} records cannot fit in {data.Length} bytes");
        }

        _start += total;
        block = new AvroContainerBlock(count, data, _blockIndex++);
        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }

    private ReadOnlySpan<byte> Buffered => _buffer.AsSpan(_start, _end - _start);

    private AvroStatus ReadHeader()
    {
        while (true)
        {
            var reader = new AvroReader(Buffered);
            var status = ParseHeader(ref reader);
            // A length beyond the buffered bytes may only mean the rest is not read yet: read more and parse again.
            var wantsMore = status is AvroStatus.Truncated or AvroStatus.LengthTooLarge;
            if (wantsMore && !_eof && Buffered.Length < _options.MaxHeaderBytes && Fill(Buffered.Length + 1))
            {
                continue;
            }

            if (wantsMore)
            {
                return Buffered.Length >= _options.MaxHeaderBytes
                    ? Failed(AvroStatus.LengthTooLarge, $"header larger than MaxHeaderBytes ({_options.MaxHeaderBytes})")
                    : Failed(status, $"file ends inside the header ({status})");
            }

            if (status != AvroStatus.Ok)
            {
                return Status == AvroStatus.Ok ? Failed(status, $"bad header ({status})") : Status;
            }

            _start += reader.Position;
            return InterpretMetadata();
        }
    }

    private AvroStatus ParseHeader(ref AvroReader reader)
    {
        _metadata.Clear();
        var status = reader.ReadFixed(Magic.Length, out var magic);
        if (status != AvroStatus.Ok)
        {
            return status;
        }

        if (!magic.SequenceEqual(Magic))
        {
            return Failed(AvroStatus.BadHeader, $"not an Avro container file version 1 (magic {Convert.ToHexString(magic)}, expected 4F626A01)");
        }

        while (true)
        {
            if ((status = reader.ReadBlockHeader(out var count, out _)) != AvroStatus.Ok)
            {
                return status;
            }

            if (count == 0)
            {
                break;
            }

            if (count > reader.Remaining)
            {
                return AvroStatus.LengthTooLarge; // entries take at least 2 bytes each
            }

            for (long i = 0; i < count; i++)
            {
                if ((status = reader.ReadString(out var key)) != AvroStatus.Ok || (status = reader.ReadBytes(out var value)) != AvroStatus.Ok)
                {
                    return status;
                }

                _metadata[Encoding.UTF8.GetString(key)] = value.ToArray();
            }
        }

        if ((status = reader.ReadFixed(SyncSize, out var sync)) == AvroStatus.Ok)
        {
            sync.CopyTo(_sync);
        }

        return status;
    }

    private AvroStatus InterpretMetadata()
    {
        if (!_metadata.TryGetValue("avro.schema", out var schemaJson))
        {
            return Failed(AvroStatus.InvalidSchema, "header has no avro.schema");
        }

        try
        {
            Schema = AvroSchema.Parse(Encoding.UTF8.GetString(schemaJson));
        }
        catch (AvroException e)
        {
            return Failed(e.Status, "avro.schema: " + e.Message);
        }

        Plan = AvroPlan.Compile(Schema);
        Codec = _metadata.TryGetValue("avro.codec", out var codec) ? Encoding.UTF8.GetString(codec) : "null";
        return Codec is "null" or "deflate" or "snappy"
            ? AvroStatus.Ok
            : Failed(AvroStatus.UnsupportedCodec, $"codec '{Codec}' is not supported (this reader implements null, deflate and snappy)");
    }

    /// <summary>Makes at least <paramref name="minimum"/> bytes buffered (compacting, then growing the buffer); false if the stream ends first.</summary>
    private bool Fill(int minimum)
    {
        if (_end - _start >= minimum)
        {
            return true;
        }

        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (minimum > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(minimum, (int)Math.Min(Array.MaxLength, 2L * _buffer.Length)));
        }

        while (_end < minimum && !_eof)
        {
            var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (read == 0)
            {
                _eof = true;
            }

            _end += read;
        }

        return _end - _start >= minimum;
    }

    private bool TryInflate(int offset, int size, out int length)
    {
        length = 0;
        try
        {
            using var compressed = new MemoryStream(_buffer, offset, size, writable: false);
            using var inflater = new DeflateStream(compressed, CompressionMode.Decompress);
            while (true)
            {
                if (length == _decompressed.Length)
                {
                    if (length >= _options.MaxBlockBytes)
                    {
                        return Fail(AvroStatus.LengthTooLarge, $"block {_blockIndex}: inflates beyond MaxBlockBytes ({_options.MaxBlockBytes})");
                    }

                    Array.Resize(ref _decompressed, (int)Math.Min(_options.MaxBlockBytes, Math.Max(64 * 1024, 2L * length)));
                }

                var read = inflater.Read(_decompressed, length, _decompressed.Length - length);
                if (read == 0)
                {
                    return true;
                }

                length += read;
            }
        }
        catch (InvalidDataException e)
        {
            return Fail(AvroStatus.CorruptBlock, $"block {_blockIndex}: bad deflate data: {e.Message}");
        }
    }

    private bool TryUnsnappy(ReadOnlySpan<byte> raw, out int length)
    {
        length = 0;
        if (raw.Length < sizeof(uint))
        {
            return Fail(AvroStatus.CorruptBlock, $"block {_blockIndex}: snappy block shorter than its CRC-32");
        }

        var compressed = raw[..^sizeof(uint)];
        if (!Snappy.TryGetUncompressedLength(compressed, out length, out _))
        {
            return Fail(AvroStatus.CorruptBlock, $"block {_blockIndex}: bad snappy length");
        }

        if (length > _options.MaxBlockBytes)
        {
            return Fail(AvroStatus.LengthTooLarge, $"block {_blockIndex}: snappy declares {length} bytes, more than MaxBlockBytes ({_options.MaxBlockBytes})");
        }

        if (_decompressed.Length < length)
        {
            _decompressed = new byte[Math.Max(length, 64 * 1024)];
        }

        var output = _decompressed.AsSpan(0, length);
        if (!Snappy.TryDecompress(compressed, output))
        {
            return Fail(AvroStatus.CorruptBlock, $"block {_blockIndex}: corrupt snappy data");
        }

        var expected = BinaryPrimitives.ReadUInt32BigEndian(raw[^sizeof(uint)..]);
        var actual = AvroFingerprint.Crc32(output);
        return actual == expected || Fail(AvroStatus.CorruptBlock, $"block {_blockIndex}: snappy CRC-32 {actual:x8} does not match {expected:x8}");
    }

    private bool Fail(AvroStatus status, string error)
    {
        Failed(status, error);
        return false;
    }

    private AvroStatus Failed(AvroStatus status, string error)
    {
        Status = status;
        Error = "Avro container: " + error;
        return status;
    }
}

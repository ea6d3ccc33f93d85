using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LowLatency.Aggregation;
using LowLatency.Codecs.Avro;
using LowLatency.Market;

namespace LowLatency.Sinks.Batching;

/// <summary>
/// An append-only file of output batches: a sink's spill (batches the store could not take in time) or its failed
/// batches (rejected for good). Each append is flushed to disk (fsync) before it returns, so an appended batch counts as
/// durably written. Batches are read back oldest first, with the symbols mapped by name into the reader's table.
/// </summary>
/// <remarks>
/// <para>
/// Layout: a file header (<c>LLSJ</c>, format version, the size of <see cref="OutputEvent"/> in this build), then one
/// record per batch: the payload's length and its CRC-32 (little-endian u32 each), then the payload: the event count
/// (u32) and per event the symbol's name (u8 length, UTF-8) followed by the event's bytes as laid out in memory. The
/// struct is unmanaged (checked at start-up); the header's size guards against a journal written by a build whose
/// layout differs, which is refused with a clear error rather than misread. Symbol ids are process-local, so names
/// are stored and the ids rewritten on read.
/// </para>
/// <para>
/// A crash while appending leaves a torn last record: its length or CRC does not match, it is ignored when read
/// (it was never acknowledged, since the append had not returned), and the file is cut back to the last whole record.
/// </para>
/// </remarks>
public sealed class SpillJournal : IDisposable
{
    private const uint Magic = 0x4A534C4C; // "LLSJ" little-endian
    private const int Version = 1;
    private const int HeaderBytes = 12;
    private const int RecordHeaderBytes = 8;

    private static readonly int s_eventBytes = Unsafe.SizeOf<OutputEvent>();

    private readonly string _path;
    private FileStream? _append;
    private byte[] _buffer = new byte[64 * 1024];

    /// <summary>Opens (or creates on first append) the journal at <paramref name="path"/>.</summary>
    public SpillJournal(string path)
    {
        if (RuntimeHelpers.IsReferenceOrContainsReferences<OutputEvent>())
        {
            throw new InvalidOperationException("OutputEvent holds references: it cannot be journalled as bytes.");
        }

        _path = path;
    }

    /// <summary>The file.</summary>
    public string Path => _path;

    /// <summary>Bytes on disk now (0 if there is no file).</summary>
    public long Length => _append?.Length ?? (File.Exists(_path) ? new FileInfo(_path).Length : 0);

    /// <summary>Whether the journal holds at least one batch.</summary>
    public bool HasBatches => Length > HeaderBytes;

    /// <summary>Appends <paramref name="batch"/> and flushes it to disk; returns the bytes appended.</summary>
    public long Append(OutputBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var stream = _append ??= OpenForAppend();
        var payloadBytes = 4 + (batch.Count * (1 + 255 + s_eventBytes));
        EnsureBuffer(RecordHeaderBytes + payloadBytes);
        var payload = _buffer.AsSpan(RecordHeaderBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)batch.Count);
        var at = 4;
        foreach (ref readonly var e in batch.Events)
        {
            var name = batch.Symbols.GetUtf8(SymbolOf(in e));
            payload[at++] = (byte)name.Length;
            name.CopyTo(payload[at..]);
            at += name.Length;
            MemoryMarshal.AsBytes(new ReadOnlySpan<OutputEvent>(in e)).CopyTo(payload[at..]);
            at += s_eventBytes;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(_buffer, (uint)at);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(4), AvroFingerprint.Crc32(payload[..at]));
        stream.Write(_buffer, 0, RecordHeaderBytes + at);
        stream.Flush(flushToDisk: true);
        return RecordHeaderBytes + at;
    }

    /// <summary>
    /// Reads every whole batch, oldest first, into <paramref name="into"/> (cleared before each) and hands it to
    /// <paramref name="onBatch"/>; a torn last record is dropped and the file cut back to the whole ones. Streams the
    /// file: memory is one record, however long the outage was. Returns the batches read.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a journal of this build's layout, or is corrupt before its end.</exception>
    public async Task<int> ReadAllAsync(OutputBatch into, Func<OutputBatch, Task> onBatch)
    {
        ArgumentNullException.ThrowIfNull(into);
        ArgumentNullException.ThrowIfNull(onBatch);
        CloseAppend();
        if (!File.Exists(_path))
        {
            return 0;
        }

        long whole;
        var batches = 0;
        await using (var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true))
        {
            var header = new byte[HeaderBytes];
            if (await stream.ReadAtLeastAsync(header, HeaderBytes, throwOnEndOfStream: false).ConfigureAwait(false) < HeaderBytes)
            {
                return 0; // created, never appended to
            }

            CheckHeader(header);
            whole = HeaderBytes;
            while (true)
            {
                var record = await ReadRecordAsync(stream).ConfigureAwait(false);
                if (record < 0)
                {
                    break;
                }

                Decode(_buffer.AsSpan(RecordHeaderBytes, record), into);
                await onBatch(into).ConfigureAwait(false);
                batches++;
                whole += RecordHeaderBytes + record;
            }
        }

        CutTo(whole);
        return batches;
    }

    /// <summary>
    /// Moves the journal's batches to <paramref name="sealedPath"/> (if it has any) and starts afresh, so batches
    /// appended from now on go to a new file while the sealed one is replayed: a replay never reads a file that is still
    /// growing, nor deletes a batch appended after it began. False if there was nothing to seal. The caller serialises
    /// it with <see cref="Append"/>.
    /// </summary>
    public bool SealTo(string sealedPath)
    {
        CloseAppend();
        if (!HasBatches)
        {
            return false;
        }

        File.Move(_path, sealedPath, overwrite: false);
        return true;
    }

    /// <summary>Removes the file (every batch in it is in the store now).</summary>
    public void Delete()
    {
        CloseAppend();
        File.Delete(_path);
    }

    /// <inheritdoc />
    public void Dispose() => CloseAppend();

    private static int SymbolOf(in OutputEvent e) => e.Kind switch
    {
        OutputKind.Candle => e.Candle.SymbolId,
        OutputKind.Alert => e.Alert.SymbolId,
        _ => e.SymbolId,
    };

    private static void CheckHeader(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderBytes || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic)
        {
            throw new InvalidDataException("Not a LowLatency spill journal (bad magic).");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(bytes[4..]);
        var eventBytes = BinaryPrimitives.ReadInt32LittleEndian(bytes[8..]);
        if (version != Version || eventBytes != s_eventBytes)
        {
            throw new InvalidDataException(
                $"The spill journal was written by another build (format {version}, {eventBytes}-byte events; this build reads format {Version}, {s_eventBytes}-byte events). Replay it with the version that wrote it.");
        }
    }

    private static void Decode(ReadOnlySpan<byte> payload, OutputBatch into)
    {
        into.Clear();
        var count = (int)BinaryPrimitives.ReadUInt32LittleEndian(payload);
        var at = 4;
        for (var i = 0; i < count; i++)
        {
            if (at >= payload.Length)
            {
                throw new InvalidDataException("A spill journal record ends inside an event although its CRC matched.");
            }

            var nameLength = payload[at++];
            var id = into.Symbols.GetOrAdd(payload.Slice(at, nameLength));
            at += nameLength;
            var e = MemoryMarshal.Read<OutputEvent>(payload.Slice(at, s_eventBytes));
            at += s_eventBytes;
            e.SymbolId = e.Kind is OutputKind.Candle or OutputKind.Alert or OutputKind.Ticker or OutputKind.Kline or OutputKind.Trade ? id : e.SymbolId;
            e.Candle.SymbolId = e.Kind == OutputKind.Candle ? id : e.Candle.SymbolId;
            e.Alert.SymbolId = e.Kind == OutputKind.Alert ? id : e.Alert.SymbolId;
            into.Add(in e, 0);
        }
    }

    /// <summary>Reads the next record into the buffer (its header first); the payload's length, or -1 at the end or a torn record.</summary>
    private async Task<int> ReadRecordAsync(FileStream stream)
    {
        if (await stream.ReadAtLeastAsync(_buffer.AsMemory(0, RecordHeaderBytes), RecordHeaderBytes, throwOnEndOfStream: false).ConfigureAwait(false) < RecordHeaderBytes)
        {
            return -1;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(_buffer);
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(4));
        if (length < 4 || length > stream.Length - stream.Position)
        {
            return -1; // torn: the append did not finish
        }

        EnsureBuffer(RecordHeaderBytes + (int)length);
        await stream.ReadExactlyAsync(_buffer.AsMemory(RecordHeaderBytes, (int)length)).ConfigureAwait(false);
        if (AvroFingerprint.Crc32(_buffer.AsSpan(RecordHeaderBytes, (int)length)) == crc)
        {
            return (int)length;
        }

        // Only the last record can be torn by a crash; a bad one with records after it is damage, never cut away silently.
        return stream.Position == stream.Length ? -1
            : throw new InvalidDataException($"The spill journal {_path} has a corrupt record ending at byte {stream.Position} of {stream.Length}; it is kept as it is.");
    }

    /// <summary>Cuts the file back to <paramref name="length"/> bytes (a torn last record), if it is longer.</summary>
    private void CutTo(long length)
    {
        if (new FileInfo(_path).Length > length)
        {
            using var cut = new FileStream(_path, FileMode.Open, FileAccess.Write);
            cut.SetLength(length);
            cut.Flush(flushToDisk: true);
        }
    }

    private FileStream OpenForAppend()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(_path))!);
        var stream = new FileStream(_path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        if (stream.Length < HeaderBytes)
        {
            stream.SetLength(0);
            Span<byte> header = stackalloc byte[HeaderBytes];
            BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
            BinaryPrimitives.WriteInt32LittleEndian(header[4..], Version);
            BinaryPrimitives.WriteInt32LittleEndian(header[8..], s_eventBytes);
            stream.Write(header);
            stream.Flush(flushToDisk: true);
        }
        else
        {
            // After a crash the last record may be torn: append after the last whole one, never after the tear.
            Span<byte> header = stackalloc byte[HeaderBytes];
            stream.ReadExactly(header);
            CheckHeader(header);
            var whole = (long)HeaderBytes;
            int record;
            while ((record = ReadRecordAsync(stream).GetAwaiter().GetResult()) >= 0)
            {
                whole += RecordHeaderBytes + record;
            }

            stream.SetLength(whole);
        }

        stream.Seek(0, SeekOrigin.End);
        return stream;
    }

    private void EnsureBuffer(int bytes)
    {
        if (_buffer.Length < bytes)
        {
            _buffer = new byte[Math.Max(bytes, _buffer.Length * 2)];
        }
    }

    private void CloseAppend()
    {
        _append?.Dispose();
        _append = null;
    }
}

using System.Buffers;
using System.IO.Compression;
using LowLatency.Parquet.Format;
using LowLatency.Parquet.Writing;

namespace LowLatency.Parquet.Compression;

/// <summary>
/// Compresses and decompresses page bodies: UNCOMPRESSED, SNAPPY (raw Snappy blocks: our <see cref="SnappyEncoder"/>
/// to compress, IronSnappy to decompress) and GZIP (RFC 1952, System.IO.Compression). One instance per writer or
/// reader; its buffers are reused from page to page.
/// </summary>
internal sealed class PageCodec
{
    /// <summary>
    /// The most a GZIP page may claim to expand: DEFLATE's own limit is about 1032:1. A declared uncompressed size above
    /// this is refused before anything of that size is allocated.
    /// </summary>
    private const int MaxGzipRatio = 1032;

    private readonly CompressionLevel _gzipLevel;
    private readonly MemoryStream _gzipOutput = new();

    // SNAPPY output, reused from page to page (rented: see Release); the encoder is created by the first SNAPPY page.
    private readonly PooledBufferWriter _output = new(1 << 16);
    private SnappyEncoder? _snappy;

    public PageCodec(CompressionLevel gzipLevel = CompressionLevel.Optimal) => _gzipLevel = gzipLevel;

    /// <summary>Compresses <paramref name="input"/>; the result is valid until the next call.</summary>
    public ReadOnlySpan<byte> Compress(CompressionCodec codec, ReadOnlySpan<byte> input)
    {
        switch (codec)
        {
            case CompressionCodec.Uncompressed:
                return input;
            case CompressionCodec.Snappy:
            {
                _output.ResetWrittenCount();
                var written = (_snappy ??= new SnappyEncoder()).Compress(input, _output.GetSpan(SnappyEncoder.MaxCompressedLength(input.Length)));
                _output.Advance(written);
                return _output.WrittenSpan;
            }

            case CompressionCodec.Gzip:
            {
                _gzipOutput.SetLength(0);
                using (var gzip = new GZipStream(_gzipOutput, _gzipLevel, leaveOpen: true))
                {
                    gzip.Write(input);
                }

                return _gzipOutput.GetBuffer().AsSpan(0, (int)_gzipOutput.Length);
            }

            default:
                throw new NotSupportedException($"The writer does not implement codec {codec}.");
        }
    }

    /// <summary>Returns the pooled output buffer; a later <see cref="Compress"/> rents again.</summary>
    public void Release() => _output.Release();

    /// <summary>
    /// Decompresses a page into exactly <paramref name="uncompressedSize"/> bytes; a stream that is longer, shorter
    /// or damaged is a <see cref="ParquetFormatException"/> naming <paramref name="where"/>.
    /// </summary>
    public byte[] Decompress(CompressionCodec codec, ReadOnlySpan<byte> input, int uncompressedSize, string where)
    {
        if (uncompressedSize < 0)
        {
            ThrowHelper.Format($"Invalid page at {where}: negative uncompressed size {uncompressedSize}.");
        }

        switch (codec)
        {
            case CompressionCodec.Uncompressed:
                if (input.Length != uncompressedSize)
                {
                    ThrowHelper.Format($"Invalid page at {where}: uncompressed page of {input.Length} bytes declares {uncompressedSize}.");
                }

                return input.ToArray();
            case CompressionCodec.Snappy:
                return DecompressSnappy(input, uncompressedSize, where);
            case CompressionCodec.Gzip:
                return DecompressGzip(input, uncompressedSize, where);
            default:
                throw new ParquetUnsupportedException($"Page at {where} uses codec {codec}, which this reader does not implement.");
        }
    }

    private static byte[] DecompressSnappy(ReadOnlySpan<byte> input, int uncompressedSize, string where)
    {
        // A Snappy block starts with its uncompressed length as a varint: check it against the page header first,
        // so a damaged length never reaches the decoder's allocation.
        ulong length = 0;
        var i = 0;
        for (var shift = 0; ; shift += 7)
        {
            if (i >= input.Length || shift > 28)
            {
                ThrowHelper.Format($"Invalid Snappy page at {where}: bad length preamble.");
            }

            var b = input[i++];
            length |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                break;
            }
        }

        if (length != (ulong)uncompressedSize)
        {
            ThrowHelper.Format($"Invalid Snappy page at {where}: the block holds {length} bytes, the page header says {uncompressedSize}.");
        }

        // Each Snappy tag of at most 5 bytes yields at most 64 bytes: a length beyond that ratio cannot be honest.
        if (length > 64 * (ulong)input.Length + 64)
        {
            ThrowHelper.Format($"Invalid Snappy page at {where}: {input.Length} bytes cannot expand to {length}.");
        }

        byte[] output;
        try
        {
            output = IronSnappy.Snappy.Decode(input);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ParquetFormatException($"Invalid Snappy page at {where}: {e.Message}", e);
        }

        if (output.Length != uncompressedSize)
        {
            ThrowHelper.Format($"Invalid Snappy page at {where}: decoded {output.Length} bytes, the page header says {uncompressedSize}.");
        }

        return output;
    }

    private static byte[] DecompressGzip(ReadOnlySpan<byte> input, int uncompressedSize, string where)
    {
        if ((long)uncompressedSize > (long)input.Length * MaxGzipRatio + 1024)
        {
            ThrowHelper.Format($"Invalid GZIP page at {where}: {input.Length} bytes cannot expand to {uncompressedSize}.");
        }

        var output = new byte[uncompressedSize];
        var rented = ArrayPool<byte>.Shared.Rent(input.Length);
        try
        {
            input.CopyTo(rented);
            using var gzip = new GZipStream(new MemoryStream(rented, 0, input.Length), CompressionMode.Decompress);
            var filled = 0;
            while (filled < output.Length)
            {
                var read = gzip.Read(output, filled, output.Length - filled);
                if (read == 0)
                {
                    ThrowHelper.Format($"Invalid GZIP page at {where}: decoded {filled} bytes, the page header says {uncompressedSize}.");
                }

                filled += read;
            }

            Span<byte> probe = stackalloc byte[1];
            if (gzip.Read(probe) != 0)
            {
                ThrowHelper.Format($"Invalid GZIP page at {where}: more than the {uncompressedSize} bytes the page header says.");
            }
        }
        catch (InvalidDataException e)
        {
            throw new ParquetFormatException($"Invalid GZIP page at {where}: {e.Message}", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return output;
    }
}

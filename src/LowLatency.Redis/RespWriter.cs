using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace LowLatency.Redis;

/// <summary>
/// Writes commands as RESP2 arrays of bulk strings into one reusable buffer (rented from <see cref="ArrayPool{T}"/>,
/// grown by doubling, never shrunk), so a warmed-up pipeline writes without allocating. Numbers are formatted straight
/// into the buffer. <see cref="Command"/> writes the array header; then exactly that many arguments must follow, which
/// is checked before the next command and before the bytes are sent, so a miscounted command cannot desynchronise the
/// connection.
/// </summary>
public sealed class RespWriter : IDisposable
{
    /// <summary>Room for the longest number or header line: sign, 20 digits, and slack for doubles ("-1.7976931348623157E+308").</summary>
    private const int MaxNumberLength = 32;

    private byte[] _buffer;
    private int _length;
    private int _argumentsMissing;

    public RespWriter(int initialSize = 16 * 1024) =>
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialSize, 256));

    /// <summary>Commands written since the last <see cref="Reset"/>.</summary>
    public int Commands { get; private set; }

    /// <summary>The bytes written so far.</summary>
    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _length);

    /// <summary>Whether every command written so far has all of its arguments.</summary>
    public bool IsComplete => _argumentsMissing == 0;

    /// <summary>Starts a command of <paramref name="arguments"/> parts, the command name included (<c>SET k v</c> is 3).</summary>
    public RespWriter Command(int arguments)
    {
        if (_argumentsMissing != 0 || arguments <= 0)
        {
            ThrowArgumentCount(arguments);
        }

        var span = GetSpan(MaxNumberLength);
        span[0] = (byte)'*';
        Utf8Formatter.TryFormat(arguments, span[1..], out var written);
        span[1 + written] = (byte)'\r';
        span[2 + written] = (byte)'\n';
        _length += written + 3;
        _argumentsMissing = arguments;
        Commands++;
        return this;
    }

    /// <summary>A bulk-string argument.</summary>
    public RespWriter Arg(ReadOnlySpan<byte> value)
    {
        TakeArgument();
        var span = GetSpan(value.Length + MaxNumberLength);
        var header = WriteBulkHeader(span, value.Length);
        value.CopyTo(span[header..]);
        span[header + value.Length] = (byte)'\r';
        span[header + value.Length + 1] = (byte)'\n';
        _length += header + value.Length + 2;
        return this;
    }

    /// <summary>A text argument, encoded as UTF-8 straight into the buffer.</summary>
    public RespWriter Arg(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        TakeArgument();
        var byteCount = Encoding.UTF8.GetByteCount(value);
        var span = GetSpan(byteCount + MaxNumberLength);
        var header = WriteBulkHeader(span, byteCount);
        Encoding.UTF8.GetBytes(value, span[header..]);
        span[header + byteCount] = (byte)'\r';
        span[header + byteCount + 1] = (byte)'\n';
        _length += header + byteCount + 2;
        return this;
    }

    /// <summary>An integer argument in decimal (EXPIRE seconds, counters, stream ids' parts).</summary>
    public RespWriter Arg(long value)
    {
        Span<byte> digits = stackalloc byte[MaxNumberLength];
        Utf8Formatter.TryFormat(value, digits, out var written);
        return Arg(digits[..written]);
    }

    /// <summary>A double argument, shortest text that round-trips; infinities as Redis spells them (inf, -inf).</summary>
    public RespWriter Arg(double value)
    {
        if (double.IsNaN(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "Redis does not accept NaN as a number.");
        }

        if (double.IsInfinity(value))
        {
            return Arg(value > 0 ? "inf"u8 : "-inf"u8);
        }

        Span<byte> digits = stackalloc byte[MaxNumberLength];
        value.TryFormat(digits, out var written, "R", CultureInfo.InvariantCulture);
        return Arg(digits[..written]);
    }

    /// <summary>A decimal argument in plain notation (prices and quantities as the exchange sent them).</summary>
    public RespWriter Arg(decimal value)
    {
        Span<byte> digits = stackalloc byte[MaxNumberLength];
        Utf8Formatter.TryFormat(value, digits, out var written);
        return Arg(digits[..written]);
    }

    /// <summary>Forgets what was written (after it was sent, or after a failure).</summary>
    public void Reset()
    {
        _length = 0;
        _argumentsMissing = 0;
        Commands = 0;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _length = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void TakeArgument()
    {
        if (_argumentsMissing <= 0)
        {
            ThrowNoCommand();
        }

        _argumentsMissing--;
    }

    private static int WriteBulkHeader(Span<byte> span, int length)
    {
        span[0] = (byte)'$';
        Utf8Formatter.TryFormat(length, span[1..], out var written);
        span[1 + written] = (byte)'\r';
        span[2 + written] = (byte)'\n';
        return written + 3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<byte> GetSpan(int size)
    {
        if (_buffer.Length - _length < size)
        {
            Grow(size);
        }

        return _buffer.AsSpan(_length);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int size)
    {
        var needed = checked(_length + size);
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, checked(_buffer.Length * 2)));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowArgumentCount(int arguments)
    {
        if (_argumentsMissing != 0)
        {
            throw new InvalidOperationException(
                $"The previous command still misses {_argumentsMissing} of its arguments; write them before the next command.");
        }

        throw new ArgumentOutOfRangeException(nameof(arguments), arguments, "A command has at least its name.");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNoCommand() =>
        throw new InvalidOperationException("More arguments than the command declared (or no Command(n) before them).");
}

using System.Buffers.Text;
using LowLatency.Connectors.Replay;
using LowLatency.Market;
using LowLatency.Parquet.Datasets;

namespace LowLatency.Host.Replay;

/// <summary>
/// Trades from Parquet files as Binance trade frames (<c>{"e":"trade",…}</c>, the stream's own shape), so they reach the
/// aggregation through exactly the decoder live trades take, and the replay pacer can pace them by trade time. The
/// receive time of each frame is the trade time. Without an <c>is_buyer_maker</c> column, trades count as taker buys.
/// </summary>
internal sealed class ParquetTradeFrames(IReadOnlyList<string> files) : IFrameSource
{
    private readonly ParquetTradeReader _reader = new(files);
    private readonly byte[] _frame = new byte[256 + SymbolTable.MaxSymbolBytes];

    /// <inheritdoc />
    public long ErrorLines => 0; // a file the reader cannot read fails the replay with the reason instead

    /// <inheritdoc />
    public bool TryRead(out RecordedFrame frame)
    {
        if (!_reader.TryRead(out var trade))
        {
            frame = default;
            return false;
        }

        var timeMs = trade.TimeNs / 1_000_000;
        var w = new FrameWriter(_frame);
        w.Append("{\"e\":\"trade\",\"E\":"u8);
        w.Append(timeMs);
        w.Append(",\"s\":\""u8);
        w.Append(trade.Symbol.AsSpan(0, Math.Min(trade.Symbol.Length, SymbolTable.MaxSymbolBytes)));
        w.Append("\",\"t\":"u8);
        w.Append(trade.TradeId);
        w.Append(",\"p\":\""u8);
        w.AppendFixedPoint(trade.Price);
        w.Append("\",\"q\":\""u8);
        w.AppendFixedPoint(trade.Quantity);
        w.Append("\",\"T\":"u8);
        w.Append(timeMs);
        w.Append(trade.IsBuyerMaker == true ? ",\"m\":true,\"M\":true}"u8 : ",\"m\":false,\"M\":true}"u8);
        frame = new RecordedFrame(_frame.AsMemory(0, w.Length), trade.TimeNs, _reader.Rows);
        return true;
    }

    public void Dispose() => _reader.Dispose();

    private ref struct FrameWriter(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;

        public int Length { get; private set; }

        public void Append(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_buffer[Length..]);
            Length += bytes.Length;
        }

        public void Append(long value)
        {
            Utf8Formatter.TryFormat(value, _buffer[Length..], out var written);
            Length += written;
        }

        public void AppendFixedPoint(long mantissa)
        {
            FixedPoint.TryFormat(mantissa, _buffer[Length..], out var written);
            Length += written;
        }
    }
}

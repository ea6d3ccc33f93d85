using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;

namespace LowLatency.Connectors.Replay;

/// <summary>Options of <see cref="MarketDataGenerator"/>; every default is documented where it is declared.</summary>
public sealed class MarketDataGeneratorOptions
{
    /// <summary>The seed: the same seed and options give a byte-identical stream. Default 1.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>How many symbols. Default 50: BTCUSDT, ETHUSDT and 18 more real names, then generated ones (QAAAUSDT, ...).</summary>
    public int SymbolCount { get; init; } = 50;

    /// <summary>
    /// The exponent <c>s</c> of the Zipf-like activity: symbol <c>k</c> (from 0) gets weight <c>1 / (k + 1)^s</c>, so the
    /// first symbols dominate as on the real exchange. Default 1.0 (BTCUSDT ≈ 22% of 50 symbols' traffic).
    /// </summary>
    public double ZipfExponent { get; init; } = 1.0;

    /// <summary>Relative weight of trade frames. Default 9,757: the trade count of the BTCUSDT recording (≈ 24%).</summary>
    public int TradeWeight { get; init; } = 9_757;

    /// <summary>Relative weight of bookTicker frames. Default 28,040: the BTCUSDT recording's count (≈ 68%).</summary>
    public int BookTickerWeight { get; init; } = 28_040;

    /// <summary>Relative weight of depthUpdate frames. Default 3,451: the BTCUSDT recording's count (≈ 8%).</summary>
    public int DepthUpdateWeight { get; init; } = 3_451;

    /// <summary>The event time of the first frame, ns since the Unix epoch. Default 2024-08-08 23:54:13 UTC (the recordings' start).</summary>
    public long StartTimeNs { get; init; } = 1_723_161_253_000_000_000;

    /// <summary>Mean gap between consecutive frames' event times, in ns (uniform in [1, 2 × mean]). Default 20,000 (50 k frames/s).</summary>
    public long MeanGapNs { get; init; } = 20_000;

    /// <summary>
    /// Most price levels per side of a depthUpdate (uniform in [0, max]). Default 40: about 40 levels per frame and
    /// ≈ 1.4 KB, like the BTCUSDT recording's 1.3 KB mean depth frame.
    /// </summary>
    public int MaxDepthLevelsPerSide { get; init; } = 40;
}

/// <summary>The kind of a generated frame.</summary>
public enum GeneratedFrameKind
{
    /// <summary><c>&lt;symbol&gt;@trade</c>.</summary>
    Trade,

    /// <summary><c>&lt;symbol&gt;@bookTicker</c> (spot: no <c>e</c>/<c>E</c>).</summary>
    BookTicker,

    /// <summary><c>&lt;symbol&gt;@depth@100ms</c>.</summary>
    DepthUpdate,
}

/// <summary>
/// A deterministic generator of realistic Binance Spot combined-stream frames for load tests: trade, bookTicker and
/// depthUpdate frames with the exact field layout of the real recordings, skewed (Zipf-like) activity across symbols,
/// consecutive trade ids per symbol, depth <c>U == previous u + 1</c> per symbol (bookTicker <c>u</c> shares the
/// symbol's update-id sequence), prices as a random walk on each symbol's tick, 8-decimal strings, and
/// strictly increasing event times.
/// </summary>
/// <remarks>
/// Writes each frame into a caller-provided buffer with no allocation: fixed parts are prebuilt UTF-8 per symbol,
/// numbers are formatted with <see cref="Utf8Formatter"/> and integer arithmetic. The random source is SplitMix64 (not
/// <see cref="Random"/>) so the stream is identical across runtimes. Not thread-safe: one generator per producer thread.
/// </remarks>
public sealed class MarketDataGenerator
{
    private const long Scale = 100_000_000; // 8 decimals, as Binance prints them
    private const int MaxNumberBytes = 22;  // 11 integer digits (long / 1e8), '.', 8 decimals, 2 quotes

    private static readonly (string Name, long Price, long Tick)[] s_knownSymbols =
    [
        // Approximate prices of 2024-08-08 (units of 1e-8) and Binance's tick sizes.
        ("BTCUSDT", 6_183_763_000_000, 1_000_000),
        ("ETHUSDT", 269_000_000_000, 1_000_000),
        ("BNBUSDT", 52_000_000_000, 1_000_000),
        ("SOLUSDT", 15_800_000_000, 1_000_000),
        ("XRPUSDT", 61_000_000, 10_000),
        ("DOGEUSDT", 10_500_000, 1_000),
        ("ADAUSDT", 34_500_000, 10_000),
        ("TRXUSDT", 13_000_000, 1_000),
        ("AVAXUSDT", 2_200_000_000, 1_000_000),
        ("LINKUSDT", 1_030_000_000, 100_000),
        ("DOTUSDT", 490_000_000, 100_000),
        ("LTCUSDT", 6_200_000_000, 1_000_000),
        ("BCHUSDT", 33_000_000_000, 10_000_000),
        ("NEARUSDT", 440_000_000, 100_000),
        ("UNIUSDT", 630_000_000, 100_000),
        ("ATOMUSDT", 500_000_000, 100_000),
        ("ETCUSDT", 1_950_000_000, 1_000_000),
        ("FILUSDT", 360_000_000, 100_000),
        ("APTUSDT", 640_000_000, 100_000),
        ("ARBUSDT", 57_000_000, 10_000),
    ];

    // "00" "01" ... "99": two decimal digits per lookup.
    private static readonly byte[] s_digitPairs = BuildDigitPairs();

    private readonly SymbolState[] _symbols;
    private readonly double[] _cumulativeActivity; // Zipf CDF over symbols, last entry 1.0
    private readonly ulong _tradeWeight;
    private readonly ulong _tradeOrBookWeight;
    private readonly ulong _totalWeight;
    private readonly ulong _gapRange;
    private readonly int _maxLevels;
    private ulong _rng;
    private long _timeNs;

    public MarketDataGenerator(MarketDataGeneratorOptions? options = null)
    {
        options ??= new MarketDataGeneratorOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SymbolCount, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.TradeWeight, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.BookTickerWeight, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.DepthUpdateWeight, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MeanGapNs, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxDepthLevelsPerSide, nameof(options));

        _rng = options.Seed;
        _timeNs = options.StartTimeNs;
        _gapRange = (ulong)options.MeanGapNs * 2;
        _maxLevels = options.MaxDepthLevelsPerSide;
        _tradeWeight = (ulong)options.TradeWeight;
        _tradeOrBookWeight = _tradeWeight + (ulong)options.BookTickerWeight;
        _totalWeight = _tradeOrBookWeight + (ulong)options.DepthUpdateWeight;
        ArgumentOutOfRangeException.ThrowIfZero(_totalWeight, nameof(options));

        _symbols = new SymbolState[options.SymbolCount];
        _cumulativeActivity = new double[options.SymbolCount];
        var names = new string[options.SymbolCount];
        var sum = 0.0;
        for (var k = 0; k < options.SymbolCount; k++)
        {
            sum += 1.0 / Math.Pow(k + 1, options.ZipfExponent);
            _cumulativeActivity[k] = sum;
        }

        for (var k = 0; k < options.SymbolCount; k++)
        {
            _cumulativeActivity[k] /= sum;
            names[k] = k < s_knownSymbols.Length ? s_knownSymbols[k].Name : GeneratedName(k);
            var (price, tick) = k < s_knownSymbols.Length ? (s_knownSymbols[k].Price, s_knownSymbols[k].Tick) : GeneratedPrice();
            _symbols[k] = new SymbolState(names[k], price, tick, NextBelow(4_000_000_000) + 1, NextBelow(50_000_000_000) + 1);
        }

        _cumulativeActivity[^1] = 1.0;
        Symbols = names;
        var longestName = names.Max(n => n.Length);
        MaxFrameBytes = 256 + 4 * longestName + 2 * _maxLevels * (2 * MaxNumberBytes + 4);
    }

    /// <summary>The symbols, most active first.</summary>
    public IReadOnlyList<string> Symbols { get; }

    /// <summary>The largest frame this generator can write; <see cref="WriteNext"/> requires a destination at least this long.</summary>
    public int MaxFrameBytes { get; }

    /// <summary>The kind of the frame written last.</summary>
    public GeneratedFrameKind LastKind { get; private set; }

    /// <summary>The index into <see cref="Symbols"/> of the frame written last.</summary>
    public int LastSymbolIndex { get; private set; }

    /// <summary>Frames written so far.</summary>
    public long FramesWritten { get; private set; }

    /// <summary>
    /// Writes the next frame (a combined-stream wrapper <c>{"stream":…,"data":…}</c>, UTF-8 JSON, no newline) into
    /// <paramref name="destination"/>, which must be at least <see cref="MaxFrameBytes"/> long.
    /// </summary>
    /// <param name="destination">Where the frame goes.</param>
    /// <param name="eventTimeNs">The frame's event time in ns since the epoch (its <c>E</c> is this in ms; bookTicker has no <c>E</c>).</param>
    /// <returns>The frame's length in bytes.</returns>
    public int WriteNext(Span<byte> destination, out long eventTimeNs)
    {
        if (destination.Length < MaxFrameBytes)
        {
            ThrowDestinationTooSmall(destination.Length);
        }

        _timeNs += 1 + (long)NextBelow(_gapRange);
        eventTimeNs = _timeNs;
        var symbolIndex = NextSymbol();
        var symbol = _symbols[symbolIndex];
        symbol.Walk(Next());

        var kind = NextBelow(_totalWeight);
        int written;
        if (kind < _tradeWeight)
        {
            LastKind = GeneratedFrameKind.Trade;
            written = WriteTrade(destination, symbol);
        }
        else if (kind < _tradeOrBookWeight)
        {
            LastKind = GeneratedFrameKind.BookTicker;
            written = WriteBookTicker(destination, symbol);
        }
        else
        {
            LastKind = GeneratedFrameKind.DepthUpdate;
            written = WriteDepthUpdate(destination, symbol);
        }

        LastSymbolIndex = symbolIndex;
        FramesWritten++;
        return written;
    }

    // {"stream":"btcusdt@trade","data":{"e":"trade","E":…,"s":"BTCUSDT","t":…,"p":"…","q":"…","T":…,"m":true,"M":true}}
    private int WriteTrade(Span<byte> d, SymbolState symbol)
    {
        var eventMs = _timeNs / 1_000_000;
        var r = Next();
        var buyerIsMaker = (r & 1) == 0;
        var pos = Copy(d, 0, symbol.TradeHead);
        pos = Integer(d, pos, eventMs);
        pos = Copy(d, pos, symbol.TradeSymbol);
        pos = Integer(d, pos, ++symbol.TradeId);
        pos = Copy(d, pos, ",\"p\":\""u8);
        pos = Decimal(d, pos, buyerIsMaker ? symbol.Bid : symbol.Ask);
        pos = Copy(d, pos, "\",\"q\":\""u8);
        pos = Decimal(d, pos, symbol.Quantity(r >> 8));
        pos = Copy(d, pos, "\",\"T\":"u8);
        // T is at most E and, as on Binance, never goes back as trade ids go up (a jitter below E, clamped).
        symbol.LastTradeTimeMs = Math.Max(symbol.LastTradeTimeMs, eventMs - (long)((r >> 1) & 1));
        pos = Integer(d, pos, symbol.LastTradeTimeMs);
        pos = Copy(d, pos, buyerIsMaker ? ",\"m\":true,\"M\":true}}"u8 : ",\"m\":false,\"M\":true}}"u8);
        return pos;
    }

    // {"stream":"btcusdt@bookTicker","data":{"u":…,"s":"BTCUSDT","b":"…","B":"…","a":"…","A":"…"}}
    private int WriteBookTicker(Span<byte> d, SymbolState symbol)
    {
        var r = Next();
        symbol.UpdateId += 1 + (long)(r & 3);
        var pos = Copy(d, 0, symbol.BookTickerHead);
        pos = Integer(d, pos, symbol.UpdateId);
        pos = Copy(d, pos, symbol.BookTickerSymbol);
        pos = Decimal(d, pos, symbol.Bid);
        pos = Copy(d, pos, "\",\"B\":\""u8);
        pos = Decimal(d, pos, symbol.Quantity(r >> 2));
        pos = Copy(d, pos, "\",\"a\":\""u8);
        pos = Decimal(d, pos, symbol.Ask);
        pos = Copy(d, pos, "\",\"A\":\""u8);
        pos = Decimal(d, pos, symbol.Quantity(r >> 33));
        pos = Copy(d, pos, "\"}}"u8);
        return pos;
    }

    // {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":…,"s":"BTCUSDT","U":…,"u":…,"b":[["…","…"],…],"a":[…]}}
    private int WriteDepthUpdate(Span<byte> d, SymbolState symbol)
    {
        var bids = (int)NextBelow((ulong)_maxLevels + 1);
        var asks = (int)NextBelow((ulong)_maxLevels + 1);
        var first = symbol.LastDepthU + 1;
        symbol.UpdateId = Math.Max(symbol.UpdateId, first) + (long)NextBelow((ulong)(bids + asks) + 1);
        symbol.LastDepthU = symbol.UpdateId;

        var pos = Copy(d, 0, symbol.DepthHead);
        pos = Integer(d, pos, _timeNs / 1_000_000);
        pos = Copy(d, pos, symbol.DepthSymbol);
        pos = Integer(d, pos, first);
        pos = Copy(d, pos, ",\"u\":"u8);
        pos = Integer(d, pos, symbol.UpdateId);
        pos = Copy(d, pos, ",\"b\":["u8);
        pos = Levels(d, pos, symbol, bids, symbol.Bid, -symbol.Tick);
        pos = Copy(d, pos, "],\"a\":["u8);
        pos = Levels(d, pos, symbol, asks, symbol.Ask, symbol.Tick);
        pos = Copy(d, pos, "]}}"u8);
        return pos;
    }

    // Bids descend from the best bid, asks ascend from the best ask; about a third of the levels are removals ("0.00000000").
    private int Levels(Span<byte> d, int pos, SymbolState symbol, int count, long price, long step)
    {
        for (var i = 0; i < count; i++)
        {
            var r = Next();
            if (i > 0)
            {
                price += step * (1 + (long)(r % 16));
            }

            if (price <= 0)
            {
                break;
            }

            if (i > 0)
            {
                d[pos++] = (byte)',';
            }

            pos = Copy(d, pos, "[\""u8);
            pos = Decimal(d, pos, price);
            pos = Copy(d, pos, "\",\""u8);
            pos = Decimal(d, pos, (r >> 4) % 3 == 0 ? 0 : symbol.Quantity(r >> 8));
            pos = Copy(d, pos, "\"]"u8);
        }

        return pos;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Copy(Span<byte> d, int pos, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(d[pos..]);
        return pos + bytes.Length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Integer(Span<byte> d, int pos, long value)
    {
        Utf8Formatter.TryFormat(value, d[pos..], out var written);
        return pos + written;
    }

    // units of 1e-8 → "61837.63000000": integer part by Utf8Formatter, then exactly eight decimals, two digits at a time.
    private static int Decimal(Span<byte> d, int pos, long units)
    {
        var whole = units / Scale;
        var fraction = (uint)(units - whole * Scale);
        Utf8Formatter.TryFormat(whole, d[pos..], out var written);
        pos += written;
        var digits = d.Slice(pos, 9);
        var pairs = s_digitPairs;
        digits[0] = (byte)'.';
        for (var i = 7; i >= 1; i -= 2)
        {
            var next = fraction / 100;
            var pair = (int)(fraction - next * 100) * 2;
            digits[i] = pairs[pair];
            digits[i + 1] = pairs[pair + 1];
            fraction = next;
        }

        return pos + 9;
    }

    private int NextSymbol()
    {
        // Inverse CDF by binary search; the skew makes the answer usually one of the first entries anyway.
        var u = (Next() >> 11) * (1.0 / (1UL << 53));
        var cdf = _cumulativeActivity;
        int lo = 0, hi = cdf.Length - 1;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (u < cdf[mid])
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return lo;
    }

    // SplitMix64: fast, good enough for load tests, and the same on every runtime.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Next()
    {
        var z = _rng += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong NextBelow(ulong bound) => Math.BigMul(Next(), bound, out _);

    private (long Price, long Tick) GeneratedPrice()
    {
        // 0.01 .. 9,000 with five to six significant digits of tick.
        var magnitude = (int)NextBelow(6);            // 10^(magnitude - 2)
        var price = (long)(1 + NextBelow(9)) * Scale / 100;
        for (var i = 0; i < magnitude; i++)
        {
            price *= 10;
        }

        var tick = Math.Max(1, price / 100_000);
        var pow = 1L;
        while (pow * 10 <= tick)
        {
            pow *= 10;
        }

        return (price / pow * pow, pow);
    }

    private static byte[] BuildDigitPairs()
    {
        var pairs = new byte[200];
        for (var i = 0; i < 100; i++)
        {
            pairs[2 * i] = (byte)('0' + i / 10);
            pairs[2 * i + 1] = (byte)('0' + i % 10);
        }

        return pairs;
    }

    private static string GeneratedName(int k) =>
        string.Create(8, k, static (chars, index) =>
        {
            chars[0] = 'Q';
            chars[1] = (char)('A' + index / 676 % 26);
            chars[2] = (char)('A' + index / 26 % 26);
            chars[3] = (char)('A' + index % 26);
            "USDT".CopyTo(chars[4..]);
        });

    [DoesNotReturn]
    private void ThrowDestinationTooSmall(int length) =>
        throw new ArgumentException($"The destination has {length} bytes; the generator needs at least {MaxFrameBytes}.", "destination");

    private sealed class SymbolState
    {
        public SymbolState(string name, long price, long tick, ulong tradeId, ulong updateId)
        {
            var lower = name.ToLowerInvariant();
            TradeHead = Encoding.UTF8.GetBytes($"{{\"stream\":\"{lower}@trade\",\"data\":{{\"e\":\"trade\",\"E\":");
            TradeSymbol = Encoding.UTF8.GetBytes($",\"s\":\"{name}\",\"t\":");
            BookTickerHead = Encoding.UTF8.GetBytes($"{{\"stream\":\"{lower}@bookTicker\",\"data\":{{\"u\":");
            BookTickerSymbol = Encoding.UTF8.GetBytes($",\"s\":\"{name}\",\"b\":\"");
            DepthHead = Encoding.UTF8.GetBytes($"{{\"stream\":\"{lower}@depth@100ms\",\"data\":{{\"e\":\"depthUpdate\",\"E\":");
            DepthSymbol = Encoding.UTF8.GetBytes($",\"s\":\"{name}\",\"U\":");
            Tick = tick;
            Bid = price;
            Ask = price + tick;
            MinBid = Math.Max(tick, price / 100);
            TradeId = (long)tradeId;
            UpdateId = (long)updateId;
            LastDepthU = UpdateId;

            // Typical quantity: about 1,000 USDT of notional, in lots of three significant digits.
            var typical = Math.Max(1, (long)((decimal)1_000 * Scale * Scale / price));
            Lot = 1;
            while (Lot * 1_000 <= typical)
            {
                Lot *= 10;
            }

            MaxLots = Math.Max(1, 2 * typical / Lot);
        }

        public byte[] TradeHead { get; }
        public byte[] TradeSymbol { get; }
        public byte[] BookTickerHead { get; }
        public byte[] BookTickerSymbol { get; }
        public byte[] DepthHead { get; }
        public byte[] DepthSymbol { get; }
        public long Tick { get; }
        public long Lot { get; }
        public long MaxLots { get; }
        public long MinBid { get; }
        public long Bid { get; private set; }
        public long Ask { get; private set; }
        public long TradeId;

        /// <summary>Trade time T of the symbol's last trade, ms: Binance trade times never decrease with the trade id.</summary>
        public long LastTradeTimeMs;
        public long UpdateId;
        public long LastDepthU;

        // A random walk of the best bid on the tick grid, a spread of one tick (one in eight: two).
        public void Walk(ulong r)
        {
            switch (r & 7)
            {
                case 0:
                    Bid += Tick;
                    break;
                case 1:
                    Bid = Math.Max(MinBid, Bid - Tick);
                    break;
            }

            Ask = Bid + Tick * ((r >> 3 & 7) == 0 ? 2 : 1);
        }

        // 1 .. MaxLots lots, skewed towards small sizes.
        public long Quantity(ulong r)
        {
            var lots = (long)(r % (ulong)MaxLots) + 1;
            return ((r >> 40 & 1) == 0 ? (lots + 7) / 8 : lots) * Lot;
        }
    }
}

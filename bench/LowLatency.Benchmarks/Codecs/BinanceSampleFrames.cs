using LowLatency.Connectors.Replay;

namespace LowLatency.Benchmarks.Codecs;

/// <summary>
/// The Binance frames the decoder and arbiter benchmarks share: one real combined-stream frame per hot stream type from
/// the BTCUSDT recording, and the perf scenario's mix (<see cref="MarketDataGenerator"/> defaults: 50 symbols × trade,
/// bookTicker, depth).
/// </summary>
internal static class BinanceSampleFrames
{
    /// <summary>Frames in <see cref="Mixed"/>.</summary>
    public const int MixedCount = 4_096;

    public static readonly byte[] Trade =
        """{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"""u8.ToArray();

    public static readonly byte[] BookTicker =
        """{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"""u8.ToArray();

    public static readonly byte[] DepthUpdate =
        """{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":50093239189,"u":50093239202,"b":[["61737.63000000","0.00000000"],["61730.17000000","0.00000000"],["56854.58000000","0.00000000"]],"a":[["61837.64000000","1.54698000"],["61839.85000000","0.00000000"],["61839.86000000","0.00000000"],["61845.11000000","0.32329000"],["61848.49000000","0.00000000"],["61855.45000000","0.32323000"],["61862.51000000","0.05041000"],["61862.52000000","0.00000000"],["61937.64000000","0.02000000"]]}}"""u8.ToArray();

    /// <summary>The first <see cref="MixedCount"/> frames of a default <see cref="MarketDataGenerator"/>, each its own array.</summary>
    public static byte[][] Mixed(MarketDataGenerator generator)
    {
        var buffer = new byte[generator.MaxFrameBytes];
        var frames = new byte[MixedCount][];
        for (var i = 0; i < MixedCount; i++)
        {
            frames[i] = buffer.AsSpan(0, generator.WriteNext(buffer, out _)).ToArray();
        }

        return frames;
    }
}

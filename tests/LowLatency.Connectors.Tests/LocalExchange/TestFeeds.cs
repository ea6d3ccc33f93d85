using System.Globalization;
using System.Text.Json;
using LowLatency.LocalExchange;

namespace LowLatency.Connectors.Tests.LocalExchange;

/// <summary>Small hand-made feeds, and reading back what the exchange sent.</summary>
internal static class TestFeeds
{
    /// <summary>
    /// <paramref name="count"/> spot trade frames of <paramref name="symbol"/> on its <c>@trade</c> stream, trade ids from
    /// <paramref name="firstId"/>, <paramref name="gapMs"/> apart.
    /// </summary>
    public static IEnumerable<FeedFrame> Trades(string symbol, int count, double gapMs, long firstId = 1)
    {
        var stream = symbol.ToLowerInvariant() + "@trade";
        for (var i = 0; i < count; i++)
        {
            var timeNs = (long)(i * gapMs * 1_000_000);
            var ms = 1_723_161_255_000 + (long)(i * gapMs);
            var id = firstId + i;
            yield return new FeedFrame(timeNs, stream, string.Create(CultureInfo.InvariantCulture,
                $"{{\"e\":\"trade\",\"E\":{ms},\"s\":\"{symbol}\",\"t\":{id},\"p\":\"61837.63000000\",\"q\":\"0.02000000\",\"T\":{ms},\"m\":true,\"M\":true}}"));
        }
    }

    /// <summary>A feed that streams <c>btcusdt@trade</c> at about 100 frames/s for as long as the exchange loops it.</summary>
    public static ExchangeFeed Continuous() => ExchangeFeed.FromFrames(Trades("BTCUSDT", 100, gapMs: 10));

    /// <summary>The trade id of a received frame, raw or combined.</summary>
    public static long TradeId(string frame)
    {
        using var document = JsonDocument.Parse(frame);
        var data = document.RootElement.TryGetProperty("data", out var wrapped) ? wrapped : document.RootElement;
        return data.GetProperty("t").GetInt64();
    }

    /// <summary>The <c>stream</c> of a combined frame.</summary>
    public static string StreamOf(string frame)
    {
        using var document = JsonDocument.Parse(frame);
        return document.RootElement.GetProperty("stream").GetString()!;
    }
}

using System.Text;

namespace LowLatency.Connectors.Tests.Binance;

/// <summary>Combined-stream frames in Binance's exact shape (field order of the real streams, no whitespace).</summary>
internal static class Frames
{
    public const long EventTime = 1_723_161_255_214;

    public static byte[] Trade(long id, string symbol = "btcusdt") =>
        Utf8($"{{\"stream\":\"{symbol}@trade\",\"data\":{{\"e\":\"trade\",\"E\":{EventTime + id},\"s\":\"{symbol.ToUpperInvariant()}\",\"t\":{id},\"p\":\"61837.64000000\",\"q\":\"0.00100000\",\"T\":{EventTime + id},\"m\":false,\"M\":true}}}}");

    public static byte[] AggTrade(long id, string symbol = "btcusdt") =>
        Utf8($"{{\"stream\":\"{symbol}@aggTrade\",\"data\":{{\"e\":\"aggTrade\",\"E\":{EventTime},\"s\":\"{symbol.ToUpperInvariant()}\",\"a\":{id},\"p\":\"0.35280000\",\"q\":\"58.00000000\",\"f\":{id * 3},\"l\":{(id * 3) + 2},\"T\":{EventTime},\"m\":false,\"M\":true}}}}");

    public static byte[] Depth(long first, long last, string symbol = "btcusdt") =>
        Utf8($"{{\"stream\":\"{symbol}@depth@100ms\",\"data\":{{\"e\":\"depthUpdate\",\"E\":{EventTime},\"s\":\"{symbol.ToUpperInvariant()}\",\"U\":{first},\"u\":{last},\"b\":[[\"0.35130000\",\"6195.00000000\"]],\"a\":[]}}}}");

    public static byte[] BookTicker(long updateId, string symbol = "btcusdt") =>
        Utf8($"{{\"stream\":\"{symbol}@bookTicker\",\"data\":{{\"u\":{updateId},\"s\":\"{symbol.ToUpperInvariant()}\",\"b\":\"61837.63000000\",\"B\":\"3.78826000\",\"a\":\"61837.64000000\",\"A\":\"1.54698000\"}}}}");

    public static byte[] PartialDepth(long lastUpdateId, string symbol = "btcusdt") =>
        Utf8($"{{\"stream\":\"{symbol}@depth5@100ms\",\"data\":{{\"lastUpdateId\":{lastUpdateId},\"bids\":[[\"0.0024\",\"10\"]],\"asks\":[[\"0.0026\",\"100\"]]}}}}");

    public static byte[] Kline(long eventTime, long openTime, string symbol = "btcusdt") =>
        Utf8($"{{\"stream\":\"{symbol}@kline_1m\",\"data\":{{\"e\":\"kline\",\"E\":{eventTime},\"s\":\"{symbol.ToUpperInvariant()}\",\"k\":{{\"t\":{openTime},\"T\":{openTime + 59_999},\"s\":\"{symbol.ToUpperInvariant()}\",\"i\":\"1m\",\"f\":1,\"L\":2,\"o\":\"0.35270000\",\"c\":\"0.35280000\",\"h\":\"0.35280000\",\"l\":\"0.35220000\",\"v\":\"25877.00000000\",\"n\":30,\"x\":false,\"q\":\"9116.04600000\",\"V\":\"58.00000000\",\"Q\":\"20.46240000\",\"B\":\"0\"}}}}}}");

    public static byte[] Ticker(long eventTime, string symbol = "btcusdt") =>
        Utf8($"{{\"stream\":\"{symbol}@ticker\",\"data\":{{\"e\":\"24hrTicker\",\"E\":{eventTime},\"s\":\"{symbol.ToUpperInvariant()}\",\"p\":\"0.0015\",\"P\":\"250.00\",\"w\":\"0.0018\",\"x\":\"0.0009\",\"c\":\"0.0025\",\"Q\":\"10\",\"b\":\"0.0024\",\"B\":\"10\",\"a\":\"0.0026\",\"A\":\"100\",\"o\":\"0.0010\",\"h\":\"0.0025\",\"l\":\"0.0010\",\"v\":\"10000\",\"q\":\"18\",\"O\":0,\"C\":86400000,\"F\":0,\"L\":18150,\"n\":18151}}}}");

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>A bookTicker frame's update id (<c>data.u</c>).</summary>
    public static long UpdateId(byte[] frame)
    {
        using var document = System.Text.Json.JsonDocument.Parse(frame);
        return document.RootElement.GetProperty("data").GetProperty("u").GetInt64();
    }

    /// <summary>A trade frame's id (<c>data.t</c>).</summary>
    public static long TradeId(byte[] frame)
    {
        using var document = System.Text.Json.JsonDocument.Parse(frame);
        return document.RootElement.GetProperty("data").GetProperty("t").GetInt64();
    }
}

using System.Globalization;
using System.Text.Json;

namespace LowLatency.Host.Tests;

/// <summary>
/// A candle as a store holds it, in one comparable line ("open high low close volume quote_volume trades first last gap"),
/// and the comparison with the replay path's JSON candle (the uninterrupted run), rolling volatility aside.
/// </summary>
internal static class StoredCandles
{
    public static string Describe(decimal open, decimal high, decimal low, decimal close, decimal volume, decimal quoteVolume, long trades, long first, long last, bool gap) =>
        string.Create(CultureInfo.InvariantCulture, $"{N(open)} {N(high)} {N(low)} {N(close)} {N(volume)} {N(quoteVolume)} {trades} {first} {last} {gap}");

    /// <summary>Whether the store's line equals the replay's JSON candle.</summary>
    public static bool SameCandle(string expectedJson, string stored)
    {
        using var doc = JsonDocument.Parse(expectedJson);
        var c = doc.RootElement;
        decimal D(string name) => decimal.Parse(c.GetProperty(name).GetString()!, CultureInfo.InvariantCulture);
        return Describe(D("open"), D("high"), D("low"), D("close"), D("volume"), D("quote_volume"), c.GetProperty("trades").GetInt64(),
            c.GetProperty("first_trade_id").GetInt64(), c.GetProperty("last_trade_id").GetInt64(), c.GetProperty("has_gap").GetBoolean()) == stored;
    }

    /// <summary>Without trailing zeros (stores keep 8 decimals; the JSON has as many as needed).</summary>
    private static decimal N(decimal value) => value / 1.000000000000000000000000000000000m;
}

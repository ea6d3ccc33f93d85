using LowLatency.LocalExchange;

namespace LowLatency.TestSupport.Exchange;

/// <summary>
/// The real Binance sessions of <see cref="TestData"/> as local-exchange feeds, read once per test run and shared (a feed
/// is immutable): tests that need them use <see cref="DataFactAttribute"/>.
/// </summary>
public static class RecordedFeeds
{
    /// <summary>The BTCUSDT session of 2024-08-08 (trade, bookTicker, depth@100ms).</summary>
    public const string BtcUsdtPath = "binance/recordings/spot_btcusdt_20240808.gz";

    /// <summary>The ETHUSDT session of the same window.</summary>
    public const string EthUsdtPath = "binance/recordings/spot_ethusdt_20240808.gz";

    private static readonly Lazy<ExchangeFeed> s_btcUsdt = new(() => ExchangeFeed.FromRecordings(TestData.PathOf(BtcUsdtPath)));
    private static readonly Lazy<ExchangeFeed> s_both = new(() => ExchangeFeed.FromRecordings(TestData.PathOf(BtcUsdtPath), TestData.PathOf(EthUsdtPath)));

    /// <summary>The BTCUSDT session: 41,248 frames on 3 streams, about 5 min 46 s.</summary>
    public static ExchangeFeed BtcUsdt => s_btcUsdt.Value;

    /// <summary>Both sessions merged by receive time: 74,865 frames on 6 streams.</summary>
    public static ExchangeFeed BtcUsdtAndEthUsdt => s_both.Value;
}

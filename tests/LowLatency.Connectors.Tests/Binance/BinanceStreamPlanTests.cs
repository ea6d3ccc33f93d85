using System.Text.Json;
using LowLatency.Connectors.Binance;

namespace LowLatency.Connectors.Tests.Binance;

/// <summary>Stream names, groups, URLs and control messages: the plan a client follows before any socket exists.</summary>
public sealed class BinanceStreamPlanTests
{
    private static readonly Uri s_binance = new("wss://stream.binance.com:9443");

    [Fact]
    public void Partition_2500Streams_ThreeConnectionsOf834And833And833InOrder()
    {
        var streams = ManyStreams(2_500);

        var groups = BinanceStreamPlan.Partition(streams, 1_024);

        Assert.Equal([834, 833, 833], groups.Select(g => g.Count));
        Assert.Equal(streams, groups.SelectMany(g => g));
    }

    [Fact]
    public void PlanConnection_2500StreamsWithRoomyUrls_EachUrlCarriesExactlyItsGroup()
    {
        var streams = ManyStreams(2_500);
        var groups = BinanceStreamPlan.Partition(streams, 1_024);

        var plans = groups.Select(g => BinanceStreamPlan.PlanConnection(s_binance, g, maxUrlLength: 100_000, maxStreamsPerMessage: 200)).ToList();

        Assert.Equal(3, plans.Count);
        for (var i = 0; i < plans.Count; i++)
        {
            var url = plans[i].Url.OriginalString;
            Assert.StartsWith("wss://stream.binance.com:9443/stream?streams=", url, StringComparison.Ordinal);
            Assert.Equal(groups[i], url["wss://stream.binance.com:9443/stream?streams=".Length..].Split('/'));
            Assert.Equal(groups[i], plans[i].StreamsInUrl);
            Assert.Empty(plans[i].SubscribeBatches);
        }
    }

    [Fact]
    public void PlanConnection_UrlLimit_RestGoesBySubscribeInBatches()
    {
        var group = BinanceStreamPlan.Partition(ManyStreams(2_500), 1_024)[0];

        var plan = BinanceStreamPlan.PlanConnection(s_binance, group, maxUrlLength: 4_000, maxStreamsPerMessage: 200);

        Assert.True(plan.Url.OriginalString.Length <= 4_000, $"{plan.Url.OriginalString.Length} characters");
        Assert.True(plan.StreamsInUrl.Count > 100);
        Assert.All(plan.SubscribeBatches, b => Assert.InRange(b.Length, 1, 200));
        Assert.Equal(group, plan.StreamsInUrl.Concat(plan.SubscribeBatches.SelectMany(b => b)));
        Assert.Equal((group.Count - plan.StreamsInUrl.Count + 199) / 200, plan.SubscribeBatches.Count);
    }

    [Fact]
    public void PlanConnection_NamesWithPlusOrColon_AlwaysBySubscribe()
    {
        var plan = BinanceStreamPlan.PlanConnection(s_binance, ["btcusdt@trade", "btcusdt@kline_1d@+08:00", "ethusdt@trade"], 4_000, 200);

        Assert.Equal("wss://stream.binance.com:9443/stream?streams=btcusdt@trade/ethusdt@trade", plan.Url.OriginalString);
        Assert.Equal(["btcusdt@kline_1d@+08:00"], plan.SubscribeBatches.Single());
    }

    [Fact]
    public void PlanConnection_NoStreams_BareStreamEndpoint()
    {
        var plan = BinanceStreamPlan.PlanConnection(s_binance, [], 4_000, 200);

        Assert.Equal("wss://stream.binance.com:9443/stream", plan.Url.OriginalString);
        Assert.Empty(plan.SubscribeBatches);
    }

    [Theory]
    [InlineData("wss://stream.binance.com:9443", "wss://stream.binance.com:9443")]
    [InlineData("wss://stream.binance.com:9443/", "wss://stream.binance.com:9443")]
    [InlineData("wss://stream.binance.com:9443/ws", "wss://stream.binance.com:9443")]
    [InlineData("wss://stream.binance.com:9443/stream", "wss://stream.binance.com:9443")]
    [InlineData("ws://127.0.0.1:5000/binance/ws", "ws://127.0.0.1:5000/binance")]
    public void StreamRoot_OriginalConnectorUrls_CombinedStreamRoot(string url, string root)
    {
        Assert.Equal(root, BinanceStreamPlan.StreamRoot(new Uri(url)));
    }

    [Fact]
    public void StreamRoot_NotAWebSocketUrl_Throws()
    {
        Assert.Throws<ArgumentException>(() => BinanceStreamPlan.StreamRoot(new Uri("https://api.binance.com")));
        Assert.Throws<ArgumentException>(() => new BinanceStreamOptions { Url = new Uri("http://x") }.Validate());
    }

    [Fact]
    public void ControlMessage_SubscribeAndUnsubscribe_BinanceRequestShape()
    {
        using var subscribe = JsonDocument.Parse(BinanceStreamPlan.ControlMessage(subscribe: true, ["btcusdt@aggTrade", "btcusdt@depth"], 7));
        using var unsubscribe = JsonDocument.Parse(BinanceStreamPlan.ControlMessage(subscribe: false, ["btcusdt@depth"], 8));

        Assert.Equal("SUBSCRIBE", subscribe.RootElement.GetProperty("method").GetString());
        Assert.Equal(["btcusdt@aggTrade", "btcusdt@depth"], subscribe.RootElement.GetProperty("params").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(7, subscribe.RootElement.GetProperty("id").GetInt64());
        Assert.Equal("UNSUBSCRIBE", unsubscribe.RootElement.GetProperty("method").GetString());
        Assert.Equal(8, unsubscribe.RootElement.GetProperty("id").GetInt64());
    }

    [Theory]
    [InlineData("btcusdt@trade", "btcusdt@trade")]
    [InlineData("BTCUSDT@aggTrade", "btcusdt@aggTrade")]
    [InlineData("  EthUsdt@depth@100ms ", "ethusdt@depth@100ms")]
    [InlineData("!miniTicker@arr", "!miniTicker@arr")]
    [InlineData("BNBBTC@kline_1d@+08:00", "bnbbtc@kline_1d@+08:00")]
    public void NormalizeStream_ValidNames_SymbolLowerCasedRestKept(string name, string expected)
    {
        Assert.Equal(expected, BinanceStreamPlan.NormalizeStream(name));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("btc\"usdt@trade")]
    [InlineData("btcusdt@trade/ethusdt@trade")]
    [InlineData("btcusdt@trade?x=1")]
    [InlineData("btc usdt@trade")]
    [InlineData("btcusdt\\@trade")]
    [InlineData("bitcoin-is-a-very-long-symbol-name-that-no-exchange-lists@depth20@100ms")]
    public void NormalizeStream_InvalidNames_Throw(string name)
    {
        Assert.Throws<ArgumentException>(() => BinanceStreamPlan.NormalizeStream(name));
    }

    [Fact]
    public void ParseStreams_OriginalConnectorValue_SplitNormalisedDeduplicated()
    {
        Assert.Equal(
            ["btcusdt@trade", "ethusdt@trade", "bnbusdt@depth@100ms"],
            BinanceStreamOptions.ParseStreams("btcusdt@trade, ETHUSDT@trade\nbnbusdt@depth@100ms/btcusdt@trade"));
        Assert.Empty(BinanceStreamOptions.ParseStreams(null));
        Assert.Empty(BinanceStreamOptions.ParseStreams("  "));
    }

    [Theory]
    [InlineData("btcusdt@trade", "BTCUSDT")]
    [InlineData("ethbtc@depth5@100ms", "ETHBTC")]
    [InlineData("!ticker@arr", "")]
    public void SymbolOf_Stream_ExchangeSpelling(string stream, string symbol)
    {
        Assert.Equal(symbol, BinanceStreamPlan.SymbolOf(stream));
    }

    [Fact]
    public void ReconnectDelay_Attempts_DoublingFromInitialUpToMaxJitterTakesAtMostItsShare()
    {
        var initial = TimeSpan.FromMilliseconds(250);
        var max = TimeSpan.FromSeconds(30);
        long Delay(int attempt, double random) => BinanceStreamClient<NoHandler>.ReconnectDelayNs(attempt, initial, max, jitter: 0.5, random);

        Assert.Equal(250_000_000, Delay(1, 0));
        Assert.Equal(500_000_000, Delay(2, 0));
        Assert.Equal(1_000_000_000, Delay(3, 0));
        Assert.Equal(30_000_000_000, Delay(10, 0));
        Assert.Equal(30_000_000_000, Delay(1_000, 0));
        Assert.Equal(125_000_000, Delay(1, 1.0));
        Assert.InRange(Delay(3, 0.999), 500_000_000, 1_000_000_000);
    }

    [Fact]
    public void Validate_OptionsOutOfRange_Throw()
    {
        new BinanceStreamOptions().Validate();
        Assert.Throws<ArgumentException>(() => new BinanceStreamOptions { Redundancy = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new BinanceStreamOptions { MaxFrameBytes = 1_000, ReceiveBufferBytes = 4_096 }.Validate());
        Assert.Throws<ArgumentException>(() => new BinanceStreamOptions { ReconnectJitter = 1.5 }.Validate());
        Assert.Throws<ArgumentException>(() => new BinanceStreamOptions { ReconnectMaxDelay = TimeSpan.FromMilliseconds(1) }.Validate());
        Assert.Throws<ArgumentException>(() => new BinanceStreamOptions { SilenceTimeout = TimeSpan.Zero }.Validate());
        new BinanceStreamOptions { SilenceTimeout = Timeout.InfiniteTimeSpan, KeepAliveTimeout = Timeout.InfiniteTimeSpan }.Validate();
    }

    [Fact]
    public async Task Constructor_InitialStreams_SplitIntoGroupsBeforeStart()
    {
        var streams = ManyStreams(2_500);
        await using var client = new BinanceStreamClient<NoHandler>(new BinanceStreamOptions { Streams = streams }, default);

        Assert.Equal([834, 833, 833], client.StreamGroups.Select(g => g.Count));
        Assert.Empty(client.GetConnections());
        Assert.Throws<ArgumentException>(() => new BinanceStreamClient<NoHandler>(new BinanceStreamOptions { Streams = ["bad name"] }, default));
    }

    [Fact]
    public void SecondaryUrl_OddLines_ConnectThere()
    {
        var options = new BinanceStreamOptions { SecondaryUrl = new Uri("wss://data-stream.binance.vision") };

        Assert.Equal(options.Url, options.UrlForLine(0));
        Assert.Equal(options.SecondaryUrl, options.UrlForLine(1));
        Assert.Equal(options.Url, options.UrlForLine(2));
        Assert.Equal(options.Url, new BinanceStreamOptions().UrlForLine(1));
    }

    private static List<string> ManyStreams(int count) =>
        [.. Enumerable.Range(0, count).Select(i => $"sym{i:D4}usdt@{(i % 3) switch { 0 => "trade", 1 => "aggTrade", _ => "depth@100ms" }}")];

    internal struct NoHandler : IBinanceFrameHandler
    {
        public readonly void OnFrame(ReadOnlySpan<byte> frame, long receiveTimeNs)
        {
        }

        public readonly void OnGap(in StreamGap gap)
        {
        }
    }
}

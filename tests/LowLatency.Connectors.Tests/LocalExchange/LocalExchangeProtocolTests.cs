using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using LowLatency.TestSupport;
using LowLatency.LocalExchange;

namespace LowLatency.Connectors.Tests.LocalExchange;

/// <summary>Binance's live subscription protocol and connection limits, as the local exchange enforces them.</summary>
public sealed class LocalExchangeProtocolTests
{
    [Fact]
    public async Task SubscribeUnsubscribeList_OnARawConnection_AnswerAsBinanceDocuments()
    {
        await using var exchange = await ExchangeServer.StartAsync();
        await using var client = await ExchangeClient.ConnectAsync(exchange.RawStreamUri());

        Assert.Equal("{\"result\":null,\"id\":1}",
            await client.RequestAsync("{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusdt@trade\",\"btcusdt@depth@100ms\"],\"id\":1}"));
        Assert.Equal("{\"result\":[\"btcusdt@trade\",\"btcusdt@depth@100ms\"],\"id\":2}", await client.RequestAsync("{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":2}"));
        Assert.Equal("{\"result\":null,\"id\":3}", await client.RequestAsync("{\"method\":\"UNSUBSCRIBE\",\"params\":[\"btcusdt@trade\"],\"id\":3}"));
        Assert.Equal("{\"result\":[\"btcusdt@depth@100ms\"],\"id\":4}", await client.RequestAsync("{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":4}"));

        var connection = await exchange.WaitForConnectionAsync();
        Assert.Equal(["btcusdt@depth@100ms"], connection.Streams);
        var requests = connection.Received.Where(m => m.Kind == IncomingKind.Text).ToList();
        Assert.Equal(4, requests.Count);
        Assert.Contains("\"UNSUBSCRIBE\"", requests[2].Text, StringComparison.Ordinal);
        Assert.True(requests.Zip(requests.Skip(1)).All(p => p.First.At <= p.Second.At), "arrival times in order");
    }

    [Fact]
    public async Task ControlRequests_Malformed_AreAnsweredWithBinancesErrorCodes()
    {
        await using var exchange = await ExchangeServer.StartAsync(new() { MaxIncomingMessagesPerSecond = 100 });
        await using var client = await ExchangeClient.ConnectAsync(exchange.RawStreamUri());

        await AssertErrorAsync("not json at all", code: 3, id: null);
        await AssertErrorAsync("{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusdt@trade\"]}", code: 2, id: null, "request ID must be an unsigned integer");
        await AssertErrorAsync("{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusdt@trade\"],\"id\":-1}", code: 2, id: null);
        await AssertErrorAsync("{\"method\":\"FETCH\",\"id\":7}", code: 2, id: 7, "unknown variant `FETCH`");
        await AssertErrorAsync("{\"params\":[],\"id\":8}", code: 2, id: 8, "missing field `method`");
        await AssertErrorAsync("{\"method\":\"SUBSCRIBE\",\"params\":[\"BTCUSDT@trade\"],\"id\":9}", code: 2, id: 9, "invalid stream name");
        await AssertErrorAsync("{\"method\":\"SET_PROPERTY\",\"params\":[\"colour\",true],\"id\":10}", code: 0, id: 10, "Unknown property");
        await AssertErrorAsync("{\"method\":\"SET_PROPERTY\",\"params\":[\"combined\",\"yes\"],\"id\":11}", code: 1, id: 11, "expected Boolean");
        Assert.Equal("{\"result\":[],\"id\":12}", await client.RequestAsync("{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":12}"));
        Assert.Null((await exchange.WaitForConnectionAsync()).Close);

        async Task AssertErrorAsync(string request, int code, long? id, string? message = null)
        {
            using var response = JsonDocument.Parse(await client.RequestAsync(request));
            var error = response.RootElement.GetProperty("error");
            Assert.Equal(code, error.GetProperty("code").GetInt32());
            Assert.Contains(message ?? string.Empty, error.GetProperty("msg").GetString(), StringComparison.Ordinal);
            var responseId = response.RootElement.GetProperty("id");
            Assert.Equal(id, responseId.ValueKind == JsonValueKind.Null ? null : responseId.GetInt64());
        }
    }

    [Fact]
    public async Task SetProperty_CombinedOnARawConnection_WrapsTheFollowingFrames()
    {
        await using var exchange = await ExchangeServer.StartAsync(new()
        {
            Feed = ExchangeFeed.FromFrames(TestFeeds.Trades("BTCUSDT", 10, gapMs: 1)),
            Speed = ExchangeServerOptions.AsFastAsPossible,
            StartPaused = true,
        });
        await using var client = await ExchangeClient.ConnectAsync(exchange.RawStreamUri("btcusdt@trade"));

        Assert.Equal("{\"result\":false,\"id\":1}", await client.RequestAsync("{\"method\":\"GET_PROPERTY\",\"params\":[\"combined\"],\"id\":1}"));
        Assert.Equal("{\"result\":null,\"id\":2}", await client.RequestAsync("{\"method\":\"SET_PROPERTY\",\"params\":[\"combined\",true],\"id\":2}"));
        Assert.Equal("{\"result\":true,\"id\":3}", await client.RequestAsync("{\"method\":\"GET_PROPERTY\",\"params\":[\"combined\"],\"id\":3}"));
        exchange.Play();

        Assert.All(await client.ReceiveTextsAsync(10), f => Assert.StartsWith("{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\"", f, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Connect_MoreStreamsThanTheLimitInTheUrl_IsRefusedWith400AndTheLimitItselfIsAccepted()
    {
        await using var exchange = await ExchangeServer.StartAsync();
        var streams = Enumerable.Range(0, 1025).Select(i => $"s{i}usdt@trade").ToArray();

        using (var refused = new ClientWebSocket())
        {
            refused.Options.CollectHttpResponseDetails = true;
            await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(exchange.StreamUri(streams), CancellationToken.None));
            Assert.Equal(HttpStatusCode.BadRequest, refused.HttpStatusCode);
        }

        await using var accepted = await ExchangeClient.ConnectAsync(exchange.StreamUri(streams[..1024]));
        using var list = JsonDocument.Parse(await accepted.RequestAsync("{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":1}"));
        Assert.Equal(1024, list.RootElement.GetProperty("result").GetArrayLength());
        Assert.Single(exchange.Connections);
    }

    [Fact]
    public async Task Subscribe_BeyondTheStreamLimit_IsAnsweredWithAnErrorAndSubscribesNothingMore()
    {
        await using var exchange = await ExchangeServer.StartAsync();
        await using var client = await ExchangeClient.ConnectAsync(exchange.RawStreamUri());
        string Subscribe(int from, int count, int id) =>
            $"{{\"method\":\"SUBSCRIBE\",\"params\":[{string.Join(',', Enumerable.Range(from, count).Select(i => $"\"s{i}usdt@trade\""))}],\"id\":{id}}}";

        Assert.Equal("{\"result\":null,\"id\":1}", await client.RequestAsync(Subscribe(0, 1000, 1)));
        using var error = JsonDocument.Parse(await client.RequestAsync(Subscribe(1000, 25, 2)));

        Assert.Equal(2, error.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("too many streams", error.RootElement.GetProperty("error").GetProperty("msg").GetString(), StringComparison.Ordinal);
        Assert.Equal(1000, (await exchange.WaitForConnectionAsync()).Streams.Count);
    }

    [Fact]
    public async Task IncomingMessages_MoreThanFiveInOneSecond_CloseTheConnectionWithPolicyViolation()
    {
        await using var exchange = await ExchangeServer.StartAsync();
        await using var client = await ExchangeClient.ConnectAsync(exchange.RawStreamUri());
        var connection = await exchange.WaitForConnectionAsync();

        for (var id = 1; id <= 5; id++)
        {
            Assert.Equal($"{{\"result\":[],\"id\":{id}}}", await client.RequestAsync($"{{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":{id}}}"));
        }

        Assert.Null(connection.Close);
        for (var id = 6; id <= 15; id++)
        {
            await client.SendAsync($"{{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":{id}}}");
        }

        ClientMessage message;
        do
        {
            message = await client.ReceiveAsync();
        }
        while (message.Type != WebSocketMessageType.Close);

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, message.CloseStatus);
        var close = await connection.Closed.WaitAsync(ExchangeClient.DefaultTimeout);
        Assert.Equal(CloseReason.RateLimited, close.Reason);
        var arrivals = connection.Received.Where(m => m.Kind == IncomingKind.Text).Select(m => m.At).ToList();
        Assert.True(arrivals.Count >= 6);
        Assert.Contains(arrivals.Index(), a => a.Index >= 5 && a.Item - arrivals[a.Index - 5] < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Pings_AnsweredByTheClient_KeepTheConnectionOpenAndEachPongIsRecorded()
    {
        await using var exchange = await ExchangeServer.StartAsync(new()
        {
            PingInterval = TimeSpan.FromMilliseconds(100),
            PongTimeout = TimeSpan.FromMilliseconds(500),
            MaxIncomingMessagesPerSecond = 100,
        });
        await using var client = await ExchangeClient.ConnectAsync(exchange.RawStreamUri());
        var connection = await exchange.WaitForConnectionAsync();

        // A receive is pending all along: ClientWebSocket answers pings while it receives.
        Assert.Null(await client.TryReceiveAsync(TimeSpan.FromSeconds(1.5)));
        Poll.Until(() => connection.Received.Count(m => m.Kind == IncomingKind.Pong) >= 5, "five pongs", null, connection.ToString);

        Assert.Null(connection.Close);
        Assert.True(connection.PingsSent >= 5, connection.ToString());
        var pongs = connection.Received.Where(m => m.Kind == IncomingKind.Pong).Select(m => m.At).ToList();
        Assert.True(pongs.Zip(pongs.Skip(1)).All(p => p.First < p.Second), "pong arrival times increase");
    }

    [Fact]
    public async Task Pings_NotAnswered_CloseTheConnectionWithPolicyViolationAfterThePongTimeout()
    {
        await using var exchange = await ExchangeServer.StartAsync(new()
        {
            PingInterval = TimeSpan.FromMilliseconds(100),
            PongTimeout = TimeSpan.FromMilliseconds(500),
            CloseHandshakeTimeout = TimeSpan.FromSeconds(30), // keep TCP open until the client reads the close
        });
        await using var client = await ExchangeClient.ConnectAsync(exchange.RawStreamUri());
        var connection = await exchange.WaitForConnectionAsync();

        // The client does not receive, so it does not answer pings.
        Poll.Until(() => connection.Close is not null, "the server closes the connection", null, connection.ToString);

        Assert.Equal(CloseReason.PongTimeout, connection.Close!.Reason);
        Assert.True(connection.PingsSent >= 1);
        Assert.DoesNotContain(connection.Received, m => m.Kind == IncomingKind.Pong);
        var message = await client.ReceiveAsync();
        Assert.Equal((WebSocketMessageType.Close, WebSocketCloseStatus.PolicyViolation), (message.Type, message.CloseStatus));
    }

    [Fact]
    public async Task MaxConnectionAge_Reached_ClosesTheConnectionAsGoingAway()
    {
        await using var exchange = await ExchangeServer.StartAsync(new() { MaxConnectionAge = TimeSpan.FromMilliseconds(500) });
        await using var client = await ExchangeClient.ConnectAsync(exchange.RawStreamUri());

        var message = await client.ReceiveAsync();

        Assert.Equal((WebSocketMessageType.Close, WebSocketCloseStatus.EndpointUnavailable), (message.Type, message.CloseStatus));
        var connection = await exchange.WaitForConnectionAsync();
        Assert.Equal(CloseReason.MaxAge, connection.Close!.Reason);
        Assert.True(connection.Close.At - connection.ConnectedAt >= TimeSpan.FromMilliseconds(450), connection.ToString());
    }

    [Fact]
    public async Task Connect_UnknownPath_IsRefusedWith404()
    {
        await using var exchange = await ExchangeServer.StartAsync();
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(new Uri(exchange.BaseUri, "/api/v3/depth"), CancellationToken.None));

        Assert.Equal(HttpStatusCode.NotFound, socket.HttpStatusCode);
        Assert.Empty(exchange.Connections);
    }
}

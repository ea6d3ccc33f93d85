using System.Net.WebSockets;
using System.Text.Json;
using LowLatency.Connectors.Replay;
using LowLatency.TestSupport;
using LowLatency.LocalExchange;

namespace LowLatency.Connectors.Tests.LocalExchange;

/// <summary>Every fault the local exchange injects, as a plain ClientWebSocket observes it.</summary>
public sealed class LocalExchangeFaultTests
{
    [Fact]
    public async Task Abort_OpenConnection_ClientSeesTheConnectionEndWithoutACloseFrame()
    {
        await using var exchange = await ExchangeServer.StartAsync(new() { Feed = TestFeeds.Continuous(), Loops = 0 });
        await using var client = await ExchangeClient.ConnectAsync(exchange.StreamUri("btcusdt@trade"));
        await client.ReceiveAsync();
        var connection = await exchange.WaitForConnectionAsync();

        connection.Abort();

        await Assert.ThrowsAsync<WebSocketException>(() => ReceiveUntilCloseAsync(client));
        Assert.Equal(CloseReason.Aborted, (await connection.Closed).Reason);
    }

    [Fact]
    public async Task CloseAsync_OpenConnection_ClientSeesACleanCloseHandshake()
    {
        await using var exchange = await ExchangeServer.StartAsync(new() { Feed = TestFeeds.Continuous(), Loops = 0 });
        await using var client = await ExchangeClient.ConnectAsync(exchange.StreamUri("btcusdt@trade"));
        await client.ReceiveAsync();
        var connection = await exchange.WaitForConnectionAsync();

        var closing = connection.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "maintenance");
        var message = await ReceiveUntilCloseAsync(client);
        await client.Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        await closing.WaitAsync(ExchangeClient.DefaultTimeout);

        Assert.Equal((WebSocketCloseStatus.EndpointUnavailable, "maintenance"), (message.CloseStatus, message.CloseDescription));
        var close = await connection.Closed.WaitAsync(ExchangeClient.DefaultTimeout);
        Assert.Equal(CloseReason.ClosedByServer, close.Reason);
        Assert.Contains(connection.Received, m => m.Kind == IncomingKind.Close && m.Text == "1000");
    }

    [Fact]
    public async Task DropEvery_Interval_DropsEachConnectionUntilDisposed()
    {
        await using var exchange = await ExchangeServer.StartAsync(new() { Feed = TestFeeds.Continuous(), Loops = 0 });
        using (exchange.DropEvery(TimeSpan.FromMilliseconds(300)))
        {
            for (var i = 0; i < 3; i++)
            {
                await using var client = await ExchangeClient.ConnectAsync(exchange.StreamUri("btcusdt@trade"));
                await Assert.ThrowsAsync<WebSocketException>(() => ReceiveUntilCloseAsync(client));
            }
        }

        Assert.Equal(3, exchange.Connections.Count);
        Assert.All(exchange.Connections, c => Assert.Equal(CloseReason.Aborted, c.Close?.Reason));
        await using var survivor = await ExchangeClient.ConnectAsync(exchange.StreamUri("btcusdt@trade"));
        await Task.Delay(1000);
        Assert.Equal(WebSocketMessageType.Text, (await survivor.ReceiveAsync()).Type);
        Assert.Null(exchange.Connections[^1].Close);
    }

    [Fact]
    public async Task DropAll_CleanClose_ClosesEveryOpenConnectionWithGoingAway()
    {
        await using var exchange = await ExchangeServer.StartAsync(new() { Feed = TestFeeds.Continuous(), Loops = 0 });
        await using var first = await ExchangeClient.ConnectAsync(exchange.StreamUri("btcusdt@trade"));
        await using var second = await ExchangeClient.ConnectAsync(exchange.RawStreamUri("btcusdt@trade"));
        await exchange.WaitForConnectionAsync(2);

        var dropping = exchange.DropAllAsync(DropKind.Close);

        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, (await ReceiveUntilCloseAsync(first)).CloseStatus);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, (await ReceiveUntilCloseAsync(second)).CloseStatus);
        await dropping.WaitAsync(ExchangeClient.DefaultTimeout);
        Assert.All(exchange.Connections, c => Assert.Equal(CloseReason.ClosedByServer, c.Close?.Reason));
    }

    [Fact]
    public async Task StopAnswering_Connection_SendsNothingAnswersNothingAndLeavesTheSocketOpen()
    {
        await using var exchange = await ExchangeServer.StartAsync(new() { Feed = TestFeeds.Continuous(), Loops = 0 });
        await using var client = await ExchangeClient.ConnectAsync(exchange.RawStreamUri("btcusdt@trade"));
        await client.ReceiveTextsAsync(3);
        var connection = await exchange.WaitForConnectionAsync();

        connection.StopAnswering();
        while (await client.TryReceiveAsync(TimeSpan.FromMilliseconds(500)) is not null)
        {
            // Frames already on their way before the silence.
        }

        await client.SendAsync("{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":1}");
        Assert.Null(await client.TryReceiveAsync(TimeSpan.FromSeconds(1)));
        Assert.Equal(WebSocketState.Open, client.Socket.State);
        Assert.Null(connection.Close);
        Assert.Contains(connection.Received, m => m.Kind == IncomingKind.Text && m.Text!.Contains("LIST_SUBSCRIPTIONS", StringComparison.Ordinal));

        connection.ResumeAnswering();
        Assert.Equal(WebSocketMessageType.Text, (await client.ReceiveAsync()).Type);
    }

    [Fact]
    public async Task StopAnswering_ClientWithKeepAliveTimeout_GivesUpForLackOfPongs()
    {
        await using var exchange = await ExchangeServer.StartAsync(new() { MaxIncomingMessagesPerSecond = 100 });
        await using var client = await ExchangeClient.ConnectAsync(exchange.RawStreamUri("btcusdt@trade"), options =>
        {
            options.KeepAliveInterval = TimeSpan.FromMilliseconds(200);
            options.KeepAliveTimeout = TimeSpan.FromSeconds(1);
        });
        var connection = await exchange.WaitForConnectionAsync();
        Assert.Null(await client.TryReceiveAsync(TimeSpan.FromSeconds(1))); // pings answered meanwhile

        connection.StopAnswering();

        // ClientWebSocket aborts itself: an OperationCanceledException ("Aborted") whose cause is the missing pong.
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => ReceiveUntilCloseAsync(client));
        Assert.Contains(Causes(failure), e => e is WebSocketException && e.Message.Contains("Pong", StringComparison.Ordinal));
        var close = await connection.Closed.WaitAsync(ExchangeClient.DefaultTimeout);
        Assert.Equal(CloseReason.ClientDisconnected, close.Reason); // the client left; the server never closed it
        Assert.Contains(connection.Received, m => m.Kind == IncomingKind.Ping);
    }

    [Fact]
    public async Task SendServerShutdown_WithGrace_ClientGetsTheEventThenAGoingAwayCloseAfterTheGrace()
    {
        await using var exchange = await ExchangeServer.StartAsync(new() { Feed = TestFeeds.Continuous(), Loops = 0 });
        await using var client = await ExchangeClient.ConnectAsync(exchange.StreamUri("btcusdt@trade"));
        await client.ReceiveAsync();
        var connection = await exchange.WaitForConnectionAsync();

        var sentAt = exchange.Elapsed;
        await exchange.SendServerShutdownAsync(TimeSpan.FromMilliseconds(500));
        var messages = new List<ClientMessage>();
        do
        {
            messages.Add(await client.ReceiveAsync());
        }
        while (messages[^1].Type != WebSocketMessageType.Close);

        var shutdown = messages.FindIndex(m => m.Text?.StartsWith("{\"e\":\"serverShutdown\",\"E\":", StringComparison.Ordinal) == true);
        Assert.True(shutdown >= 0, "no serverShutdown event before the close");
        using var shutdownEvent = JsonDocument.Parse(messages[shutdown].Text!);
        Assert.InRange(shutdownEvent.RootElement.GetProperty("E").GetInt64(), DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, messages[^1].CloseStatus);
        var close = await connection.Closed.WaitAsync(ExchangeClient.DefaultTimeout);
        Assert.Equal(CloseReason.ServerShutdown, close.Reason);
        Assert.True(close.At - sentAt >= TimeSpan.FromMilliseconds(450), $"closed {(close.At - sentAt).TotalMilliseconds:0} ms after the event");
    }

    [Fact]
    public async Task SendMalformed_TruncatedNonJsonAndBinary_ArriveAsTheBrokenMessagesTheyAre()
    {
        await using var exchange = await ExchangeServer.StartAsync();
        await using var client = await ExchangeClient.ConnectAsync(exchange.StreamUri("btcusdt@trade"));
        var connection = await exchange.WaitForConnectionAsync();

        await connection.SendMalformedAsync(MalformedFrame.TruncatedJson);
        await connection.SendMalformedAsync(MalformedFrame.NotJson);
        await connection.SendMalformedAsync(MalformedFrame.Binary);

        var truncated = await client.ReceiveAsync();
        Assert.StartsWith("{\"stream\":\"btcusdt@trade\",\"data\":{", truncated.Text, StringComparison.Ordinal);
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(truncated.Text!).Dispose());
        var notJson = await client.ReceiveAsync();
        Assert.Equal(WebSocketMessageType.Text, notJson.Type);
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(notJson.Text!).Dispose());
        Assert.Equal(WebSocketMessageType.Binary, (await client.ReceiveAsync()).Type);
        Assert.Equal(WebSocketState.Open, client.Socket.State);
    }

    [Fact]
    public async Task SendMalformed_InvalidUtf8_ClientFailsTheConnectionWithInvalidPayloadData()
    {
        await using var exchange = await ExchangeServer.StartAsync();
        await using var client = await ExchangeClient.ConnectAsync(exchange.StreamUri("btcusdt@trade"));
        var connection = await exchange.WaitForConnectionAsync();

        await connection.SendMalformedAsync(MalformedFrame.InvalidUtf8);

        await Assert.ThrowsAsync<WebSocketException>(() => client.ReceiveAsync());
        Poll.Until(() => connection.Close is not null, "the connection ends", null, connection.ToString);
        Assert.Contains(connection.Received, m => m.Kind == IncomingKind.Close && m.Text!.StartsWith("1007", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(64L * 1024 * 1024, 64 * 1024)]
    [InlineData(16L * 1024 * 1024, 0)]
    public async Task SendOversized_ManyMegabytes_ArrivesWholeWhileTheServerOnlyStreamsIt(long size, int fragmentBytes)
    {
        await using var exchange = await ExchangeServer.StartAsync();
        await using var client = await ExchangeClient.ConnectAsync(exchange.RawStreamUri());
        var connection = await exchange.WaitForConnectionAsync();

        var sending = connection.SendOversizedAsync(size, fragmentBytes);
        await Task.Delay(500);
        // Nothing is read yet: a server that writes as it goes is held back by the socket, one that buffered would be done.
        Assert.False(sending.IsCompleted, "The whole message was written before the client read any of it");

        var buffer = new byte[1 << 20];
        long received = 0;
        ValueWebSocketReceiveResult result;
        var first = true;
        do
        {
            result = await client.Socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
            Assert.Equal(WebSocketMessageType.Text, result.MessageType);
            if (first)
            {
                Assert.StartsWith("{\"stream\":\"oversized@test\",\"data\":{}", System.Text.Encoding.UTF8.GetString(buffer, 0, result.Count), StringComparison.Ordinal);
                first = false;
            }

            received += result.Count;
        }
        while (!result.EndOfMessage);

        Assert.Equal(size, received);
        Assert.Equal((byte)'}', buffer[result.Count - 1]);
        await sending.WaitAsync(ExchangeClient.DefaultTimeout);
    }

    [Fact]
    public async Task Throttle_BytesPerSecond_CapsTheDataRateUntilLifted()
    {
        const long Rate = 100_000;
        var feed = ExchangeFeed.FromGenerator(20_000, new MarketDataGeneratorOptions { SymbolCount = 5 });
        await using var exchange = await ExchangeServer.StartAsync(new() { Feed = feed, Mode = FeedMode.PerConnection, ThrottleBytesPerSecond = Rate });
        await using var client = await ExchangeClient.ConnectAsync(exchange.StreamUri(feed.Streams));
        var connection = await exchange.WaitForConnectionAsync();

        while (await client.TryReceiveAsync(TimeSpan.FromSeconds(1.5)) is not null && exchange.Elapsed - connection.ConnectedAt < TimeSpan.FromSeconds(1.5))
        {
            // Take what the throttle lets through for a second and a half.
        }

        // The bucket holds a tenth of a second and a batch may overshoot by one frame.
        var sent = connection.BytesSent;
        var allowed = Rate * (exchange.Elapsed - connection.ConnectedAt).TotalSeconds + Rate / 10 + 16 * 1024;
        Assert.InRange(sent, 1, (long)allowed);

        connection.Throttle(0);
        while (connection.FramesSent < feed.Count)
        {
            await client.ReceiveAsync(); // the rest of the feed, at full speed once the throttle is lifted
        }
    }

    private static IEnumerable<Exception> Causes(Exception exception) =>
        exception is AggregateException aggregate
            ? aggregate.InnerExceptions.SelectMany(Causes).Prepend(exception)
            : exception.InnerException is { } inner ? Causes(inner).Prepend(exception) : [exception];

    private static async Task<ClientMessage> ReceiveUntilCloseAsync(ExchangeClient client)
    {
        while (true)
        {
            var message = await client.ReceiveAsync();
            if (message.Type == WebSocketMessageType.Close)
            {
                return message;
            }
        }
    }
}

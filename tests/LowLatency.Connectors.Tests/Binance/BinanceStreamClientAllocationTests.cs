using LowLatency.Connectors.Binance;
using LowLatency.TestSupport;
using Xunit.Abstractions;

namespace LowLatency.Connectors.Tests.Binance;

/// <summary>Tests that measure the whole process's allocations, so nothing else may run beside them.</summary>
[CollectionDefinition(nameof(ProcessAllocationCollection), DisableParallelization = true)]
public sealed class ProcessAllocationCollection;

/// <summary>
/// The receive path end to end over real sockets (ClientWebSocket's reads, the receive loop, the arbiter, the delivery
/// lock, the handler call) allocates nothing per frame after warm-up. Measured with
/// <c>GC.GetTotalAllocatedBytes(precise: true)</c> because the work runs on thread-pool threads; the server writes
/// pre-encoded frames, so it allocates nothing per frame either.
/// </summary>
[Collection(nameof(ProcessAllocationCollection))]
public sealed class BinanceStreamClientAllocationTests(ITestOutputHelper output)
{
    private const int Batch = 1_000;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Receive_SteadyStateTrades_NoAllocationPerFrame(int redundancy)
    {
        const int WarmUp = 20_000;
        const int Measured = 100_000;
        var batches = EncodeBatches(WarmUp + Measured);
        using var server = new RawWebSocketServer();
        var handler = new CountingHandler();
        await using var client = new BinanceStreamClient<CountingHandler>(
            new BinanceStreamOptions { Url = server.Url, Streams = ["btcusdt@trade"], Redundancy = redundancy },
            handler);
        client.Start();
        Poll.Until(() => server.Open.Count == redundancy, "connected");
        var connections = server.Connections.ToArray();

        Send(connections, batches, 0, WarmUp / Batch);
        Poll.Until(() => handler.Count == WarmUp, "warm-up delivered");
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        Send(connections, batches, WarmUp / Batch, batches.Length);
        Poll.Until(() => handler.Count == WarmUp + Measured, "measured frames delivered");
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        var after = GC.GetTotalAllocatedBytes(precise: true);

        var received = (long)Measured * redundancy;
        var perFrame = (double)(after - before) / received;
        output.WriteLine($"redundancy {redundancy}: {after - before} bytes allocated by the whole process over {received} frames received ({Measured} delivered): {perFrame:0.000} B/frame");
        output.WriteLine($"  {Measured / elapsed.TotalSeconds:0} frames/s delivered (not asserted: a shared 2-core machine; server and client in one process)");
        Assert.Equal(WarmUp + Measured, client.Counters.Delivered);
        Assert.True(perFrame < 0.5, $"{perFrame:0.000} B/frame");
    }

    private static byte[][] EncodeBatches(int frames)
    {
        var batches = new byte[frames / Batch][];
        for (var b = 0; b < batches.Length; b++)
        {
            batches[b] = [.. Enumerable.Range((b * Batch) + 1, Batch).SelectMany(id => RawEncoded(id))];
        }

        return batches;
    }

    private static byte[] RawEncoded(long id) => ServerConnection.EncodeText(Frames.Trade(id));

    private static void Send(ServerConnection[] connections, byte[][] batches, int from, int to)
    {
        for (var b = from; b < to; b++)
        {
            foreach (var connection in connections)
            {
                Assert.True(connection.SendEncoded(batches[b]));
            }
        }
    }

    /// <summary>Counts frames; allocates nothing.</summary>
    private sealed class CountingHandler : IBinanceFrameHandler
    {
        private long _count;

        public long Count => Volatile.Read(ref _count);

        public void OnFrame(ReadOnlySpan<byte> frame, long receiveTimeNs) => Volatile.Write(ref _count, _count + 1);

        public void OnGap(in StreamGap gap)
        {
        }
    }
}

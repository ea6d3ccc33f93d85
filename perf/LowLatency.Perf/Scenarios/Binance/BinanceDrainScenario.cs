using LowLatency.LocalExchange;
using LowLatency.Perf.Harness;

namespace LowLatency.Perf.Scenarios.Binance;

/// <summary>
/// The references the client is compared with, on the same feed and server as <see cref="BinanceThroughputScenario"/>,
/// measured by the local exchange's own ceiling drains (<c>CeilingMeasurement</c>, what its <c>--measure</c> runs):
/// <c>binance-server-ceiling</c>, a raw socket that only walks the frame headers (what the server can send when the
/// client costs almost nothing), and <c>binance-clientwebsocket</c>, a plain <see cref="System.Net.WebSockets.ClientWebSocket"/>
/// with its default buffer (as our client opens it) that discards every message. Measured: messages/s from the end of the
/// in-run warm-up to the last frame. Verified: exactly the feed's messages arrived, and its payload bytes, in all.
/// </summary>
internal sealed class BinanceDrainScenario(bool rawSocket) : IScenario
{
    public string Name => rawSocket ? BinanceScenarios.CeilingName : "binance-clientwebsocket";

    public ScenarioKind Kind => ScenarioKind.Throughput;

    public string Category => BinanceScenarios.Category;

    public string Description => rawSocket
        ? "Local exchange (child process, per-connection feed of generated frames, 150 streams) as fast as it can send -> raw socket " +
          "walking frame headers only: the server's ceiling. min(--events, 1,000,000) frames after a quarter as many of warm-up."
        : "Same feed -> plain ClientWebSocket (default 4 KiB buffer, ReceiveAsync(Memory) into 1 MiB), discarding: the best a .NET WebSocket client does.";

    public string? Baseline => rawSocket ? null : BinanceScenarios.CeilingName;

    public ScenarioRunResult Run(ScenarioContext context)
    {
        var (measured, warmUp) = BinanceThroughputScenario.FrameCounts(context);
        var feed = GeneratedFeed.Get(warmUp + measured);
        var exchange = ExchangeProcess.PerConnection(feed.Feed.Count);
        MeasuredWindow? window = null;
        ThreadCpu? cpuStart = null;
        var limits = new DrainLimits(TimeSpan.Zero, warmUp, TimeSpan.MaxValue, warmUp + measured, () =>
        {
            window = context.BeginMeasurement();
            cpuStart = ThreadCpu.Capture(exchange.Id);
        });
        var uri = exchange.StreamUri(feed.Feed.Streams);
        var drain = rawSocket
            ? CeilingMeasurement.IntoRawSocketAsync(exchange.BaseUri, uri.PathAndQuery, limits)
            : CeilingMeasurement.IntoClientWebSocketAsync(uri, limits, receiveBufferBytes: null);
        var result = BinanceScenarios.Wait(drain, ScenarioContext.Timeout(warmUp + measured, nanosecondsPerEvent: 20_000), Name);
        var measurement = window?.End(result.EndTimestamp) ?? throw new VerificationException("the drain never left its warm-up.");
        var cpu = ThreadCpu.PerMessage(cpuStart!, ThreadCpu.Capture(exchange.Id), result.Frames);
        measurement = measurement with { AllocatedBytes = measurement.AllocatedBytes - cpuStart!.AllocatedBytes };

        // The exchange generated its feed itself: the same generator and options give the same bytes.
        if (result.TotalFrames != feed.Feed.Count || result.TotalBytes != feed.Feed.TotalBytes)
        {
            throw new VerificationException(
                $"received {result.TotalFrames:N0} of {feed.Feed.Count:N0} messages, {result.TotalBytes:N0} of {feed.Feed.TotalBytes:N0} payload bytes.");
        }

        return context.CreateResult(result.Frames, measurement, (rawSocket ? "raw socket; " : "ClientWebSocket; ") + cpu, ringSize: 0);
    }
}

using System.Net;
using System.Text.Json.Serialization;
using LowLatency.Telemetry.Prometheus;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LowLatency.Host.Daemon;

/// <summary>One component's health in <c>/health</c>: whether it is healthy, and what it reports.</summary>
public sealed record ComponentHealth(bool Healthy, IReadOnlyDictionary<string, object?> Details);

/// <summary>
/// The daemon's HTTP side, on Kestrel: <c>GET /health/live</c> (200 while the process serves), <c>GET /health/ready</c>
/// and <c>GET /health</c> (per-component JSON; 200 when every component is healthy, 503 otherwise) and <c>GET /metrics</c>
/// (Prometheus text 0.0.4). Requests run on the thread pool, never on the engine's pinned threads; Kestrel's own logs
/// go to the daemon's loggers at Warning and above only.
/// </summary>
public sealed class HealthEndpoint : IDisposable
{
    private readonly WebApplication _app;

    private HealthEndpoint(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>The bound address, e.g. <c>http://127.0.0.1:41234</c> (the real port when 0 was asked for).</summary>
    public Uri Address { get; }

    /// <summary>Starts listening on <paramref name="endPoint"/>; <paramref name="components"/> is called per health request.</summary>
    /// <remarks>Synchronous, as the daemon's start-up and shutdown are (the generic host's own Start() is the same).</remarks>
    public static HealthEndpoint Start(
        IPEndPoint endPoint, PrometheusExporter exporter, Func<IReadOnlyDictionary<string, ComponentHealth>> components, ILoggerFactory loggers)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new ForwardingLoggerProvider(loggers));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(endPoint));
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, HealthJson.Default));
        var app = builder.Build();

        app.MapGet("/health/live", () => Results.Text("live\n"));
        app.MapGet("/health/ready", () => Health(components()));
        app.MapGet("/health", () => Health(components()));
        app.MapGet("/metrics", () => Results.Text(exporter.Scrape(), PrometheusExporter.ContentType));

        app.Start();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new HealthEndpoint(app, new Uri(bound));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _app.StopAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult(); // at shutdown, off every engine thread
        ((IDisposable)_app).Dispose();
    }

    private static IResult Health(IReadOnlyDictionary<string, ComponentHealth> components)
    {
        var healthy = components.Values.All(c => c.Healthy);
        var report = new HealthReport(healthy ? "healthy" : "unhealthy", components.ToDictionary(c => c.Key, c => new ComponentReport(c.Value.Healthy ? "healthy" : "unhealthy", c.Value.Details)));
        return Results.Json(report, HealthJson.Default.HealthReport, statusCode: healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    internal sealed record HealthReport(string Status, Dictionary<string, ComponentReport> Components);

    internal sealed record ComponentReport(string Status, IReadOnlyDictionary<string, object?> Details);

    /// <summary>Hands ASP.NET Core's log categories to the daemon's factory, which the endpoint must not dispose.</summary>
    private sealed class ForwardingLoggerProvider(ILoggerFactory loggers) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => loggers.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(HealthEndpoint.HealthReport))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(DateTimeOffset))]
internal sealed partial class HealthJson : JsonSerializerContext;

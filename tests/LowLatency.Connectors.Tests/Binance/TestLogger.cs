using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace LowLatency.Connectors.Tests.Binance;

/// <summary>
/// Writes the client's log to the test's output, so a failing smoke test shows what the connections did. The client's
/// threads may log after the test has ended, when xunit refuses output: that is swallowed, never thrown into them.
/// </summary>
internal sealed class TestLogger(ITestOutputHelper output) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try
        {
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel}: {formatter(state, exception)}{(exception is null ? string.Empty : " " + exception)}");
        }
        catch (InvalidOperationException)
        {
            // the test is over
        }
    }
}

using LowLatency.Host.Daemon;
using Microsoft.Extensions.Logging;

namespace LowLatency.Host.Tests;

/// <summary><c>lowlatency run</c> on a thread of the test process, its log collected; stopped as SIGTERM would stop it.</summary>
internal sealed class InProcessDaemon
{
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop;
    private readonly StringWriter _log;
    private readonly ILoggerFactory _loggers;
    private int _exit = -1;

    private InProcessDaemon(DaemonOptions options)
    {
        _log = new StringWriter();
        _loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(new WriterLoggerProvider(_log)));
        _stop = new CancellationTokenSource();
        _thread = new Thread(() => _exit = RunCommand.Run(options, _loggers, _stop.Token)) { Name = "test-daemon" };
    }

    /// <summary>Its log so far.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Whether it still runs (it has not returned, crashed or given up).</summary>
    public bool IsRunning => _thread.IsAlive;

    public static InProcessDaemon Start(DaemonOptions options)
    {
        var daemon = new InProcessDaemon(options);
        daemon._thread.Start();
        return daemon;
    }

    /// <summary>Stops it as SIGTERM would and returns its exit code.</summary>
    public int Stop()
    {
        _stop.Cancel();
        Assert.True(_thread.Join(TimeSpan.FromSeconds(60)), "the daemon stops within a minute of the stop request");
        _loggers.Dispose();
        _stop.Dispose();
        return _exit;
    }

    /// <summary>Collects log lines into a writer (the test's view of the daemon's console).</summary>
    internal sealed class WriterLoggerProvider(StringWriter writer) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new WriterLogger(writer);

        public void Dispose()
        {
        }

        private sealed class WriterLogger(StringWriter writer) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (writer)
                {
                    writer.WriteLine($"{logLevel}: {formatter(state, exception)} {exception}");
                }
            }
        }
    }
}

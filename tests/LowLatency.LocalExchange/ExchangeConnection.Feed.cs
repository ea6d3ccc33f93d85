using System.Diagnostics;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;

namespace LowLatency.LocalExchange;

// The feed sender: follows the shared timeline (or, per connection, the whole feed) and writes the subscribed frames.
public sealed partial class ExchangeConnection
{
    private async Task SendFeedAsync()
    {
        await Task.Yield(); // run beside the receive loop, not inside the accept path
        var token = _closing.Token;
        var timeline = _exchange.Timeline;
        var total = _exchange.TotalFrames;
        var perConnection = _exchange.Options.Mode == FeedMode.PerConnection;
        var throttle = new ThrottleState();
        try
        {
            while (!token.IsCancellationRequested)
            {
                var wake = Volatile.Read(ref _wake).Task;
                var tick = timeline.Tick; // before Published: see Timeline
                var limit = perConnection ? total : timeline.Published;
                var cursor = Volatile.Read(ref _cursor);
                if (_silent || !HasSubscriptions())
                {
                    if (!perConnection)
                    {
                        Volatile.Write(ref _cursor, Math.Max(cursor, limit)); // a live feed: what passes now is lost
                    }

                    await (perConnection ? wake : Task.WhenAny(wake, tick)).ConfigureAwait(false);
                    continue;
                }

                if (cursor >= limit)
                {
                    await (perConnection || cursor >= total ? wake : Task.WhenAny(wake, tick)).ConfigureAwait(false);
                    continue;
                }

                var rate = Volatile.Read(ref _throttleBytesPerSecond);
                var budget = rate > 0 ? throttle.Available(rate) : BatchBytes;
                if (budget <= 0)
                {
                    await Task.WhenAny(Task.Delay(throttle.WaitFor(rate), token), wake).ConfigureAwait(false);
                    continue;
                }

                await _writeLock.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    var written = WriteFrames(limit, Math.Min(budget, BatchBytes));
                    throttle.Spend(written);
                    var flush = await _output.FlushAsync(token).ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        return;
                    }
                }
                finally
                {
                    _writeLock.Release();
                }
            }
        }
        catch (Exception ex) when (IsConnectionGone(ex))
        {
            // Closing, or the client went away; the receive loop records why.
        }
    }

    // Writes the subscribed, not withheld frames from the cursor on, until the limit or about maxBytes; no await, no allocation.
    private long WriteFrames(long limit, long maxBytes)
    {
        var feed = _exchange.Feed;
        var bytes = feed.Bytes;
        var withheld = _exchange.Withheld;
        var count = feed.Count;
        var combined = _combined;
        var cursor = _cursor;
        long written = 0;
        long frames = 0;
        var index = (int)(cursor % count);
        while (cursor < limit && written < maxBytes)
        {
            ref readonly var entry = ref feed.EntryAt(index);
            var from = Volatile.Read(ref _subscribedFrom[entry.StreamId]);
            if (from >= 0 && cursor >= from && !withheld[index])
            {
                var payload = combined ? bytes.AsSpan(entry.Offset, entry.Length) : bytes.AsSpan(entry.DataOffset, entry.DataLength);
                written += WebSocketFrames.WriteFrame(_output, WebSocketOpcode.Text, payload);
                frames++;
            }

            cursor++;
            if (++index == count)
            {
                index = 0;
            }
        }

        Volatile.Write(ref _cursor, cursor);
        Volatile.Write(ref _framesSent, _framesSent + frames);
        Volatile.Write(ref _bytesSent, _bytesSent + written);
        return written;
    }

    private bool HasSubscriptions()
    {
        lock (_streams)
        {
            return _streams.Count > 0;
        }
    }

    /// <summary>A token bucket of bytes: fills at the rate, holds at most a tenth of a second's worth.</summary>
    private sealed class ThrottleState
    {
        private double _tokens;
        private long _last = Stopwatch.GetTimestamp();

        public long Available(long rate)
        {
            var now = Stopwatch.GetTimestamp();
            _tokens = Math.Min(_tokens + Stopwatch.GetElapsedTime(_last, now).TotalSeconds * rate, Math.Max(1, rate / 10.0));
            _last = now;
            return (long)_tokens; // a batch may overshoot by one frame; the debt is paid by waiting
        }

        public void Spend(long bytes) => _tokens -= bytes;

        public TimeSpan WaitFor(long rate) => TimeSpan.FromSeconds(Math.Max(0.001, (1 - _tokens) / rate));
    }
}

using System.Diagnostics;

namespace LowLatency.LocalExchange;

/// <summary>
/// The exchange's one clock: releases the feed's frames (by a virtual index that runs on across loops) when their play
/// time comes, at a speed factor. Connections read <see cref="Published"/> and wait on <see cref="Tick"/>; the timeline
/// never waits for them, so a slow client lags (its frames stay in memory) without slowing anyone else.
/// </summary>
internal sealed class Timeline
{
    private readonly ExchangeFeed _feed;
    private readonly double _speed;
    private readonly long _totalFrames;
    private readonly long _sessionNs;
    private readonly TaskCompletionSource _play = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Written by the playing task only. Readers read _tick first, then _published: Publish writes _published before it
    // swaps _tick (Interlocked.Exchange is a full fence), so a reader that saw the old tick is woken by its completion,
    // and one that saw the new tick also sees the new count.
    private long _published;
    private TaskCompletionSource _tick = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Timeline(ExchangeFeed feed, double speed, long totalFrames)
    {
        _feed = feed;
        _speed = speed;
        _totalFrames = totalFrames;

        // As ReplayPacer: loop k is shifted by k session lengths, a session being the feed's span plus one mean gap.
        _sessionNs = feed.Count < 2 ? 1 : Math.Max(1, feed.DurationNs + feed.DurationNs / (feed.Count - 1));
    }

    /// <summary>How many frames (virtual indexes, across loops) have been released.</summary>
    public long Published => Volatile.Read(ref _published);

    /// <summary>Completes at the next release; read it before <see cref="Published"/>.</summary>
    public Task Tick => Volatile.Read(ref _tick).Task;

    /// <summary>Completes when every frame of every loop has been released.</summary>
    public Task Completed => _completed.Task;

    public bool IsMaxSpeed => _speed <= 0 || double.IsPositiveInfinity(_speed);

    public void Play() => _play.TrySetResult();

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await _play.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (IsMaxSpeed || _feed.Count == 0)
        {
            Publish(_totalFrames);
            _completed.TrySetResult();
            return;
        }

        var start = Stopwatch.GetTimestamp();
        var firstNs = _feed.TimeOf(0);
        long next = 0;
        while (next < _totalFrames)
        {
            var elapsedNs = (long)(Stopwatch.GetElapsedTime(start).Ticks * 100 * _speed); // feed time reached
            while (next < _totalFrames && FeedTimeOf(next, firstNs) <= elapsedNs)
            {
                next++;
            }

            if (next > Published)
            {
                Publish(next);
            }

            if (next < _totalFrames)
            {
                // Task.Delay wakes about a millisecond late at best: frames due in the meantime go out together.
                var waitNs = (FeedTimeOf(next, firstNs) - elapsedNs) / _speed;
                await Task.Delay(TimeSpan.FromTicks(Math.Max(10_000, (long)(waitNs / 100))), cancellationToken).ConfigureAwait(false);
            }
        }

        _completed.TrySetResult();
    }

    private long FeedTimeOf(long virtualIndex, long firstNs)
    {
        var loop = virtualIndex / _feed.Count;
        return loop * _sessionNs + _feed.TimeOf((int)(virtualIndex - loop * _feed.Count)) - firstNs;
    }

    private void Publish(long count)
    {
        Volatile.Write(ref _published, count);
        Interlocked.Exchange(ref _tick, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}

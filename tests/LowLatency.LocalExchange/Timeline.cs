using System.Diagnostics;

namespace LowLatency.LocalExchange;

/// <summary>
/// The exchange's one clock: releases the feed's frames (by a virtual index that runs on across loops) when their play
/// time comes, at a speed factor. Connections read <see cref="Published"/> and wait on <see cref="Tick"/>; the timeline
/// never waits for them, so a slow client lags (its frames stay in memory) without slowing anyone else.
/// </summary>
internal sealed class Timeline
{
    // The precise pacer's shortest sleep: frames due closer together than this go out together. It caps the timeline's
    // wake-ups at 50 k/s, which sped-up recordings in tests would otherwise turn into a busy core.
    private const long MinimumWaitNs = 20_000;

    // The longest sleep, so that a stop is noticed within 10 ms.
    private const long MaximumWaitNs = 10_000_000;

    private readonly ExchangeFeed _feed;
    private readonly double _speed;
    private readonly long _totalFrames;
    private readonly long _sessionNs;
    private readonly TaskCompletionSource _play = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Written by the playing task (or its pacing thread) only. Readers read _tick first, then _published: Publish writes
    // _published before it swaps _tick (Interlocked.Exchange is a full fence), so a reader that saw the old tick is woken
    // by its completion, and one that saw the new tick also sees the new count.
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
        }
        else if (PreciseSleep.IsSupported)
        {
            // A thread of its own that sleeps to each frame's time: frames go out as spaced as the feed says, to within
            // MinimumWaitNs (Task.Delay, below, wakes about a millisecond late at best, and at 10 k frames/s sent bursts of
            // about 40 frames 4 ms apart: that measured the exchange's timer, not the client).
            var paced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var thread = new Thread(() =>
            {
                try
                {
                    PreciseSleep.UseFineTimerSlack();
                    var start = Stopwatch.GetTimestamp();
                    long next = 0;
                    while (Advance(ref next, start, out var waitNs))
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        PreciseSleep.Sleep(Math.Clamp(waitNs, MinimumWaitNs, MaximumWaitNs));
                    }

                    paced.TrySetResult();
                }
                catch (OperationCanceledException)
                {
                    paced.TrySetCanceled(cancellationToken);
                }
                catch (Exception ex)
                {
                    paced.TrySetException(ex);
                }
            })
            {
                IsBackground = true,
                Name = "exchange-timeline",
            };
            thread.Start();
            await paced.Task.ConfigureAwait(false);
        }
        else
        {
            var start = Stopwatch.GetTimestamp();
            long next = 0;
            while (Advance(ref next, start, out var waitNs))
            {
                await Task.Delay(TimeSpan.FromTicks(Math.Max(10_000, waitNs / 100)), cancellationToken).ConfigureAwait(false);
            }
        }

        _completed.TrySetResult();
    }

    // Publishes every frame due by now; false once all are, else how long until the next one is due.
    private bool Advance(ref long next, long start, out long waitNs)
    {
        var firstNs = _feed.TimeOf(0);
        var elapsedNs = (long)(Stopwatch.GetElapsedTime(start).Ticks * 100 * _speed); // feed time reached
        while (next < _totalFrames && FeedTimeOf(next, firstNs) <= elapsedNs)
        {
            next++;
        }

        if (next > Published)
        {
            Publish(next);
        }

        waitNs = next < _totalFrames ? (long)((FeedTimeOf(next, firstNs) - elapsedNs) / _speed) : 0;
        return next < _totalFrames;
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

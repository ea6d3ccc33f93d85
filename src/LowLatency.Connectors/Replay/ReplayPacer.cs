using System.Diagnostics;
using System.Globalization;

namespace LowLatency.Connectors.Replay;

/// <summary>Options of <see cref="ReplayPacer"/>; every default is documented where it is declared.</summary>
public sealed class ReplayOptions
{
    /// <summary>
    /// Playback speed as a multiple of real time (10 = ten times faster than recorded). Default 0: as fast as possible,
    /// no waiting. <see cref="double.PositiveInfinity"/> means the same.
    /// </summary>
    public double Speed { get; init; }

    /// <summary>How many times the session is played (the source is re-opened each time). Default 1.</summary>
    public int Loops { get; init; } = 1;

    /// <summary>Whether frames are released as fast as possible.</summary>
    public bool IsMaxSpeed => Speed <= 0 || double.IsPositiveInfinity(Speed);

    /// <summary>
    /// Reads <c>--speed X</c> (or <c>--max-speed</c>) and <c>--loop N</c> from command-line arguments; other arguments are
    /// ignored, so the host can share its argument list.
    /// </summary>
    public static ReplayOptions FromArgs(ReadOnlySpan<string> args)
    {
        var speed = 0.0;
        var loops = 1;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--speed" when i + 1 < args.Length:
                    speed = double.Parse(args[++i].TrimEnd('x', 'X'), NumberStyles.Float, CultureInfo.InvariantCulture);
                    ArgumentOutOfRangeException.ThrowIfNegative(speed, "--speed");
                    break;
                case "--max-speed":
                    speed = 0;
                    break;
                case "--loop" when i + 1 < args.Length:
                    loops = int.Parse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture);
                    ArgumentOutOfRangeException.ThrowIfLessThan(loops, 1, "--loop");
                    break;
            }
        }

        return new ReplayOptions { Speed = speed, Loops = loops };
    }
}

/// <summary>
/// Replays a recorded session at maximum speed or at ×N real time from the recorded receive times, optionally looping.
/// The first frame is released at once; frame <c>i</c> is released when the clock reaches
/// <c>start + (t_i - t_0) / speed</c>. Loop <c>k</c> shifts receive times by <c>k × session length</c> so that time keeps
/// increasing across loops (the session length is last − first receive time plus one mean inter-frame gap, so the
/// rhythm continues across the seam).
/// </summary>
/// <remarks>
/// The clock and the wait are injectable so that pacing is testable without real time. The default clock is
/// <see cref="Stopwatch"/> in nanoseconds; the default wait sleeps while more than 2 ms remain, then spins.
/// Frames without a receive time (bare JSON recordings) are released at once and keep <see cref="RecordedFrame.NoReceiveTime"/>.
/// Not thread-safe: one pacer per source thread.
/// </remarks>
public sealed class ReplayPacer : IDisposable
{
    private readonly Func<IFrameSource> _open;
    private readonly ReplayOptions _options;
    private readonly Func<long> _clockNs;
    private readonly Action<long> _waitUntilNs;

    private IFrameSource? _reader;
    private long _shiftNs;
    private long _firstTimeNs = RecordedFrame.NoReceiveTime;   // first receive time of loop 0
    private long _lastTimeNs = RecordedFrame.NoReceiveTime;    // last receive time of loop 0
    private long _timedFramesInFirstLoop;
    private long _startClockNs;
    private bool _started;

    /// <summary>Creates a pacer over sessions opened by <paramref name="open"/> (called once per loop).</summary>
    /// <param name="open">Opens the recording from its beginning.</param>
    /// <param name="options">Speed and loops; default: maximum speed, one loop.</param>
    /// <param name="clockNs">The clock in nanoseconds; default <see cref="Stopwatch"/>.</param>
    /// <param name="waitUntilNs">Waits until the clock reaches the given value; default sleep then spin.</param>
    public ReplayPacer(Func<IFrameSource> open, ReplayOptions? options = null, Func<long>? clockNs = null, Action<long>? waitUntilNs = null)
    {
        ArgumentNullException.ThrowIfNull(open);
        _open = open;
        _options = options ?? new ReplayOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.Loops, 1, nameof(options));
        _clockNs = clockNs ?? StopwatchNanoseconds;
        _waitUntilNs = waitUntilNs ?? (clockNs is null ? SleepThenSpinUntil : SpinUntil);
    }

    /// <summary>The loop being played, from 0.</summary>
    public int Loop { get; private set; }

    /// <summary>Frames released so far, all loops together.</summary>
    public long FramesRead { get; private set; }

    /// <summary>The session length used to shift each loop, known once loop 0 has ended (0 before).</summary>
    public long SessionLengthNs { get; private set; }

    /// <summary>The source of the current loop (for its counters); null before the first read and after the end.</summary>
    public IFrameSource? CurrentSource => _reader;

    /// <summary>Lines skipped as unreadable (see <see cref="RecordingReader.ErrorLines"/>), all loops together.</summary>
    public long ErrorLines => _finishedErrorLines + (_reader?.ErrorLines ?? 0);

    private long _finishedErrorLines;

    /// <summary>
    /// Waits until the next frame is due, then returns it with its receive time shifted for the loop. False when every
    /// loop has been played. The payload is valid until the next call.
    /// </summary>
    public bool TryRead(out RecordedFrame frame)
    {
        while (true)
        {
            _reader ??= _open();
            if (_reader.TryRead(out frame))
            {
                break;
            }

            _finishedErrorLines += _reader.ErrorLines;
            _reader.Dispose();
            _reader = null;
            if (Loop == 0)
            {
                SessionLengthNs = ComputeSessionLength();
            }

            if (++Loop >= _options.Loops)
            {
                Loop = _options.Loops - 1;
                frame = default;
                return false;
            }

            _shiftNs = checked(Loop * SessionLengthNs);
        }

        if (frame.HasReceiveTime)
        {
            if (Loop == 0)
            {
                if (_firstTimeNs == RecordedFrame.NoReceiveTime)
                {
                    _firstTimeNs = frame.ReceiveTimeNs;
                }

                _lastTimeNs = frame.ReceiveTimeNs;
                _timedFramesInFirstLoop++;
            }

            frame = frame.WithReceiveTime(frame.ReceiveTimeNs + _shiftNs);
            Pace(frame.ReceiveTimeNs);
        }

        FramesRead++;
        return true;
    }

    public void Dispose()
    {
        _reader?.Dispose();
        _reader = null;
    }

    private void Pace(long receiveTimeNs)
    {
        if (_options.IsMaxSpeed)
        {
            return;
        }

        if (!_started)
        {
            _started = true;
            _startClockNs = _clockNs();
            return; // the first frame goes at once
        }

        var due = _startClockNs + (long)((receiveTimeNs - _firstTimeNs) / _options.Speed);
        if (_clockNs() < due)
        {
            _waitUntilNs(due);
        }
    }

    private long ComputeSessionLength()
    {
        if (_timedFramesInFirstLoop < 2)
        {
            return 1;
        }

        var span = _lastTimeNs - _firstTimeNs;
        return Math.Max(1, span + span / (_timedFramesInFirstLoop - 1));
    }

    private static long StopwatchNanoseconds()
    {
        var ticks = Stopwatch.GetTimestamp();
        // Split to avoid overflow of ticks * 1e9 while staying exact for any frequency.
        var seconds = ticks / Stopwatch.Frequency;
        var remainder = ticks % Stopwatch.Frequency;
        return seconds * 1_000_000_000 + remainder * 1_000_000_000 / Stopwatch.Frequency;
    }

    private static void SleepThenSpinUntil(long dueNs)
    {
        const long SpinThresholdNs = 2_000_000;
        while (true)
        {
            var remaining = dueNs - StopwatchNanoseconds();
            if (remaining <= 0)
            {
                return;
            }

            if (remaining > SpinThresholdNs)
            {
                Thread.Sleep((int)Math.Min(int.MaxValue, (remaining - SpinThresholdNs) / 1_000_000));
            }
            else
            {
                Thread.SpinWait(20);
            }
        }
    }

    private void SpinUntil(long dueNs)
    {
        while (_clockNs() < dueNs)
        {
            Thread.SpinWait(20);
        }
    }
}

using System.Diagnostics;
using System.Text;
using LowLatency.Connectors.Replay;
using LowLatency.TestSupport;

namespace LowLatency.Connectors.Tests;

public sealed class ReplayPacerTests
{
    private const long Second = 1_000_000_000;
    private const long RecordingStartNs = 1_723_161_253_000_000_000;

    [Fact]
    public void TryRead_TenTimesSpeedOfOneSecondRecording_TakesATenthOfASecondOnFakeClock()
    {
        var clock = new FakeClock(start: 777);
        using var pacer = new ReplayPacer(OneSecondRecording, new ReplayOptions { Speed = 10 }, clock.Now, clock.WaitUntil);

        var releasedAt = new List<long>();
        while (pacer.TryRead(out _))
        {
            releasedAt.Add(clock.Now());
        }

        Assert.Equal(11, releasedAt.Count);
        Assert.Equal(777, releasedAt[0]);                  // the first frame goes at once
        Assert.Equal(100_000_000, releasedAt[^1] - releasedAt[0]);
        for (var i = 1; i < releasedAt.Count; i++)
        {
            Assert.Equal(10_000_000, releasedAt[i] - releasedAt[i - 1]);
        }

        Assert.Equal(10, clock.Waits);
    }

    [Fact]
    public void TryRead_MaxSpeed_NeverWaits()
    {
        var clock = new FakeClock(start: 0);
        using var pacer = new ReplayPacer(OneSecondRecording, new ReplayOptions(), clock.Now, clock.WaitUntil);

        var frames = 0;
        while (pacer.TryRead(out _))
        {
            frames++;
        }

        Assert.Equal(11, frames);
        Assert.Equal(0, clock.Waits);
        Assert.Equal(0, clock.Now());
    }

    [Fact]
    public void TryRead_ThreeLoops_TriplesFramesAndShiftsTimesBySessionLength()
    {
        var opens = 0;
        using var pacer = new ReplayPacer(() => { opens++; return OneSecondRecording(); }, new ReplayOptions { Loops = 3 });

        var times = new List<long>();
        var lines = new List<long>();
        while (pacer.TryRead(out var frame))
        {
            times.Add(frame.ReceiveTimeNs);
            lines.Add(frame.LineNumber);
        }

        Assert.Equal(3, opens);
        Assert.Equal(33, times.Count);
        Assert.Equal(33, pacer.FramesRead);
        Assert.Equal(2, pacer.Loop);

        // Session: 0 .. 1 s in steps of 0.1 s, so the length is 1 s plus one mean gap.
        Assert.Equal(Second + Second / 10, pacer.SessionLengthNs);
        for (var k = 0; k < 3; k++)
        {
            for (var i = 0; i < 11; i++)
            {
                Assert.Equal(RecordingStartNs + i * (Second / 10) + k * pacer.SessionLengthNs, times[k * 11 + i]);
                Assert.Equal(i + 1, lines[k * 11 + i]);
            }
        }

        for (var i = 1; i < times.Count; i++)
        {
            Assert.True(times[i] > times[i - 1], $"time did not increase at frame {i}");
        }
    }

    [Fact]
    public void TryRead_LoopsAtTenTimesSpeed_KeepRhythmAcrossTheSeam()
    {
        var clock = new FakeClock(start: 0);
        using var pacer = new ReplayPacer(OneSecondRecording, new ReplayOptions { Speed = 10, Loops = 2 }, clock.Now, clock.WaitUntil);

        var releasedAt = new List<long>();
        while (pacer.TryRead(out _))
        {
            releasedAt.Add(clock.Now());
        }

        Assert.Equal(22, releasedAt.Count);
        Assert.Equal(10_000_000, releasedAt[11] - releasedAt[10]); // the seam keeps the 0.1 s / 10 gap
        Assert.Equal(210_000_000, releasedAt[^1]);
    }

    [Fact]
    public void TryRead_BareJsonWithoutReceiveTimes_ReleasesAtOnceAndKeepsTimesAbsent()
    {
        var clock = new FakeClock(start: 0);
        var bytes = Encoding.UTF8.GetBytes("{\"a\":1}\n{\"b\":2}\n");
        using var pacer = new ReplayPacer(() => new RecordingReader(new MemoryStream(bytes)), new ReplayOptions { Speed = 1, Loops = 2 }, clock.Now, clock.WaitUntil);

        var frames = 0;
        while (pacer.TryRead(out var frame))
        {
            Assert.Equal(RecordedFrame.NoReceiveTime, frame.ReceiveTimeNs);
            frames++;
        }

        Assert.Equal(4, frames);
        Assert.Equal(0, clock.Waits);
    }

    [Fact]
    public void TryRead_TwentyTimesSpeedOnRealClock_TakesAboutFiftyMilliseconds()
    {
        using var pacer = new ReplayPacer(OneSecondRecording, new ReplayOptions { Speed = 20 });
        var watch = Stopwatch.StartNew();
        var frames = 0;
        while (pacer.TryRead(out _))
        {
            frames++;
        }

        Assert.Equal(11, frames);
        Assert.InRange(watch.Elapsed.TotalMilliseconds, 49.0, 2_000.0);
    }

    [Fact]
    public void FromArgs_SpeedAndLoop_AreParsedAndOtherArgumentsIgnored()
    {
        var options = ReplayOptions.FromArgs(["--file", "x.gz", "--speed", "10x", "--loop", "3"]);
        Assert.Equal(10, options.Speed);
        Assert.Equal(3, options.Loops);
        Assert.False(options.IsMaxSpeed);

        var defaults = ReplayOptions.FromArgs(["--max-speed"]);
        Assert.True(defaults.IsMaxSpeed);
        Assert.Equal(1, defaults.Loops);
        Assert.Throws<ArgumentOutOfRangeException>(() => ReplayOptions.FromArgs(["--loop", "0"]));
    }

    [Fact]
    public void TryRead_PacedAfterWarmUp_AllocatesNothingPerFrame()
    {
        var clock = new FakeClock(start: 0);
        var bytes = RecordingReaderTests.SyntheticRecording(lines: 40_000, gzip: true);
        using var pacer = new ReplayPacer(() => new RecordingReader(new MemoryStream(bytes)), new ReplayOptions { Speed = 3 }, clock.Now, clock.WaitUntil);
        long sum = 0;

        Allocations.AssertNone(
            () =>
            {
                for (var i = 0; i < 5_000; i++)
                {
                    Assert.True(pacer.TryRead(out var frame));
                    sum += frame.ReceiveTimeNs;
                }
            },
            "ReplayPacer.TryRead");

        Assert.Equal(20_000, pacer.FramesRead);
        Assert.True(clock.Waits > 19_000, $"only {clock.Waits} waits");
    }

    [DataFact]
    public void TryRead_RealRecordingTwoLoops_DoublesFramesWithIncreasingTimes()
    {
        var path = TestData.PathOf("binance/recordings/spot_ethusdt_20240808.gz");
        using var pacer = new ReplayPacer(() => RecordingReader.Open(path), new ReplayOptions { Loops = 2 });
        var previous = long.MinValue;
        while (pacer.TryRead(out var frame))
        {
            Assert.True(frame.ReceiveTimeNs >= previous, $"time went back at frame {pacer.FramesRead}");
            previous = frame.ReceiveTimeNs;
        }

        Assert.Equal(2 * 33_618, pacer.FramesRead);
        Assert.InRange(pacer.SessionLengthNs, 300 * Second, 400 * Second);
    }

    // 11 frames at 0.0, 0.1, ..., 1.0 s.
    private static RecordingReader OneSecondRecording()
    {
        var text = new StringBuilder();
        for (var i = 0; i <= 10; i++)
        {
            text.Append(RecordingStartNs + i * (Second / 10)).Append(" {\"i\":").Append(i).Append("}\n");
        }

        return new RecordingReader(new MemoryStream(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private sealed class FakeClock(long start)
    {
        private long _now = start;

        public int Waits { get; private set; }

        public long Now() => _now;

        public void WaitUntil(long dueNs)
        {
            Assert.True(dueNs > _now, "waited for a time already reached");
            Waits++;
            _now = dueNs;
        }
    }
}

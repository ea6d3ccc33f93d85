using LowLatency.Connectors.Binance;
using LowLatency.Connectors.Replay;
using LowLatency.TestSupport;

namespace LowLatency.Connectors.Tests.Binance;

/// <summary>
/// The arbiter frame by frame: twins' duplicates, exact gap ranges per kind, ordering of kinds without consecutive ids,
/// the hold-off for a twin that is behind, control frames and malformed input. A is line 0 (position 0), B line 1
/// (position 2) of group 0.
/// </summary>
public sealed class StreamArbiterTests
{
    private const int A = 0;
    private const int B = 2;
    private const long Ms = 1_000_000;
    private const long HoldOffNs = 500 * Ms;

    [Fact]
    public void Arbitrate_TwinCopiesOfEveryTrade_EachDeliveredOnceInOrder()
    {
        var arbiter = Arbiter("btcusdt@trade");
        var delivered = new List<long>();

        // B trails A by three frames: A1 A2 A3 B1 A4 B2 A5 B3 …
        for (var i = 1; i <= 103; i++)
        {
            if (i <= 100)
            {
                Feed(arbiter, A, Frames.Trade(i), delivered, expectId: i);
            }

            if (i > 3)
            {
                Assert.Equal(Verdict.Duplicate, Arbitrate(arbiter, B, Frames.Trade(i - 3)));
            }
        }

        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), delivered);
        Assert.Equal(100, arbiter.Delivered);
        Assert.Equal(100, arbiter.Duplicates);
        Assert.Equal(0, arbiter.Gaps);
        Assert.Equal(100, arbiter.DeliveredBy(0, A));
        Assert.Equal(0, arbiter.DeliveredBy(0, B));
    }

    [Fact]
    public void Arbitrate_TwinsTakingTurnsToLead_FirstCopyWinsAndNothingRepeats()
    {
        var arbiter = Arbiter("btcusdt@trade");
        var order = new (int Position, long Id)[]
        {
            (A, 1), (B, 1), (B, 2), (A, 2), (A, 3), (B, 3), (B, 4), (B, 5), (A, 4), (A, 5), (A, 6), (B, 6),
        };

        var verdicts = order.Select(step => Arbitrate(arbiter, step.Position, Frames.Trade(step.Id))).ToArray();

        Assert.Equal(
            [
                Verdict.Deliver, Verdict.Duplicate, Verdict.Deliver, Verdict.Duplicate, Verdict.Deliver, Verdict.Duplicate,
                Verdict.Deliver, Verdict.Deliver, Verdict.Duplicate, Verdict.Duplicate, Verdict.Deliver, Verdict.Duplicate,
            ],
            verdicts);
        Assert.Equal(3, arbiter.DeliveredBy(0, A));
        Assert.Equal(3, arbiter.DeliveredBy(0, B));
    }

    [Fact]
    public void Arbitrate_TradeIdJumpOnOneLine_GapOfExactlyTheMissingIds()
    {
        var arbiter = Arbiter(redundancy: 1, streams: "btcusdt@trade");

        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.Trade(10)));
        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.Trade(11)));
        Assert.Equal(Verdict.DeliverAfterGap, arbiter.Arbitrate(Frames.Trade(15), 0, A, 42, out var gap));

        Assert.Equal("btcusdt@trade", gap.Stream);
        Assert.Equal("BTCUSDT", gap.Symbol);
        Assert.Equal(BinanceStreamKind.Trade, gap.Kind);
        Assert.Equal(12, gap.FirstMissing);
        Assert.Equal(14, gap.LastMissing);
        Assert.Equal(3, gap.Count);
        Assert.Equal(42, gap.ReceiveTimeNs);
        Assert.Equal(1, arbiter.Gaps);
        Assert.Equal(3, arbiter.MissingIds);
        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.Trade(16)));
        Assert.Equal(Verdict.Duplicate, Arbitrate(arbiter, A, Frames.Trade(13))); // a late one of the hole: too late
    }

    [Fact]
    public void Arbitrate_AggTradeIdJump_GapInAggregateIds()
    {
        var arbiter = Arbiter(redundancy: 1, streams: "ethusdt@aggTrade");

        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.AggTrade(1_000, "ethusdt")));
        Assert.Equal(Verdict.DeliverAfterGap, arbiter.Arbitrate(Frames.AggTrade(1_002, "ethusdt"), 0, A, 1, out var gap));

        Assert.Equal((BinanceStreamKind.AggTrade, 1_001L, 1_001L, "ETHUSDT"), (gap.Kind, gap.FirstMissing, gap.LastMissing, gap.Symbol));
    }

    [Fact]
    public void Arbitrate_DepthUpdates_GapWhenUIsAbovePreviousUPlusOne()
    {
        var arbiter = Arbiter(redundancy: 1, streams: "btcusdt@depth@100ms");

        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.Depth(1, 5)));
        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.Depth(6, 9)));
        Assert.Equal(Verdict.DeliverAfterGap, arbiter.Arbitrate(Frames.Depth(12, 15), 0, A, 1, out var gap));
        Assert.Equal((10L, 11L, BinanceStreamKind.DepthUpdate), (gap.FirstMissing, gap.LastMissing, gap.Kind));

        // Overlapping a delivered range but reaching further: levels are absolute quantities, so it is applied.
        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.Depth(14, 20)));
        Assert.Equal(Verdict.Duplicate, Arbitrate(arbiter, A, Frames.Depth(16, 20)));
        Assert.Equal(Verdict.Duplicate, Arbitrate(arbiter, A, Frames.Depth(1, 5)));
        Assert.Equal(1, arbiter.Gaps);
        Assert.Equal(2, arbiter.MissingIds);
    }

    [Fact]
    public void Arbitrate_BookTickerIdsNotConsecutive_IncreasingDeliveredNeverAGap()
    {
        var arbiter = Arbiter("btcusdt@bookTicker");

        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.BookTicker(100)));
        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.BookTicker(250)));
        Assert.Equal(Verdict.Duplicate, Arbitrate(arbiter, B, Frames.BookTicker(250)));
        Assert.Equal(Verdict.Duplicate, Arbitrate(arbiter, B, Frames.BookTicker(100)));
        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, B, Frames.BookTicker(9_000)));
        Assert.Equal(0, arbiter.Gaps);
    }

    [Fact]
    public void Arbitrate_PartialDepthSnapshots_OrderedByLastUpdateId()
    {
        var arbiter = Arbiter("btcusdt@depth5@100ms");

        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.PartialDepth(160)));
        Assert.Equal(Verdict.Duplicate, Arbitrate(arbiter, B, Frames.PartialDepth(160)));
        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, B, Frames.PartialDepth(170)));
        Assert.Equal(0, arbiter.Gaps);
    }

    [Fact]
    public void Arbitrate_Klines_OrderedByEventTimeThenOpenTime()
    {
        var arbiter = Arbiter("btcusdt@kline_1m");

        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.Kline(1_000, 60_000)));
        Assert.Equal(Verdict.Duplicate, Arbitrate(arbiter, B, Frames.Kline(1_000, 60_000)));
        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.Kline(1_000, 120_000))); // the next candle's first update, same E
        Assert.Equal(Verdict.Duplicate, Arbitrate(arbiter, B, Frames.Kline(1_000, 120_000)));
        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, B, Frames.Kline(3_000, 120_000)));
        Assert.Equal(Verdict.Duplicate, Arbitrate(arbiter, A, Frames.Kline(2_000, 120_000)));
        Assert.Equal(0, arbiter.Gaps);
    }

    [Fact]
    public void Arbitrate_Tickers_NonIncreasingEventTimeDropped()
    {
        var arbiter = Arbiter("btcusdt@ticker");

        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.Ticker(5_000)));
        Assert.Equal(Verdict.Duplicate, Arbitrate(arbiter, B, Frames.Ticker(5_000)));
        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, B, Frames.Ticker(6_000)));
        Assert.Equal(Verdict.Duplicate, Arbitrate(arbiter, A, Frames.Ticker(5_500)));
    }

    [Fact]
    public void Arbitrate_StreamsAreIndependent_EachKeepsItsOwnSequence()
    {
        var arbiter = Arbiter(redundancy: 1, streams: ["btcusdt@trade", "ethusdt@trade"]);

        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.Trade(500)));
        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.Trade(7, "ethusdt")));
        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.Trade(501)));
        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.Trade(8, "ethusdt")));
        Assert.Equal(0, arbiter.Gaps);
    }

    [Fact]
    public void Arbitrate_StreamNotSubscribed_CountedAndDropped()
    {
        var arbiter = Arbiter("btcusdt@trade");

        Assert.Equal(Verdict.UnknownStream, Arbitrate(arbiter, A, Frames.Trade(1, "xrpusdt")));
        Assert.Equal(1, arbiter.UnknownStreams);
        Assert.Equal(0, arbiter.Delivered);
    }

    [Fact]
    public void Arbitrate_AfterUnsubscribeAndResubscribe_InFlightDroppedThenFreshStartWithoutGap()
    {
        var arbiter = Arbiter(redundancy: 1, streams: "btcusdt@trade");
        Assert.True(arbiter.TryGetStream("btcusdt@trade", out var id));
        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.Trade(1)));

        arbiter.Deactivate(id);
        Assert.Equal(Verdict.Unsubscribed, Arbitrate(arbiter, A, Frames.Trade(2)));
        Assert.Equal(1, arbiter.UnsubscribedFrames);

        Assert.Equal(id, arbiter.Register("btcusdt@trade", 0));
        Assert.Equal(Verdict.Deliver, Arbitrate(arbiter, A, Frames.Trade(900))); // what passed meanwhile is not a gap
        Assert.Equal(0, arbiter.Gaps);
    }

    [Fact]
    public void Arbitrate_ControlReplies_RecognisedWithTheirRequestIds()
    {
        var arbiter = Arbiter("btcusdt@trade");

        AssertControl(arbiter, "{\"result\":null,\"id\":7}", FrameType.SubscriptionReply, Verdict.SubscriptionReply, 7);
        AssertControl(arbiter, "{ \"id\": 8, \"result\": [\"btcusdt@trade\"] }", FrameType.SubscriptionReply, Verdict.SubscriptionReply, 8);
        AssertControl(arbiter, "{\"error\":{\"code\":2,\"msg\":\"Invalid request: unknown variant `SUBSCRIB`\"},\"id\":3}", FrameType.ErrorReply, Verdict.ErrorReply, 3);
        AssertControl(arbiter, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}", FrameType.ErrorReply, Verdict.ErrorReply, -1);
        AssertControl(arbiter, "{\"e\":\"serverShutdown\",\"E\":1723161255214}", FrameType.ServerShutdown, Verdict.ServerShutdown, -1);
        AssertControl(arbiter, "{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"serverShutdown\",\"E\":1}}", FrameType.ServerShutdown, Verdict.ServerShutdown, -1);

        Assert.Equal(2, arbiter.SubscriptionReplies);
        Assert.Equal(2, arbiter.ErrorReplies);
        Assert.Equal(2, arbiter.ServerShutdowns);
        Assert.Equal(0, arbiter.Delivered);
    }

    [Theory]
    [InlineData("{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\",\"t\":5", MalformedReason.InvalidJson)]
    [InlineData("{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\"}}}", MalformedReason.InvalidJson)]
    [InlineData("", MalformedReason.InvalidJson)]
    [InlineData("[1,2,3]", MalformedReason.InvalidJson)]
    [InlineData("{\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\",\"t\":5}", MalformedReason.NotCombined)]
    [InlineData("{\"data\":{\"e\":\"trade\",\"t\":5}}", MalformedReason.MissingStream)]
    [InlineData("{\"stream\":7,\"data\":{\"e\":\"trade\",\"t\":5}}", MalformedReason.MissingStream)]
    [InlineData("{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\"}}", MalformedReason.MissingSequence)]
    [InlineData("{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"t\":\"5\"}}", MalformedReason.MissingSequence)]
    [InlineData("{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"t\":5.5}}", MalformedReason.MissingSequence)]
    [InlineData("{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"t\":99999999999999999999}}", MalformedReason.MissingSequence)]
    [InlineData("{\"stream\":\"btcusdt@depth\",\"data\":{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":9,\"u\":5,\"b\":[],\"a\":[]}}", MalformedReason.MissingSequence)]
    [InlineData("{\"stream\":\"btcusdt@kline_1m\",\"data\":{\"e\":\"kline\",\"E\":1,\"s\":\"BTCUSDT\",\"k\":{\"T\":5}}}", MalformedReason.MissingSequence)]
    [InlineData("{\"stream\":\"btcusdt@trade\",\"data\":42}", MalformedReason.MissingSequence)]
    [InlineData("{\"stream\":\"!ticker@arr\",\"data\":[]}", MalformedReason.MissingSequence)]
    [InlineData("{\"stream\":\"btcusdt@trade\",\"data\":{}}", MalformedReason.MissingSequence)]
    [InlineData("{\"hello\":\"world\"}", MalformedReason.Unrecognised)]
    [InlineData("{}", MalformedReason.Unrecognised)]
    public void Arbitrate_MalformedFrame_CountedByReasonNeverDelivered(string json, MalformedReason reason)
    {
        var arbiter = Arbiter("btcusdt@trade");

        Assert.Equal(Verdict.Malformed, Arbitrate(arbiter, A, Frames.Utf8(json)));
        Assert.Equal(1, arbiter.Malformed(reason));
        Assert.Equal(1, arbiter.MalformedTotal);
        Assert.Equal(0, arbiter.Delivered);
    }

    [Fact]
    public void Inspect_OtherShapesOfKnownFrames_GeneralPathReadsTheSameSequences()
    {
        var arbiter = Arbiter(["btcusdt@trade", "btcusdt@depth@100ms", "!ticker@arr", "btcusdt@avgPrice", "btcusdt@bookTicker"]);

        // Whitespace, another field order, the wrapper's keys swapped: not the fast path's shape.
        AssertFacts(arbiter, "{ \"data\": {\"t\": 12, \"e\": \"trade\", \"E\": 1}, \"stream\": \"btcusdt@trade\" }", BinanceStreamKind.Trade, 12, 12);
        AssertFacts(arbiter, "{\"stream\":\"btcusdt@depth@100ms\",\"data\":{\"u\":20,\"U\":15,\"e\":\"depthUpdate\"}}", BinanceStreamKind.DepthUpdate, 15, 20);
        AssertFacts(arbiter, "{\"stream\":\"!ticker@arr\",\"data\":[{\"e\":\"24hrTicker\",\"E\":77,\"s\":\"A\"},{\"e\":\"24hrTicker\",\"E\":77,\"s\":\"B\"}]}", BinanceStreamKind.Ticker, 77, 77);
        AssertFacts(arbiter, "{\"stream\":\"btcusdt@avgPrice\",\"data\":{\"e\":\"avgPrice\",\"E\":1693907033000,\"s\":\"BTCUSDT\",\"i\":\"5m\",\"w\":\"25776.86000000\",\"T\":1693907032213}}", BinanceStreamKind.Other, 1693907033000, 1693907033000);
        AssertFacts(arbiter, "{\"stream\":\"btcusdt@bookTicker\",\"data\":{\"e\":\"bookTicker\",\"u\":400900217,\"E\":1568014460893,\"T\":1568014460891,\"s\":\"BTCUSDT\"}}", BinanceStreamKind.BookTicker, 400900217, 400900217);
    }

    [Fact]
    public void Arbitrate_TwinRejoinsAhead_HeldBackUntilTheLaggingTwinFillsTheHoleNoGap()
    {
        var arbiter = Arbiter("btcusdt@trade");
        var driver = new ArbiterDriver(arbiter);
        for (var id = 1; id <= 100; id++)
        {
            Assert.Equal(Verdict.Deliver, driver.Offer(A, Frames.Trade(id)));
            if (id <= 97)
            {
                Assert.Equal(Verdict.Duplicate, driver.Offer(B, Frames.Trade(id)));
            }
        }

        // B is three behind when A drops; A's line reconnects and its first frames are 105 and 106, ahead of everything.
        arbiter.CloseSlot(0, A);
        arbiter.OpenSlot(0, A + 1);
        Assert.Equal(Verdict.HeldBack, driver.Offer(A + 1, Frames.Trade(105), nowNs: 1 * Ms));
        Assert.Equal(Verdict.HeldBack, driver.Offer(A + 1, Frames.Trade(106), nowNs: 1 * Ms));
        Assert.Equal((2, 2L), (arbiter.HeldFrames, arbiter.HeldBack));
        for (var id = 98; id <= 100; id++)
        {
            Assert.Equal(Verdict.Duplicate, driver.Offer(B, Frames.Trade(id), nowNs: 2 * Ms)); // A delivered them before it dropped
        }

        for (var id = 101; id <= 104; id++)
        {
            Assert.Equal(Verdict.Deliver, driver.Offer(B, Frames.Trade(id), nowNs: 2 * Ms));
        }

        // 104 filled the hole: A's held 105 and 106 followed it at once, and B's own copies are duplicates.
        Assert.Equal(Range(1, 106), driver.TradeIds());
        Assert.Equal(Verdict.Duplicate, driver.Offer(B, Frames.Trade(105), nowNs: 3 * Ms));
        Assert.Equal(Verdict.Deliver, driver.Offer(A + 1, Frames.Trade(107), nowNs: 3 * Ms)); // A leads again
        Assert.Equal(Verdict.Duplicate, driver.Offer(B, Frames.Trade(106), nowNs: 3 * Ms));
        Assert.Equal(Range(1, 107), driver.TradeIds());
        Assert.Empty(driver.Gaps);
        Assert.Equal((0, 0L, 2L), (arbiter.HeldFrames, arbiter.HeldBytes, arbiter.ReleasedHeld));
    }

    [Fact]
    public void Arbitrate_HeldBackButTwinStalls_AfterHoldOffTheGapIsOnlyWhatNoLineReceived()
    {
        var arbiter = Arbiter("btcusdt@trade");
        var driver = new ArbiterDriver(arbiter);
        for (var id = 1; id <= 100; id++)
        {
            Assert.Equal(Verdict.Deliver, driver.Offer(A, Frames.Trade(id)));
            if (id <= 97)
            {
                driver.Offer(B, Frames.Trade(id));
            }
        }

        arbiter.CloseSlot(0, A);
        arbiter.OpenSlot(0, A + 1);
        var start = 10 * Ms;
        Assert.Equal(Verdict.HeldBack, driver.Offer(A + 1, Frames.Trade(105), start));
        Assert.Equal(Verdict.HeldBack, driver.Offer(A + 1, Frames.Trade(106), start + HoldOffNs - 1));
        Assert.Equal(Verdict.Release, driver.Offer(A + 1, Frames.Trade(107), start + HoldOffNs));

        // The hole is reported, then the held frames and this one follow: only 101-104, which no line received, are missing.
        var gap = Assert.Single(driver.Gaps);
        Assert.Equal((101L, 104L), (gap.FirstMissing, gap.LastMissing));
        Assert.Equal([.. Range(1, 100), 105, 106, 107], driver.TradeIds());
        Assert.Equal((1L, 4L, 0), (arbiter.Gaps, arbiter.MissingIds, arbiter.HeldFrames));
        Assert.Equal(Verdict.Duplicate, driver.Offer(B, Frames.Trade(98), start + HoldOffNs + 1)); // the stalled twin, too late
    }

    [Fact]
    public void NextDueHold_HoldOffEndsWithNoFurtherFrame_TheSupervisorReleasesIt()
    {
        var arbiter = Arbiter("btcusdt@trade");
        var driver = new ArbiterDriver(arbiter);
        driver.Offer(A, Frames.Trade(1));
        driver.Offer(B, Frames.Trade(1));
        Assert.Equal(Verdict.HeldBack, driver.Offer(A, Frames.Trade(3), 5 * Ms)); // B, at 1, may still bring 2

        Assert.Equal(5 * Ms + HoldOffNs, arbiter.NextHoldDeadline());
        driver.ReleaseDue(5 * Ms + HoldOffNs - 1);
        Assert.Equal([1L], driver.TradeIds());
        driver.ReleaseDue(5 * Ms + HoldOffNs);
        Assert.Equal([1L, 3L], driver.TradeIds());
        Assert.Equal((2L, 2L), (Assert.Single(driver.Gaps).FirstMissing, driver.Gaps[0].LastMissing));
        Assert.Equal(long.MaxValue, arbiter.NextHoldDeadline());
    }

    [Fact]
    public void NextDueHold_TwinClosesBeforeFillingTheHole_HeldFramesDeliveredAfterTheRestOfTheHole()
    {
        // A rejoined ahead of B; B fills part of the hole, then drops. Nothing A received is lost.
        var arbiter = Arbiter("btcusdt@trade");
        var driver = new ArbiterDriver(arbiter);
        for (var id = 1; id <= 10; id++)
        {
            driver.Offer(A, Frames.Trade(id));
            driver.Offer(B, Frames.Trade(id));
        }

        arbiter.CloseSlot(0, A);
        arbiter.OpenSlot(0, A + 1);
        foreach (var id in (long[])[14, 15, 16])
        {
            Assert.Equal(Verdict.HeldBack, driver.Offer(A + 1, Frames.Trade(id), 1 * Ms));
        }

        Assert.Equal(Verdict.Deliver, driver.Offer(B, Frames.Trade(11), 2 * Ms));
        Assert.Equal(-1, arbiter.NextDueHold(2 * Ms)); // B is live and below the hole: wait
        arbiter.CloseSlot(0, B);
        driver.ReleaseDue(3 * Ms);

        Assert.Equal([.. Range(1, 11), 14, 15, 16], driver.TradeIds());
        var gap = Assert.Single(driver.Gaps);
        Assert.Equal((12L, 13L), (gap.FirstMissing, gap.LastMissing));
    }

    [Fact]
    public void Arbitrate_HeldFramesFromTwoLinesOutOfOrder_ReleasedInIdOrderEachOnce()
    {
        // Lines A+1 and B+1 both run ahead of B (at 100), each with a different part of what B has still to deliver.
        var arbiter = Arbiter("btcusdt@trade");
        var driver = new ArbiterDriver(arbiter);
        for (var id = 1; id <= 100; id++)
        {
            driver.Offer(B, Frames.Trade(id));
        }

        arbiter.OpenSlot(0, A + 1);
        arbiter.OpenSlot(0, B + 1);
        foreach (var (position, id) in ((int, long)[])[(A + 1, 110), (B + 1, 105), (A + 1, 111), (B + 1, 106), (B + 1, 110), (B + 1, 103)])
        {
            Assert.Equal(Verdict.HeldBack, driver.Offer(position, Frames.Trade(id)));
        }

        Assert.Equal(5, arbiter.HeldFrames); // the second 110 is a copy of one held already
        for (var id = 101; id <= 109; id++)
        {
            driver.Offer(B, Frames.Trade(id));
        }

        Assert.Equal(Range(1, 111), driver.TradeIds());
        Assert.Empty(driver.Gaps);
        Assert.Equal(0, arbiter.HeldFrames);
    }

    [Fact]
    public void Arbitrate_BookTickerLineRejoinsAhead_TwinsOlderUpdatesStillArriveThenTheNewLineLeads()
    {
        // bookTicker ids only increase (not consecutive): a line that rejoins ahead must not make its twin's older
        // updates still in flight stale. B trails at 110 when A's replacement starts at 130.
        var arbiter = Arbiter("btcusdt@bookTicker");
        var driver = new ArbiterDriver(arbiter);
        foreach (var u in (long[])[100, 105, 110])
        {
            Assert.Equal(Verdict.Deliver, driver.Offer(A, Frames.BookTicker(u)));
            Assert.Equal(Verdict.Duplicate, driver.Offer(B, Frames.BookTicker(u)));
        }

        Assert.Equal(Verdict.Deliver, driver.Offer(A, Frames.BookTicker(120)));
        arbiter.CloseSlot(0, A);
        arbiter.OpenSlot(0, A + 1);
        Assert.Equal(Verdict.HeldBack, driver.Offer(A + 1, Frames.BookTicker(130)));
        Assert.Equal(Verdict.HeldBack, driver.Offer(A + 1, Frames.BookTicker(131)));
        Assert.Equal(Verdict.Duplicate, driver.Offer(B, Frames.BookTicker(120)));
        Assert.Equal(Verdict.Deliver, driver.Offer(B, Frames.BookTicker(125))); // A's old connection never sent it
        Assert.Equal(Verdict.Deliver, driver.Offer(B, Frames.BookTicker(130))); // B reaches A+1's start: A+1 joins
        Assert.Equal(Verdict.Duplicate, driver.Offer(B, Frames.BookTicker(131))); // A+1's held 131 followed 130
        Assert.Equal(Verdict.Deliver, driver.Offer(A + 1, Frames.BookTicker(140))); // and A+1 leads, holding nothing
        Assert.Equal(Verdict.Duplicate, driver.Offer(B, Frames.BookTicker(140)));

        Assert.Equal([100L, 105, 110, 120, 125, 130, 131, 140], driver.Delivered.Select(f => Frames.UpdateId(f)));
        Assert.Empty(driver.Gaps);
        Assert.Equal((0, 2L), (arbiter.HeldFrames, arbiter.HeldBack));
    }

    [Fact]
    public void Arbitrate_KlineLineRejoinsAheadAndTwinCloses_HeldUpdatesDeliveredWithoutAGap()
    {
        var arbiter = Arbiter("btcusdt@kline_1m");
        var driver = new ArbiterDriver(arbiter);
        driver.Offer(A, Frames.Kline(1_000, 0));
        driver.Offer(B, Frames.Kline(1_000, 0));
        arbiter.OpenSlot(0, A + 1);
        Assert.Equal(Verdict.HeldBack, driver.Offer(A + 1, Frames.Kline(3_000, 0)));
        Assert.Equal(Verdict.HeldBack, driver.Offer(A + 1, Frames.Kline(3_000, 60_000))); // same event time, the next candle

        arbiter.CloseSlot(0, A);
        arbiter.CloseSlot(0, B);
        driver.ReleaseDue(2);

        Assert.Equal(3, driver.Delivered.Count);
        Assert.Empty(driver.Gaps);
        Assert.Equal(Verdict.Duplicate, driver.Offer(A + 1, Frames.Kline(3_000, 60_000)));
    }

    [Fact]
    public void Arbitrate_ReorderBufferFull_HoleReportedAtOnceAndMemoryBounded()
    {
        var arbiter = new StreamArbiter(8, redundancy: 2, HoldOffNs, maxHeldFrames: 2, maxHeldBytes: 1 << 20, maxFrameBytes: 4096);
        arbiter.Register("btcusdt@trade", 0);
        arbiter.OpenSlot(0, A);
        arbiter.OpenSlot(0, B);
        var driver = new ArbiterDriver(arbiter);
        driver.Offer(A, Frames.Trade(1));
        driver.Offer(B, Frames.Trade(1));

        Assert.Equal(Verdict.HeldBack, driver.Offer(A, Frames.Trade(5)));
        Assert.Equal(Verdict.HeldBack, driver.Offer(A, Frames.Trade(6)));
        Assert.Equal(Verdict.Release, driver.Offer(A, Frames.Trade(7)));

        Assert.Equal([1L, 5L, 6L, 7L], driver.TradeIds());
        Assert.Equal((2L, 4L), (driver.Gaps.Single().FirstMissing, driver.Gaps[0].LastMissing));
        Assert.Equal((1L, 0), (arbiter.HoldOverflows, arbiter.HeldFrames));
    }

    [Fact]
    public void Deactivate_StreamWithHeldFrames_HeldFramesDropped()
    {
        var arbiter = Arbiter("btcusdt@trade");
        var driver = new ArbiterDriver(arbiter);
        driver.Offer(A, Frames.Trade(1));
        driver.Offer(B, Frames.Trade(1));
        driver.Offer(A, Frames.Trade(5));
        Assert.True(arbiter.TryGetStream("btcusdt@trade", out var id));

        arbiter.Deactivate(id);

        Assert.Equal((0, 0L, 1L), (arbiter.HeldFrames, arbiter.HeldBytes, arbiter.UnsubscribedFrames));
        Assert.Equal(-1, arbiter.NextDueHold(long.MaxValue));
    }

    [Fact]
    public void Arbitrate_HoleNoTwinCanFill_ReportedAsGap()
    {
        // The twin has closed: nobody can fill the hole.
        var closed = Arbiter("btcusdt@trade");
        Arbitrate(closed, A, Frames.Trade(1));
        Arbitrate(closed, B, Frames.Trade(1));
        closed.CloseSlot(0, B);
        Assert.Equal(Verdict.DeliverAfterGap, Arbitrate(closed, A, Frames.Trade(5)));

        // The twin is live but never received this stream: it is no evidence that the hole will be filled.
        var blank = Arbiter(["btcusdt@trade", "ethusdt@trade"]);
        Arbitrate(blank, A, Frames.Trade(1));
        Arbitrate(blank, B, Frames.Trade(1, "ethusdt"));
        Assert.Equal(Verdict.DeliverAfterGap, Arbitrate(blank, A, Frames.Trade(5)));

        // Both lines missed the same ids: the first to jump waits for its twin, which then jumps too; the hole is real.
        var both = Arbiter("btcusdt@trade");
        Arbitrate(both, A, Frames.Trade(1));
        Arbitrate(both, B, Frames.Trade(1));
        Assert.Equal(Verdict.HeldBack, Arbitrate(both, A, Frames.Trade(5)));
        Assert.Equal(Verdict.DeliverAfterGap, both.Arbitrate(Frames.Trade(5), 0, B, 2, out var gap));
        Assert.Equal((2L, 4L), (gap.FirstMissing, gap.LastMissing));
        Assert.Equal(Verdict.Deliver, Arbitrate(both, A, Frames.Trade(6)));
    }

    [Fact]
    public void Arbitrate_PositionReusedByNewConnection_OldSightingsDoNotCount()
    {
        var arbiter = Arbiter("btcusdt@trade");
        Arbitrate(arbiter, A, Frames.Trade(1));
        Arbitrate(arbiter, B, Frames.Trade(1));

        // B's connection is replaced at the same position by one that has not received the stream yet.
        arbiter.CloseSlot(0, B);
        arbiter.OpenSlot(0, B);
        Assert.Equal(Verdict.DeliverAfterGap, Arbitrate(arbiter, A, Frames.Trade(5)));
    }

    [Fact]
    public void Arbitrate_RedundancyOneReconnect_GapReportedAtOnce()
    {
        var arbiter = Arbiter(redundancy: 1, streams: "btcusdt@trade");
        Arbitrate(arbiter, A, Frames.Trade(1));
        arbiter.CloseSlot(0, A);
        arbiter.OpenSlot(0, A + 1);

        Assert.Equal(Verdict.DeliverAfterGap, arbiter.Arbitrate(Frames.Trade(50), 0, A + 1, 1, out var gap));
        Assert.Equal((2L, 49L), (gap.FirstMissing, gap.LastMissing));
    }

    [Fact]
    public void IsSettledDuplicate_CopiesOfDeliveredFrames_TrueWithoutTheLockAndNeverForNewOnes()
    {
        var arbiter = Arbiter(["btcusdt@trade", "btcusdt@bookTicker", "btcusdt@kline_1m", "btcusdt@depth@100ms"]);
        Arbitrate(arbiter, A, Frames.Trade(5));
        Arbitrate(arbiter, A, Frames.BookTicker(50));
        Arbitrate(arbiter, A, Frames.Kline(1_000, 60_000));
        Arbitrate(arbiter, A, Frames.Depth(10, 20));

        Assert.True(Settled(arbiter, Frames.Trade(5)));
        Assert.True(Settled(arbiter, Frames.Trade(4)));
        Assert.False(Settled(arbiter, Frames.Trade(6)));
        Assert.False(Settled(arbiter, Frames.Trade(9))); // a hole: the lock decides
        Assert.True(Settled(arbiter, Frames.BookTicker(50)));
        Assert.False(Settled(arbiter, Frames.BookTicker(51)));
        Assert.True(Settled(arbiter, Frames.Depth(15, 20)));
        Assert.False(Settled(arbiter, Frames.Depth(15, 21)));
        Assert.True(Settled(arbiter, Frames.Kline(999, 60_000)));
        Assert.False(Settled(arbiter, Frames.Kline(1_000, 60_000))); // equal event times: the open time decides, under the lock
        Assert.False(Settled(arbiter, Frames.Trade(1, "ethusdt"))); // unknown
        Assert.False(Settled(arbiter, Frames.Utf8("{\"result\":null,\"id\":1}")));

        // Subscribed again: the stream starts blank, and nothing is a duplicate of what came before.
        Assert.True(arbiter.TryGetStream("btcusdt@trade", out var id));
        arbiter.Deactivate(id);
        arbiter.Register("btcusdt@trade", 0);
        Assert.False(Settled(arbiter, Frames.Trade(5)));
    }

    [Fact]
    public void IsSettledDuplicate_TwinThatOnlyTrails_StillCountsAsHavingTheStream()
    {
        var arbiter = Arbiter("btcusdt@trade");
        for (var id = 1; id <= 10; id++)
        {
            Arbitrate(arbiter, A, Frames.Trade(id));
            arbiter.Inspect(Frames.Trade(id), out var facts);
            Assert.True(arbiter.IsSettledDuplicate(in facts, 0, B)); // every copy of B's dropped without the lock
        }

        // A jumps to 15: B, live and at 10, may still deliver 11 to 14, so A's frame waits for it.
        var driver = new ArbiterDriver(arbiter);
        Assert.Equal(Verdict.HeldBack, driver.Offer(A, Frames.Trade(15)));
        for (var id = 11; id <= 14; id++)
        {
            Assert.Equal(Verdict.Deliver, driver.Offer(B, Frames.Trade(id)));
        }

        Assert.Equal(Verdict.Duplicate, driver.Offer(B, Frames.Trade(15))); // A's, held, followed 14
        Assert.Equal(Range(11, 15), driver.TradeIds());
        Assert.Equal(0, arbiter.Gaps);
    }

    [Fact]
    public void Hold_TwinsDisagreeEveryRound_HoldingAndReleasingAllocateNothingOnceWarm()
    {
        var arbiter = Arbiter("btcusdt@trade");
        const int Rounds = 6;
        var frames = Enumerable.Range(0, (Rounds * 10) + 1).Select(i => Frames.Trade(i)).ToArray();
        void Offer(int position, byte[] frame) => OfferWithoutCopies(arbiter, position, frame);

        // Each round B delivers one id, A runs two ids ahead (held), B fills the hole (A's two follow), A leads again.
        var round = 0;
        var bytes = Allocations.Measure(() =>
        {
            var first = (round * 10) + 1;
            Offer(B, frames[first]);
            Offer(A, frames[first + 3]);
            Offer(A, frames[first + 4]);
            Offer(B, frames[first + 1]);
            Offer(B, frames[first + 2]);
            for (var id = first + 5; id < first + 10; id++)
            {
                Offer(A, frames[id]);
            }

            for (var id = first + 3; id < first + 10; id++)
            {
                Offer(B, frames[id]);
            }

            round++;
        });

        Assert.Equal(0, bytes);
        Assert.True(round >= 4, "the measured rounds ran");
        Assert.Equal((2L * round, 2L * round, 0L), (arbiter.HeldBack, arbiter.ReleasedHeld, arbiter.Gaps));
    }

    [Fact]
    public void Arbitrate_SteadyStateFramesOfEveryKind_AllocatesNothing()
    {
        var arbiter = Arbiter(redundancy: 2, streams: ["btcusdt@trade", "btcusdt@aggTrade", "btcusdt@depth@100ms", "btcusdt@bookTicker", "btcusdt@kline_1m", "btcusdt@ticker"]);

        // Measure runs the action at most 6 times (3 warm-ups, up to 3 measured): a round of fresh frames for each. Every
        // round delivers new ids of every kind from A, drops B's copies, and starts 100 ids on (a gap).
        const int Rounds = 6;
        var rounds = new byte[Rounds][][];
        for (var r = 0; r < Rounds; r++)
        {
            var first = (r * 100) + 1;
            rounds[r] =
            [
                .. Enumerable.Range(first, 32).Select(i => Frames.Trade(i)),
                Frames.AggTrade(first), Frames.Depth(first, first + 4), Frames.BookTicker(first), Frames.Kline(first, 60_000), Frames.Ticker(first),
                Frames.Utf8($"{{ \"stream\": \"btcusdt@trade\", \"data\": {{ \"t\": {first + 40}, \"e\": \"trade\" }} }}"), // general path
                Frames.Utf8("{\"result\":null,\"id\":1}"),
                Frames.Utf8("{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":"), // malformed
            ];
        }

        var round = 0;
        var bytes = Allocations.Measure(() =>
        {
            foreach (var frame in rounds[round])
            {
                OfferWithoutCopies(arbiter, A, frame);
                OfferWithoutCopies(arbiter, B, frame);
            }

            round++;
        });

        Assert.Equal(0, bytes);
        Assert.True(round >= 4, "the measured rounds ran");
        Assert.True(arbiter.Gaps >= round - 1 && arbiter.Duplicates > 32 * round, $"gaps {arbiter.Gaps}, duplicates {arbiter.Duplicates}");
    }

    [Fact]
    public void Inspect_FastPathFrames_TakeTheFastPath()
    {
        var arbiter = Arbiter(["btcusdt@trade", "btcusdt@aggTrade", "btcusdt@depth@100ms", "btcusdt@bookTicker", "btcusdt@kline_1m", "btcusdt@ticker", "btcusdt@depth5@100ms"]);
        foreach (var frame in new[]
                 {
                     Frames.Trade(1), Frames.AggTrade(1), Frames.Depth(1, 5), Frames.BookTicker(1), Frames.Kline(1, 60_000),
                     Frames.Ticker(1), Frames.PartialDepth(9),
                 })
        {
            Assert.True(arbiter.TryInspectFast(frame, out var fast), System.Text.Encoding.UTF8.GetString(frame));
            arbiter.InspectGeneral(frame, out var general);
            Assert.Equal(general, fast);
            Assert.True(fast.StreamId >= 0);
        }
    }

    [Fact]
    public void Inspect_GeneratedFeed_FastPathAgreesWithGeneralPath()
    {
        // The perf scenario's feed: stream names and symbols of every length the generator makes, ids and times of
        // 10 to 13 digits. Half the symbols' streams are registered, so unknown streams are compared too.
        var generator = new MarketDataGenerator(new MarketDataGeneratorOptions { SymbolCount = 120, Seed = 5 });
        var arbiter = new StreamArbiter(512, 2, 0);
        for (var k = 0; k < generator.Symbols.Count; k += 2)
        {
            var lower = generator.Symbols[k].ToLowerInvariant();
            arbiter.Register(lower + "@trade", 0);
            arbiter.Register(lower + "@bookTicker", 0);
            arbiter.Register(lower + "@depth@100ms", 0);
        }

        var buffer = new byte[generator.MaxFrameBytes];
        var known = 0;
        for (var n = 0; n < 20_000; n++)
        {
            var frame = buffer.AsSpan(0, generator.WriteNext(buffer, out _));
            Assert.True(arbiter.TryInspectFast(frame, out var fast), System.Text.Encoding.UTF8.GetString(frame));
            arbiter.InspectGeneral(frame, out var general);
            Assert.Equal(general, fast);
            known += fast.StreamId >= 0 ? 1 : 0;
        }

        Assert.InRange(known, 1_000, 19_000);
    }

    [Theory]
    [InlineData("btcusdt@trade")]
    [InlineData("")]
    [InlineData("btc\\u0040trade")]
    [InlineData("btc\\\"usdt@trade")]
    [InlineData("btcusdt@trade\u0001")]
    [InlineData("btcusdt@trade\t")]
    [InlineData("a-stream-name-longer-than-thirty-two-bytes@trade")]
    [InlineData("a-stream-name-longer-than-the-symbol-table-takes-which-is-sixty-four-bytes@trade")]
    public void Inspect_UnusualStreamName_FastPathAgreesWithGeneralPath(string name)
    {
        // name is the string's JSON content: escapes stay escapes; control bytes are raw, which JSON forbids but the
        // general path's scanner lets through (and so may the fast path: both look up the same bytes).
        var arbiter = Arbiter("btcusdt@trade", "btcusdt@trade\u0001", "a-stream-name-longer-than-thirty-two-bytes@trade");
        var frame = Frames.Utf8($"{{\"stream\":\"{name}\",\"data\":{{\"e\":\"trade\",\"E\":1723161255214,\"s\":\"BTCUSDT\",\"t\":17,\"p\":\"1.00000000\",\"q\":\"1.00000000\",\"T\":1723161255214,\"m\":false,\"M\":true}}}}");
        arbiter.InspectGeneral(frame, out var general);
        if (arbiter.TryInspectFast(frame, out var fast))
        {
            Assert.Equal(general, fast);
        }
        else
        {
            Assert.Contains('\\', name); // only an escape sends a well-formed frame of the fast shape to the general path
        }
    }

    internal static StreamArbiter Arbiter(params string[] streams) => Arbiter(2, streams);

    internal static StreamArbiter Arbiter(int redundancy, params string[] streams)
    {
        var arbiter = new StreamArbiter(64, redundancy, HoldOffNs);
        foreach (var stream in streams)
        {
            arbiter.Register(stream, 0);
        }

        for (var line = 0; line < redundancy; line++)
        {
            arbiter.OpenSlot(0, 2 * line);
        }

        return arbiter;
    }

    private static bool Settled(StreamArbiter arbiter, byte[] frame)
    {
        arbiter.Inspect(frame, out var facts);
        return arbiter.IsSettledDuplicate(in facts, 0, B);
    }

    private static List<long> Range(long first, long last) => [.. Enumerable.Range((int)first, (int)(last - first + 1)).Select(i => (long)i)];

    /// <summary>One frame as the client takes it (held frames it unblocks released), allocating nothing of its own.</summary>
    private static void OfferWithoutCopies(StreamArbiter arbiter, int position, byte[] frame)
    {
        arbiter.Inspect(frame, out var facts);
        var verdict = arbiter.Decide(in facts, frame, 0, position, 1, out _);
        if ((verdict <= Verdict.DeliverAfterGap && arbiter.HasHeld(facts.StreamId)) || verdict == Verdict.Release)
        {
            while (arbiter.TryTakeHeld(facts.StreamId, force: verdict == Verdict.Release, 1, out var held))
            {
                arbiter.Recycle(ref held);
            }
        }
    }

    private static Verdict Arbitrate(StreamArbiter arbiter, int position, byte[] frame, long nowNs = 1) =>
        arbiter.Arbitrate(frame, 0, position, nowNs, out _);

    private static void Feed(StreamArbiter arbiter, int position, byte[] frame, List<long> delivered, long expectId, long nowNs = 1)
    {
        var verdict = Arbitrate(arbiter, position, frame, nowNs);
        Assert.True(verdict == Verdict.Deliver, $"id {expectId} from position {position}: {verdict}");
        delivered.Add(expectId);
    }

    private static void AssertControl(StreamArbiter arbiter, string json, FrameType type, Verdict verdict, long requestId)
    {
        arbiter.Inspect(Frames.Utf8(json), out var facts);
        Assert.Equal(type, facts.Type);
        Assert.Equal(requestId, facts.RequestId);
        Assert.Equal(verdict, arbiter.Decide(in facts, Frames.Utf8(json), 0, A, 1, out _));
    }

    private static void AssertFacts(StreamArbiter arbiter, string json, BinanceStreamKind kind, long first, long last)
    {
        var frame = Frames.Utf8(json);
        arbiter.InspectGeneral(frame, out var facts);
        if (arbiter.TryInspectFast(frame, out var fast))
        {
            Assert.Equal(facts, fast); // avgPrice has the generic fast shape ("e", then "E")
        }

        Assert.Equal(FrameType.Data, facts.Type);
        Assert.Equal(kind, facts.Kind);
        Assert.Equal((first, last), (facts.First, facts.Last));
        Assert.True(facts.StreamId >= 0, "the stream is known");
    }
}

namespace LowLatency.Ring.Tests;

public sealed class WaitStrategyTests
{
    internal static IEnumerable<IWaitStrategy> AllStrategies() =>
    [
        new BusySpinWaitStrategy(),
        new YieldingWaitStrategy(),
        new SleepingWaitStrategy(),
        new BlockingWaitStrategy(),
        new TimeoutBlockingWaitStrategy(TimeSpan.FromSeconds(1)),
    ];

    public static TheoryData<string> StrategyNames() => new(AllStrategies().Select(s => s.GetType().Name));

    private static IWaitStrategy Named(string name) => AllStrategies().Single(s => s.GetType().Name == name);

    /// <summary>
    /// Producer and consumer alternate between bursts and pauses, so the consumer repeatedly goes to sleep in the wait
    /// strategy and must be woken: a lost wake-up in a blocking strategy shows up as a drain timeout.
    /// </summary>
    [Theory]
    [MemberData(nameof(StrategyNames))]
    public void EveryStrategy_BurstyProducer_DeliversEverything(string strategy)
    {
        foreach (var producerType in new[] { ProducerType.Single, ProducerType.Multi })
        {
            var results = new Results();
            using var disruptor = new ValueDisruptor<TestEvent>(256, producerType, Named(strategy));
            disruptor.HandleEventsWith(new SequentialCheckHandler { Results = results });
            disruptor.Start();

            var ring = disruptor.RingBuffer;
            long value = 0;
            for (var burst = 0; burst < 200; burst++)
            {
                for (var i = 0; i < 1000; i++)
                {
                    var s = ring.Next();
                    ring[s].Value = value++;
                    ring.Publish(s);
                }

                if (burst % 20 == 0)
                {
                    Thread.Sleep(1); // let the consumer run dry and block
                }
            }

            Assert.True(disruptor.Shutdown(TimeSpan.FromSeconds(60)), $"{strategy}/{producerType} did not drain");
            Assert.Null(results.FirstError);
            Assert.Equal(value, results.Count);
        }
    }

    [Fact]
    public void BlockingStrategies_AreMarkedBlocking_OthersAreNot()
    {
        Assert.True(new BlockingWaitStrategy().IsBlockingStrategy);
        Assert.True(new TimeoutBlockingWaitStrategy(TimeSpan.FromSeconds(1)).IsBlockingStrategy);
        Assert.False(new BusySpinWaitStrategy().IsBlockingStrategy);
        Assert.False(new YieldingWaitStrategy().IsBlockingStrategy);
        Assert.False(new SleepingWaitStrategy().IsBlockingStrategy);
    }

    [Fact]
    public void TimeoutBlockingWaitStrategy_InvalidTimeout_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TimeoutBlockingWaitStrategy(TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TimeoutBlockingWaitStrategy(TimeSpan.FromMilliseconds(-5)));
    }
}

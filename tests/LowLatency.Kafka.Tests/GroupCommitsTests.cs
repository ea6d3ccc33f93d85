using Confluent.Kafka;
using LowLatency.Kafka.Source;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Kafka;

namespace LowLatency.Kafka.Tests;

/// <summary>
/// Offsets committed with the partitions' clocks in the commit metadata, through librdkafka's C API on a Confluent.Kafka
/// consumer's handle, against the broker: another member of the group reads back both.
/// </summary>
public sealed class GroupCommitsTests(MockKafkaFixture kafka) : IClassFixture<MockKafkaFixture>
{
    [KafkaFact]
    public void Commit_OffsetsWithClocks_AnotherMemberReadsThemBack()
    {
        var topic = kafka.CreateTopic("clocks", partitions: 3);
        TestClients.ProduceFrames(kafka, topic, 30);
        var groupId = MockKafkaFixture.NewGroupId("clocks");
        var partitions = Enumerable.Range(0, 3).Select(p => new TopicPartition(topic, p)).ToList();

        using (var consumer = TestClients.Consumer(kafka, groupId))
        {
            consumer.Assign(partitions);
            var commits = new GroupCommits(consumer);
            Assert.Equal(ErrorCode.NoError, commits.Commit(
                [new(partitions[0], 3, 1_723_161_420_123_000_000), new(partitions[1], 5, GroupCommits.NoClock), new(partitions[2], 7, -42)],
                synchronous: true));
            consumer.Close();
        }

        using (var other = TestClients.Consumer(kafka, groupId))
        {
            var read = new GroupCommits(other).Committed(partitions, Poll.DefaultTimeout);
            Assert.Equal(
                [(3L, 1_723_161_420_123_000_000L), (5L, GroupCommits.NoClock), (7L, -42L)],
                read.Select(c => (c.Offset, c.ClockNs)));
            Assert.Equal([3L, 5L, 7L], other.Committed(partitions, Poll.DefaultTimeout).Select(c => c.Offset.Value)); // the offsets are plain commits
            other.Close();
        }
    }

    [Theory]
    [InlineData("lowlatency clock_ns=123", 123L)]
    [InlineData("lowlatency clock_ns=-5", -5L)]
    [InlineData("", GroupCommits.NoClock)]
    [InlineData("someone else's metadata", GroupCommits.NoClock)]
    [InlineData("lowlatency clock_ns=12x", GroupCommits.NoClock)]
    [InlineData("lowlatency clock_ns=99999999999999999999", GroupCommits.NoClock)]
    public void ParseClock_OursOrNone(string metadata, long expected) =>
        Assert.Equal(expected, GroupCommits.ParseClock(System.Text.Encoding.ASCII.GetBytes(metadata)));
}

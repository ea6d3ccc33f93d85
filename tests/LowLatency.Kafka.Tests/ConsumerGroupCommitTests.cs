using Confluent.Kafka;
using LowLatency.TestSupport;
using LowLatency.TestSupport.Kafka;

namespace LowLatency.Kafka.Tests;

/// <summary>
/// The at-least-once discipline the Kafka source relies on, with Confluent.Kafka 1.9.3 against a real broker: offsets are
/// stored only for handled messages, committed explicitly, and a new member of the group resumes right after them.
/// </summary>
public sealed class ConsumerGroupCommitTests(MockKafkaFixture kafka) : IClassFixture<MockKafkaFixture>
{
    private const int Messages = 400;
    private const int HandledBeforeCommit = 150;

    [KafkaFact]
    public void Commit_StoredOffsets_NewConsumerInGroupResumesAfterThem()
    {
        var topic = kafka.CreateTopic("commit", partitions: 4);
        var sent = TestClients.ProduceFrames(kafka, topic, Messages);
        var groupId = MockKafkaFixture.NewGroupId("commit");

        // First member: handle some messages, store their offsets, commit, leave.
        var first = new List<ConsumeResult<string, byte[]>>();
        var nextOffsets = new Dictionary<TopicPartition, Offset>();
        using (var consumer = TestClients.Consumer(kafka, groupId))
        {
            consumer.Subscribe(topic);
            TestClients.ConsumeWhile(consumer, result =>
            {
                first.Add(result);
                consumer.StoreOffset(result);
                nextOffsets[result.TopicPartition] = result.Offset + 1;
                return first.Count < HandledBeforeCommit;
            }, $"the first member to receive {HandledBeforeCommit} messages");

            // Commit() reports every assigned partition: the stored offset where there is one, Offset.Unset elsewhere.
            var committed = CommitStored(consumer, nextOffsets);
            Assert.Equal(
                nextOffsets.OrderBy(p => p.Key.Partition.Value).Select(p => (p.Key.Partition.Value, p.Value.Value)),
                committed.Where(c => c.Offset != Offset.Unset).OrderBy(c => c.Partition.Value).Select(c => (c.Partition.Value, c.Offset.Value)));
            consumer.Close();
        }

        // Second member, same group: everything after the committed offsets, and nothing before them.
        var second = new List<ConsumeResult<string, byte[]>>();
        using (var consumer = TestClients.Consumer(kafka, groupId))
        {
            consumer.Subscribe(topic);
            TestClients.ConsumeWhile(consumer, result =>
            {
                second.Add(result);
                return first.Count + second.Count < Messages;
            }, $"the second member to receive the {Messages - HandledBeforeCommit} messages after the commit");

            // What the group has committed is what the first member committed (the second commits nothing).
            var committed = consumer.Committed(nextOffsets.Keys, Poll.DefaultTimeout);
            Assert.All(committed, c => Assert.Equal(nextOffsets[c.TopicPartition], c.Offset));
            consumer.Close();
        }

        Assert.All(second, r => Assert.True(
            !nextOffsets.TryGetValue(r.TopicPartition, out var next) || r.Offset >= next,
            $"{r.TopicPartitionOffset} was redelivered although the group had committed {next} for it."));
        var received = first.Concat(second).Select(r => (r.Message.Key, Convert.ToHexString(r.Message.Value))).Order().ToArray();
        var expected = sent.Select(s => (s.Symbol, Convert.ToHexString(s.Frame))).Order().ToArray();
        Assert.Equal(expected, received);
    }

    /// <summary>
    /// Commits the stored offsets, retrying while the group rebalances (the mock sometimes rebalances a new group twice,
    /// and a commit during a rebalance fails). A retry first polls, so the consumer can finish joining, then stores the
    /// handled offsets again, because the rebalance may have dropped the stored ones.
    /// </summary>
    private static List<TopicPartitionOffset> CommitStored(IConsumer<string, byte[]> consumer, Dictionary<TopicPartition, Offset> nextOffsets)
    {
        List<TopicPartitionOffset>? committed = null;
        var retry = false;
        Poll.Until(() =>
        {
            try
            {
                if (retry)
                {
                    consumer.Consume(TimeSpan.FromMilliseconds(100)); // a message returned here is not handled: the next member gets it
                    foreach (var (partition, next) in nextOffsets)
                    {
                        consumer.StoreOffset(new TopicPartitionOffset(partition, next));
                    }
                }

                committed = consumer.Commit();
                return true;
            }
            catch (KafkaException ex) when (ex.Error.Code is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration
                or ErrorCode.UnknownMemberId or ErrorCode.Local_State or ErrorCode.Local_NoOffset)
            {
                retry = true;
                return false;
            }
        }, "a successful commit");
        return committed!;
    }
}

using LowLatency.Aggregation;
using LowLatency.Engine;
using LowLatency.Ring;

namespace LowLatency.Kafka.Tests;

/// <summary>
/// The one durable sink of a source test: acknowledges every commit mark as it arrives, after waiting at
/// <paramref name="gate"/> (if any) on every event, so a test can hold the output ring full.
/// </summary>
internal readonly struct MarkAcknowledgingHandler(CommitWatermark watermark, ManualResetEventSlim? gate = null) : IValueEventHandler<OutputEvent>
{
    public void OnEvent(ref OutputEvent data, long sequence, bool endOfBatch)
    {
        gate?.Wait();
        if (data.Kind == OutputKind.Mark)
        {
            watermark.OnDurable(data.MarkId);
        }
    }
}

using Confluent.Kafka;

namespace LowLatency.Kafka;

/// <summary>The producer configuration every LowLatency producer shares (the derived topics' sink, the connector role).</summary>
public static class ProducerSettings
{
    /// <summary>
    /// A librdkafka producer configuration: <paramref name="acks"/> 0, 1 or all (all makes it idempotent, so retries
    /// neither duplicate nor reorder), <paramref name="compression"/>, <paramref name="batchSize"/> as batch.num.messages
    /// and <paramref name="lingerMs"/> as linger.ms, over the raw settings in <paramref name="config"/>.
    /// </summary>
    public static ProducerConfig Create(string bootstrapServers, string acks, string compression, int batchSize, int lingerMs, IReadOnlyDictionary<string, string>? config = null)
    {
        var settings = new ProducerConfig(new Dictionary<string, string>(config ?? new Dictionary<string, string>()))
        {
            BootstrapServers = bootstrapServers,
            Acks = acks switch
            {
                "0" => Acks.None,
                "1" => Acks.Leader,
                "all" or "-1" => Acks.All,
                _ => throw new ArgumentException($"acks must be 0, 1 or all, not '{acks}'.", nameof(acks)),
            },
            EnableIdempotence = acks is "all" or "-1",
            BatchNumMessages = batchSize,
            LingerMs = lingerMs,
        };
        settings.Set("compression.type", compression);
        return settings;
    }
}

using LowLatency.Engine;

namespace LowLatency.Kafka.Source;

/// <summary>Options of a <see cref="KafkaSource"/>; every default is documented where it is declared.</summary>
public sealed record KafkaSourceOptions
{
    /// <summary><c>bootstrap.servers</c>. Required.</summary>
    public required string BootstrapServers { get; init; }

    /// <summary>The consumer group; instances in one group split the partitions. Default <c>lowlatency</c>.</summary>
    public string GroupId { get; init; } = "lowlatency";

    /// <summary>The topics to consume and how each is decoded. Required, at least one.</summary>
    public required IReadOnlyDictionary<string, FrameFormat> Topics { get; init; }

    /// <summary>How often a commit mark is sent through the pipeline (each completed mark stores offsets). Default 1 s.</summary>
    public TimeSpan CommitInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Input-ring occupancy at which the source pauses its partitions. Default 0.75.</summary>
    public double PauseAtOccupancy { get; init; } = 0.75;

    /// <summary>Occupancy at which paused partitions resume. Default 0.25.</summary>
    public double ResumeAtOccupancy { get; init; } = 0.25;

    /// <summary>
    /// How long the source waits for a full input ring to make room before it pauses its partitions. Default 100 ms.
    /// </summary>
    /// <remarks>
    /// A burst from librdkafka's local queue fills a ring that drains within microseconds; pausing for it is costly,
    /// because librdkafka 2.0 discards the prefetched messages of a paused partition and fetches them again only at its
    /// next fetch tick (measured: 0.5 to 1 s per pause). So a short stall is waited out, and only a stall longer than
    /// this (a slow or dead sink) pauses. Zero pauses at once.
    /// </remarks>
    public TimeSpan PauseAfter { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Where a group without a committed offset starts: <c>earliest</c> (default) or <c>latest</c>.</summary>
    public string AutoOffsetReset { get; init; } = "earliest";

    /// <summary><c>session.timeout.ms</c>: how long the group waits for a silent member. Default 10,000.</summary>
    public int SessionTimeoutMs { get; init; } = 10_000;

    /// <summary>Where rejected messages go, with the reason in headers; null drops them after counting. Default <c>lowlatency.dead_letter</c>.</summary>
    public string? DeadLetterTopic { get; init; } = "lowlatency.dead_letter";

    /// <summary>How long a commit at a rebalance or at shutdown waits for the pipeline to drain. Default 30 s.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Further librdkafka settings for the consumer (and the dead-letter producer), e.g. security.</summary>
    public IReadOnlyDictionary<string, string> Config { get; init; } = new Dictionary<string, string>();
}

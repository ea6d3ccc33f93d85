using System.Collections;
using System.Globalization;

namespace LowLatency.Cassandra.Sink;

/// <summary>
/// Options of the Cassandra analytics tier (issue 7), configured with the original consumer's variable names:
/// <c>ASSET_CASSANDRA_HOST</c>, <c>ASSET_CASSANDRA_PORT</c>, <c>ASSET_CASSANDRA_USERNAME</c>,
/// <c>ASSET_CASSANDRA_PASSWORD</c>, <c>ASSET_CASSANDRA_KEYSPACE</c>, <c>ASSET_CASSANDRA_TABLE</c>.
/// </summary>
public sealed record CassandraSinkOptions
{
    /// <summary>The node and credentials; <see cref="CassandraOptions.Keyspace"/> is left unset (statements name it).</summary>
    public CassandraOptions Cassandra { get; init; } = new();

    /// <summary><c>ASSET_CASSANDRA_KEYSPACE</c>: the keyspace, created at start if missing. Default <c>assets</c>.</summary>
    public string Keyspace { get; init; } = "assets";

    /// <summary><c>ASSET_CASSANDRA_TABLE</c>: the original consumer's table of asset rows. Default <c>assets</c>.</summary>
    public string AssetsTable { get; init; } = "assets";

    /// <summary><c>ASSET_CASSANDRA_CANDLES_TABLE</c>: the engine's closed candles, by (symbol, interval) and open time. Default <c>candles</c>.</summary>
    public string CandlesTable { get; init; } = "candles";

    /// <summary><c>ASSET_CASSANDRA_REPLICATION_FACTOR</c>: SimpleStrategy's factor when the keyspace is created. Default 1.</summary>
    public int ReplicationFactor { get; init; } = 1;

    /// <summary>
    /// <c>ASSET_CASSANDRA_COMPACTION</c>: the tables' compaction strategy class. Default
    /// <c>SizeTieredCompactionStrategy</c> (every version); <c>TimeWindowCompactionStrategy</c>, the right one for
    /// time series, needs Cassandra 3.8 or later (one-day windows); <c>DateTieredCompactionStrategy</c> is 2.1's.
    /// </summary>
    public string Compaction { get; init; } = "SizeTieredCompactionStrategy";

    /// <summary>Rows per unlogged BATCH (one partition each): small, as Cassandra warns above 5 KiB per batch. Default 50.</summary>
    public int RowsPerBatch { get; init; } = 50;

    /// <summary>Reads the variables (unset or empty ones keep the defaults); throws <see cref="FormatException"/> naming the first bad one.</summary>
    public static CassandraSinkOptions FromVariables(IDictionary variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        string? Get(string name) => variables.Contains(name) && variables[name] is string { Length: > 0 } v ? v : null;
        int Int(string name, int fallback, int minimum, int maximum) => Get(name) is not { } v ? fallback
            : int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= minimum && n <= maximum ? n
            : throw new FormatException($"{name}: '{v}' is not an integer from {minimum} to {maximum}.");
        string Identifier(string name, string fallback) => Get(name) is not { } v ? fallback
            : IsIdentifier(v) ? v : throw new FormatException($"{name}: '{v}' is not a CQL identifier (a letter, then letters, digits and _; at most 48 characters).");

        var defaults = new CassandraSinkOptions();
        var compaction = Get("ASSET_CASSANDRA_COMPACTION") ?? defaults.Compaction;
        if (compaction is not ("SizeTieredCompactionStrategy" or "LeveledCompactionStrategy" or "DateTieredCompactionStrategy" or "TimeWindowCompactionStrategy"))
        {
            throw new FormatException($"ASSET_CASSANDRA_COMPACTION: '{compaction}' is not SizeTieredCompactionStrategy, LeveledCompactionStrategy, DateTieredCompactionStrategy or TimeWindowCompactionStrategy.");
        }

        return new CassandraSinkOptions
        {
            Cassandra = new CassandraOptions
            {
                Host = Get("ASSET_CASSANDRA_HOST") ?? defaults.Cassandra.Host,
                Port = Int("ASSET_CASSANDRA_PORT", defaults.Cassandra.Port, 1, 65_535),
                Username = Get("ASSET_CASSANDRA_USERNAME"),
                Password = Get("ASSET_CASSANDRA_PASSWORD"),
            },
            Keyspace = Identifier("ASSET_CASSANDRA_KEYSPACE", defaults.Keyspace),
            AssetsTable = Identifier("ASSET_CASSANDRA_TABLE", defaults.AssetsTable),
            CandlesTable = Identifier("ASSET_CASSANDRA_CANDLES_TABLE", defaults.CandlesTable),
            ReplicationFactor = Int("ASSET_CASSANDRA_REPLICATION_FACTOR", defaults.ReplicationFactor, 1, 16),
            Compaction = compaction,
        };
    }

    /// <summary>An unquoted CQL identifier that needs no escaping (what we put into the schema statements).</summary>
    public static bool IsIdentifier(string name) =>
        name.Length is > 0 and <= 48 && char.IsAsciiLetter(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}

using System.Collections;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace LowLatency.Postgres;

/// <summary>
/// Where the warm tier lives and how long it keeps data. The environment names are the ones the original pipelines and
/// the postgres image use (<c>POSTGRES_HOST</c>, <c>POSTGRES_PORT</c>, <c>POSTGRES_USER</c>, <c>POSTGRES_PASSWORD</c>,
/// <c>POSTGRES_DB</c>, <c>POSTGRES_SSLMODE</c>), plus <c>POSTGRES_SCHEMA</c> and <c>POSTGRES_RETENTION_DAYS</c>.
/// </summary>
public sealed partial class PostgresOptions
{
    /// <summary>The server's host name or address. Default <c>localhost</c>.</summary>
    public string Host { get; init; } = "localhost";

    /// <summary>The server's TCP port. Default 5432.</summary>
    public int Port { get; init; } = 5432;

    /// <summary>The user to log in as. Default <c>postgres</c>.</summary>
    public string User { get; init; } = "postgres";

    /// <summary>The password; null for none (trust or peer authentication). Never logged. Default null.</summary>
    public string? Password { get; init; }

    /// <summary>The database. Default <c>postgres</c>.</summary>
    public string Database { get; init; } = "postgres";

    /// <summary>TLS: libpq's <c>sslmode</c> values (disable, allow, prefer, require, verify-ca, verify-full). Default prefer.</summary>
    public SslMode SslMode { get; init; } = SslMode.Prefer;

    /// <summary>
    /// The schema the tables and <c>schema_migrations</c> live in, created if missing: a lower-case SQL identifier
    /// (letters, digits, underscores), because it is spelled into statements. Default <c>lowlatency</c>.
    /// </summary>
    public string Schema { get; init; } = "lowlatency";

    /// <summary>How many days of candles, alerts and trades the retention job keeps. Default 90.</summary>
    public int RetentionDays { get; init; } = 90;

    /// <summary>Reads the process environment.</summary>
    public static PostgresOptions FromEnvironment() => FromVariables(Environment.GetEnvironmentVariables());

    /// <summary>
    /// Reads <paramref name="variables"/> (unset or empty variables keep the defaults); throws
    /// <see cref="FormatException"/> naming the first bad variable.
    /// </summary>
    public static PostgresOptions FromVariables(IDictionary variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        string? Get(string name) => variables.Contains(name) && variables[name] is string { Length: > 0 } v ? v : null;
        int Int(string name, int fallback, int minimum, int maximum) => Get(name) is not { } v ? fallback
            : int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= minimum && n <= maximum ? n
            : throw new FormatException($"{name}: '{v}' is not an integer from {minimum} to {maximum}.");

        var defaults = new PostgresOptions();
        var schema = Get("POSTGRES_SCHEMA") ?? defaults.Schema;
        if (!IsIdentifier(schema))
        {
            throw new FormatException($"POSTGRES_SCHEMA: '{schema}' is not a lower-case SQL identifier (a-z, 0-9, _; at most 63 characters).");
        }

        return new PostgresOptions
        {
            Host = Get("POSTGRES_HOST") ?? defaults.Host,
            Port = Int("POSTGRES_PORT", defaults.Port, 1, 65_535),
            User = Get("POSTGRES_USER") ?? defaults.User,
            Password = Get("POSTGRES_PASSWORD"),
            Database = Get("POSTGRES_DB") ?? defaults.Database,
            SslMode = Get("POSTGRES_SSLMODE") is { } mode ? ParseSslMode(mode) : defaults.SslMode,
            Schema = schema,
            RetentionDays = Int("POSTGRES_RETENTION_DAYS", defaults.RetentionDays, 1, 36_500),
        };
    }

    /// <summary>The options as an Npgsql connection string (the data source's).</summary>
    public string ToConnectionString() => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Username = User,
        Password = Password,
        Database = Database,
        SslMode = SslMode,
        ApplicationName = "lowlatency",
    }.ConnectionString;

    /// <summary>Host, port and database, for messages (never the password).</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}/{Database} as {User}");

    internal void Validate()
    {
        if (!IsIdentifier(Schema))
        {
            throw new ArgumentException($"Schema '{Schema}' is not a lower-case SQL identifier (a-z, 0-9, _; at most 63 characters).", nameof(Schema));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(RetentionDays, 1, nameof(RetentionDays));
    }

    private static SslMode ParseSslMode(string value) => value.ToLowerInvariant() switch
    {
        "disable" => SslMode.Disable,
        "allow" => SslMode.Allow,
        "prefer" => SslMode.Prefer,
        "require" => SslMode.Require,
        "verify-ca" => SslMode.VerifyCA,
        "verify-full" => SslMode.VerifyFull,
        _ => throw new FormatException($"POSTGRES_SSLMODE: '{value}' is not disable, allow, prefer, require, verify-ca or verify-full."),
    };

    private static bool IsIdentifier(string name) => IdentifierPattern().IsMatch(name);

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdentifierPattern();
}

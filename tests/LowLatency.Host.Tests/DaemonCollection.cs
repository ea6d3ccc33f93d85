namespace LowLatency.Host.Tests;

/// <summary>The daemon tests run one class at a time: each starts daemons that use both cores.</summary>
[CollectionDefinition(Name)]
public sealed class DaemonCollection
{
    public const string Name = "daemon";
}

using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("LowLatency.Sinks.Tests")]

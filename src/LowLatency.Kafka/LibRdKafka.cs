using System.Reflection;
using System.Runtime.InteropServices;

namespace LowLatency.Kafka;

/// <summary>
/// Finding the native librdkafka that Confluent.Kafka (and the test broker) call into.
/// </summary>
/// <remarks>
/// Confluent.Kafka 1.9.3 imports <c>librdkafka</c>, which the runtime probes as <c>librdkafka.so</c>: in the application
/// folder (where the <c>librdkafka.redist</c> package would put it) and then through the system loader. On Debian that
/// name exists only with <c>librdkafka-dev</c>, a symlink to <c>librdkafka.so.1</c>; the runtime package
/// <c>librdkafka1</c> ships the versioned name alone, and <c>Library.Load(".../librdkafka.so.1")</c> does not help
/// there (Confluent 1.9.3 then calls <c>dlopen</c> through <c>libdl</c>, which glibc 2.36 ships only as
/// <c>libdl.so.2</c>). <see cref="EnsureResolvable"/> closes that gap: with librdkafka-dev installed (as CI does) it
/// changes nothing, and on a machine with librdkafka1 alone (a slim runtime image) it is what makes Kafka work.
/// </remarks>
public static class LibRdKafka
{
    /// <summary>The library name librdkafka is imported by (Confluent.Kafka's, and ours).</summary>
    public const string ImportName = "librdkafka";

    /// <summary>The name Debian's runtime package <c>librdkafka1</c> installs.</summary>
    public const string DebianSoname = "librdkafka.so.1";

    private static readonly Lazy<bool> s_confluentResolver = new(() => TryInstall(typeof(Confluent.Kafka.Library).Assembly));

    /// <summary>
    /// Installs <see cref="Resolve"/> for Confluent.Kafka's imports, once per process; call it before the first
    /// Confluent.Kafka client is built (the first one loads the library for good). Returns false when Confluent.Kafka's
    /// assembly already had a resolver (set by someone else, which is then left in charge).
    /// </summary>
    public static bool EnsureResolvable() => s_confluentResolver.Value;

    /// <summary>The librdkafka version Confluent.Kafka loaded, e.g. <c>2.0.2</c> (loads it, after <see cref="EnsureResolvable"/>).</summary>
    public static string Version
    {
        get
        {
            EnsureResolvable();
            return Confluent.Kafka.Library.VersionString;
        }
    }

    /// <summary>
    /// A <see cref="DllImportResolver"/> for <see cref="ImportName"/>: the runtime's own probing first (application folder,
    /// <c>librdkafka.redist</c>, <c>librdkafka.so</c> from librdkafka-dev), then Debian's <see cref="DebianSoname"/>.
    /// Other names are left to the runtime (returns <see cref="IntPtr.Zero"/>). For assemblies that import librdkafka
    /// themselves: <c>NativeLibrary.SetDllImportResolver(typeof(X).Assembly, LibRdKafka.Resolve)</c>.
    /// </summary>
    public static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != ImportName)
        {
            return IntPtr.Zero;
        }

        // This overload probes as a DllImport would but does not call back into the assembly's resolver.
        return NativeLibrary.TryLoad(libraryName, assembly, searchPath, out var handle)
            || NativeLibrary.TryLoad(DebianSoname, out handle)
            ? handle
            : IntPtr.Zero;
    }

    private static bool TryInstall(Assembly assembly)
    {
        try
        {
            NativeLibrary.SetDllImportResolver(assembly, Resolve);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}

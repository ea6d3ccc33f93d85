using System.Runtime.InteropServices;
using LowLatency.Kafka;

namespace LowLatency.KafkaBroker;

/// <summary>
/// The few librdkafka functions the mock cluster needs (<c>rdkafka.h</c>, <c>rdkafka_mock.h</c> of librdkafka 2.0.2,
/// Debian 12's <c>librdkafka1</c>). The mock API is marked experimental upstream, outside librdkafka's ABI guarantees,
/// which is one more reason to keep this list short.
/// </summary>
internal static unsafe partial class NativeMethods
{
    private const string Library = LibRdKafka.ImportName;

    /// <summary><c>RD_KAFKA_PRODUCER</c> of <c>rd_kafka_type_t</c>.</summary>
    public const int ProducerType = 0;

    /// <summary><c>RD_KAFKA_CONF_OK</c> of <c>rd_kafka_conf_res_t</c>.</summary>
    public const int ConfOk = 0;

    /// <summary>Size of the error-string buffers librdkafka fills (its own examples use 512).</summary>
    public const int ErrorStringSize = 512;

    // The resolution Confluent.Kafka gets too: librdkafka.so where librdkafka-dev or the redist package provides it, else
    // Debian's librdkafka.so.1, so a machine with the runtime package alone works.
    static NativeMethods() => NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, LibRdKafka.Resolve);

    [LibraryImport(Library)]
    public static partial IntPtr rd_kafka_conf_new();

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rd_kafka_conf_set(IntPtr conf, string name, string value, byte* errstr, nuint errstrSize);

    [LibraryImport(Library)]
    public static partial void rd_kafka_conf_destroy(IntPtr conf);

    /// <summary>Takes ownership of <paramref name="conf"/> on success only.</summary>
    [LibraryImport(Library)]
    public static partial IntPtr rd_kafka_new(int type, IntPtr conf, byte* errstr, nuint errstrSize);

    [LibraryImport(Library)]
    public static partial void rd_kafka_destroy(IntPtr rk);

    [LibraryImport(Library)]
    public static partial IntPtr rd_kafka_version_str();

    [LibraryImport(Library)]
    public static partial IntPtr rd_kafka_err2str(int err);

    /// <summary>Starts <paramref name="brokerCount"/> brokers listening on ephemeral 127.0.0.1 ports; NULL on failure.</summary>
    [LibraryImport(Library)]
    public static partial IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

    [LibraryImport(Library)]
    public static partial void rd_kafka_mock_cluster_destroy(IntPtr mcluster);

    /// <summary>The comma-separated listeners; the string is owned by the cluster.</summary>
    [LibraryImport(Library)]
    public static partial IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr mcluster);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rd_kafka_mock_topic_create(IntPtr mcluster, string topic, int partitionCount, int replicationFactor);

    /// <summary>Disconnects the broker's clients and refuses new connections until <see cref="rd_kafka_mock_broker_set_up"/>.</summary>
    [LibraryImport(Library)]
    public static partial int rd_kafka_mock_broker_set_down(IntPtr mcluster, int brokerId);

    [LibraryImport(Library)]
    public static partial int rd_kafka_mock_broker_set_up(IntPtr mcluster, int brokerId);

    /// <summary>A string librdkafka owns (static or owned by a handle), copied.</summary>
    public static string Utf8(IntPtr value) => Marshal.PtrToStringUTF8(value) ?? "";

    /// <summary>The NUL-terminated message librdkafka wrote into an error-string buffer.</summary>
    public static string Utf8(ReadOnlySpan<byte> buffer)
    {
        var end = buffer.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(end < 0 ? buffer : buffer[..end]);
    }
}

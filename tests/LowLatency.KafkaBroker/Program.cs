using System.Globalization;
using System.Runtime.InteropServices;
using LowLatency.KafkaBroker;

// lowlatency-kafka-broker: serves a MockKafkaCluster until SIGTERM, SIGINT or the end of standard input, so a script or a
// test can run a real Kafka-protocol broker with no Kafka installation. The first line on stdout is the contract:
// "BOOTSTRAP host:port[,host:port...]", printed once every topic exists. Everything else goes to stderr.
// Exit codes: 0 stopped on request, 1 could not start, 2 bad command line.
const string Usage = """
    Usage: lowlatency-kafka-broker [--brokers N] [--topic NAME:PARTITIONS[:REPLICATION]]... [--ignore-stdin]

    Starts librdkafka's mock Kafka cluster on ephemeral ports of 127.0.0.1, creates the topics, prints
    "BOOTSTRAP host:port,..." as the first line on stdout, and runs until SIGTERM, SIGINT or standard input closes.

      --brokers N        brokers in the cluster (default 1)
      --topic T          NAME:PARTITIONS[:REPLICATION], repeatable (e.g. --topic binance.raw:64); create every topic
                         here: a client's metadata request auto-creates unknown topics with 4 partitions
      --ignore-stdin     do not stop when standard input ends (implied when stdin is /dev/null, as for a background
                         job of a non-interactive shell)
      --help             show this text

    Limits of the mock: each partition keeps at most 5 MiB or 100,000 batches (older data is dropped silently), so use
    many partitions for large runs; a new consumer group waits about 3 s before its first assignment.
    """;

var brokers = 1;
var topics = new List<MockTopic>();
var ignoreStdin = false;
try
{
    for (var i = 0; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--brokers":
                if (!int.TryParse(Value(ref i), NumberStyles.None, CultureInfo.InvariantCulture, out brokers) || brokers < 1)
                {
                    throw new FormatException($"--brokers needs a whole number of at least 1; got '{args[i]}'.");
                }

                break;
            case "--topic":
                topics.Add(MockTopic.Parse(Value(ref i)));
                break;
            case "--ignore-stdin":
                ignoreStdin = true;
                break;
            case "--help" or "-h":
                Console.WriteLine(Usage);
                return 0;
            default:
                throw new FormatException($"Unknown argument '{args[i]}'.");
        }
    }
}
catch (FormatException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine("Run with --help for the usage.");
    return 2;
}

MockKafkaCluster cluster;
try
{
    cluster = MockKafkaCluster.Start(brokers, topics);
}
catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or DllNotFoundException)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}

using (cluster)
{
    using var stop = new ManualResetEventSlim();
    string? reason = null;
    void Stop(string why)
    {
        Interlocked.CompareExchange(ref reason, why, null);
        stop.Set();
    }

    // Cancel the default termination so the cluster is destroyed and the exit code is 0.
    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; Stop("SIGTERM"); });
    using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; Stop("SIGINT"); });

    var watchStdin = !ignoreStdin && !StdinIsDevNull();
    if (watchStdin)
    {
        // A background thread, so a stop by signal does not wait for a read that never returns.
        new Thread(() =>
        {
            using var stdin = Console.OpenStandardInput();
            var buffer = new byte[256];
            while (stdin.Read(buffer) > 0)
            {
                // Input is ignored: only its end matters.
            }

            Stop("end of standard input");
        })
        { IsBackground = true, Name = "stdin-watch" }.Start();
    }

    Console.Out.WriteLine($"BOOTSTRAP {cluster.BootstrapServers}");
    Console.Out.Flush();
    Console.Error.WriteLine(
        $"lowlatency-kafka-broker: librdkafka {MockKafkaCluster.NativeVersion} mock cluster, {cluster.Brokers} broker(s) at {cluster.BootstrapServers}; " +
        $"topics: {(topics.Count == 0 ? "none" : string.Join(", ", topics))}; " +
        $"stops on SIGTERM, SIGINT{(watchStdin ? " or end of stdin" : "")}");

    stop.Wait();
    Console.Error.WriteLine($"lowlatency-kafka-broker: stopping ({reason})");
}

return 0;

string Value(ref int index)
{
    if (index + 1 >= args.Length)
    {
        throw new FormatException($"{args[index]} needs a value.");
    }

    return args[++index];
}

// A non-interactive shell gives a background job /dev/null as stdin: its immediate end is no request to stop.
static bool StdinIsDevNull()
{
    try
    {
        return OperatingSystem.IsLinux() && new FileInfo("/proc/self/fd/0").LinkTarget == "/dev/null";
    }
    catch (IOException)
    {
        return false;
    }
}

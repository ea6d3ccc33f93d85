using System.IO.Compression;
using System.Text;
using BenchmarkDotNet.Attributes;
using LowLatency.Connectors.Replay;

namespace LowLatency.Benchmarks.Replay;

/// <summary>
/// Cost per frame of reading a recorded session (the real BTCUSDT recording's layout: <c>&lt;ns&gt; &lt;frame&gt;</c>
/// lines), from memory so the disk is not measured, against what a user would otherwise write: <see cref="StreamReader"/>
/// line by line, split at the first space, the timestamp parsed with <see cref="long.Parse(string)"/>. Plus the cost
/// per frame of the deterministic load generator.
/// </summary>
[MemoryDiagnoser]
public class ReplayBenchmarks
{
    private const int Lines = 20_000;
    private byte[] _plain = null!;
    private byte[] _gzip = null!;
    private MarketDataGenerator _generator = null!;
    private byte[] _frame = null!;

    [GlobalSetup]
    public void Setup()
    {
        // Frames written by the generator, in the recordings' line format.
        var generator = new MarketDataGenerator(new MarketDataGeneratorOptions { Seed = 7 });
        var buffer = new byte[generator.MaxFrameBytes];
        var text = new MemoryStream();
        var time = 1_723_161_253_937_085_768L;
        for (var i = 0; i < Lines; i++)
        {
            var length = generator.WriteNext(buffer, out _);
            var prefix = Encoding.ASCII.GetBytes($"{time + (i * 25_000L)} ");
            text.Write(prefix);
            text.Write(buffer, 0, length);
            text.WriteByte((byte)'\n');
        }

        _plain = text.ToArray();
        var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(_plain);
        }

        _gzip = compressed.ToArray();
        _generator = new MarketDataGenerator();
        _frame = new byte[_generator.MaxFrameBytes];
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Lines)]
    public long StreamReader_ReadLine_Split()
    {
        using var reader = new StreamReader(new MemoryStream(_plain), Encoding.UTF8);
        long sum = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            sum += long.Parse(line.AsSpan(0, space), provider: System.Globalization.CultureInfo.InvariantCulture);
            sum += line.Length - space - 1; // the frame, as a string
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Lines)]
    public long RecordingReader_Plain() => ReadAll(_plain);

    [Benchmark(OperationsPerInvoke = Lines)]
    public long RecordingReader_Gzip() => ReadAll(_gzip);

    private static long ReadAll(byte[] source)
    {
        using var reader = new RecordingReader(new MemoryStream(source));
        long sum = 0;
        while (reader.TryRead(out var frame))
        {
            sum += frame.ReceiveTimeNs + frame.Payload.Length;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Lines)]
    public long Generator_WriteNext()
    {
        long bytes = 0;
        for (var i = 0; i < Lines; i++)
        {
            bytes += _generator.WriteNext(_frame, out _);
        }

        return bytes;
    }
}

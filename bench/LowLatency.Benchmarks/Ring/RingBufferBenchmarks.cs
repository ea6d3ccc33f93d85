using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using LowLatency.Ring;

namespace LowLatency.Benchmarks.Ring;

/// <summary>
/// Publish + consume cost per event, one producer (the benchmark thread, pinned to CPU 0) and one consumer (a
/// dedicated thread pinned to the last CPU), against the bounded <see cref="Channel{T}"/> a .NET developer would
/// otherwise use. Each invocation moves <see cref="Events"/> longs and waits until the consumer has seen the last one,
/// so the figure per operation is the end-to-end cost of one event at full throughput.
/// </summary>
/// <remarks>
/// Both sides of both contenders poll without blocking (the ring with <see cref="BusySpinWaitStrategy"/>, the channel
/// with TryWrite/TryRead in a spin loop): this compares the data structures, not async machinery, and is the channel's
/// best case. The allocation column is process-wide (both threads).
/// </remarks>
[MemoryDiagnoser]
public class RingBufferBenchmarks
{
    private const int Events = 1 << 22;
    private const int BufferSize = 1 << 16;

    private ValueDisruptor<LongEvent> _disruptor = null!;
    private BatchEventProcessor<LongEvent, SumHandler> _processor = null!;
    private ValueRingBuffer<LongEvent> _ring = null!;

    private Channel<long> _channel = null!;
    private Thread _channelConsumer = null!;
    private long _channelConsumed;
    private volatile bool _stopChannel;

    public struct LongEvent
    {
        public long Value;
    }

    public struct SumHandler : IValueEventHandler<LongEvent>
    {
        public long Sum;

        public void OnEvent(ref LongEvent data, long sequence, bool endOfBatch) => Sum += data.Value;
    }

    [GlobalSetup]
    public void Setup()
    {
        ThreadAffinity.PinCurrentThread(0);
        var consumerCpu = Environment.ProcessorCount - 1;

        _disruptor = new ValueDisruptor<LongEvent>(BufferSize, ProducerType.Single, new BusySpinWaitStrategy());
        _processor = _disruptor.HandleEventsWith(new SumHandler(), new EventProcessorOptions { ThreadName = "bench-ring", Cpu = consumerCpu });
        _disruptor.Start();
        _ring = _disruptor.RingBuffer;

        _channel = Channel.CreateBounded<long>(new BoundedChannelOptions(BufferSize)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _channelConsumer = new Thread(ConsumeChannel) { IsBackground = true, Name = "bench-channel" };
        _channelConsumer.Start(consumerCpu);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _disruptor.Halt();
        _stopChannel = true;
        _channelConsumer.Join();
    }

    private void ConsumeChannel(object? cpu)
    {
        ThreadAffinity.PinCurrentThread((int)cpu!);
        var reader = _channel.Reader;
        long consumed = 0;
        var sum = 0L;
        while (!_stopChannel)
        {
            while (reader.TryRead(out var value))
            {
                sum += value;
                consumed++;
            }

            Volatile.Write(ref _channelConsumed, consumed);
        }

        GC.KeepAlive(sum);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
    public void Channel_TryWriteTryRead()
    {
        var writer = _channel.Writer;
        var target = Volatile.Read(ref _channelConsumed) + Events;
        for (long i = 0; i < Events; i++)
        {
            while (!writer.TryWrite(i))
            {
                Thread.SpinWait(1);
            }
        }

        while (Volatile.Read(ref _channelConsumed) < target)
        {
            Thread.SpinWait(1);
        }
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public void Ring_PublishOne()
    {
        var ring = _ring;
        long last = 0;
        for (long i = 0; i < Events; i++)
        {
            last = ring.Next();
            ring[last].Value = i;
            ring.Publish(last);
        }

        WaitForConsumer(last);
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public void Ring_PublishBatchOf10()
    {
        const int Batch = 10;
        var ring = _ring;
        long last = 0;
        long value = 0;
        for (var b = 0; b < Events / Batch; b++)
        {
            var hi = ring.Next(Batch);
            for (var s = hi - (Batch - 1); s <= hi; s++)
            {
                ring[s].Value = value++;
            }

            ring.Publish(hi - (Batch - 1), hi);
            last = hi;
        }

        // Events is not a multiple of 10: publish the remainder one by one so every invocation moves exactly Events.
        for (var r = 0; r < Events % Batch; r++)
        {
            last = ring.Next();
            ring[last].Value = value++;
            ring.Publish(last);
        }

        WaitForConsumer(last);
    }

    private void WaitForConsumer(long sequence)
    {
        var consumer = _processor.Sequence;
        while (consumer.Value < sequence)
        {
            Thread.SpinWait(1);
        }
    }
}

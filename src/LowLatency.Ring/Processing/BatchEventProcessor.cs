using System.Runtime.CompilerServices;

namespace LowLatency.Ring;

/// <summary>
/// Runs a struct <typeparamref name="THandler"/> over a ring buffer: waits on its barrier, hands every available event to
/// the handler by reference as one batch, then publishes how far it got. One instance, one thread.
/// </summary>
/// <remarks>
/// The class is generic over the handler's struct type, so the processing loop is compiled per handler and the calls to
/// <see cref="IValueEventHandler{T}.OnEvent"/> are direct and inlinable (Disruptor-net reaches the same effect with
/// generated struct proxies). The handler lives in a field of this object; <see cref="Handler"/> returns a reference to
/// it so callers can read its state after a run.
/// <para>
/// <see cref="_state"/> moves Idle → Running → Halted. It is changed with <see cref="Interlocked"/> operations from any
/// thread and read with <c>Volatile.Read</c> by the processing thread after the barrier reports an alert.
/// </para>
/// </remarks>
public sealed class BatchEventProcessor<T, THandler> : IEventProcessor
    where T : struct
    where THandler : struct, IValueEventHandler<T>
{
    private const int Idle = 0;
    private const int Running = 1;
    private const int Halted = 2;

    private readonly ValueRingBuffer<T> _ringBuffer;
    private readonly SequenceBarrier _barrier;
    private readonly Sequence _sequence = new();
    private readonly EventProcessorOptions _options;
    private readonly int _maxBatchSize;
    private readonly bool _callBatchStart;
    private readonly bool _callTimeout;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private THandler _handler;
    private int _state;
    private long _exceptionCount;

    /// <summary>Creates a processor of <paramref name="ringBuffer"/> that waits on <paramref name="barrier"/>.</summary>
    public BatchEventProcessor(ValueRingBuffer<T> ringBuffer, SequenceBarrier barrier, THandler handler, EventProcessorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(ringBuffer);
        ArgumentNullException.ThrowIfNull(barrier);
        if (barrier.Sequencer != ringBuffer.Sequencer)
        {
            throw new ArgumentException("The barrier belongs to another ring buffer.", nameof(barrier));
        }

        _options = options ?? EventProcessorOptions.Default;
        if (_options.MaxBatchSize < 1)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(options), _options.MaxBatchSize, "MaxBatchSize must be at least 1.");
        }

        _ringBuffer = ringBuffer;
        _barrier = barrier;
        _handler = handler;
        _maxBatchSize = _options.MaxBatchSize;
        _callBatchStart = HandlerDeclares(nameof(IValueEventHandler<T>.OnBatchStart));
        _callTimeout = HandlerDeclares(nameof(IValueEventHandler<T>.OnTimeout));
    }

    /// <inheritdoc />
    public Sequence Sequence => _sequence;

    /// <inheritdoc />
    public EventProcessorOptions Options => _options;

    /// <summary>The barrier this processor waits on.</summary>
    public SequenceBarrier Barrier => _barrier;

    /// <summary>The handler, by reference (its state is only stable once the processor has stopped).</summary>
    public ref THandler Handler => ref _handler;

    /// <summary>Exceptions thrown by the handler so far (under either policy).</summary>
    public long ExceptionCount => Volatile.Read(ref _exceptionCount);

    /// <inheritdoc />
    public bool IsRunning => Volatile.Read(ref _state) == Running;

    /// <inheritdoc />
    public Task Completion => _completion.Task;

    /// <inheritdoc />
    public void Run()
    {
        var previous = Interlocked.CompareExchange(ref _state, Running, Idle);
        if (previous == Halted)
        {
            // Halted before it ever ran: nothing to do, and Completion was already completed by Halt.
            return;
        }

        if (previous == Running)
        {
            ThrowHelper.ThrowInvalidOperation("The processor is already running.");
        }

        // Clear an alert left from an earlier run, then look at the state again: a Halt() that ran between the
        // compare-exchange above and this line has set Halted and its alert was just cleared, so it would otherwise be
        // lost and a busy-spinning processor would never stop (the perf harness's start/halt race found it).
        // The full fence makes this a correct Dekker hand-off with Halt(), which writes the state (Interlocked, a full
        // fence) and then the alert: without it x86 may satisfy the state load below before our cleared flag leaves
        // the store buffer, read Running, and let the clear land after Halt's alert (a test caught 1 in ~700 starts).
        _barrier.ClearAlert();
        Interlocked.MemoryBarrier();
        Exception? fault = null;
        try
        {
            if (Volatile.Read(ref _state) == Running)
            {
                fault = NotifyStart() ?? ProcessEvents();
            }
        }
        finally
        {
            var shutdownFault = NotifyShutdown();
            fault ??= shutdownFault;
            Volatile.Write(ref _state, Halted);
            if (fault is null)
            {
                _completion.TrySetResult();
            }
            else
            {
                _completion.TrySetException(new EventProcessorException(typeof(THandler).Name, _sequence.Value + 1, fault));
            }
        }
    }

    /// <summary>The loop. Returns null when halted, or the exception that stopped it under <see cref="ExceptionPolicy.Stop"/>.</summary>
    private Exception? ProcessEvents()
    {
        var nextSequence = _sequence.Value + 1;
        while (true)
        {
            try
            {
                while (true)
                {
                    var availableSequence = _barrier.WaitFor(nextSequence);
                    if (availableSequence >= nextSequence)
                    {
                        var endSequence = availableSequence - nextSequence >= _maxBatchSize
                            ? nextSequence + _maxBatchSize - 1
                            : availableSequence;

                        if (_callBatchStart)
                        {
                            _handler.OnBatchStart(endSequence - nextSequence + 1, availableSequence - nextSequence + 1);
                        }

                        for (; nextSequence <= endSequence; nextSequence++)
                        {
                            _handler.OnEvent(ref _ringBuffer[nextSequence], nextSequence, nextSequence == endSequence);
                        }

                        _sequence.SetValue(endSequence);

                        // A halt is noticed between batches too, not only while waiting: a consumer with a steady
                        // backlog would otherwise finish all of it first. One volatile read per batch.
                        if (_barrier.IsAlerted && Volatile.Read(ref _state) != Running)
                        {
                            return null;
                        }
                    }
                    else if (availableSequence == SequenceBarrier.Alerted)
                    {
                        if (Volatile.Read(ref _state) != Running)
                        {
                            return null;
                        }

                        _barrier.ClearAlert();
                    }
                    else if (availableSequence == SequenceBarrier.TimedOut && _callTimeout)
                    {
                        _handler.OnTimeout(_sequence.Value);
                    }
                }
            }
            catch (Exception ex)
            {
                // nextSequence is the event being handled (or the first of the batch if OnBatchStart/OnTimeout threw).
                if (!Report(ex, nextSequence))
                {
                    _sequence.SetValue(nextSequence - 1);
                    return ex;
                }

                _sequence.SetValue(nextSequence);
                nextSequence++;
            }
        }
    }

    /// <summary>Counts and reports an exception; returns whether to continue.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Report(Exception exception, long sequence)
    {
        Volatile.Write(ref _exceptionCount, _exceptionCount + 1);
        try
        {
            _options.OnException?.Invoke(exception, sequence);
        }
#pragma warning disable CA1031 // A failing reporter must not kill the consumer it reports on.
        catch
#pragma warning restore CA1031
        {
        }

        return _options.ExceptionPolicy == ExceptionPolicy.LogAndContinue;
    }

    private Exception? NotifyStart()
    {
        try
        {
            _handler.OnStart();
            return null;
        }
        catch (Exception ex)
        {
            return Report(ex, -1) ? null : ex;
        }
    }

    private Exception? NotifyShutdown()
    {
        try
        {
            _handler.OnShutdown();
            return null;
        }
        catch (Exception ex)
        {
            return Report(ex, -1) ? null : ex;
        }
    }

    /// <inheritdoc />
    public void Halt()
    {
        if (Interlocked.CompareExchange(ref _state, Halted, Idle) == Idle)
        {
            _completion.TrySetResult();
            return;
        }

        Interlocked.CompareExchange(ref _state, Halted, Running);
        _barrier.Alert();
    }

    /// <inheritdoc />
    public bool HaltAfterDrain(TimeSpan timeout)
    {
        var target = _barrier.Dependents.Value;
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        var spinWait = default(SpinWait);
        while (_sequence.Value < target && IsRunning && Environment.TickCount64 < deadline)
        {
            spinWait.SpinOnce();
        }

        var drained = _sequence.Value >= target;
        Halt();
        return drained;
    }

    private static bool HandlerDeclares(string methodName)
    {
        var map = typeof(THandler).GetInterfaceMap(typeof(IValueEventHandler<T>));
        for (var i = 0; i < map.InterfaceMethods.Length; i++)
        {
            if (map.InterfaceMethods[i].Name == methodName)
            {
                return map.TargetMethods[i].DeclaringType == typeof(THandler);
            }
        }

        return false;
    }
}

/// <summary>The exception a processor's <see cref="IEventProcessor.Completion"/> faults with when its handler stopped it.</summary>
public sealed class EventProcessorException : Exception
{
    /// <summary>Creates the exception for the handler <paramref name="handlerName"/> stopped at <paramref name="sequence"/>.</summary>
    public EventProcessorException(string handlerName, long sequence, Exception innerException)
        : base($"Event handler {handlerName} stopped at sequence {sequence}: {innerException.Message}", innerException)
    {
        HandlerName = handlerName;
        Sequence = sequence;
    }

    /// <summary>The handler type's name.</summary>
    public string HandlerName { get; }

    /// <summary>The sequence of the event whose handling failed (the processor's sequence is one less).</summary>
    public long Sequence { get; }
}

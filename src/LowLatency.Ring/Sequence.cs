using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LowLatency.Ring;

/// <summary>
/// A 64-bit sequence number padded to keep it alone on its cache line. The cursor of a ring buffer and the position of
/// every consumer are sequences: each is written by exactly one thread (or by producers through <see cref="Interlocked"/>)
/// and read by others.
/// </summary>
/// <remarks>
/// Memory ordering (the .NET memory model; on x86-64 every load is an acquire and every store a release in hardware, so
/// the cost of the first three rows below is only that the JIT may not reorder around them):
/// <list type="table">
/// <item><term><see cref="Value"/></term><description><c>Volatile.Read</c>: an acquire. A consumer that
/// reads a cursor of N sees every write the producer made to entries up to N before publishing N.</description></item>
/// <item><term><see cref="SetValue"/></term><description><see cref="Volatile.Write(ref long, long)"/>: a release. Every
/// write to an entry made before publishing is visible to any thread that later reads the new value. This is the only
/// barrier the single-producer publish path needs.</description></item>
/// <item><term><see cref="SetValueVolatile"/></term><description><see cref="Interlocked.Exchange(ref long, long)"/>: a
/// full fence (store-load). Needed where a thread stores a sequence and must then read another thread's variable with
/// no chance of the load being satisfied before the store is visible (Dekker-style hand-offs, e.g. before a producer
/// inspects the consumers it is about to wait for).</description></item>
/// <item><term><see cref="CompareAndSet"/>, <see cref="AddAndGet"/>, <see cref="IncrementAndGet"/></term><description>
/// <see cref="Interlocked"/> read-modify-write operations, full fences; used by multiple producers to claim slots.
/// </description></item>
/// </list>
/// Layout: explicit, with <see cref="Padding.Field"/> bytes on both sides of the value (checked by a test), as in the
/// LMAX Disruptor and Disruptor-net.
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = 2 * Padding.Field + sizeof(long))]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1823:Avoid unused private fields", Justification = "Padding.")]
public sealed class Sequence
{
    /// <summary>The value of a sequence before anything has been claimed, published or consumed.</summary>
    public const long InitialValue = -1;

    [FieldOffset(Padding.Field)]
    private long _value;

    /// <summary>
    /// Holds the padding after the value. The runtime does not honour <see cref="StructLayoutAttribute.Size"/> for
    /// classes (the layout test caught an object that ended right after <see cref="_value"/>), so a field marks the end.
    /// </summary>
    [FieldOffset(Padding.Field + sizeof(long) + Padding.Field - sizeof(long))]
    private readonly long _trailingPadding;

    /// <summary>Creates a sequence with the given value (default <see cref="InitialValue"/>).</summary>
    public Sequence(long initialValue = InitialValue) => _value = initialValue;

    /// <summary>The current value, read with acquire semantics.</summary>
    public long Value
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _value);
    }

    /// <summary>Stores <paramref name="value"/> with release semantics (an ordered store; no store-load fence).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetValue(long value) => Volatile.Write(ref _value, value);

    /// <summary>Stores <paramref name="value"/> followed by a full fence (store-load ordered).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetValueVolatile(long value) => Interlocked.Exchange(ref _value, value);

    /// <summary>Atomically sets the value to <paramref name="newValue"/> if it equals <paramref name="expected"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool CompareAndSet(long expected, long newValue) =>
        Interlocked.CompareExchange(ref _value, newValue, expected) == expected;

    /// <summary>Atomically increments the value and returns the result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long IncrementAndGet() => Interlocked.Increment(ref _value);

    /// <summary>Atomically adds <paramref name="increment"/> and returns the result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long AddAndGet(long increment) => Interlocked.Add(ref _value, increment);

    /// <summary>For the layout test: a reference to the padded field.</summary>
    internal ref long ValueRef => ref _value;

    /// <inheritdoc />
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The smallest value among <paramref name="sequences"/>, or <paramref name="minimum"/> if it is smaller or the array
    /// is empty. Each element is read once with acquire semantics.
    /// </summary>
    public static long GetMinimum(Sequence[] sequences, long minimum = long.MaxValue)
    {
        for (var i = 0; i < sequences.Length; i++)
        {
            var value = sequences[i].Value;
            if (value < minimum)
            {
                minimum = value;
            }
        }

        return minimum;
    }
}

using System.Runtime.CompilerServices;

namespace LowLatency.Ring.Tests;

public sealed class SequenceTests
{
    [Fact]
    public void Sequence_New_IsMinusOne()
    {
        Assert.Equal(-1, new Sequence().Value);
        Assert.Equal(Sequence.InitialValue, new Sequence().Value);
    }

    [Fact]
    public void Sequence_Operations_ApplyAtomically()
    {
        var sequence = new Sequence(5);
        Assert.True(sequence.CompareAndSet(5, 7));
        Assert.False(sequence.CompareAndSet(5, 9));
        Assert.Equal(8, sequence.IncrementAndGet());
        Assert.Equal(18, sequence.AddAndGet(10));
        sequence.SetValue(3);
        Assert.Equal(3, sequence.Value);
        sequence.SetValueVolatile(4);
        Assert.Equal(4, sequence.Value);
    }

    [Fact]
    public void Sequence_ConcurrentIncrements_NoneLost()
    {
        var sequence = new Sequence(0);
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 250_000; i++)
            {
                sequence.IncrementAndGet();
            }
        });
        Assert.Equal(1_000_000, sequence.Value);
    }

    [Fact]
    public void GetMinimum_ReturnsSmallestOrDefault()
    {
        Assert.Equal(3, Sequence.GetMinimum([new Sequence(7), new Sequence(3), new Sequence(9)]));
        Assert.Equal(1, Sequence.GetMinimum([new Sequence(7)], 1));
        Assert.Equal(long.MaxValue, Sequence.GetMinimum([]));
    }
}

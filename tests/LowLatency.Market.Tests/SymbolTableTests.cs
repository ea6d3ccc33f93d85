using System.Text;
using LowLatency.TestSupport;

namespace LowLatency.Market.Tests;

public sealed class SymbolTableTests
{
    [Fact]
    public void GetOrAdd_AssignsDenseIdsInOrderAndIsIdempotent()
    {
        var table = new SymbolTable(16);
        Assert.Equal(0, table.GetOrAdd("BTCUSDT"));
        Assert.Equal(1, table.GetOrAdd("ETHUSDT"));
        Assert.Equal(0, table.GetOrAdd("BTCUSDT"u8));
        Assert.Equal(2, table.Count);
        Assert.Equal("ETHUSDT", table.GetName(1));
        Assert.True(table.GetUtf8(0).SequenceEqual("BTCUSDT"u8));
        Assert.True(table.TryGetId("ETHUSDT"u8, out var id));
        Assert.Equal(1, id);
        Assert.False(table.TryGetId("btcusdt"u8, out _)); // case matters: the exchange's payload spelling is the key
    }

    [Fact]
    public void GetOrAdd_NonAsciiSymbol_RoundTrips()
    {
        var table = new SymbolTable();
        var id = table.GetOrAdd("币安人生USDT");
        Assert.Equal("币安人生USDT", table.GetName(id));
        Assert.Equal(id, table.GetOrAdd(Encoding.UTF8.GetBytes("币安人生USDT")));
    }

    [Fact]
    public void GetOrAdd_WhenFullOrInvalid_ReturnsStatusInsteadOfGrowing()
    {
        var table = new SymbolTable(2);
        table.GetOrAdd("A");
        table.GetOrAdd("B");
        Assert.Equal(SymbolTable.Full, table.GetOrAdd("C"));
        Assert.Equal(0, table.GetOrAdd("A"));
        Assert.Equal(SymbolTable.Invalid, table.GetOrAdd(ReadOnlySpan<byte>.Empty));
        Assert.Equal(SymbolTable.Invalid, table.GetOrAdd(new string('X', SymbolTable.MaxSymbolBytes + 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => table.GetName(2));
    }

    [Fact]
    public void GetOrAdd_ConcurrentThreads_OneIdPerSymbol()
    {
        var table = new SymbolTable(4096);
        var names = Enumerable.Range(0, 2000).Select(i => Encoding.UTF8.GetBytes($"SYM{i}USDT")).ToArray();
        var ids = new int[4][];
        Parallel.For(0, 4, t =>
        {
            ids[t] = new int[names.Length];
            var order = Enumerable.Range(0, names.Length).ToArray();
            new Random(t).Shuffle(order); // each thread adds in its own order
            foreach (var k in order)
            {
                ids[t][k] = table.GetOrAdd(names[k]);
            }
        });

        Assert.Equal(names.Length, table.Count);
        for (var i = 0; i < names.Length; i++)
        {
            Assert.All(ids, perThread => Assert.Equal(ids[0][i], perThread[i]));
            Assert.Equal(Encoding.UTF8.GetString(names[i]), table.GetName(ids[0][i]));
        }

        Assert.Equal(names.Length, ids[0].Distinct().Count());
    }

    [Fact]
    public void Lookup_OfKnownSymbol_AllocatesNothing()
    {
        var table = new SymbolTable();
        var btc = "BTCUSDT"u8.ToArray();
        table.GetOrAdd(btc);
        Allocations.AssertNone(
            () =>
            {
                for (var i = 0; i < 10_000; i++)
                {
                    table.GetOrAdd(btc);
                    table.TryGetId(btc, out _);
                }
            },
            "symbol lookup");
    }
}

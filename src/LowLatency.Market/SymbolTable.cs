using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace LowLatency.Market;

/// <summary>
/// Interns symbols (their UTF-8 bytes, e.g. <c>BTCUSDT</c>, or non-ASCII ones such as <c>币安人生USDT</c>) to dense ids
/// 0, 1, 2, … so that everything downstream routes by id into arrays instead of hashing strings.
/// </summary>
/// <remarks>
/// Capacity is fixed at construction and nothing is allocated per lookup: names live in one preallocated byte arena
/// and the index is an open-addressing table of ids. When the table is full, <see cref="GetOrAdd(ReadOnlySpan{byte})"/> returns
/// <see cref="Full"/> (an explicit policy: the caller counts and dead-letters) rather than growing.
/// <para>
/// Threads: lookups are lock-free and may run on any number of threads; additions take a lock. An addition writes the
/// name's bytes and its entry first and publishes the id into the index last with a release store
/// (<c>Volatile.Write</c>); a reader that finds the id (acquire load) therefore sees the complete name.
/// </para>
/// </remarks>
public sealed class SymbolTable
{
    /// <summary>Returned by <see cref="GetOrAdd(ReadOnlySpan{byte})"/> when the table holds <see cref="Capacity"/> symbols already.</summary>
    public const int Full = -1;

    /// <summary>Returned by <see cref="GetOrAdd(ReadOnlySpan{byte})"/> for an empty name or one longer than <see cref="MaxSymbolBytes"/>.</summary>
    public const int Invalid = -2;

    /// <summary>The longest symbol accepted, in UTF-8 bytes.</summary>
    public const int MaxSymbolBytes = 64;

    private static readonly ulong s_hashSeed = (ulong)Random.Shared.NextInt64();

    private readonly byte[] _arena;
    private readonly int[] _offsets;
    private readonly byte[] _lengths;
    private readonly string[] _names;
    private readonly int[] _index; // id + 1 per slot; 0 = empty
    private readonly int _indexMask;
    private readonly Lock _addLock = new();
    private int _count;

    /// <summary>Creates a table for up to <paramref name="capacity"/> symbols (default 16,384; Binance lists about 3,000).</summary>
    public SymbolTable(int capacity = 16_384)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _arena = new byte[capacity * MaxSymbolBytes];
        _offsets = new int[capacity];
        _lengths = new byte[capacity];
        _names = new string[capacity];
        var indexSize = (int)BitOperations.RoundUpToPowerOf2((uint)capacity * 2); // load factor ≤ 0.5
        _index = new int[indexSize];
        _indexMask = indexSize - 1;
    }

    /// <summary>The most symbols the table can hold.</summary>
    public int Capacity { get; }

    /// <summary>The number of symbols interned so far; ids are 0 … Count-1.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The id of <paramref name="utf8"/>, if interned.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetId(ReadOnlySpan<byte> utf8, out int id)
    {
        id = Find(utf8, Hash(utf8), out _);
        return id >= 0;
    }

    /// <summary>The id of <paramref name="utf8"/>, interning it first if new; <see cref="Full"/> or <see cref="Invalid"/> on failure.</summary>
    public int GetOrAdd(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty || utf8.Length > MaxSymbolBytes)
        {
            return Invalid;
        }

        var hash = Hash(utf8);
        var id = Find(utf8, hash, out _);
        return id >= 0 ? id : Add(utf8, hash);
    }

    /// <summary>The id of <paramref name="symbol"/>, interning it if new (configuration and tests; allocates).</summary>
    public int GetOrAdd(string symbol) => GetOrAdd(Encoding.UTF8.GetBytes(symbol));

    /// <summary>The UTF-8 name of <paramref name="id"/>.</summary>
    public ReadOnlySpan<byte> GetUtf8(int id)
    {
        CheckId(id);
        return _arena.AsSpan(_offsets[id], _lengths[id]);
    }

    /// <summary>The name of <paramref name="id"/> as a string (created once, when the symbol was added).</summary>
    public string GetName(int id)
    {
        CheckId(id);
        return _names[id];
    }

    private void CheckId(int id)
    {
        if ((uint)id >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, $"No symbol has id {id}; {Count} are interned.");
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int Add(ReadOnlySpan<byte> utf8, uint hash)
    {
        lock (_addLock)
        {
            var existing = Find(utf8, hash, out var slot); // another thread may have added it meanwhile
            if (existing >= 0)
            {
                return existing;
            }

            var id = _count;
            if (id >= Capacity)
            {
                return Full;
            }

            var offset = id * MaxSymbolBytes;
            utf8.CopyTo(_arena.AsSpan(offset));
            _offsets[id] = offset;
            _lengths[id] = (byte)utf8.Length;
            _names[id] = Encoding.UTF8.GetString(utf8);
            Volatile.Write(ref _count, id + 1);
            Volatile.Write(ref _index[slot], id + 1); // publish last: readers that see it see the entry
            return id;
        }
    }

    /// <summary>Probes linearly from the hash; returns the id, or -1 with <paramref name="emptySlot"/> where it would go.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Find(ReadOnlySpan<byte> utf8, uint hash, out int emptySlot)
    {
        var slot = (int)hash & _indexMask;
        while (true)
        {
            var entry = Volatile.Read(ref _index[slot]);
            if (entry == 0)
            {
                emptySlot = slot;
                return -1;
            }

            var id = entry - 1;
            if (_lengths[id] == utf8.Length && EqualsName(id, utf8))
            {
                emptySlot = -1;
                return id;
            }

            slot = (slot + 1) & _indexMask;
        }
    }

    /// <summary>Whether <paramref name="utf8"/> (1 to <see cref="MaxSymbolBytes"/> bytes) is the name of <paramref name="id"/>, of the same length.</summary>
    /// <remarks>
    /// Word by word rather than through <see cref="MemoryExtensions.SequenceEqual{T}(ReadOnlySpan{T}, ReadOnlySpan{T})"/>,
    /// whose call and set-up cost more than the compare of a 7- to 25-byte name. The last word overlaps the one before it,
    /// so no byte-wise tail (names of one to three bytes, which no exchange lists, take the span compare).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool EqualsName(int id, ReadOnlySpan<byte> utf8)
    {
        var length = utf8.Length;
        ref var name = ref _arena[_offsets[id]];
        ref var other = ref MemoryMarshal.GetReference(utf8);
        if (length < 8)
        {
            return length >= 4
                ? Unsafe.ReadUnaligned<uint>(ref name) == Unsafe.ReadUnaligned<uint>(ref other) &&
                  Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref name, length - 4)) == Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref other, length - 4))
                : _arena.AsSpan(_offsets[id], length).SequenceEqual(utf8);
        }

        for (var i = 0; i < length - 8; i += 8)
        {
            if (Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref name, i)) != Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref other, i)))
            {
                return false;
            }
        }

        return Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref name, length - 8)) == Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref other, length - 8));
    }

    /// <summary>
    /// The name's hash: its eight-byte words (the last one overlapping the one before, as <see cref="EqualsName"/> reads
    /// them) folded by multiply and rotate, seeded per process.
    /// </summary>
    /// <remarks>
    /// Cheaper than <see cref="HashCode.AddBytes"/> (a call and a byte-wise tail per name, on every frame the Binance
    /// client inspects): a 19-byte stream name is three loads and three multiplies. The seed is random per process, as
    /// <see cref="HashCode"/>'s is, so a fixed list of names cannot be chosen to collide. Names do come from input (the
    /// decoders intern the symbols of the frames they read), but the table holds at most its capacity and the index
    /// always has empty slots, so even names that did collide would only lengthen probes, never grow memory or loop:
    /// this keeps probes short; it is not a keyed hash built to resist deliberate collision attacks.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(ReadOnlySpan<byte> utf8)
    {
        const ulong Multiplier = 0x9E3779B97F4A7C15; // 2^64 / golden ratio, odd
        var length = utf8.Length;
        ref var start = ref MemoryMarshal.GetReference(utf8);
        var hash = s_hashSeed ^ (ulong)length;
        if (length >= 8)
        {
            for (var i = 0; i < length - 8; i += 8)
            {
                hash = BitOperations.RotateLeft((hash ^ Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i))) * Multiplier, 29);
            }

            hash ^= Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, length - 8));
        }
        else if (length >= 4)
        {
            hash ^= Unsafe.ReadUnaligned<uint>(ref start) | ((ulong)Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref start, length - 4)) << 32);
        }
        else if (length > 0)
        {
            hash ^= start | ((ulong)Unsafe.Add(ref start, length >> 1) << 8) | ((ulong)Unsafe.Add(ref start, length - 1) << 16);
        }

        hash *= Multiplier;
        return (uint)(hash >> 32) ^ (uint)hash;
    }
}

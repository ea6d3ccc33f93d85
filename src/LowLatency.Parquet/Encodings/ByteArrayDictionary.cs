using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace LowLatency.Parquet.Encodings;

/// <summary>
/// The writer's dictionary for byte-array columns: distinct values in one arena, found by an open-addressing hash
/// table keyed on the bytes, so looking up a value that is already present allocates nothing (the common case for a
/// symbol column: a handful of values repeated millions of times). Cleared and reused for every row group.
/// </summary>
internal sealed class ByteArrayDictionary
{
    private byte[] _arena = new byte[4096];
    private int _arenaLength;
    private int[] _offsets = new int[64];
    private int[] _lengths = new int[64];
    private int[] _hashes = new int[64];
    private int _count;

    // Slot i holds an entry index + 1, 0 for empty. Power-of-two size, at most half full.
    private int[] _slots = new int[128];

    /// <summary>Distinct values.</summary>
    public int Count => _count;

    /// <summary>Bytes of all distinct values (the PLAIN dictionary page is this plus 4 per value).</summary>
    public int ByteCount => _arenaLength;

    /// <summary>Value <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> this[int index] => _arena.AsSpan(_offsets[index], _lengths[index]);

    /// <summary>The index of <paramref name="value"/>, adding it if new.</summary>
    public int GetOrAdd(ReadOnlySpan<byte> value)
    {
        var hash = Hash(value);
        var mask = _slots.Length - 1;
        var slot = hash & mask;
        while (true)
        {
            var entry = _slots[slot] - 1;
            if (entry < 0)
            {
                break;
            }

            if (_hashes[entry] == hash && this[entry].SequenceEqual(value))
            {
                return entry;
            }

            slot = (slot + 1) & mask;
        }

        return Add(value, hash, slot);
    }

    /// <summary>Forgets every value, keeping the memory.</summary>
    public void Clear()
    {
        Array.Clear(_slots);
        _count = 0;
        _arenaLength = 0;
    }

    private int Add(ReadOnlySpan<byte> value, int hash, int slot)
    {
        if (_arenaLength + value.Length > _arena.Length)
        {
            Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _arenaLength + value.Length));
        }

        if (_count == _offsets.Length)
        {
            Array.Resize(ref _offsets, _count * 2);
            Array.Resize(ref _lengths, _count * 2);
            Array.Resize(ref _hashes, _count * 2);
        }

        value.CopyTo(_arena.AsSpan(_arenaLength));
        var index = _count++;
        _offsets[index] = _arenaLength;
        _lengths[index] = value.Length;
        _hashes[index] = hash;
        _arenaLength += value.Length;
        _slots[slot] = index + 1;
        if (_count * 2 > _slots.Length)
        {
            Rehash();
        }

        return index;
    }

    private void Rehash()
    {
        _slots = new int[_slots.Length * 2];
        var mask = _slots.Length - 1;
        for (var i = 0; i < _count; i++)
        {
            var slot = _hashes[i] & mask;
            while (_slots[slot] != 0)
            {
                slot = (slot + 1) & mask;
            }

            _slots[slot] = i + 1;
        }
    }

    /// <summary>
    /// Eight bytes at a time, each word mixed by a multiply (the FNV-1a of before took a dependent multiply per byte, a
    /// third of a symbol lookup). Deterministic; the order of the dictionary does not depend on it in any case.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(ReadOnlySpan<byte> value)
    {
        const ulong Multiplier = 0x9E3779B97F4A7C15;
        var hash = (ulong)value.Length * Multiplier;
        while (value.Length >= 8)
        {
            hash = (hash ^ BinaryPrimitives.ReadUInt64LittleEndian(value)) * Multiplier;
            hash ^= hash >> 29;
            value = value[8..];
        }

        // The last 1 to 7 bytes as one word: two overlapping 4-byte reads from 4 bytes up, single bytes below.
        ulong tail = value.Length switch
        {
            0 => 0,
            >= 4 => ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(value) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(value[^4..]),
            _ => value[0] | ((ulong)value[value.Length / 2] << 8) | ((ulong)value[^1] << 16),
        };
        hash = (hash ^ tail) * Multiplier;

        return (int)((hash ^ (hash >> 32)) & 0x7FFFFFFF);
    }
}


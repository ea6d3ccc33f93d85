using LowLatency.Parquet.Format;

namespace LowLatency.Parquet.Reading;

/// <summary>A leaf column of a file's schema, with what a reader needs to decode it.</summary>
public sealed class ParquetLeafColumn
{
    internal ParquetLeafColumn(int index, IReadOnlyList<string> path, SchemaElement element, int maxDefinitionLevel)
    {
        Index = index;
        Path = path;
        Name = string.Join('.', path);
        Element = element;
        PhysicalType = element.Type!.Value;
        MaxDefinitionLevel = maxDefinitionLevel;
    }

    /// <summary>Position among the leaf columns (and in every row group's column list).</summary>
    public int Index { get; }

    /// <summary>Names from the root's child down to the leaf.</summary>
    public IReadOnlyList<string> Path { get; }

    /// <summary>The path joined with dots.</summary>
    public string Name { get; }

    /// <summary>The leaf's schema element: converted and logical type, scale, precision, type length.</summary>
    public SchemaElement Element { get; }

    public PhysicalType PhysicalType { get; }

    /// <summary>How many optional fields are on the path (0: the column cannot be null).</summary>
    public int MaxDefinitionLevel { get; }
}

/// <summary>
/// One column chunk, decoded: a value per row of the row group, in an array of the physical type's CLR type
/// (bool, int, long, float, double; byte[] for BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY and INT96, whose 12 bytes are
/// left raw), with default values where the row is null.
/// </summary>
public sealed class ParquetColumnData
{
    private readonly bool[]? _nulls;

    internal ParquetColumnData(ParquetLeafColumn column, Array values, bool[]? nulls, int count)
    {
        Column = column;
        Values = values;
        _nulls = nulls;
        Count = count;
    }

    public ParquetLeafColumn Column { get; }

    /// <summary>Rows.</summary>
    public int Count { get; }

    /// <summary>The values: bool[], int[], long[], float[], double[] or byte[][], of length <see cref="Count"/>.</summary>
    public Array Values { get; }

    /// <summary>The values as <typeparamref name="T"/>[] (throws if that is not their type).</summary>
    public T[] As<T>() => (T[])Values;

    public bool IsNull(int row) => _nulls is not null && _nulls[row];

    /// <summary>Row <paramref name="row"/>'s value boxed, or null (for tests and tools, not bulk reads).</summary>
    public object? GetValue(int row) => IsNull(row) ? null : Values.GetValue(row);
}

using LowLatency.Parquet.Format;

namespace LowLatency.Parquet.Writing;

/// <summary>The column types the writer offers, each a fixed mapping to a Parquet physical and logical type.</summary>
public enum ParquetColumnType
{
    /// <summary>BOOLEAN.</summary>
    Boolean,

    /// <summary>INT32 (signed).</summary>
    Int32,

    /// <summary>INT64 (signed).</summary>
    Int64,

    /// <summary>FLOAT (IEEE 754 single).</summary>
    Float,

    /// <summary>DOUBLE (IEEE 754 double).</summary>
    Double,

    /// <summary>BYTE_ARRAY annotated STRING (UTF8): symbols, venues, ids.</summary>
    String,

    /// <summary>BYTE_ARRAY without annotation.</summary>
    Binary,

    /// <summary>INT64 TIMESTAMP(isAdjustedToUTC=true, MILLIS): milliseconds since the Unix epoch, as exchanges send them.</summary>
    TimestampMillis,

    /// <summary>INT64 TIMESTAMP(isAdjustedToUTC=true, MICROS): microseconds since the Unix epoch.</summary>
    TimestampMicros,

    /// <summary>
    /// INT64 DECIMAL(precision, scale): the unscaled value is the int64, value = unscaled / 10^scale. This is how the
    /// engine already holds prices and quantities (a raw integer plus a precision, parsed straight from the
    /// exchange's decimal strings), so a sink writes them without conversion or rounding. INT64 holds up to 18 digits,
    /// which covers every Binance price and quantity at 8 decimals; readers (DuckDB, Spark, Arrow) read it as an
    /// exact DECIMAL, not a double.
    /// </summary>
    Decimal,
}

/// <summary>One column: name, type, whether it may hold nulls, and whether it is dictionary-encoded.</summary>
public sealed class ParquetColumn
{
    private ParquetColumn(string name, ParquetColumnType type, bool optional, bool dictionary, int precision, int scale)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (dictionary && type is not (ParquetColumnType.String or ParquetColumnType.Binary))
        {
            throw new ArgumentException("Dictionary encoding is offered for string and binary columns.", nameof(dictionary));
        }

        if (type == ParquetColumnType.Decimal && (precision is < 1 or > 18 || scale < 0 || scale > precision))
        {
            throw new ArgumentOutOfRangeException(nameof(precision), "An INT64 decimal has precision 1..18 and scale 0..precision.");
        }

        Name = name;
        Type = type;
        IsOptional = optional;
        IsDictionary = dictionary;
        Precision = precision;
        Scale = scale;
    }

    public string Name { get; }

    public ParquetColumnType Type { get; }

    /// <summary>OPTIONAL (nulls allowed, one definition level) rather than REQUIRED.</summary>
    public bool IsOptional { get; }

    /// <summary>RLE_DICTIONARY data pages plus a dictionary page per row group (falls back to PLAIN when it grows too large).</summary>
    public bool IsDictionary { get; }

    /// <summary>Decimal digits in total (Decimal only).</summary>
    public int Precision { get; }

    /// <summary>Decimal digits after the point (Decimal only).</summary>
    public int Scale { get; }

    /// <summary>The physical type this column is stored as.</summary>
    public PhysicalType PhysicalType => Type switch
    {
        ParquetColumnType.Boolean => PhysicalType.Boolean,
        ParquetColumnType.Int32 => PhysicalType.Int32,
        ParquetColumnType.Float => PhysicalType.Float,
        ParquetColumnType.Double => PhysicalType.Double,
        ParquetColumnType.String or ParquetColumnType.Binary => PhysicalType.ByteArray,
        _ => PhysicalType.Int64,
    };

    public static ParquetColumn Boolean(string name, bool optional = false) => new(name, ParquetColumnType.Boolean, optional, false, 0, 0);

    public static ParquetColumn Int32(string name, bool optional = false) => new(name, ParquetColumnType.Int32, optional, false, 0, 0);

    public static ParquetColumn Int64(string name, bool optional = false) => new(name, ParquetColumnType.Int64, optional, false, 0, 0);

    public static ParquetColumn Float(string name, bool optional = false) => new(name, ParquetColumnType.Float, optional, false, 0, 0);

    public static ParquetColumn Double(string name, bool optional = false) => new(name, ParquetColumnType.Double, optional, false, 0, 0);

    /// <summary>A UTF-8 string column; <c>dictionary</c>: dictionary-encode it, right for low-cardinality columns such as the symbol.</summary>
    public static ParquetColumn String(string name, bool optional = false, bool dictionary = false) =>
        new(name, ParquetColumnType.String, optional, dictionary, 0, 0);

    public static ParquetColumn Binary(string name, bool optional = false, bool dictionary = false) =>
        new(name, ParquetColumnType.Binary, optional, dictionary, 0, 0);

    public static ParquetColumn TimestampMillis(string name, bool optional = false) => new(name, ParquetColumnType.TimestampMillis, optional, false, 0, 0);

    public static ParquetColumn TimestampMicros(string name, bool optional = false) => new(name, ParquetColumnType.TimestampMicros, optional, false, 0, 0);

    public static ParquetColumn Decimal(string name, int precision, int scale, bool optional = false) =>
        new(name, ParquetColumnType.Decimal, optional, false, precision, scale);

    /// <summary>The schema element written to the footer: physical type, repetition, logical and converted type.</summary>
    internal SchemaElement ToSchemaElement() => new()
    {
        Name = Name,
        Type = PhysicalType,
        RepetitionType = IsOptional ? FieldRepetitionType.Optional : FieldRepetitionType.Required,
        ConvertedType = Type switch
        {
            ParquetColumnType.String => Format.ConvertedType.Utf8,
            ParquetColumnType.TimestampMillis => Format.ConvertedType.TimestampMillis,
            ParquetColumnType.TimestampMicros => Format.ConvertedType.TimestampMicros,
            ParquetColumnType.Decimal => Format.ConvertedType.Decimal,
            _ => null,
        },
        Scale = Type == ParquetColumnType.Decimal ? Scale : null,
        Precision = Type == ParquetColumnType.Decimal ? Precision : null,
        LogicalType = Type switch
        {
            ParquetColumnType.String => new LogicalType { Kind = LogicalTypeKind.String },
            ParquetColumnType.TimestampMillis => new LogicalType { Kind = LogicalTypeKind.Timestamp, IsAdjustedToUtc = true, Unit = TimeUnit.Millis },
            ParquetColumnType.TimestampMicros => new LogicalType { Kind = LogicalTypeKind.Timestamp, IsAdjustedToUtc = true, Unit = TimeUnit.Micros },
            ParquetColumnType.Decimal => new LogicalType { Kind = LogicalTypeKind.Decimal, Precision = Precision, Scale = Scale },
            _ => null,
        },
    };
}

/// <summary>A flat schema: the columns of every row, declared once per file.</summary>
public sealed class ParquetSchema
{
    public ParquetSchema(params IReadOnlyList<ParquetColumn> columns)
    {
        if (columns.Count == 0)
        {
            throw new ArgumentException("A schema needs at least one column.", nameof(columns));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var column in columns)
        {
            if (!names.Add(column.Name))
            {
                throw new ArgumentException($"Column name '{column.Name}' appears twice.", nameof(columns));
            }
        }

        Columns = columns;
    }

    public IReadOnlyList<ParquetColumn> Columns { get; }

    /// <summary>The index of the column called <paramref name="name"/> (for setting up a sink, not per row).</summary>
    public int IndexOf(string name)
    {
        for (var i = 0; i < Columns.Count; i++)
        {
            if (Columns[i].Name == name)
            {
                return i;
            }
        }

        throw new ArgumentException($"No column '{name}'.", nameof(name));
    }

    internal List<SchemaElement> ToSchemaElements()
    {
        var elements = new List<SchemaElement>(Columns.Count + 1) { new() { Name = "schema", NumChildren = Columns.Count } };
        foreach (var column in Columns)
        {
            elements.Add(column.ToSchemaElement());
        }

        return elements;
    }
}

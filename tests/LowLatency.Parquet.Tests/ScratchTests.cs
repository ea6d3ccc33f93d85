using LowLatency.Parquet.Format;
using LowLatency.TestSupport.Duckdb;

namespace LowLatency.Parquet.Tests;

public class ScratchTests
{
    [DuckdbFact]
    public void Dump()
    {
        using var dir = new TempDirectory();
        var path = dir.File("a.parquet");
        new SampleTable(50).Write(path, SampleTable.Options(CompressionCodec.Snappy, 20));
        using var db = new Duckdb();
        var lit = Duckdb.Literal(path);
        var sb = new System.Text.StringBuilder();
        foreach (var q in new[] { $"SELECT * FROM read_parquet({lit}) LIMIT 5", $"DESCRIBE SELECT * FROM read_parquet({lit})", $"SELECT * FROM parquet_metadata({lit}) LIMIT 20", $"SELECT * FROM parquet_schema({lit})" })
        {
            var rows = db.Query(q);
            foreach (var row in rows) sb.AppendLine(string.Join(" | ", row.Select(x => x ?? "NULL")));
            sb.AppendLine("----");
        }
        File.WriteAllText("/tmp/duck-dump.txt", sb.ToString());
    }
}

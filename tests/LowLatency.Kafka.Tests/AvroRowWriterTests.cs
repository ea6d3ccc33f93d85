using System.Buffers.Binary;
using LowLatency.Aggregation;
using LowLatency.Codecs.Avro;
using LowLatency.Sinks;
using LowLatency.Sinks.Avro;
using LowLatency.TestSupport;

namespace LowLatency.Kafka.Tests;

/// <summary>
/// The output records' Avro schemas and the row writer the Kafka sink encodes them with (LowLatency.Sinks has no test
/// project of its own; the Kafka sink is the writer's user).
/// </summary>
public sealed class AvroRowWriterTests
{
    // Parsing Canonical Form fingerprints (CRC-64-AVRO) of the shipped schemas. A change here is a new schema version
    // for every consumer: register it, and change these only on purpose. (Checked once against an independent
    // computation of the canonical form and CRC-64-AVRO from the .avsc files.)
    [Theory]
    [InlineData(OutputKind.Candle, "io.lowlatency.Candle", 0x4a5a94befb669ca1UL)]
    [InlineData(OutputKind.Alert, "io.lowlatency.Alert", 0xb210d5a791ef9113UL)]
    [InlineData(OutputKind.Ticker, "io.lowlatency.Ticker", 0xde4e420a27641542UL)]
    public void Schemas_Parse_CanonicalFormAndFingerprintStable(OutputKind kind, string fullName, ulong fingerprint)
    {
        var schema = OutputSchemas.For(kind);
        Assert.Equal(fullName, schema.FullName);
        Assert.Equal(AvroType.Record, schema.Type);
        var reparsed = AvroSchema.Parse(OutputSchemas.Json(kind));
        Assert.Equal(schema.CanonicalForm, reparsed.CanonicalForm);
        Assert.Equal(schema.CanonicalForm, AvroSchema.Parse(schema.CanonicalForm).CanonicalForm);
        Assert.Equal(fingerprint, schema.Fingerprint);

        // Times are timestamp-millis longs, the nullable figures ["null","double"] with a null default.
        Assert.All(schema.Fields.Where(f => f.Name is "open_time" or "close_time" or "time" or "event_time" or "updated_at"), f =>
        {
            Assert.Equal(AvroType.Long, f.Schema.Type);
            Assert.Equal("timestamp-millis", f.Schema.LogicalType);
        });
        Assert.All(schema.Fields.Where(f => f.Schema.Type == AvroType.Union), f =>
        {
            Assert.Equal([AvroType.Null, AvroType.Double], f.Schema.Branches.Select(b => b.Type));
            Assert.True(f.HasDefault);
        });
    }

    [Theory]
    [InlineData(AvroFraming.Bare)]
    [InlineData(AvroFraming.Confluent)]
    [InlineData(AvroFraming.SingleObject)]
    public void Write_EveryKind_DecodesToTheJsonRecordBehindItsHeader(AvroFraming framing)
    {
        var ids = new OutputSchemaIds(1, 2, int.MaxValue);
        var records = new OutputRecords(OutputSamples.Table());
        using var row = new AvroRowWriter(framing, ids);
        foreach (var e in OutputSamples.Events(30))
        {
            row.Clear();
            records.Write(row, e);
            var message = row.Buffer.WrittenSpan;
            var schema = OutputSchemas.For(e.Kind);
            var body = framing switch
            {
                AvroFraming.Confluent => message[ConfluentFraming.HeaderLength..],
                AvroFraming.SingleObject => message[SingleObjectFraming.HeaderLength..],
                _ => message,
            };
            if (framing == AvroFraming.Confluent)
            {
                Assert.Equal(0, message[0]);
                Assert.Equal(ids.For(e.Kind), BinaryPrimitives.ReadInt32BigEndian(message[1..]));
            }
            else if (framing == AvroFraming.SingleObject)
            {
                Assert.Equal(AvroStatus.Ok, SingleObjectFraming.TryRead(message, out var fingerprint, out _));
                Assert.Equal(schema.Fingerprint, fingerprint);
            }

            OutputSamples.AssertSameRecord(OutputSamples.Json(records, e), schema, body);
        }
    }

    [Theory]
    [InlineData(AvroFraming.Bare)]
    [InlineData(AvroFraming.Confluent)]
    public void Write_AfterWarmUp_AllocatesNothing(AvroFraming framing)
    {
        var records = new OutputRecords(OutputSamples.Table());
        var events = OutputSamples.Events(3).ToArray();
        using var row = new AvroRowWriter(framing, new OutputSchemaIds(1, 2, 3));
        Allocations.AssertNone(() =>
        {
            foreach (ref readonly var e in events.AsSpan())
            {
                row.Clear();
                records.Write(row, e);
            }
        }, "Encoding candles, alerts and tickers as Avro");
    }

    [Fact]
    public void Write_FieldTheSchemaDoesNotHave_Throws()
    {
        using var row = new AvroRowWriter();
        row.Begin(OutputKind.Candle);
        row.String("symbol"u8, "BTCUSDT"u8);
        var e = Assert.Throws<InvalidOperationException>(() => row.Integer("interval"u8, 60));
        Assert.Contains("'interval'", e.Message, StringComparison.Ordinal);

        row.Clear();
        row.Begin(OutputKind.Ticker);
        row.String("symbol"u8, "BTCUSDT"u8);
        Assert.Throws<InvalidOperationException>(row.End); // 13 fields short
        Assert.Throws<ArgumentOutOfRangeException>(() => row.Begin(OutputKind.Mark));
    }
}

using System.Text;
using LowLatency.Codecs.Binance;
using LowLatency.Codecs.Debezium;
using LowLatency.Market;
using LowLatency.TestSupport;

namespace LowLatency.Codecs.Tests.Debezium;

public sealed class KlineChangeDecoderTests
{
    // 2024-08-08T23:54:00Z and the candle's last millisecond; the event itself was captured at ts_ms.
    private const long OpenMs = 1_723_161_240_000;
    private const long CloseMs = 1_723_161_299_999;
    private const long TsMs = 1_723_161_300_123;

    /// <summary>The connector's envelope (schemas.enable=true): µs timestamps, precise decimals as base64 bytes (scale 8).</summary>
    private const string EnvelopeMicrosPrecise =
        """{"schema":{"type":"struct","fields":[{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":false,"field":"symbol"},{"type":"string","optional":false,"field":"interval"},{"type":"int64","optional":false,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"open_time"},{"type":"int64","optional":false,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"close_time"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"8","connect.decimal.precision":"20"},"field":"open"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"8","connect.decimal.precision":"20"},"field":"high"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"8","connect.decimal.precision":"20"},"field":"low"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"8","connect.decimal.precision":"20"},"field":"close"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"8","connect.decimal.precision":"20"},"field":"volume"},{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"24"},"field":"quote_volume"},{"type":"int32","optional":true,"field":"trades"},{"type":"boolean","optional":true,"field":"is_closed"}],"optional":true,"name":"cap_stock.public.kline_data.Value","field":"before"},{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":false,"field":"symbol"},{"type":"string","optional":false,"field":"interval"},{"type":"int64","optional":false,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"open_time"},{"type":"int64","optional":false,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"close_time"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"8","connect.decimal.precision":"20"},"field":"open"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"8","connect.decimal.precision":"20"},"field":"high"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"8","connect.decimal.precision":"20"},"field":"low"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"8","connect.decimal.precision":"20"},"field":"close"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"8","connect.decimal.precision":"20"},"field":"volume"},{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"24"},"field":"quote_volume"},{"type":"int32","optional":true,"field":"trades"},{"type":"boolean","optional":true,"field":"is_closed"}],"optional":true,"name":"cap_stock.public.kline_data.Value","field":"after"},{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":false,"field":"db"},{"type":"int64","optional":true,"field":"lsn"}],"optional":false,"name":"io.debezium.connector.postgresql.Source","field":"source"},{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"}],"optional":false,"name":"cap_stock.public.kline_data.Envelope","version":1},"payload":{"before":null,"after":{"id":42,"symbol":"BTCUSDT","interval":"1m","open_time":1723161240000000,"close_time":1723161299999000,"open":"BjsrZuJA","high":"BjuWoXIA","low":"BjrmzASA","close":"BjuWki/A","volume":"AJ/QUrA=","quote_volume":"AVL7pA==","trades":1234,"is_closed":true},"source":{"version":"2.7.0.Final","connector":"postgresql","name":"cap_stock","ts_ms":1723161300100,"db":"cap_stock","lsn":24023128},"op":"c","ts_ms":1723161300123}}""";

    /// <summary>No schema (schemas.enable=false), decimal.handling.mode=string, ms bigint times, op u with a 'before'.</summary>
    private const string BareStringDecimalsMillis =
        """{"before":{"symbol":"BTCUSDT","interval":"1m","open_time":1723161240000,"close_time":1723161299999,"open":"68512.01","high":"68520","low":"68500.5","close":"68510.99","volume":"1.5","quote_volume":"102768.0","trades":10,"is_closed":false},"after":{"symbol":"BTCUSDT","interval":"1m","open_time":1723161240000,"close_time":1723161299999,"open":"68512.01000000","high":"68530.00","low":"68500.50","close":"68529.99","volume":"26.81230000","quote_volume":"1837095.25000000","number_of_trades":1500,"is_closed":true,"note":{"any":[1,2,{"x":null}]}},"source":{"version":"2.7.0.Final","connector":"postgresql","name":"cap_stock","ts_ms":1723161300100,"snapshot":"false","db":"cap_stock","sequence":"[null,\"24023128\"]","schema":"public","table":"kline_data","txId":771,"lsn":24023128,"xmin":null},"op":"u","ts_ms":1723161300123,"transaction":null}""";

    private static readonly string[] s_valid = [EnvelopeMicrosPrecise, BareStringDecimalsMillis, Bare("r", "1723161240000000", "1723161299999000", "68512.01", "1.0E-5"), Bare("c", "\"2024-08-08T23:54:00Z\"", "\"2024-08-08T23:54:59.999Z\"", "68512.01", "26.8123")];

    private static string Bare(string op, string openTime, string closeTime, string open, string volume) =>
        $$"""{"before":null,"after":{"symbol":"ETHUSDT","interval":"5m","open_time":{{openTime}},"close_time":{{closeTime}},"open":{{open}},"high":2650.5,"low":2600,"close":2612.25,"volume":{{volume}},"trades":7},"source":{"connector":"postgresql","ts_ms":1723161300100},"op":"{{op}}","ts_ms":1723161300123}""";

    private static (DecodeResult Result, MarketEvent Event, SymbolTable Symbols) Decode(string json)
    {
        var symbols = new SymbolTable();
        var evt = MarketEvent.Create(4);
        var result = new KlineChangeDecoder(symbols).Decode(Encoding.UTF8.GetBytes(json), ref evt);
        return (result, evt, symbols);
    }

    private static long Fx(string text)
    {
        Assert.Equal(FixedPointStatus.Ok, FixedPoint.TryParse(Encoding.ASCII.GetBytes(text), out var m));
        return m;
    }

    [Fact]
    public void Decode_EnvelopeWithMicrosAndPreciseDecimals_ExactKline()
    {
        var (result, evt, symbols) = Decode(EnvelopeMicrosPrecise);
        Assert.Equal(DecodeStatus.Ok, result.Status);
        Assert.Equal(MarketEventKind.Kline, evt.Kind);
        Assert.Equal("BTCUSDT", symbols.GetName(evt.SymbolId));
        Assert.Equal(TsMs * 1_000_000, evt.EventTimeNs);
        ref var k = ref evt.Payload.Kline;
        Assert.Equal(OpenMs * 1_000_000, k.OpenTimeNs);
        Assert.Equal(CloseMs * 1_000_000, k.CloseTimeNs);
        Assert.Equal(Fx("68512.01"), k.Open.Mantissa);
        Assert.Equal(Fx("68530"), k.High.Mantissa);
        Assert.Equal(Fx("68500.5"), k.Low.Mantissa);
        Assert.Equal(Fx("68529.99"), k.Close.Mantissa);
        Assert.Equal(Fx("26.8123"), k.Volume.Mantissa);
        Assert.Equal(Fx("222155.88"), k.QuoteVolume.Mantissa); // scale 2
        Assert.Equal(1234, k.TradeCount);
        Assert.True(k.IsClosed);
        Assert.Equal(KlineInterval.Minute1, k.Interval);
        Assert.Equal(-1, k.FirstTradeId);
    }

    [Fact]
    public void Decode_BarePayloadWithStringDecimals_ExactKline()
    {
        var (result, evt, _) = Decode(BareStringDecimalsMillis);
        Assert.Equal(DecodeStatus.Ok, result.Status);
        ref var k = ref evt.Payload.Kline;
        Assert.Equal(OpenMs * 1_000_000, k.OpenTimeNs);
        Assert.Equal(CloseMs * 1_000_000, k.CloseTimeNs);
        Assert.Equal(Fx("68512.01"), k.Open.Mantissa);
        Assert.Equal(Fx("26.8123"), k.Volume.Mantissa);
        Assert.Equal(Fx("1837095.25"), k.QuoteVolume.Mantissa);
        Assert.Equal(1500, k.TradeCount); // number_of_trades
        Assert.True(k.IsClosed);
    }

    [Theory]
    [InlineData("r", "1723161240000000", "1723161299999000")] // µs by magnitude (no schema)
    [InlineData("u", "1723161240000", "1723161299999")] // ms
    [InlineData("c", "1723161240000000000", "1723161299999000000")] // ns by magnitude
    [InlineData("c", "\"2024-08-08T23:54:00Z\"", "\"2024-08-08T23:54:59.999Z\"")] // ZonedTimestamp
    [InlineData("c", "\"2024-08-09T01:54:00+02:00\"", "\"2024-08-08T23:54:59.999000Z\"")]
    public void Decode_EachTimestampForm_SameTimes(string op, string openTime, string closeTime)
    {
        var (result, evt, _) = Decode(Bare(op, openTime, closeTime, "68512.01", "26.8123"));
        Assert.Equal(DecodeStatus.Ok, result.Status);
        Assert.Equal(OpenMs * 1_000_000, evt.Payload.Kline.OpenTimeNs);
        Assert.Equal(CloseMs * 1_000_000, evt.Payload.Kline.CloseTimeNs);
        Assert.Equal(KlineInterval.Minute5, evt.Payload.Kline.Interval); // the column wins over the inferred 1m
    }

    [Fact]
    public void Decode_SchemaNamesTheUnit_MillisTimestampNotGuessed()
    {
        // io.debezium.time.Timestamp is ms: a small value that the heuristic would also read as ms, and a schema saying µs for the same digits.
        const string Payload =
            """ "payload":{"after":{"symbol":"BTCUSDT","open_time":1723161240000,"close_time":1723161299999,"open":1,"high":1,"low":1,"close":1,"volume":1},"op":"r","ts_ms":1}}""";
        static string WithUnit(string unit) =>
            """{"schema":{"type":"struct","fields":[{"type":"struct","fields":[{"type":"int64","name":"UNIT","field":"open_time"},{"type":"int64","name":"UNIT","field":"close_time"}],"optional":true,"field":"after"}]},""".Replace("UNIT", unit, StringComparison.Ordinal) + Payload;
        var millis = Decode(WithUnit("io.debezium.time.Timestamp"));
        Assert.Equal(DecodeStatus.Ok, millis.Result.Status);
        Assert.Equal(OpenMs * 1_000_000, millis.Event.Payload.Kline.OpenTimeNs);
        Assert.Equal(1_000_000, millis.Event.EventTimeNs);
        var micros = Decode(WithUnit("io.debezium.time.MicroTimestamp"));
        Assert.Equal(DecodeStatus.Ok, micros.Result.Status);
        Assert.Equal(OpenMs * 1_000, micros.Event.Payload.Kline.OpenTimeNs);
        Assert.Equal(KlineInterval.Minute1, millis.Event.Payload.Kline.Interval); // inferred: no interval column
    }

    [Theory]
    [InlineData("68512.01", "68512.01")]
    [InlineData("6.851201E4", "68512.01")]
    [InlineData("1.0E-5", "0.00001")]
    [InlineData("\"0.00000637\"", "0.00000637")]
    [InlineData("\"1.0E10\"", "10000000000")]
    [InlineData("0", "0")]
    [InlineData("0.0E-400", "0")]
    public void Decode_NumberForms_ExactOrRejected(string volume, string expected)
    {
        var (result, evt, _) = Decode(Bare("c", "1723161240000", "1723161299999", "68512.01", volume));
        Assert.Equal(DecodeStatus.Ok, result.Status);
        Assert.Equal(Fx(expected), evt.Payload.Kline.Volume.Mantissa);
    }

    [Theory]
    [InlineData("1E11", DecodeStatus.Overflow)]
    [InlineData("92233720368.54775808", DecodeStatus.Overflow)]
    [InlineData("0.000000001", DecodeStatus.PrecisionLoss)]
    [InlineData("-1.5e-8", DecodeStatus.PrecisionLoss)]
    [InlineData("true", DecodeStatus.WrongType)]
    [InlineData("\"1,5\"", DecodeStatus.WrongType)]
    [InlineData("{\"scale\":2,\"value\":\"AQ==\"}", DecodeStatus.WrongType)]
    public void Decode_BadVolume_StatusNamesTheColumn(string volume, DecodeStatus status)
    {
        var (result, evt, _) = Decode(Bare("c", "1723161240000", "1723161299999", "68512.01", volume));
        Assert.Equal(status, result.Status);
        Assert.Contains("'volume'", result.Reason, StringComparison.Ordinal);
        Assert.Equal(MarketEventKind.Invalid, evt.Kind);
    }

    [Theory]
    [InlineData("""{"before":{"symbol":"BTCUSDT"},"after":null,"source":{},"op":"d","ts_ms":1723161300123}""")]
    [InlineData("""{"schema":{"type":"struct","fields":[]},"payload":{"before":{"symbol":"BTCUSDT"},"after":null,"op":"d","ts_ms":1}}""")]
    [InlineData("")]
    [InlineData("null")]
    [InlineData(" null \n")]
    [InlineData("""{"schema":null,"payload":null}""")]
    public void Decode_DeleteOrTombstone_SkippedNotMalformed(string json)
    {
        var (result, evt, _) = Decode(json);
        Assert.Equal(DecodeStatus.Unsupported, result.Status);
        Assert.Equal("debezium: delete: skipped", result.Reason);
        Assert.True(KlineChangeDecoder.IsSkipped(result));
        Assert.Same(KlineChangeDecoder.Skipped.Reason, result.Reason);
        Assert.Equal(MarketEventKind.Invalid, evt.Kind);
    }

    [Theory]
    [InlineData("""{"after":{"symbol":"BTCUSDT"},"op":"t"}""", DecodeStatus.Unsupported)]
    [InlineData("""{"after":{"symbol":"BTCUSDT"}}""", DecodeStatus.MissingField)]
    [InlineData("""{"after":null,"op":"c"}""", DecodeStatus.MissingField)]
    [InlineData("""{"after":{"open_time":1,"close_time":2,"open":1,"high":1,"low":1,"close":1,"volume":1},"op":"c"}""", DecodeStatus.MissingField)]
    [InlineData("""{"after":{"symbol":"A\u0042","open_time":1,"close_time":2,"open":1,"high":1,"low":1,"close":1,"volume":1},"op":"c"}""", DecodeStatus.SymbolRejected)]
    [InlineData("""{"after":{"symbol":"AB","open_time":1.5,"close_time":2,"open":1,"high":1,"low":1,"close":1,"volume":1},"op":"c"}""", DecodeStatus.WrongType)]
    [InlineData("""{"after":{"symbol":"AB","interval":"7m","open_time":1,"close_time":2,"open":1,"high":1,"low":1,"close":1,"volume":1},"op":"c"}""", DecodeStatus.WrongType)]
    [InlineData("""{"after":{"symbol":"AB","open_time":1,"close_time":2,"open":1,"high":1,"low":1,"close":1,"volume":1},"op":"c","ts_ms":"x"}""", DecodeStatus.WrongType)]
    [InlineData("""{"after":{"symbol":"AB"},"op":"c"} x""", DecodeStatus.Malformed)]
    [InlineData("""[1]""", DecodeStatus.Malformed)]
    public void Decode_NotAKline_NonOkStatus(string json, DecodeStatus status)
    {
        var (result, evt, _) = Decode(json);
        Assert.Equal(status, result.Status);
        Assert.False(KlineChangeDecoder.IsSkipped(result));
        Assert.Equal(MarketEventKind.Invalid, evt.Kind);
    }

    [Fact]
    public void Decode_VariableScaleDecimalColumn_Unsupported()
    {
        const string Json =
            """{"schema":{"type":"struct","fields":[{"type":"struct","fields":[{"type":"struct","name":"io.debezium.data.VariableScaleDecimal","field":"open"}],"field":"after"}]},"payload":{"after":{"symbol":"AB","open_time":1,"close_time":2,"open":{"scale":2,"value":"AQ=="},"high":1,"low":1,"close":1,"volume":1},"op":"c"}}""";
        var (result, _, _) = Decode(Json);
        Assert.Equal(DecodeStatus.Unsupported, result.Status);
        Assert.False(KlineChangeDecoder.IsSkipped(result));
    }

    [Fact]
    public void Decode_EveryTruncation_NotOkAndNoThrow()
    {
        var decoder = new KlineChangeDecoder(new SymbolTable());
        var evt = MarketEvent.Create(4);
        foreach (var json in s_valid)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            Assert.Equal(DecodeStatus.Ok, decoder.Decode(bytes, ref evt).Status);
            for (var length = 0; length < bytes.Length; length++)
            {
                var result = decoder.Decode(bytes.AsSpan(0, length), ref evt);
                Assert.True(result.Status != DecodeStatus.Ok, $"prefix of {length} bytes decoded: {json}");
                Assert.Equal(MarketEventKind.Invalid, evt.Kind);
            }
        }
    }

    [DataFact]
    public void Decode_JsonTestSuiteRejects_NeverOkNeverThrows()
    {
        var decoder = new KlineChangeDecoder(new SymbolTable());
        var evt = MarketEvent.Create(4);
        var rejected = 0;
        foreach (var file in Directory.GetFiles(TestData.PathOf("json/JSONTestSuite/test_parsing"), "*.json"))
        {
            var result = decoder.Decode(File.ReadAllBytes(file), ref evt);
            if (Path.GetFileName(file).StartsWith("n_", StringComparison.Ordinal))
            {
                Assert.True(result.Status != DecodeStatus.Ok, $"{Path.GetFileName(file)} was accepted: {result}");
                Assert.Equal(MarketEventKind.Invalid, evt.Kind);
                rejected++;
            }
        }

        Assert.Equal(188, rejected);
    }

    [Fact]
    public void Decode_AfterWarmUp_AllocatesNothing()
    {
        var decoder = new KlineChangeDecoder(new SymbolTable());
        var frames = s_valid.Select(Encoding.UTF8.GetBytes).Append(Encoding.UTF8.GetBytes("""{"before":{},"after":null,"op":"d"}""")).ToArray();
        var evt = MarketEvent.Create(4);
        Allocations.AssertNone(
            () =>
            {
                for (var i = 0; i < frames.Length; i++)
                {
                    decoder.Decode(frames[i], ref evt);
                }
            },
            "KlineChangeDecoder.Decode");
        Assert.Equal(MarketEventKind.Invalid, evt.Kind); // the delete came last
    }
}

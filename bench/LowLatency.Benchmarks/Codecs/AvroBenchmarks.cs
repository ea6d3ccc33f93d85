using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using LowLatency.Codecs.Avro;
using LowLatency.Market;

namespace LowLatency.Benchmarks.Codecs;

/// <summary>
/// Decode cost per <c>data.asset_prices</c> record (Confluent-framed, 13 string fields) of <see cref="AssetPriceDecoder"/>
/// into a <see cref="MarketEvent"/>, against the baseline a .NET developer would otherwise write without a
/// zero-allocation codec: read every field into a <see cref="string"/> and parse with <see cref="decimal.Parse(string, IFormatProvider?)"/>,
/// <see cref="long.Parse(string, IFormatProvider?)"/> and <see cref="bool.Parse(string)"/> into a plain class (there is
/// no Avro library in our package source, so the baseline reads the binary fields with the same primitive reader);
/// plus the generic-datum path (a dictionary per record, as generic Avro readers produce).
/// </summary>
[MemoryDiagnoser]
public class AvroBenchmarks
{
    private byte[] _record = [];
    private byte[] _isoRecord = [];
    private AssetPriceDecoder _decoder = null!;
    private AssetPriceEncoder _encoder = null!;
    private AvroPlan _plan = null!;
    private MarketEvent _event;
    private byte[] _output = [];

    [GlobalSetup]
    public void Setup()
    {
        var symbols = new SymbolTable();
        _decoder = new AssetPriceDecoder(symbols);
        _plan = AvroPlan.Compile(AssetPriceSchema.Schema);
        _record = Record("1723161240000", "1723161299999");
        _isoRecord = Record("2024-08-08T23:54:00.000Z", "2024-08-08T23:54:59.999Z");
        _event = MarketEvent.Create(1);
        _decoder.Decode(_record, ref _event);
        _encoder = new AssetPriceEncoder(symbols);
        _output = new byte[AssetPriceEncoder.MaxEncodedLength];
    }

    [Benchmark(Baseline = true)]
    public AssetRecord StringsAndDecimalParse()
    {
        var body = _record.AsSpan(ConfluentFraming.HeaderLength);
        var reader = new AvroReader(body);
        return new AssetRecord
        {
            Id = Guid.Parse(Next(ref reader)),
            AssetName = Next(ref reader),
            Open = decimal.Parse(Next(ref reader), CultureInfo.InvariantCulture),
            High = decimal.Parse(Next(ref reader), CultureInfo.InvariantCulture),
            Low = decimal.Parse(Next(ref reader), CultureInfo.InvariantCulture),
            Close = decimal.Parse(Next(ref reader), CultureInfo.InvariantCulture),
            Volume = decimal.Parse(Next(ref reader), CultureInfo.InvariantCulture),
            QuoteVolume = decimal.Parse(Next(ref reader), CultureInfo.InvariantCulture),
            Trades = long.Parse(Next(ref reader), CultureInfo.InvariantCulture),
            IsClosed = bool.Parse(Next(ref reader)),
            Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(Next(ref reader), CultureInfo.InvariantCulture)),
            CloseTime = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(Next(ref reader), CultureInfo.InvariantCulture)),
            CollectedAt = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(Next(ref reader), CultureInfo.InvariantCulture)),
        };
    }

    [Benchmark]
    public object? GenericDatum() => AvroGenericDatum.Read(_plan, _record.AsSpan(ConfluentFraming.HeaderLength));

    [Benchmark]
    public long AssetPriceDecoder_EpochMs()
    {
        _decoder.Decode(_record, ref _event);
        return _event.Payload.Kline.Close.Mantissa;
    }

    [Benchmark]
    public long AssetPriceDecoder_Iso8601()
    {
        _decoder.Decode(_isoRecord, ref _event);
        return _event.Payload.Kline.Close.Mantissa;
    }

    [Benchmark]
    public int AssetPriceEncoder_Encode()
    {
        _encoder.TryEncode(in _event, Guid.Empty, _output, out var written);
        return written;
    }

    private static string Next(ref AvroReader reader)
    {
        reader.ReadString(out var utf8);
        return Encoding.UTF8.GetString(utf8);
    }

    private static byte[] Record(string timestamp, string closeTime)
    {
        var plan = AvroPlan.Compile(AssetPriceSchema.Schema);
        var body = AvroGenericDatum.Write(plan, new Dictionary<string, object?>
        {
            ["id"] = "aa3afd44-8119-4565-809b-9df75d6ddab0",
            ["asset_name"] = "BTCUSDT",
            ["open"] = "61837.63000000",
            ["high"] = "61900.00000000",
            ["low"] = "61800.50000000",
            ["close"] = "61850.01000000",
            ["volume"] = "12.34500000",
            ["quote_volume"] = "763456.78900000",
            ["trades"] = "1234",
            ["is_closed"] = "true",
            ["timestamp"] = timestamp,
            ["close_time"] = closeTime,
            ["collected_at"] = "1723161300123",
        });
        var header = new byte[ConfluentFraming.HeaderLength];
        ConfluentFraming.TryWriteHeader(header, 1);
        return [.. header, .. body];
    }

    /// <summary>An asset record, as a user would map it.</summary>
    public sealed class AssetRecord
    {
        public Guid Id { get; set; }

        public string? AssetName { get; set; }

        public decimal Open { get; set; }

        public decimal High { get; set; }

        public decimal Low { get; set; }

        public decimal Close { get; set; }

        public decimal Volume { get; set; }

        public decimal QuoteVolume { get; set; }

        public long Trades { get; set; }

        public bool IsClosed { get; set; }

        public DateTimeOffset Timestamp { get; set; }

        public DateTimeOffset CloseTime { get; set; }

        public DateTimeOffset CollectedAt { get; set; }
    }
}

using System.Text;
using LowLatency.TestSupport;

namespace LowLatency.Redis.Tests;

/// <summary>The reply parser over hand-written RESP2 and RESP3 bytes: every type, whole, split at every byte offset,
/// and one byte at a time; malformed input; no allocation.</summary>
public sealed class RespReaderTests
{
    /// <summary>One reply of each kind, with what <see cref="RedisReply.ToString"/> makes of it.</summary>
    public static TheoryData<string, string> Replies => new()
    {
        { "+OK\r\n", "OK" },
        { "+\r\n", "" },
        { "-ERR unknown command 'FOO'\r\n", "ERR unknown command 'FOO'" },
        { ":0\r\n", "0" },
        { ":-9223372036854775808\r\n", "-9223372036854775808" },
        { ":+42\r\n", "42" },
        { "$5\r\nhello\r\n", "hello" },
        { "$0\r\n\r\n", "" },
        { "$4\r\na\r\nb\r\n", "a\r\nb" },
        { "$-1\r\n", "(nil)" },
        { "*-1\r\n", "(nil)" },
        { "*0\r\n", "Array[]" },
        { "*3\r\n:1\r\n$1\r\nx\r\n*2\r\n+a\r\n*1\r\n:2\r\n", "Array[1, x, Array[a, Array[2]]]" },
        { "_\r\n", "(nil)" },
        { "#t\r\n", "(true)" },
        { "#f\r\n", "(false)" },
        { ",3.14\r\n", "3.14" },
        { ",-inf\r\n", "-inf" },
        { "(3492890328409238509324850943850943825024385\r\n", "3492890328409238509324850943850943825024385" },
        { "!21\r\nSYNTAX invalid syntax\r\n", "SYNTAX invalid syntax" },
        { "=15\r\ntxt:Some string\r\n", "Some string" },
        { "%2\r\n+first\r\n:1\r\n+second\r\n#f\r\n", "Map[first, 1, second, (false)]" },
        { "~3\r\n+a\r\n+b\r\n:3\r\n", "Set[a, b, 3]" },
        { "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n", "Array[2039123, 9543892]" },
        { ">3\r\n$7\r\nmessage\r\n$7\r\nchannel\r\n$5\r\nhello\r\n", "Push[message, channel, hello]" },
        { "*2\r\n%1\r\n~1\r\n_\r\n>1\r\n#t\r\n|1\r\n+a\r\n+b\r\n$-1\r\n", "Array[Map[Set[(nil)], Push[(true)]], (nil)]" },
    };

    [Theory]
    [MemberData(nameof(Replies))]
    public void TryRead_WholeReply_ReadsItAndConsumesEveryByte(string resp, string expected)
    {
        var bytes = Encoding.UTF8.GetBytes(resp);
        var reader = new RespReader(bytes);

        Assert.Equal(RespStatus.Ok, reader.TryRead(out var reply));
        Assert.Equal(expected, RedisReply.From(reply).ToString());
        Assert.Equal(bytes.Length, reader.Consumed);
        Assert.Equal(bytes.Length, reply.Raw.Length);
        Assert.Equal(RespStatus.NeedMoreData, reader.TryRead(out _));
    }

    [Theory]
    [MemberData(nameof(Replies))]
    public void TryRead_ReplySplitAtEveryOffset_NeedsMoreDataUntilTheLastByte(string resp, string expected)
    {
        var bytes = Encoding.UTF8.GetBytes(resp);
        for (var split = 0; split < bytes.Length; split++)
        {
            var reader = new RespReader(bytes.AsSpan(0, split));
            Assert.True(RespStatus.NeedMoreData == reader.TryRead(out _), $"prefix of {split} bytes of {Escape(resp)}");
            Assert.Equal(0, reader.Consumed);

            // The rest arrives: the same bytes, now whole, in a buffer of their own (as the connection compacts).
            var whole = new RespReader(bytes);
            Assert.Equal(RespStatus.Ok, whole.TryRead(out var reply));
            Assert.Equal(expected, RedisReply.From(reply).ToString());
        }
    }

    [Fact]
    public void TryRead_AllRepliesFedOneByteAtATime_ReadsEachOnceInOrder()
    {
        var expected = Replies.Select(row => (string)row[1]).ToList();
        var stream = Encoding.UTF8.GetBytes(string.Concat(Replies.Select(row => (string)row[0])));
        var buffer = new byte[stream.Length];
        int filled = 0, start = 0;
        var seen = new List<string>();
        foreach (var b in stream)
        {
            buffer[filled++] = b;
            while (true)
            {
                var reader = new RespReader(buffer.AsSpan(start, filled - start));
                var status = reader.TryRead(out var reply);
                Assert.NotEqual(RespStatus.Malformed, status);
                if (status == RespStatus.NeedMoreData)
                {
                    break;
                }

                seen.Add(RedisReply.From(reply).ToString());
                start += reader.Consumed;
            }
        }

        Assert.Equal(expected, seen);
        Assert.Equal(stream.Length, start);
    }

    [Fact]
    public void TryRead_ScalarTypes_ExposeValuesWithoutCopying()
    {
        var bytes = ":-17\r\n,1.5e3\r\n,inf\r\n$3\r\n123\r\n#t\r\n=8\r\nmkd:# Hi\r\n$-1\r\n+OK\r\n-ERR x\r\n!3\r\nBAD\r\n"u8;
        var reader = new RespReader(bytes);

        reader.TryRead(out var integer);
        Assert.Equal((RespType.Integer, -17L), (integer.Type, integer.Value));
        reader.TryRead(out var dbl);
        Assert.True(dbl.TryGetDouble(out var d) && d == 1500);
        reader.TryRead(out var inf);
        Assert.True(inf.TryGetDouble(out var i) && double.IsPositiveInfinity(i));
        reader.TryRead(out var bulk);
        Assert.True(bulk.TryGetInt64(out var n) && n == 123);
        reader.TryRead(out var boolean);
        Assert.Equal((RespType.Boolean, 1L), (boolean.Type, boolean.Value));
        reader.TryRead(out var verbatim);
        Assert.True(verbatim.Payload.SequenceEqual("# Hi"u8));
        reader.TryRead(out var nil);
        Assert.True(nil.IsNull && nil.Payload.IsEmpty);
        reader.TryRead(out var ok);
        Assert.True(ok.IsOk && !ok.IsError);
        reader.TryRead(out var error);
        Assert.True(error.IsError && error.Payload.SequenceEqual("ERR x"u8));
        reader.TryRead(out var bulkError);
        Assert.True(bulkError.IsError && bulkError.Type == RespType.BulkError && bulkError.Payload.SequenceEqual("BAD"u8));
    }

    [Fact]
    public void TryRead_Attribute_IsKeptWithTheReplyItPrecedes()
    {
        var reader = new RespReader("|1\r\n+ttl\r\n:3600\r\n:42\r\n"u8);
        reader.TryRead(out var reply);
        var copy = RedisReply.From(reply);

        Assert.Equal((RespType.Integer, 42L), (reply.Type, reply.Value));
        Assert.Equal(["ttl", "3600"], copy.Attributes.Select(a => a.ToString()));
    }

    [Theory]
    [InlineData("?what\r\n")]
    [InlineData(":12a\r\n")]
    [InlineData(":99999999999999999999\r\n")]
    [InlineData("$2\r\nabc\r\n")]
    [InlineData("$-2\r\n")]
    [InlineData("$600000000\r\n")]
    [InlineData("*-2\r\n")]
    [InlineData("%-1\r\n")]
    [InlineData("#x\r\n")]
    [InlineData("_x\r\n")]
    [InlineData(",\r\n")]
    [InlineData("=3\r\ntxt\r\n")]
    [InlineData("+OK\n")]
    [InlineData("+OK\rX")]
    [InlineData("*2\r\n:1\r\n:x\r\n")]
    public void TryRead_Malformed_SaysSoInsteadOfWaiting(string resp)
    {
        var reader = new RespReader(Encoding.UTF8.GetBytes(resp));

        Assert.Equal(RespStatus.Malformed, reader.TryRead(out _));
    }

    [Fact]
    public void TryRead_DeeplyNestedArray_DoesNotRecurse()
    {
        const int depth = 100_000;
        var resp = string.Concat(Enumerable.Repeat("*1\r\n", depth)) + ":7\r\n";
        var reader = new RespReader(Encoding.ASCII.GetBytes(resp));

        Assert.Equal(RespStatus.Ok, reader.TryRead(out var reply));
        Assert.Equal((RespType.Array, 1L), (reply.Type, reply.Value));
    }

    [Fact]
    public void TryRead_PipelinedSimpleReplies_AllocatesNothing()
    {
        var batch = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("+OK\r\n:1\r\n", 500)));
        var counter = new RespReplyCounter();

        Allocations.AssertNone(
            () =>
            {
                var reader = new RespReader(batch);
                var index = 0;
                while (reader.TryRead(out var reply) == RespStatus.Ok)
                {
                    counter.OnReply(index++, reply);
                }
            },
            "reading 1,000 pipelined replies");
        Assert.True(counter.Replies >= 4_000 && counter.Replies % 1_000 == 0, $"{counter.Replies} replies");
        Assert.Equal((counter.Replies / 2, counter.Replies / 2, 0), (counter.Ok, counter.Integers, counter.Errors));
    }

    private static string Escape(string resp) => resp.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}

using Microsoft.Extensions.Logging;

namespace LowLatency.Connectors.Binance;

/// <summary>
/// The Binance client's log messages (source-generated, allocation-free when the level is off). None is written on a
/// per-frame path: gaps and malformed frames are summarised by the supervisor at most once a second.
/// </summary>
internal static partial class BinanceStreamLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Binance: {Streams} stream(s) in {Groups} group(s), {Redundancy} connection(s) each")]
    public static partial void Starting(ILogger logger, int streams, int groups, int redundancy);

    [LoggerMessage(Level = LogLevel.Information, Message = "Binance: connection {Id} (group {Group}, line {Line}) open to {Url}")]
    public static partial void Opened(ILogger logger, int id, int group, int line, Uri url);

    [LoggerMessage(Level = LogLevel.Information, Message = "Binance: connection {Id} (group {Group}, line {Line}) closed after {Frames} frame(s): {Reason}")]
    public static partial void Closed(ILogger logger, int id, int group, int line, long frames, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Binance: group {Group} line {Line} reconnects in {Delay} (attempt {Attempt})")]
    public static partial void Reconnecting(ILogger logger, int group, int line, TimeSpan delay, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Binance: replacing connection {Id} (group {Group}, line {Line}): {Why}")]
    public static partial void Replacing(ILogger logger, int id, int group, int line, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Binance: connection {NewId} replaced {OldId} (group {Group}, line {Line}){Note}")]
    public static partial void Replaced(ILogger logger, int newId, int oldId, int group, int line, string note);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Binance: connection {Id} received nothing for {Silence}; dropping it")]
    public static partial void Silent(ILogger logger, int id, TimeSpan silence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Binance: connection {Id} got an error reply: {Reply}")]
    public static partial void ErrorReply(ILogger logger, int id, string reply);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Binance: {Gaps} new gap(s), {Missing} missing id(s) ({TotalGaps} gap(s) in all); latest: {Latest}")]
    public static partial void Gaps(ILogger logger, long gaps, long missing, long totalGaps, string latest);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Binance: {Count} malformed frame(s) dropped ({Total} in all)")]
    public static partial void Malformed(ILogger logger, long count, long total);

    [LoggerMessage(Level = LogLevel.Error, Message = "Binance: the frame handler threw; the frame is dropped and the client goes on")]
    public static partial void HandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Binance: supervision failed; retrying on the next pass")]
    public static partial void SupervisorFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Binance: subscribing {Count} stream(s) at run time ({Groups} new group(s))")]
    public static partial void Subscribing(ILogger logger, int count, int groups);

    [LoggerMessage(Level = LogLevel.Information, Message = "Binance: unsubscribing {Count} stream(s)")]
    public static partial void Unsubscribing(ILogger logger, int count);
}

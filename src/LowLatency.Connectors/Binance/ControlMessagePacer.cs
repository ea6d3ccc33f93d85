namespace LowLatency.Connectors.Binance;

/// <summary>
/// Paces one connection's control messages: at most <see cref="Limit"/> sends in any window of <see cref="WindowNs"/>,
/// a sliding window over the times of the last <see cref="Limit"/> sends.
/// </summary>
/// <remarks>
/// Not a token bucket, on purpose: a bucket holding N tokens and refilling N per second lets a full bucket's N go at
/// once and then one more each 1/N s, so up to 2N - 1 messages can fall within one rolling second. Binance disconnects
/// a connection that sends more than 5 messages in a second, whatever the window's phase, so the rule enforced here is
/// the exchange's own: the (Limit + 1)-th send waits until the oldest of the last Limit sends is a window old. Times
/// are passed in (ns from any monotonic clock), so tests drive it with a fake clock. Single-threaded: the client's
/// supervisor thread owns every pacer.
/// </remarks>
internal sealed class ControlMessagePacer
{
    private readonly long[] _sent; // ring of the last Limit send times, oldest at _next once full
    private int _next;
    private int _count;

    /// <summary>Creates a pacer allowing <paramref name="limit"/> sends per <paramref name="windowNs"/>.</summary>
    public ControlMessagePacer(int limit, long windowNs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(windowNs, 1);
        Limit = limit;
        WindowNs = windowNs;
        _sent = new long[limit];
    }

    /// <summary>The most sends in any window.</summary>
    public int Limit { get; }

    /// <summary>The window, in ns.</summary>
    public long WindowNs { get; }

    /// <summary>Sends recorded so far.</summary>
    public long Sent { get; private set; }

    /// <summary>The earliest time a send is allowed (at or before <paramref name="nowNs"/> if one is allowed now).</summary>
    public long NextAllowedNs(long nowNs) => _count < Limit ? nowNs : _sent[_next] + WindowNs;

    /// <summary>Records a send at <paramref name="nowNs"/> if the window allows one, and says whether it did.</summary>
    public bool TryAcquire(long nowNs)
    {
        if (_count == Limit && nowNs - _sent[_next] < WindowNs)
        {
            return false;
        }

        _sent[_next] = nowNs;
        _next = _next + 1 == Limit ? 0 : _next + 1;
        if (_count < Limit)
        {
            _count++;
        }

        Sent++;
        return true;
    }
}

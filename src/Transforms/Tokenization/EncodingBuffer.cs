namespace Pipelines;

/// <summary>
/// Reusable lists one encoding writes into, so that a transform encoding row after row allocates
/// nothing per row but its outputs. Not thread-safe: one per cursor.
/// </summary>
internal sealed class EncodingBuffer
{
    public readonly List<int> Ids = [];
    public readonly List<int> WordIds = [];
    public readonly List<int> SegmentIds = [];
    public readonly List<int> PairIds = [];
    public readonly List<int> PairWordIds = [];
    public bool Truncated;
    public int UnknownCount;

    public void Clear()
    {
        Ids.Clear();
        WordIds.Clear();
        SegmentIds.Clear();
        PairIds.Clear();
        PairWordIds.Clear();
        Truncated = false;
        UnknownCount = 0;
    }
}

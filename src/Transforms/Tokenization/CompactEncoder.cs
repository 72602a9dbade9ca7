namespace Pipelines;

/// <summary>
/// Another vocabulary cut down to the ids a corpus uses most: its K most frequent ids become
/// 0 .. K-1 (most frequent first), every other id becomes the unknown id K. Lets a small model over a
/// 100k-entry tiktoken vocabulary carry a K + 1 row embedding. Written here: no library does this.
/// </summary>
internal sealed class CompactEncoder : SubwordEncoder
{
    private readonly int[] _toBase;                 // compact id -> base id
    private readonly Dictionary<int, int> _fromBase; // base id -> compact id

    public CompactEncoder(SubwordEncoder inner, int[] keptBaseIds)
    {
        if (inner is CompactEncoder) throw new ArgumentException("A compact vocabulary cannot be compacted again.", nameof(inner));
        Inner = inner;
        _toBase = keptBaseIds;
        _fromBase = new Dictionary<int, int>(keptBaseIds.Length);
        for (var i = 0; i < keptBaseIds.Length; i++)
        {
            if (keptBaseIds[i] < 0 || keptBaseIds[i] >= inner.Count) throw new InvalidDataException($"Compact vocabulary keeps id {keptBaseIds[i]}, outside the {inner.Count} ids of its base vocabulary.");
            if (!_fromBase.TryAdd(keptBaseIds[i], i)) throw new InvalidDataException($"Compact vocabulary keeps id {keptBaseIds[i]} twice.");
        }
    }

    public SubwordEncoder Inner { get; }

    /// <summary>Base ids in compact-id order.</summary>
    public IReadOnlyList<int> KeptBaseIds => _toBase;

    /// <summary>The id every base id outside the kept ones becomes.</summary>
    public int UnknownId => _toBase.Length;

    public override TokenizerKind Kind => TokenizerKind.Compact;

    public override int Count => _toBase.Length + 1;

    public override int? IdOf(string token) =>
        Inner.IdOf(token) is { } id && _fromBase.TryGetValue(id, out var compact) ? compact : null;

    public override bool Encode(ReadOnlySpan<char> text, List<int> ids, List<int> wordIds, int maxTokens) =>
        Remap(ids, ids.Count, Inner.Encode(text, ids, wordIds, maxTokens));

    public override bool EncodeWithoutWordIds(ReadOnlySpan<char> text, List<int> ids, List<int> wordIds, int maxTokens) =>
        Remap(ids, ids.Count, Inner.EncodeWithoutWordIds(text, ids, wordIds, maxTokens));

    // Maps the base ids appended after start to compact ids (unknown when the corpus never had them).
    private bool Remap(List<int> ids, int start, bool truncated)
    {
        for (var i = start; i < ids.Count; i++)
            ids[i] = _fromBase.TryGetValue(ids[i], out var compact) ? compact : UnknownId;
        return truncated;
    }

    /// <summary>Decodes runs of kept ids with the base vocabulary; the unknown id becomes U+FFFD.</summary>
    public override string Decode(IReadOnlyList<int> ids)
    {
        var text = new System.Text.StringBuilder();
        var run = new List<int>();
        foreach (var id in ids)
        {
            if (id == UnknownId)
            {
                text.Append(Inner.Decode(run)).Append('\uFFFD');
                run.Clear();
            }
            else run.Add(_toBase[id]);
        }
        return text.Append(Inner.Decode(run)).ToString();
    }

    public override void Write(BinaryWriter writer)
    {
        TokenizerFormat.WriteEncoder(writer, Inner);
        writer.Write(_toBase.Length);
        foreach (var id in _toBase) writer.Write(id);
    }

    public static CompactEncoder Read(BinaryReader reader)
    {
        var inner = TokenizerFormat.ReadEncoder(reader, allowCompact: false);
        var count = reader.ReadInt32();
        if (count < 1 || count > inner.Count) throw new InvalidDataException($"A saved compact vocabulary claims {count} ids out of {inner.Count}.");
        var kept = new int[count];
        for (var i = 0; i < count; i++) kept[i] = reader.ReadInt32();
        return new CompactEncoder(inner, kept);
    }
}

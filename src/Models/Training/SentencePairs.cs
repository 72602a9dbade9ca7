namespace Pipelines.Models.Training;

/// <summary>
/// Makes sentence-pair examples, [CLS] A [SEP] B [SEP] with segment ids 0 for [CLS] A [SEP] and 1
/// for B [SEP], from documents of token ids. A document longer than the pair's room is cut to a
/// random window; it is split at a random point into A and B; then, with probability one half,
/// B is replaced by a window of another document (next sentence) or A and B swap places (sentence
/// order), which sets the label to 1. Documents are rows as the tokenizer wrote them: a leading
/// [CLS] and trailing [SEP] are removed first; documents with fewer than 2 other tokens are left out.
/// </summary>
public sealed class SentencePairs
{
    private readonly IReadOnlyList<int[]> _documents;
    private readonly int _cls, _sep, _room;

    /// <exception cref="ArgumentException">No document has 2 tokens to split, or <paramref name="maxLength"/> leaves no room for them.</exception>
    public SentencePairs(IEnumerable<int[]> documents, SentencePairObjective objective, int clsId, int sepId, int maxLength)
    {
        if (objective == SentencePairObjective.None) throw new ArgumentException("Choose NextSentence or SentenceOrder.", nameof(objective));
        (Objective, _cls, _sep, _room) = (objective, clsId, sepId, maxLength - 3);
        if (_room < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "A sentence pair needs at least 5 positions.");
        _documents = documents.Select(Strip).Where(d => d.Length >= 2).ToList();
        if (_documents.Count == 0) throw new ArgumentException("No document has 2 tokens to split into a sentence pair.", nameof(documents));
    }

    /// <summary>The objective.</summary>
    public SentencePairObjective Objective { get; }

    /// <summary>The documents pairs are made from (specials removed, too-short ones left out).</summary>
    public IReadOnlyList<int[]> Documents => _documents;

    /// <summary>One example from document <paramref name="index"/>: ids, segment ids and the label (1 = not next / swapped).</summary>
    public (int[] Ids, int[] Segments, int Label) Make(int index, Random random)
    {
        var document = Window(_documents[index], _room, random);
        var split = random.Next(1, document.Length);
        int[] first = document[..split], second = document[split..];
        var label = random.Next(2);
        if (label == 1)
        {
            if (Objective == SentencePairObjective.SentenceOrder) (first, second) = (second, first);
            else second = Window(Other(index, random), Math.Max(1, second.Length), random);
        }
        var ids = new int[first.Length + second.Length + 3];
        var segments = new int[ids.Length];
        ids[0] = _cls;
        first.CopyTo(ids, 1);
        ids[first.Length + 1] = _sep;
        second.CopyTo(ids, first.Length + 2);
        ids[^1] = _sep;
        for (var t = first.Length + 2; t < ids.Length; t++) segments[t] = 1;
        return (ids, segments, label);
    }

    // Another document than index (the same one when there is only one: the label is then noisy, as it is in BERT's data too).
    private int[] Other(int index, Random random)
    {
        if (_documents.Count == 1) return _documents[0];
        var other = random.Next(_documents.Count - 1);
        return _documents[other >= index ? other + 1 : other];
    }

    private static int[] Window(int[] document, int length, Random random)
    {
        if (document.Length <= length) return document;
        var start = random.Next(document.Length - length + 1);
        return document[start..(start + length)];
    }

    private int[] Strip(int[] row)
    {
        var (start, end) = (0, row.Length);
        if (end > 0 && row[0] == _cls) start++;
        if (end > start && row[end - 1] == _sep) end--;
        return row[start..end];
    }
}

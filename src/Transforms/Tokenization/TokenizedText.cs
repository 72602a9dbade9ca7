namespace Pipelines;

/// <summary>How a text pair longer than the maximum length is cut.</summary>
public enum TruncationStrategy
{
    /// <summary>Drop tokens from the end: the second text of a pair loses tokens before the first does.</summary>
    End = 0,
    /// <summary>Drop one token at a time from the longer text of a pair (the second on a tie), as BERT does.</summary>
    LongestFirst = 1,
}

/// <summary>
/// One encoded text (or text pair), all arrays of the same length: token ids, the attention mask
/// (1 for tokens, 0 for padding), word ids and segment ids.
/// </summary>
public sealed class TokenizedText
{
    internal TokenizedText(int[] ids, int[] attentionMask, int[] wordIds, int[] segmentIds, bool truncated, int unknownCount)
    {
        (Ids, AttentionMask, WordIds, SegmentIds, IsTruncated, UnknownCount) = (ids, attentionMask, wordIds, segmentIds, truncated, unknownCount);
    }

    /// <summary>Token ids, special tokens and padding included.</summary>
    public int[] Ids { get; }

    /// <summary>1 for a real token (special tokens included), 0 for padding.</summary>
    public int[] AttentionMask { get; }

    /// <summary>
    /// For each token, the index of the whitespace-separated word of its text it came from, counted
    /// from 0 in each text of a pair; -1 for special tokens, padding and tokens made only of whitespace.
    /// Align word-level labels (NER) with it: label the first token of each word.
    /// </summary>
    public int[] WordIds { get; }

    /// <summary>0 for [CLS], the first text and its [SEP]; 1 for the second text of a pair and its [SEP]; 0 for padding.</summary>
    public int[] SegmentIds { get; }

    /// <summary>Whether tokens were dropped to fit the maximum length.</summary>
    public bool IsTruncated { get; }

    /// <summary>How many of the kept tokens are the unknown token.</summary>
    public int UnknownCount { get; }

    /// <summary>Number of tokens before padding.</summary>
    public int Length => Array.IndexOf(AttentionMask, 0) is var i && i >= 0 ? i : AttentionMask.Length;
}

namespace Pipelines;

/// <summary>How a tagger turns its per-word tag scores into tags.</summary>
public enum TagDecoding
{
    /// <summary>
    /// The most probable sequence among those that are valid IOB2 (an I- tag only after B- or I- of its
    /// type), by Viterbi over the words' tag log-probabilities: every entity then opens where the model
    /// says one is most likely to, instead of being repaired afterwards.
    /// </summary>
    Constrained,
    /// <summary>Each word's most probable tag on its own (Hugging Face's token-classification pipeline); stray I- tags are read as opening an entity.</summary>
    Independent,
}

/// <summary>Constrained decoding of IOB2 tag sequences (Viterbi with the scheme's allowed transitions).</summary>
public static class TagDecoder
{
    /// <summary>
    /// The tag indices, one per word, that maximise the sum of <paramref name="logProbabilities"/>
    /// (words x tags) over valid IOB2 sequences of <paramref name="tags"/>.
    /// </summary>
    public static int[] Viterbi(IReadOnlyList<float[]> logProbabilities, IReadOnlyList<string> tags)
    {
        var (n, k) = (logProbabilities.Count, tags.Count);
        if (n == 0) return [];
        var parsed = tags.Select(EntityTags.Parse).ToArray();
        bool Allowed(int previous, int current) =>
            parsed[current].Prefix != 'I' || previous >= 0 && parsed[previous].Prefix is 'B' or 'I' && parsed[previous].Type == parsed[current].Type;
        var score = new double[k];
        var back = new int[n, k];
        for (var j = 0; j < k; j++) score[j] = Allowed(-1, j) ? logProbabilities[0][j] : double.NegativeInfinity;
        for (var t = 1; t < n; t++)
        {
            var next = new double[k];
            for (var j = 0; j < k; j++)
            {
                var (best, from) = (double.NegativeInfinity, 0);
                for (var i = 0; i < k; i++)
                    if (Allowed(i, j) && score[i] > best) (best, from) = (score[i], i);
                (next[j], back[t, j]) = (best + logProbabilities[t][j], from);
            }
            score = next;
        }
        var path = new int[n];
        path[n - 1] = Array.IndexOf(score, score.Max());
        for (var t = n - 1; t > 0; t--) path[t - 1] = back[t, path[t]];
        return path;
    }
}

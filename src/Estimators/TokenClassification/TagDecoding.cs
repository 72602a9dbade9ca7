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
        var (allowed, allowedFirst) = Transitions(tags);
        return Models.Training.Viterbi.Decode(logProbabilities, (i, j) => allowed[i, j] ? 0 : double.NegativeInfinity,
            j => allowedFirst[j] ? 0 : double.NegativeInfinity, _ => 0);
    }

    /// <summary>
    /// Which IOB2 transitions are valid between <paramref name="tags"/> (from, to), and which tags may
    /// open a sentence: an I- tag only after B- or I- of its own type.
    /// </summary>
    public static (bool[,] Allowed, bool[] AllowedFirst) Transitions(IReadOnlyList<string> tags)
    {
        var parsed = tags.Select(EntityTags.Parse).ToArray();
        var allowed = new bool[tags.Count, tags.Count];
        for (var i = 0; i < tags.Count; i++)
            for (var j = 0; j < tags.Count; j++)
                allowed[i, j] = parsed[j].Prefix != 'I' || parsed[i].Prefix is 'B' or 'I' && parsed[i].Type == parsed[j].Type;
        return (allowed, parsed.Select(p => p.Prefix != 'I').ToArray());
    }
}

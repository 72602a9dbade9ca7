namespace Pipelines;

/// <summary>
/// The verbalizer of a cloze classifier: for each class, the vocabulary ids of its words. A word
/// must be one piece of the vocabulary, because the model fills one mask with one token: a word the
/// tokenizer splits ("advertisement" into "advert", "##ise", "##ment") is left out with a warning
/// that names its pieces, and a class left with no word is refused.
/// </summary>
internal static class Verbalizer
{
    /// <summary>
    /// The token ids of each class in <paramref name="classNames"/> order, looked up in
    /// <paramref name="words"/> by name (case-insensitively); <paramref name="warn"/> hears of every
    /// word left out.
    /// </summary>
    /// <exception cref="ArgumentException">A class has no entry, or none of its words is one piece; or a word serves two classes.</exception>
    public static int[][] Resolve(IReadOnlyDictionary<string, string[]> words, IReadOnlyList<string> classNames, TextTokenizer tokenizer, Action<string> warn)
    {
        var byName = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, list) in words) byName[name] = list ?? [];
        var unknown = byName.Keys.Where(k => !classNames.Contains(k, StringComparer.OrdinalIgnoreCase)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"The verbalizer names classes the label does not have: {string.Join(", ", unknown)} (classes: {string.Join(", ", classNames)}).");
        var result = new int[classNames.Count][];
        var owner = new Dictionary<int, string>();
        for (var c = 0; c < classNames.Count; c++)
        {
            if (!byName.TryGetValue(classNames[c], out var list))
                throw new ArgumentException($"The verbalizer has no words for class '{classNames[c]}' (classes: {string.Join(", ", classNames)}).");
            var ids = new List<int>();
            foreach (var word in list.Where(w => !string.IsNullOrWhiteSpace(w)))
            {
                // With a leading space, as the word follows the template's words: byte-level BPE's form of a word inside a sentence.
                var pieces = tokenizer.Encode(" " + word.Trim(), addSpecialTokens: false).Ids;
                if (pieces.Length != 1 || pieces[0] == tokenizer.UnknownId)
                {
                    warn($"Verbalizer word '{word}' of class '{classNames[c]}' is left out: the vocabulary reads it as " +
                         $"{(pieces.Length == 1 ? "the unknown token" : $"{pieces.Length} pieces ({string.Join(" ", pieces.Select(p => tokenizer.Decode([p])))})")}, " +
                         "and one mask is filled with one token.");
                    continue;
                }
                if (owner.TryGetValue(pieces[0], out var other) && other != classNames[c])
                    throw new ArgumentException($"Verbalizer word '{word}' serves both '{other}' and '{classNames[c]}': a word must point to one class.");
                owner[pieces[0]] = classNames[c];
                if (!ids.Contains(pieces[0])) ids.Add(pieces[0]);
            }
            if (ids.Count == 0)
                throw new ArgumentException($"No verbalizer word of class '{classNames[c]}' is a single token of the vocabulary ([{string.Join(", ", list)}]): " +
                                            "choose words the tokenizer keeps whole (common words usually are).");
            result[c] = ids.ToArray();
        }
        return result;
    }
}

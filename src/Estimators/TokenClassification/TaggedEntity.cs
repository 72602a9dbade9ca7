namespace Pipelines;

/// <summary>A sentence's predicted tags, one per word, with the probability of each word's tag.</summary>
public sealed record TaggedWords(string[] Tags, float[] Scores);

/// <summary>
/// One predicted entity, as Hugging Face's aggregated NER pipeline reports it: its type, its words
/// (joined by single spaces), the words it spans [Start, End), and its score, the mean probability of
/// its words' tags.
/// </summary>
public sealed record TaggedEntity(string Type, string Text, int Start, int End, float Score)
{
    /// <summary>
    /// The entity columns a tagger writes after its entities column's name (vectors of these types, in
    /// getter order): the words, then .Type, .Score, .Start and .End.
    /// </summary>
    internal static readonly (string Suffix, Microsoft.ML.Data.PrimitiveDataViewType Type)[] Columns =
    [
        ("", Microsoft.ML.Data.TextDataViewType.Instance), (".Type", Microsoft.ML.Data.TextDataViewType.Instance),
        (".Score", Microsoft.ML.Data.NumberDataViewType.Single), (".Start", Microsoft.ML.Data.NumberDataViewType.Int32),
        (".End", Microsoft.ML.Data.NumberDataViewType.Int32),
    ];

    /// <summary>The entities of <paramref name="words"/>, whose tags label the whitespace-separated words of <paramref name="sentence"/>.</summary>
    public static IReadOnlyList<TaggedEntity> Of(TaggedWords words, string sentence)
    {
        var tokens = sentence.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return EntityTags.Extract(words.Tags).Select(e => new TaggedEntity(e.Type,
            string.Join(' ', tokens.Skip(e.Start).Take(e.End - e.Start)), e.Start, e.End,
            words.Scores[e.Start..e.End].Average())).ToList();
    }
}

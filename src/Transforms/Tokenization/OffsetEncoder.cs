using Microsoft.ML.Tokenizers;

namespace Pipelines;

/// <summary>
/// Vocabularies whose tokens may carry the whitespace before a word (" world" in GPT-2 and tiktoken):
/// the whole text is encoded in one call and word ids come from the tokens' character offsets, so
/// the ids are exactly Microsoft.ML.Tokenizers' ids for the text. Needs a tokenizer without a
/// normalizer (offsets then refer to the original text).
/// </summary>
internal abstract class OffsetEncoder(Tokenizer tokenizer) : SubwordEncoder
{
    // Texts longer than this many characters per allowed token are first cut to the prefix that
    // holds maxTokens + 1 tokens, so a 1 MB text costs what its first tokens cost.
    private const int CharactersPerTokenBeforeCutting = 32;

    /// <summary>The Microsoft.ML.Tokenizers tokenizer this encoder calls.</summary>
    public Tokenizer Inner { get; } = tokenizer;

    public override bool Encode(ReadOnlySpan<char> text, List<int> ids, List<int> wordIds, int maxTokens)
    {
        var cut = Cut(text, maxTokens);
        var tokens = Inner.EncodeToTokens(text[..cut], out _);
        var words = new OffsetWordMapper(text);
        var count = Math.Min(tokens.Count, maxTokens);
        for (var i = 0; i < count; i++)
        {
            ids.Add(tokens[i].Id);
            wordIds.Add(words.WordOf(tokens[i].Offset));
        }
        return tokens.Count > maxTokens || cut < text.Length;
    }

    // Without word ids the offsets are not needed: the library's cheaper ids-only call gives the same ids.
    public override bool EncodeWithoutWordIds(ReadOnlySpan<char> text, List<int> ids, List<int> wordIds, int maxTokens)
    {
        var cut = Cut(text, maxTokens);
        var encoded = Inner.EncodeToIds(text[..cut]);
        var count = Math.Min(encoded.Count, maxTokens);
        for (var i = 0; i < count; i++)
        {
            ids.Add(encoded[i]);
            wordIds.Add(-1);
        }
        return encoded.Count > maxTokens || cut < text.Length;
    }

    private int Cut(ReadOnlySpan<char> text, int maxTokens) =>
        text.Length > CharactersPerTokenBeforeCutting * ((long)maxTokens + 1) ? Inner.GetIndexByTokenCount(text, maxTokens + 1, out _, out _) : text.Length;

    public override string Decode(IReadOnlyList<int> ids) => Inner.Decode(ids) ?? "";
}

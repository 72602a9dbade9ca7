namespace Pipelines;

/// <summary>
/// One id per character through <see cref="CharacterVocabulary"/> (written here, as no library has a
/// character vocabulary): a surrogate pair is one character, a lone surrogate or a character the
/// vocabulary lacks is its unknown id. Whitespace characters are tokens of no word (-1).
/// </summary>
internal sealed class CharacterEncoder(CharacterVocabulary vocabulary) : SubwordEncoder
{
    public CharacterVocabulary Vocabulary { get; } = vocabulary;

    public override TokenizerKind Kind => TokenizerKind.Characters;

    public override int Count => Vocabulary.Count;

    public override int? IdOf(string token)
    {
        var ids = Vocabulary.Encode(token);
        return ids.Length == 1 && ids[0] != Vocabulary.UnknownId ? ids[0] : null;
    }

    public override bool Encode(ReadOnlySpan<char> text, List<int> ids, List<int> wordIds, int maxTokens)
    {
        // maxTokens + 1 characters are at most 2 (maxTokens + 1) UTF-16 units: the rest cannot matter.
        if (text.Length > 2L * maxTokens + 2) text = text[..(2 * maxTokens + 2)];
        var codes = Vocabulary.Encode(text.ToString());
        var start = ids.Count;
        var word = -1;
        var previousWasSpace = true;
        var position = 0;
        foreach (var code in codes)
        {
            if (ids.Count - start >= maxTokens) return true;
            var width = position + 1 < text.Length && char.IsSurrogatePair(text[position], text[position + 1]) ? 2 : 1;
            var space = char.IsWhiteSpace(text[position]);
            if (!space && previousWasSpace) word++;
            ids.Add(code);
            wordIds.Add(space ? -1 : word);
            previousWasSpace = space;
            position += width;
        }
        return false;
    }

    public override string Decode(IReadOnlyList<int> ids) => Vocabulary.Decode(ids);

    public override void Write(BinaryWriter writer)
    {
        var symbols = Vocabulary.Symbols;
        writer.Write(symbols.Count);
        foreach (var symbol in symbols) writer.Write(symbol);
    }

    public static CharacterEncoder Read(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        if (count < 0 || count > 0x110000) throw new InvalidDataException($"A saved character vocabulary claims {count} symbols.");
        var symbols = new string[count];
        for (var i = 0; i < count; i++) symbols[i] = reader.ReadString();
        return new CharacterEncoder(CharacterVocabulary.FromSymbols(symbols));
    }
}

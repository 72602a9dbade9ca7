namespace Pipelines;

/// <summary>
/// A cloze template such as "{text} It was [MASK].": the row's text where <see cref="TextSlot"/>
/// stands and the tokenizer's mask token where <see cref="MaskSlot"/> stands, with fixed words
/// around them. It works on token rows as TokenizeSubwords writes them ([CLS] text [SEP]): the
/// template's words are tokenized once, and a row's text is cut, when needed, so that the template
/// and the mask always fit in the maximum length.
/// </summary>
internal sealed class PromptTemplate
{
    /// <summary>Where the row's text goes.</summary>
    public const string TextSlot = "{text}";
    /// <summary>Where the mask token goes.</summary>
    public const string MaskSlot = "[MASK]";

    private readonly int[] _beforeFirst, _between, _afterSecond;
    private readonly bool _textFirst;
    private readonly int _maskId, _clsId, _sepId;

    /// <summary>Parses <paramref name="template"/> and tokenizes its words with <paramref name="tokenizer"/>.</summary>
    /// <exception cref="ArgumentException">The template lacks either slot or has one twice, or the tokenizer has no mask token.</exception>
    public PromptTemplate(string template, TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(template);
        foreach (var slot in (string[])[TextSlot, MaskSlot])
        {
            var count = (template.Length - template.Replace(slot, "").Length) / slot.Length;
            if (count != 1)
                throw new ArgumentException($"The template must hold {slot} exactly once, found {count} in \"{template}\" (e.g. \"{TextSlot} It was {MaskSlot}.\").", nameof(template));
        }
        _maskId = tokenizer.MaskId ?? throw new ArgumentException("The tokenizer has no mask token, which a cloze template needs.", nameof(tokenizer));
        (_clsId, _sepId) = (tokenizer.ClsId, tokenizer.SepId);
        var (text, mask) = (template.IndexOf(TextSlot, StringComparison.Ordinal), template.IndexOf(MaskSlot, StringComparison.Ordinal));
        _textFirst = text < mask;
        var (first, firstLength, second, secondLength) = _textFirst ? (text, TextSlot.Length, mask, MaskSlot.Length) : (mask, MaskSlot.Length, text, TextSlot.Length);
        _beforeFirst = Encode(tokenizer, template[..first]);
        _between = Encode(tokenizer, template[(first + firstLength)..second]);
        _afterSecond = Encode(tokenizer, template[(second + secondLength)..]);
        Template = template;
        UnknownWords = _beforeFirst.Concat(_between).Concat(_afterSecond).Count(id => id == tokenizer.UnknownId);
    }

    /// <summary>How many of the template's tokens the vocabulary does not know (each reads as the unknown token).</summary>
    public int UnknownWords { get; }

    /// <summary>The template as written.</summary>
    public string Template { get; }

    /// <summary>Tokens the template adds around the text: its words, the mask, [CLS] and [SEP].</summary>
    public int Overhead => _beforeFirst.Length + _between.Length + _afterSecond.Length + 3;

    /// <summary>
    /// The row's text tokens (<paramref name="row"/> without its [CLS] and [SEP]) set into the template,
    /// cut so that the whole is at most <paramref name="maxLength"/> tokens, between [CLS] and [SEP].
    /// </summary>
    public int[] Apply(int[] row, int maxLength)
    {
        var start = row.Length > 0 && row[0] == _clsId ? 1 : 0;
        var end = row.Length > start && row[^1] == _sepId ? row.Length - 1 : row.Length;
        var text = row.AsSpan(start, Math.Max(0, Math.Min(end - start, maxLength - Overhead)));
        var result = new List<int>(Overhead + text.Length) { _clsId };
        result.AddRange(_beforeFirst);
        if (_textFirst) result.AddRange(text);
        else result.Add(_maskId);
        result.AddRange(_between);
        if (_textFirst) result.Add(_maskId);
        else result.AddRange(text);
        result.AddRange(_afterSecond);
        result.Add(_sepId);
        return result.ToArray();
    }

    // Words are tokenized without their trailing space: byte-level BPE would make it a token of its own,
    // and the space before the mask belongs to the word the mask stands for (" great" is one BPE piece).
    // A leading space stays: it is what makes " It" a word of its own after the text.
    private static int[] Encode(TextTokenizer tokenizer, string words) =>
        string.IsNullOrWhiteSpace(words) ? [] : tokenizer.Encode(words.TrimEnd(), addSpecialTokens: false).Ids;
}

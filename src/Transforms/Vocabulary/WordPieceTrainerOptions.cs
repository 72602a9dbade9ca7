namespace Pipelines;

/// <summary>Options of <see cref="WordPieceTrainer"/>. Defaults suit a small model on a corpus of a few MB.</summary>
public sealed class WordPieceTrainerOptions
{
    /// <summary>Target number of vocabulary entries, special tokens and the alphabet included (default 8000; BERT-base has 30522). Training stops earlier when no pair is frequent enough.</summary>
    public int VocabularySize { get; set; } = 8000;

    /// <summary>A pair of pieces is merged only if it occurs at least this often (default 2).</summary>
    public int MinFrequency { get; set; } = 2;

    /// <summary>Lower-case the text first (default true: an "uncased" vocabulary).</summary>
    public bool LowerCase { get; set; } = true;

    /// <summary>Remove accents (non-spacing marks) first; null (the default) follows <see cref="LowerCase"/>, as BERT does.</summary>
    public bool? StripAccents { get; set; }

    /// <summary>At most this many distinct characters (the most frequent) enter the vocabulary, each as a word start and as a "##" continuation; rarer ones become [UNK] (default 1000).</summary>
    public int AlphabetLimit { get; set; } = 1000;

    /// <summary>Special tokens, first in the vocabulary (default [PAD], [UNK], [CLS], [SEP], [MASK]; the first four are required).</summary>
    public IReadOnlyList<string> SpecialTokens { get; set; } = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MinFrequency, 1, nameof(MinFrequency));
        ArgumentOutOfRangeException.ThrowIfLessThan(AlphabetLimit, 1, nameof(AlphabetLimit));
        ArgumentNullException.ThrowIfNull(SpecialTokens, nameof(SpecialTokens));
        foreach (var required in new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]" })
        {
            if (!SpecialTokens.Contains(required))
                throw new ArgumentException($"{nameof(SpecialTokens)} must contain {required}.", nameof(SpecialTokens));
        }
        if (SpecialTokens.Distinct().Count() != SpecialTokens.Count)
            throw new ArgumentException($"{nameof(SpecialTokens)} repeats a token.", nameof(SpecialTokens));
        if (VocabularySize <= SpecialTokens.Count)
            throw new ArgumentOutOfRangeException(nameof(VocabularySize), $"{nameof(VocabularySize)} {VocabularySize} leaves no room after {SpecialTokens.Count} special tokens.");
    }
}

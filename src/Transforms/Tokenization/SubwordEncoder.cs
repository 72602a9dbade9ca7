namespace Pipelines;

/// <summary>The vocabulary families a <see cref="TextTokenizer"/> can wrap.</summary>
public enum TokenizerKind
{
    /// <summary>BERT's WordPiece (a vocab.txt), with BERT's normalization and pre-tokenization.</summary>
    WordPiece = 1,
    /// <summary>Byte-pair encoding from a vocab.json and a merges.txt (GPT-2 and RoBERTa style).</summary>
    Bpe = 2,
    /// <summary>OpenAI's tiktoken encodings (cl100k_base, o200k_base).</summary>
    Tiktoken = 3,
    /// <summary>A SentencePiece model (BPE or unigram).</summary>
    SentencePiece = 4,
    /// <summary>One id per character (<see cref="CharacterVocabulary"/>).</summary>
    Characters = 5,
    /// <summary>Another vocabulary restricted to its most frequent ids (see <see cref="TextTokenizer.Compact"/>).</summary>
    Compact = 6,
}

/// <summary>
/// One vocabulary family behind <see cref="TextTokenizer"/>: turns text into ids with the word each
/// id came from, turns ids back into text, and writes itself for <see cref="TextTokenizer.Save"/>.
/// Special tokens ([CLS], [SEP], padding) are not its business; <see cref="TextTokenizer"/> adds them.
/// Implementations are immutable and thread-safe.
/// </summary>
internal abstract class SubwordEncoder
{
    public abstract TokenizerKind Kind { get; }

    /// <summary>Ids this encoder produces and decodes are 0 .. Count - 1.</summary>
    public abstract int Count { get; }

    /// <summary>The id of a vocabulary entry, or null when the vocabulary lacks it.</summary>
    public abstract int? IdOf(string token);

    /// <summary>
    /// Appends the ids of <paramref name="text"/> and, for each, the index of the whitespace-separated
    /// word it came from (-1 for a token made only of whitespace). Stops after <paramref name="maxTokens"/>
    /// ids and returns true when the text had more.
    /// </summary>
    public abstract bool Encode(ReadOnlySpan<char> text, List<int> ids, List<int> wordIds, int maxTokens);

    /// <summary>
    /// As <see cref="Encode"/> when nobody reads the word ids: the same ids; word ids that cost extra
    /// work (character offsets) are left as -1, the others come for free and are kept.
    /// </summary>
    public virtual bool EncodeWithoutWordIds(ReadOnlySpan<char> text, List<int> ids, List<int> wordIds, int maxTokens) =>
        Encode(text, ids, wordIds, maxTokens);

    /// <summary>The text of ids that are all in 0 .. Count - 1.</summary>
    public abstract string Decode(IReadOnlyList<int> ids);

    /// <summary>Writes what <see cref="TokenizerFormat"/> needs to rebuild this encoder.</summary>
    public abstract void Write(BinaryWriter writer);

    /// <summary>Adds <paramref name="pieces"/>, all from word <paramref name="word"/>, up to the budget; true when some did not fit.</summary>
    protected static bool AddPieces(IReadOnlyList<int> pieces, int word, List<int> ids, List<int> wordIds, int start, int maxTokens)
    {
        foreach (var piece in pieces)
        {
            if (ids.Count - start >= maxTokens) return true;
            ids.Add(piece);
            wordIds.Add(word);
        }
        return false;
    }

    /// <summary>
    /// Encodes <paramref name="text"/> one whitespace-separated word at a time, so that word ids are
    /// exact whatever the normalization does inside a word. Right for vocabularies whose own
    /// pre-tokenization splits at whitespace first (WordPiece, SentencePiece). It also keeps words
    /// apart that Microsoft.ML.Tokenizers' BERT normalizer would glue together: it deletes control
    /// characters, and line feeds, carriage returns and tabs are control characters, so a line break
    /// between two words would join them into one.
    /// </summary>
    protected bool EncodeByWords(ReadOnlySpan<char> text, List<int> ids, List<int> wordIds, int maxTokens)
    {
        var start = ids.Count;
        var word = 0;
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            if (i == text.Length) break;
            var begin = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i])) i++;
            var pieces = UnicodeScrub.NormalizationRejects(text[begin..i]) ? [UnknownWordId] : EncodeWord(text[begin..i]);
            // A word the normalizer erased entirely (control characters, U+FFFD) still gets one token,
            // the unknown one, so that every word has a token to carry its label.
            if (pieces.Count == 0) pieces = [UnknownWordId];
            if (AddPieces(pieces, word, ids, wordIds, start, maxTokens)) return true;
            word++;
        }
        return false;
    }

    /// <summary>
    /// The id of a word <see cref="EncodeByWords"/> cannot hand to the library (one that .NET's
    /// Unicode normalization rejects) or that encodes to nothing: the whole word becomes unknown, as
    /// WordPiece does with words it cannot spell.
    /// </summary>
    protected virtual int UnknownWordId => throw new NotSupportedException($"{Kind} encodes whole texts.");

    /// <summary>The ids of one word (no whitespace inside), for <see cref="EncodeByWords"/>.</summary>
    protected virtual IReadOnlyList<int> EncodeWord(ReadOnlySpan<char> word) =>
        throw new NotSupportedException($"{Kind} encodes whole texts.");
}

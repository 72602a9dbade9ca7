using System.Text;

namespace Pipelines;

public sealed partial class TextTokenizer
{
    /// <summary>
    /// A BERT WordPiece tokenizer from a vocab.txt (one token per line, id = line number) that holds
    /// [PAD], [UNK], [CLS], [SEP] and, for masked-LM, [MASK].
    /// </summary>
    /// <param name="vocabTxt">The vocab.txt file.</param>
    /// <param name="lowerCase">Lower-case text before encoding (BERT "uncased" vocabularies).</param>
    /// <param name="stripAccents">Remove accents (non-spacing marks); defaults to <paramref name="lowerCase"/>, as in BERT.</param>
    /// <exception cref="InvalidDataException">The file is not a usable vocab.txt (the message says why).</exception>
    public static TextTokenizer FromWordPieceVocab(Stream vocabTxt, bool lowerCase = true, bool? stripAccents = null) =>
        new(new WordPieceEncoder(ReadAll(vocabTxt), lowerCase, stripAccents ?? lowerCase));

    /// <inheritdoc cref="FromWordPieceVocab(Stream, bool, bool?)"/>
    public static TextTokenizer FromWordPieceVocab(string vocabTxt, bool lowerCase = true, bool? stripAccents = null)
    {
        using var stream = File.OpenRead(vocabTxt);
        return FromWordPieceVocab(stream, lowerCase, stripAccents);
    }

    /// <summary>A WordPiece tokenizer from vocabulary lines (as <see cref="WordPieceTrainer.Train"/> returns them).</summary>
    /// <inheritdoc cref="FromWordPieceVocab(Stream, bool, bool?)"/>
    public static TextTokenizer FromWordPieceVocab(IEnumerable<string> vocabLines, bool lowerCase = true, bool? stripAccents = null) =>
        new(new WordPieceEncoder(Encoding.UTF8.GetBytes(string.Join('\n', vocabLines) + "\n"), lowerCase, stripAccents ?? lowerCase));

    /// <summary>
    /// A BPE tokenizer from a vocab.json (token to id) and a merges.txt, as GPT-2 and RoBERTa ship them.
    /// </summary>
    /// <param name="vocabJson">The vocab.json file.</param>
    /// <param name="merges">The merges.txt file.</param>
    /// <param name="byteLevel">Byte-level BPE with GPT-2's pre-tokenizer (GPT-2, RoBERTa); false for character-level BPE.</param>
    /// <param name="unknownToken">The unknown token of a character-level vocabulary (required when <paramref name="byteLevel"/> is false).</param>
    /// <exception cref="InvalidDataException">A file is malformed (the message says which and why).</exception>
    public static TextTokenizer FromBpe(Stream vocabJson, Stream merges, bool byteLevel = true, string? unknownToken = null) =>
        new(BpeEncoder.Create(ReadAll(vocabJson), ReadAll(merges), byteLevel, unknownToken));

    /// <inheritdoc cref="FromBpe(Stream, Stream, bool, string?)"/>
    public static TextTokenizer FromBpe(string vocabJson, string merges, bool byteLevel = true, string? unknownToken = null)
    {
        using var vocab = File.OpenRead(vocabJson);
        using var mergeFile = File.OpenRead(merges);
        return FromBpe(vocab, mergeFile, byteLevel, unknownToken);
    }

    /// <summary>
    /// An OpenAI tiktoken encoding, "cl100k_base" or "o200k_base", its data taken from the
    /// Microsoft.ML.Tokenizers.Data.* packages. &lt;|endoftext|&gt; is [CLS] and [SEP]; pad, unknown
    /// and mask ids are appended. Use <see cref="Compact"/> to keep only the ids a corpus uses.
    /// </summary>
    public static TextTokenizer FromTiktoken(string encoding) => new(TiktokenEncoder.Create(encoding));

    /// <summary>A SentencePiece model (BPE or unigram .model file).</summary>
    /// <exception cref="InvalidDataException">The bytes are not a SentencePiece model.</exception>
    public static TextTokenizer FromSentencePiece(Stream model) => new(SentencePieceEncoder.Create(ReadAll(model)));

    /// <summary>A character-level tokenizer; &lt;pad&gt;, &lt;bos&gt;, &lt;eos&gt; and &lt;mask&gt; are appended after the vocabulary's ids.</summary>
    public static TextTokenizer FromCharacters(CharacterVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        return new(new CharacterEncoder(vocabulary));
    }

    /// <summary>
    /// This vocabulary cut down to the <paramref name="keep"/> ids that occur most often in
    /// <paramref name="corpus"/> (ties: lower id first): they become ids 0 .. keep-1, most frequent
    /// first, every other token the unknown id (keep), and special tokens are appended after it
    /// unless kept. Fewer ids are kept when the corpus uses fewer. For big vocabularies (tiktoken's
    /// 100k or 200k) and small models.
    /// </summary>
    public TextTokenizer Compact(IEnumerable<string?> corpus, int keep)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        if (_encoder is CompactEncoder) throw new InvalidOperationException("This tokenizer is already compact.");
        var counts = new long[_encoder.Count];
        var ids = new List<int>();
        var words = new List<int>();
        foreach (var text in corpus)
        {
            ids.Clear();
            _encoder.Encode(text.AsSpan(), ids, words, int.MaxValue - 1);
            foreach (var id in ids) counts[id]++;
            words.Clear();
        }
        var kept = Enumerable.Range(0, counts.Length).Where(id => counts[id] > 0)
            .OrderByDescending(id => counts[id]).ThenBy(id => id).Take(keep).ToArray();
        if (kept.Length == 0) throw new ArgumentException("The corpus has no tokens to keep.", nameof(corpus));
        return new(new CompactEncoder(_encoder, kept));
    }

    /// <summary>For a compact tokenizer, the original id of each kept id (index = compact id); otherwise null.</summary>
    public IReadOnlyList<int>? CompactBaseIds => (_encoder as CompactEncoder)?.KeptBaseIds;

    private static byte[] ReadAll(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

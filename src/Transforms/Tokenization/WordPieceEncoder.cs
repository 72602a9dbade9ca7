using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Pipelines;

/// <summary>
/// BERT's WordPiece through Microsoft.ML.Tokenizers' BertTokenizer: BERT's normalizer (optional lower-casing and
/// accent stripping, CJK characters split apart, control characters dropped), punctuation and symbols split,
/// greedy longest-match pieces with the "##" continuation prefix, [UNK] for a word that cannot be
/// spelled with the vocabulary or is longer than 100 characters. Special-token text in the input
/// ("[MASK]" typed by a user) is ordinary text, never a special token.
/// </summary>
internal sealed partial class WordPieceEncoder : SubwordEncoder
{
    // BERT's basic split: each punctuation or symbol character alone, runs of anything else between
    // whitespace. (Microsoft.ML.Tokenizers' default BERT pre-tokenizer drops symbols such as '>',
    // '=', '+' and '$' without a trace, which loses the quoting of e-mail replies, code and prices.)
    [GeneratedRegex(@"[\p{P}\p{S}]|[^\s\p{P}\p{S}]+")]
    private static partial Regex BertSplit();

    private readonly BertTokenizer _tokenizer;
    private readonly Dictionary<string, int> _vocabulary;
    private readonly byte[] _vocabFile;

    public WordPieceEncoder(byte[] vocabFile, bool lowerCase, bool stripAccents)
    {
        (_vocabFile, LowerCase, StripAccents) = (vocabFile, lowerCase, stripAccents);
        var lines = ReadLines(vocabFile);
        _vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].Length == 0) throw new InvalidDataException($"WordPiece vocabulary line {i + 1} is empty.");
            if (!_vocabulary.TryAdd(lines[i], i)) throw new InvalidDataException($"WordPiece vocabulary line {i + 1} repeats the token '{lines[i]}' of line {_vocabulary[lines[i]] + 1}.");
        }
        foreach (var required in new[] { Unknown, Classification, Separator, Padding })
        {
            if (!_vocabulary.ContainsKey(required))
                throw new InvalidDataException($"WordPiece vocabulary lacks the special token '{required}' (it needs {Unknown}, {Classification}, {Separator} and {Padding}; {Mask} is optional).");
        }
        _tokenizer = BertTokenizer.Create(new MemoryStream(vocabFile, writable: false), new BertOptions
        {
            LowerCaseBeforeTokenization = lowerCase,
            RemoveNonSpacingMarks = stripAccents,
            IndividuallyTokenizeCjk = true,
            PreTokenizer = new RegexPreTokenizer(BertSplit(), null),
            // "[CLS]" in user text stays text, never a special token.
            SplitOnSpecialTokens = false,
            // BertTokenizer insists on a masking token; a vocabulary without [MASK] lends it [UNK] (unused here).
            MaskingToken = _vocabulary.ContainsKey(Mask) ? Mask : Unknown,
        });
    }

    /// <summary>Names of BERT's special tokens, as in its vocab.txt.</summary>
    public const string Unknown = "[UNK]", Classification = "[CLS]", Separator = "[SEP]", Padding = "[PAD]", Mask = "[MASK]";

    public bool LowerCase { get; }

    public bool StripAccents { get; }

    /// <summary>The vocab.txt this encoder was built from, as it was read.</summary>
    public ReadOnlyMemory<byte> VocabFile => _vocabFile;

    /// <summary>The Microsoft.ML.Tokenizers tokenizer this encoder calls (for comparisons in benchmarks).</summary>
    public Tokenizer Inner => _tokenizer;

    public override TokenizerKind Kind => TokenizerKind.WordPiece;

    public override int Count => _vocabulary.Count;

    public override int? IdOf(string token) => _vocabulary.TryGetValue(token, out var id) ? id : null;

    public override bool Encode(ReadOnlySpan<char> text, List<int> ids, List<int> wordIds, int maxTokens) =>
        EncodeByWords(text, ids, wordIds, maxTokens);

    protected override int UnknownWordId => _tokenizer.UnknownTokenId;

    protected override IReadOnlyList<int> EncodeWord(ReadOnlySpan<char> word) => _tokenizer.EncodeToIds(word, addSpecialTokens: false);

    public override string Decode(IReadOnlyList<int> ids) => _tokenizer.Decode(ids, skipSpecialTokens: false);

    public override void Write(BinaryWriter writer)
    {
        writer.Write(LowerCase);
        writer.Write(StripAccents);
        TokenizerFormat.WriteBytes(writer, _vocabFile);
    }

    public static WordPieceEncoder Read(BinaryReader reader)
    {
        var lowerCase = reader.ReadBoolean();
        var stripAccents = reader.ReadBoolean();
        return new WordPieceEncoder(TokenizerFormat.ReadBytes(reader, "WordPiece vocab.txt"), lowerCase, stripAccents);
    }

    // vocab.txt lines, as Microsoft.ML.Tokenizers reads them (UTF-8, a BOM allowed, \n or \r\n).
    private static List<string> ReadLines(byte[] file)
    {
        using var reader = new StreamReader(new MemoryStream(file), new UTF8Encoding(false, throwOnInvalidBytes: true));
        var lines = new List<string>();
        try
        {
            while (reader.ReadLine() is { } line) lines.Add(line);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException("WordPiece vocabulary is not valid UTF-8.", e);
        }
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }
}

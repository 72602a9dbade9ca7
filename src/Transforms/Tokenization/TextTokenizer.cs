using System.Text;

namespace Pipelines;

/// <summary>
/// A subword (or character) vocabulary with its special tokens: encodes text and text pairs into
/// model inputs and decodes ids back into text. Encoding is done by Microsoft.ML.Tokenizers
/// (WordPiece, BPE, tiktoken, SentencePiece) or by <see cref="CharacterVocabulary"/>; this class adds
/// the special-token layout, truncation, padding and word/segment ids. Immutable and thread-safe.
/// Create one with the From* factories, <see cref="Load"/>, or <see cref="WordPieceTrainer"/>.
/// </summary>
/// <remarks>
/// Layout: [CLS] a [SEP] for one text, [CLS] a [SEP] b [SEP] for a pair. GPT-style vocabularies
/// (BPE, tiktoken, SentencePiece) have no [CLS]/[SEP]; their end-of-text token (&lt;|endoftext|&gt;
/// or &lt;/s&gt;) plays the [SEP] role and, unless a &lt;s&gt; exists, the [CLS] role too. Roles a
/// vocabulary lacks get ids appended after its last id (see <see cref="AppendedTokens"/>).
/// </remarks>
public sealed partial class TextTokenizer
{
    private readonly SubwordEncoder _encoder;
    private readonly SpecialTokens _specials;
    private readonly HashSet<int> _specialIds;

    private TextTokenizer(SubwordEncoder encoder)
    {
        _encoder = encoder;
        _specials = SpecialTokens.Resolve(encoder);
        _specialIds = _specials.All();
    }

    internal SubwordEncoder Encoder => _encoder;

    internal SpecialTokens Specials => _specials;

    /// <summary>The vocabulary family.</summary>
    public TokenizerKind Kind => _encoder.Kind;

    /// <summary>Number of ids (the size of a model's embedding): the vocabulary plus appended special tokens.</summary>
    public int VocabSize => _encoder.Count + _specials.Appended.Count;

    /// <summary>The padding id (its attention mask is 0).</summary>
    public int PadId => _specials.Pad;

    /// <summary>The id of text the vocabulary cannot spell. Byte-level vocabularies (tiktoken, byte-level BPE) never produce it.</summary>
    public int UnknownId => _specials.Unknown;

    /// <summary>The [MASK] id for masked-LM, or null when a WordPiece vocabulary has no [MASK].</summary>
    public int? MaskId => _specials.Mask;

    /// <summary>The id that starts every encoded text ([CLS]; &lt;s&gt;, end-of-text or &lt;bos&gt; in other families).</summary>
    public int ClsId => _specials.Cls;

    /// <summary>The id that ends each text ([SEP]; &lt;/s&gt;, &lt;|endoftext|&gt; or &lt;eos&gt; in other families). Also the separator of <see cref="SequencePacker"/>.</summary>
    public int SepId => _specials.Sep;

    /// <summary>Every special id (pad, unknown, [CLS], [SEP], [MASK]): never masked, skipped by <see cref="Decode"/>.</summary>
    public IReadOnlySet<int> SpecialIds => _specialIds;

    /// <summary>Names of the special tokens appended after the vocabulary, in id order from <c>VocabSize - AppendedTokens.Count</c>.</summary>
    public IReadOnlyList<string> AppendedTokens => _specials.Appended;

    /// <summary>The Microsoft.ML.Tokenizers tokenizer doing the encoding, or null for character vocabularies.</summary>
    public Microsoft.ML.Tokenizers.Tokenizer? LibraryTokenizer => (_encoder is CompactEncoder c ? c.Inner : _encoder) switch
    {
        WordPieceEncoder w => w.Inner,
        OffsetEncoder o => o.Inner,
        SentencePieceEncoder s => s.Inner,
        _ => null,
    };

    /// <summary>
    /// Encodes a text, or a text pair, into at most <paramref name="maxLength"/> tokens.
    /// </summary>
    /// <param name="text">The text; null is the empty text.</param>
    /// <param name="pair">The second text of a pair, or null for a single text.</param>
    /// <param name="maxLength">Most tokens kept, special tokens included.</param>
    /// <param name="truncation">How a pair is cut to fit (a single text always loses its end).</param>
    /// <param name="addSpecialTokens">Whether to add [CLS]/[SEP] (false for raw ids, e.g. before <see cref="SequencePacker"/>).</param>
    /// <param name="padToMaxLength">Whether to pad with <see cref="PadId"/> to exactly <paramref name="maxLength"/> tokens.</param>
    public TokenizedText Encode(string? text, string? pair = null, int maxLength = 512,
        TruncationStrategy truncation = TruncationStrategy.LongestFirst, bool addSpecialTokens = true, bool padToMaxLength = false)
    {
        var buffer = new EncodingBuffer();
        EncodeInto(buffer, text.AsSpan(), pair.AsSpan(), pair is not null, maxLength, truncation, addSpecialTokens);
        var length = padToMaxLength ? maxLength : buffer.Ids.Count;
        var ids = new int[length];
        var mask = new int[length];
        var words = new int[length];
        var segments = new int[length];
        Fill(buffer, ids, mask, words, segments);
        return new TokenizedText(ids, mask, words, segments, buffer.Truncated, buffer.UnknownCount);
    }

    /// <summary>
    /// Copies an encoding into arrays at least as long as it, padding the rest: ids with
    /// <see cref="PadId"/>, attention mask 0, word ids -1, segment ids 0.
    /// </summary>
    internal void Fill(EncodingBuffer buffer, Span<int> ids, Span<int> mask, Span<int> words, Span<int> segments)
    {
        var n = buffer.Ids.Count;
        if (ids.Length > 0)
        {
            System.Runtime.InteropServices.CollectionsMarshal.AsSpan(buffer.Ids).CopyTo(ids);
            ids[n..].Fill(PadId);
        }
        if (mask.Length > 0)
        {
            mask[..n].Fill(1);
            mask[n..].Clear();
        }
        if (words.Length > 0)
        {
            System.Runtime.InteropServices.CollectionsMarshal.AsSpan(buffer.WordIds).CopyTo(words);
            words[n..].Fill(-1);
        }
        if (segments.Length > 0)
        {
            System.Runtime.InteropServices.CollectionsMarshal.AsSpan(buffer.SegmentIds).CopyTo(segments);
            segments[n..].Clear();
        }
    }

    /// <summary>Encodes into <paramref name="buffer"/> (cleared first); the span-based core of <see cref="Encode"/>.</summary>
    internal void EncodeInto(EncodingBuffer buffer, ReadOnlySpan<char> text, ReadOnlySpan<char> pair, bool hasPair,
        int maxLength, TruncationStrategy truncation, bool addSpecialTokens, bool wordIds = true)
    {
        var specials = addSpecialTokens ? (hasPair ? 3 : 2) : 0;
        if (maxLength < specials + 1)
            throw new ArgumentOutOfRangeException(nameof(maxLength), $"Maximum length {maxLength} leaves no room for text after {specials} special tokens.");
        var budget = maxLength - specials;
        buffer.Clear();
        var (ids, words, segments) = (buffer.Ids, buffer.WordIds, buffer.SegmentIds);

        if (addSpecialTokens) Add(buffer, ClsId, -1, 0);
        var first = ids.Count;
        var truncated = wordIds ? _encoder.Encode(text, ids, words, budget) : _encoder.EncodeWithoutWordIds(text, ids, words, budget);
        var firstLength = ids.Count - first;
        if (hasPair)
        {
            var (pairIds, pairWords) = (buffer.PairIds, buffer.PairWordIds);
            truncated |= wordIds ? _encoder.Encode(pair, pairIds, pairWords, budget) : _encoder.EncodeWithoutWordIds(pair, pairIds, pairWords, budget);
            var (keepFirst, keepPair) = Fit(firstLength, pairIds.Count, budget, truncation);
            truncated |= keepFirst < firstLength || keepPair < pairIds.Count;
            ids.RemoveRange(first + keepFirst, firstLength - keepFirst);
            words.RemoveRange(first + keepFirst, firstLength - keepFirst);
            for (var i = segments.Count; i < ids.Count; i++) segments.Add(0);
            if (addSpecialTokens) Add(buffer, SepId, -1, 0);
            for (var i = 0; i < keepPair; i++) Add(buffer, pairIds[i], pairWords[i], 1);
            if (addSpecialTokens) Add(buffer, SepId, -1, 1);
        }
        else
        {
            for (var i = segments.Count; i < ids.Count; i++) segments.Add(0);
            if (addSpecialTokens) Add(buffer, SepId, -1, 0);
        }
        buffer.Truncated = truncated;
        var unknown = 0;
        foreach (var id in ids)
        {
            if (id == UnknownId) unknown++;
        }
        buffer.UnknownCount = unknown;
    }

    private static void Add(EncodingBuffer buffer, int id, int word, int segment)
    {
        buffer.Ids.Add(id);
        buffer.WordIds.Add(word);
        buffer.SegmentIds.Add(segment);
    }

    // How many tokens of each text of a pair fit in the budget.
    private static (int First, int Second) Fit(int first, int second, int budget, TruncationStrategy truncation)
    {
        if (first + second <= budget) return (first, second);
        if (truncation == TruncationStrategy.End) return (Math.Min(first, budget), Math.Max(0, budget - first));
        while (first + second > budget)
        {
            if (first > second) first--;
            else second--;
        }
        return (first, second);
    }

    /// <summary>
    /// The text of <paramref name="ids"/>. With <paramref name="skipSpecial"/>, special tokens other
    /// than the unknown token are left out. Normalization is not undone: a lower-casing WordPiece
    /// vocabulary decodes lower case, and WordPiece/SentencePiece decode whitespace runs as one space.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside 0 .. <see cref="VocabSize"/> - 1.</exception>
    public string Decode(IEnumerable<int> ids, bool skipSpecial = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var text = new StringBuilder();
        var run = new List<int>();
        foreach (var id in ids)
        {
            if (id < 0 || id >= VocabSize) throw new ArgumentOutOfRangeException(nameof(ids), $"Id {id} is outside the vocabulary of {VocabSize} ids.");
            if (skipSpecial && id != UnknownId && _specialIds.Contains(id)) continue;
            if (id < _encoder.Count)
            {
                run.Add(id);
                continue;
            }
            Flush();
            text.Append(_specials.Appended[id - _encoder.Count]);
        }
        Flush();
        return text.ToString();

        void Flush()
        {
            if (run.Count == 0) return;
            text.Append(_encoder.Decode(run));
            run.Clear();
        }
    }
}

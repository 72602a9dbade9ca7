namespace Pipelines;

/// <summary>
/// Masking for masked-LM pretraining, in one place for the static <c>MaskTokens</c> transform and for
/// trainers that mask each batch anew every epoch (dynamic masking, as RoBERTa). BERT's rule:
/// choose <see cref="MaskingOptions.MaskProbability"/> of the maskable tokens (never special tokens or
/// padding); of the chosen, 80 % become [MASK], 10 % a random non-special token, 10 % stay; the label
/// is the original id at chosen positions and <see cref="IgnoreIndex"/> elsewhere. The same
/// <see cref="Random"/> state gives the same masking. Immutable and thread-safe (the caller owns the Random).
/// </summary>
public sealed class MlmMasker
{
    /// <summary>The label of positions that are not predicted (PyTorch's cross-entropy ignore_index).</summary>
    public const int IgnoreIndex = -100;

    private readonly MaskingOptions _options;
    private readonly HashSet<int> _special;

    /// <summary>A masker for the vocabulary of <paramref name="tokenizer"/>, which must have a [MASK].</summary>
    public MlmMasker(TextTokenizer tokenizer, MaskingOptions? options = null)
        : this(tokenizer?.MaskId ?? throw new ArgumentException("The tokenizer's vocabulary has no [MASK] token.", nameof(tokenizer)),
            tokenizer.VocabSize, tokenizer.SpecialIds, options)
    {
    }

    /// <summary>A masker for a vocabulary of <paramref name="vocabSize"/> ids.</summary>
    /// <param name="maskId">The [MASK] id.</param>
    /// <param name="vocabSize">Ids are 0 .. vocabSize - 1; random replacements are drawn among the non-special ones.</param>
    /// <param name="specialIds">Ids never chosen or drawn (special tokens, padding).</param>
    /// <param name="options">Probabilities and strategy; BERT's by default.</param>
    public MlmMasker(int maskId, int vocabSize, IEnumerable<int> specialIds, MaskingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(specialIds);
        _options = (options ?? new MaskingOptions()).Copy();
        _options.Validate();
        if (maskId < 0 || maskId >= vocabSize) throw new ArgumentOutOfRangeException(nameof(maskId), $"[MASK] id {maskId} is outside the vocabulary of {vocabSize} ids.");
        _special = [.. specialIds, maskId];
        if (_special.Count(id => id >= 0 && id < vocabSize) >= vocabSize)
            throw new ArgumentException("Every id of the vocabulary is special: there is nothing to draw random replacements from.", nameof(specialIds));
        (MaskId, VocabSize) = (maskId, vocabSize);
    }

    /// <summary>The [MASK] id.</summary>
    public int MaskId { get; }

    /// <summary>Number of ids of the vocabulary.</summary>
    public int VocabSize { get; }

    /// <summary>The options in use (a copy).</summary>
    public MaskingOptions Options => _options.Copy();

    /// <summary>Masks one sequence, returning new arrays.</summary>
    /// <param name="ids">Token ids (special tokens and padding included).</param>
    /// <param name="random">The random source; seed it for reproducible masking.</param>
    /// <param name="wordIds">Word id of each token (see <see cref="TokenizedText.WordIds"/>), required by whole-word masking.</param>
    public (int[] MaskedIds, int[] Labels) Mask(ReadOnlySpan<int> ids, Random random, ReadOnlySpan<int> wordIds = default)
    {
        var masked = new int[ids.Length];
        var labels = new int[ids.Length];
        Mask(ids, wordIds, random, masked, labels);
        return (masked, labels);
    }

    /// <summary>Masks one sequence into caller-owned spans of the same length (no allocation in the token strategy).</summary>
    public void Mask(ReadOnlySpan<int> ids, ReadOnlySpan<int> wordIds, Random random, Span<int> maskedIds, Span<int> labels)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (maskedIds.Length != ids.Length || labels.Length != ids.Length)
            throw new ArgumentException($"Output spans must have the {ids.Length} elements of the input.");
        if (_options.Strategy == MaskingStrategy.WholeWord && wordIds.Length != ids.Length)
            throw new ArgumentException($"Whole-word masking needs one word id per token: got {wordIds.Length} for {ids.Length} tokens.", nameof(wordIds));
        foreach (var id in ids)
        {
            if (id < 0 || id >= VocabSize) throw new ArgumentOutOfRangeException(nameof(ids), $"Id {id} is outside the vocabulary of {VocabSize} ids.");
        }

        ids.CopyTo(maskedIds);
        labels.Fill(IgnoreIndex);
        switch (_options.Strategy)
        {
            case MaskingStrategy.Token:
                for (var i = 0; i < ids.Length; i++)
                {
                    if (!_special.Contains(ids[i]) && random.NextDouble() < _options.MaskProbability) Choose(i, ids, random, maskedIds, labels);
                }
                break;
            case MaskingStrategy.WholeWord:
                for (var i = 0; i < ids.Length;)
                {
                    var end = WordEnd(ids, wordIds, i);
                    if (end > i && random.NextDouble() < _options.MaskProbability)
                    {
                        for (var j = i; j < end; j++) Choose(j, ids, random, maskedIds, labels);
                    }
                    i = Math.Max(end, i + 1);
                }
                break;
            default:
                MaskSpans(ids, random, maskedIds, labels);
                break;
        }
    }

    // End (exclusive) of the word starting at i: consecutive maskable tokens sharing a word id >= 0.
    // A special token is a word of no tokens (returns i); a token of no word (-1) is a word alone.
    private int WordEnd(ReadOnlySpan<int> ids, ReadOnlySpan<int> wordIds, int i)
    {
        if (_special.Contains(ids[i])) return i;
        var end = i + 1;
        if (wordIds[i] < 0) return end;
        while (end < ids.Length && wordIds[end] == wordIds[i] && !_special.Contains(ids[end])) end++;
        return end;
    }

    // SpanBERT: spans of geometric length (clipped) at uniform starts until the budget is spent.
    private void MaskSpans(ReadOnlySpan<int> ids, Random random, Span<int> maskedIds, Span<int> labels)
    {
        var candidates = new List<int>();
        for (var i = 0; i < ids.Length; i++)
        {
            if (!_special.Contains(ids[i])) candidates.Add(i);
        }
        var budget = (int)Math.Round(_options.MaskProbability * candidates.Count);
        var chosen = new bool[ids.Length];
        var count = 0;
        for (var attempt = 0; count < budget && attempt < 10 * candidates.Count; attempt++)
        {
            var length = Math.Min(GeometricLength(random), budget - count);
            for (var i = candidates[random.Next(candidates.Count)]; length > 0 && i < ids.Length && !_special.Contains(ids[i]); i++, length--)
            {
                if (chosen[i]) continue;
                chosen[i] = true;
                count++;
            }
        }
        for (var i = 0; i < ids.Length; i++)
        {
            if (chosen[i]) Choose(i, ids, random, maskedIds, labels);
        }
    }

    private int GeometricLength(Random random)
    {
        var length = 1;
        while (length < _options.MaxSpanLength && random.NextDouble() >= _options.SpanLengthP) length++;
        return length;
    }

    private void Choose(int i, ReadOnlySpan<int> ids, Random random, Span<int> maskedIds, Span<int> labels)
    {
        labels[i] = ids[i];
        var r = random.NextDouble();
        if (r < _options.ReplaceWithMaskProbability) maskedIds[i] = MaskId;
        else if (r < _options.ReplaceWithMaskProbability + _options.ReplaceWithRandomProbability) maskedIds[i] = RandomToken(random);
    }

    private int RandomToken(Random random)
    {
        while (true)
        {
            var id = random.Next(VocabSize);
            if (!_special.Contains(id)) return id;
        }
    }
}

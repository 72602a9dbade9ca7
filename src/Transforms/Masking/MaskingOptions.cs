namespace Pipelines;

/// <summary>Which tokens masked-LM masking chooses.</summary>
public enum MaskingStrategy
{
    /// <summary>Each token independently (BERT).</summary>
    Token = 0,
    /// <summary>Whole words: a chosen word has every one of its pieces chosen (BERT's whole-word masking). Needs word ids.</summary>
    WholeWord = 1,
    /// <summary>Contiguous spans with geometric lengths until the masking budget is spent (SpanBERT).</summary>
    Span = 2,
}

/// <summary>Options of <see cref="MlmMasker"/>; the defaults are BERT's.</summary>
public sealed class MaskingOptions
{
    /// <summary>Share of maskable tokens (not special, not padding) chosen for prediction (default 0.15).</summary>
    public double MaskProbability { get; set; } = 0.15;

    /// <summary>Share of chosen tokens replaced by [MASK] (default 0.8).</summary>
    public double ReplaceWithMaskProbability { get; set; } = 0.8;

    /// <summary>Share of chosen tokens replaced by a random non-special token (default 0.1); the rest stay unchanged.</summary>
    public double ReplaceWithRandomProbability { get; set; } = 0.1;

    /// <summary>Which tokens are chosen (default: each token independently).</summary>
    public MaskingStrategy Strategy { get; set; } = MaskingStrategy.Token;

    /// <summary>Span masking: the parameter p of the geometric span-length distribution (default 0.2, mean length 5 before clipping, as SpanBERT).</summary>
    public double SpanLengthP { get; set; } = 0.2;

    /// <summary>Span masking: longest span (default 10, as SpanBERT).</summary>
    public int MaxSpanLength { get; set; } = 10;

    internal MaskingOptions Copy() => (MaskingOptions)MemberwiseClone();

    internal void Validate()
    {
        Probability(MaskProbability, nameof(MaskProbability));
        Probability(ReplaceWithMaskProbability, nameof(ReplaceWithMaskProbability));
        Probability(ReplaceWithRandomProbability, nameof(ReplaceWithRandomProbability));
        if (ReplaceWithMaskProbability + ReplaceWithRandomProbability > 1 + 1e-12)
            throw new ArgumentException($"{nameof(ReplaceWithMaskProbability)} + {nameof(ReplaceWithRandomProbability)} exceed 1.");
        if (!Enum.IsDefined(Strategy)) throw new ArgumentOutOfRangeException(nameof(Strategy), $"Unknown masking strategy {(int)Strategy}.");
        if (SpanLengthP <= 0 || SpanLengthP > 1) throw new ArgumentOutOfRangeException(nameof(SpanLengthP), $"{nameof(SpanLengthP)} must be in (0, 1], got {SpanLengthP}.");
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSpanLength, 1, nameof(MaxSpanLength));
    }

    private static void Probability(double value, string name)
    {
        if (!(value >= 0 && value <= 1)) throw new ArgumentOutOfRangeException(name, $"{name} must be between 0 and 1, got {value}.");
    }
}

using Pipelines.Models;

namespace Pipelines;

/// <summary>
/// Options of the transformer text regressor (one text, or a sentence pair, to a real value); the
/// fine-tuning options it shares with the classifiers are in <see cref="FineTuningOptions"/>.
/// </summary>
public sealed class TextRegressorOptions : FineTuningOptions
{
    /// <summary>Label column: Single; NaN marks a row without a label, which is not trained on.</summary>
    public string LabelColumnName { get; set; } = "Label";
    /// <summary>Segment ids of sentence pairs (vector of Int32), e.g. "Tokens.SegmentIds"; null for single texts.</summary>
    public string? SegmentColumnName { get; set; }
    /// <summary>How the sequence becomes one vector: Mean (the default) or FirstToken, as for the classifiers.</summary>
    public Pooling Pooling { get; set; } = Pooling.Mean;

    /// <summary>A regressor's validation measures squared error only.</summary>
    private protected override BestBy[] BestByChoices => [BestBy.Loss];

    internal override void Validate()
    {
        base.Validate();
        if (BalanceClasses)
            throw new ArgumentException("BalanceClasses weights classes, and a regressor has none: leave it false.", nameof(BalanceClasses));
    }
}

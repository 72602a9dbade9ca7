using Pipelines.Models;

namespace Pipelines;

/// <summary>
/// Options of the transformer text classifiers (binary and multiclass); the fine-tuning options
/// they share with the token classifier are in <see cref="FineTuningOptions"/>.
/// </summary>
public sealed class TextClassifierOptions : FineTuningOptions
{
    /// <summary>Label column: Boolean or Single (NaN = unlabelled) for binary, Key for multiclass (missing key = unlabelled).</summary>
    public string LabelColumnName { get; set; } = "Label";
    /// <summary>Segment ids of sentence pairs (vector of Int32), e.g. "Tokens.SegmentIds"; null for single texts.</summary>
    public string? SegmentColumnName { get; set; }
    /// <summary>
    /// How the sequence becomes one vector. Mean (the default) reads every token's state, which is
    /// what masked-LM pretraining trains; FirstToken is BERT's [CLS] pooler, which masked-LM alone
    /// leaves untrained (it suits checkpoints pretrained with next-sentence prediction).
    /// </summary>
    public Pooling Pooling { get; set; } = Pooling.Mean;
    /// <summary>
    /// Self-training rounds: after training, label the unlabelled rows whose predicted class has at
    /// least <see cref="PseudoLabelThreshold"/> probability, and train again on both. 0 disables.
    /// </summary>
    public int SelfTrainingRounds { get; set; }
    /// <summary>Confidence needed to pseudo-label an unlabelled row.</summary>
    public double PseudoLabelThreshold { get; set; } = 0.95;

    /// <summary>
    /// Joint objective: each batch's loss is the classification loss plus this weight (lambda) times a
    /// masked-LM loss on the same rows, masked afresh (15 % of tokens) and scored by the pretrained
    /// masked-LM head, kept frozen; it keeps the encoder close to what pretraining taught it. 0 (the
    /// default) disables; needs a pretrained start (<see cref="FineTuningOptions.Base"/>) with its masked-LM head.
    /// Each batch is then encoded twice.
    /// </summary>
    public double MaskedLmWeight { get; set; }

    /// <summary>Loss, accuracy, F1 (positive class, or macro for multiclass) and AUC (binary only).</summary>
    private protected override BestBy[] BestByChoices => [BestBy.Loss, BestBy.Accuracy, BestBy.F1, BestBy.Auc];

    internal override void Validate()
    {
        base.Validate();
        OptionChecks.Require(MaskedLmWeight >= 0 && double.IsFinite(MaskedLmWeight), nameof(MaskedLmWeight), MaskedLmWeight, "must be a finite number, at least 0");
        if (MaskedLmWeight > 0 && Base == EncoderSource.None)
            throw new ArgumentException("MaskedLmWeight adds a masked-LM loss scored by the pretrained masked-LM head, but Base is EncoderSource.None: start from a pretrained model, or set MaskedLmWeight to 0.");
        if (PseudoLabelThreshold is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(PseudoLabelThreshold), PseudoLabelThreshold, "The threshold must be in (0, 1].");
    }
}

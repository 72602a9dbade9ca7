using Pipelines.Models.Training;

namespace Pipelines;

/// <summary>
/// Options every fine-tuning trainer shares (text classification, token classification): where the
/// encoder starts, which weights may change, regularisation, and the model's shape when training
/// from scratch. Defaults follow BERT's fine-tuning recipe scaled to small models and few labels:
/// AdamW, linear decay after 10 % warmup, batch 16, a learning rate that suits the strategy (3e-4;
/// 1e-3 for LoRA), enough epochs for about 200 steps (3 to 30), early stopping on validation loss
/// with the best epoch restored. The README's "Defaults" section gives the measurements behind them.
/// </summary>
public abstract class FineTuningOptions : TrainingOptions
{
    /// <summary>Creates options with the fine-tuning defaults.</summary>
    protected FineTuningOptions()
    {
        BatchSize = 16;
        Schedule = DecayShape.Linear;
        FinalLearningRateRatio = 0;
        WarmupSteps = -1;
        EvaluateEvery = 0;
        Patience = 3;
    }

    /// <summary>Token ids (vector of Int32), as the subword tokenizer writes them.</summary>
    public string TokenColumnName { get; set; } = "Tokens";
    /// <summary>Where the encoder starts; <see cref="EncoderSource.None"/> trains from scratch.</summary>
    public EncoderSource Base { get; set; } = EncoderSource.None;
    /// <summary>
    /// Tokenizer of the token column. Null (the default) takes the pretrained model's, or the one
    /// TokenizeSubwords recorded on the token column; set it only for a token column made some other way.
    /// </summary>
    public TextTokenizer? Tokenizer { get; set; }
    /// <summary>The learning rate when none is set: LoRA's and bottleneck adapters start at zero and hold few weights, so they take a larger one.</summary>
    public const double DefaultLearningRate = 3e-4, DefaultLoraLearningRate = 1e-3;

    private double? _learningRate;

    /// <summary>
    /// Peak learning rate of AdamW. Unless set, <see cref="DefaultLearningRate"/> (3e-4), or
    /// <see cref="DefaultLoraLearningRate"/> (1e-3) with <see cref="FineTuneStrategy.LoRA"/> or <see cref="FineTuneStrategy.Adapters"/>.
    /// </summary>
    public override double LearningRate
    {
        get => _learningRate ?? (Strategy is FineTuneStrategy.LoRA or FineTuneStrategy.Adapters ? DefaultLoraLearningRate : DefaultLearningRate);
        set => _learningRate = value;
    }

    /// <summary>Optimizer steps the automatic number of epochs aims for.</summary>
    public const int AutomaticEpochSteps = 200;

    /// <summary>
    /// Passes over the labelled rows. Null (the default): enough epochs for about
    /// <see cref="AutomaticEpochSteps"/> optimizer steps, at least 3 and at most 30 (49 rows train 30
    /// epochs, 500 rows 7, 5,000 rows 3), early stopping permitting. 0: train <c>MaxSteps</c> steps instead.
    /// </summary>
    public int? MaxEpoch { get; set; }

    /// <summary>The epochs to train for <paramref name="batchesPerEpoch"/> batches an epoch (0: MaxSteps decides).</summary>
    internal int Epochs(int batchesPerEpoch) =>
        MaxEpoch ?? Math.Clamp((AutomaticEpochSteps + batchesPerEpoch - 1) / Math.Max(1, batchesPerEpoch), 3, 30);
    /// <summary>Which weights may change.</summary>
    public FineTuneStrategy Strategy { get; set; } = FineTuneStrategy.Full;
    /// <summary>Blocks frozen from the bottom with <see cref="FineTuneStrategy.FreezeBottomLayers"/>.</summary>
    public int FrozenLayers { get; set; } = 2;
    /// <summary>LoRA rank.</summary>
    public int LoraRank { get; set; } = 8;
    /// <summary>LoRA alpha (scale alpha / rank).</summary>
    public double LoraAlpha { get; set; } = 16;
    /// <summary>LoRA dropout.</summary>
    public double LoraDropout { get; set; } = 0.05;
    /// <summary>Layers that get adapters (last names of linear layers).</summary>
    public string[] LoraTargets { get; set; } = ["query", "value"];
    /// <summary>Hidden units of each bottleneck adapter with <see cref="FineTuneStrategy.Adapters"/>.</summary>
    public int AdapterSize { get; set; } = 32;
    /// <summary>
    /// With <see cref="FineTuneStrategy.Adapters"/>: true (the default) puts an adapter after both the
    /// attention and the feed-forward outputs of each block (Houlsby); false, after the feed-forward only (Pfeiffer).
    /// </summary>
    public bool AdapterAfterAttention { get; set; } = true;
    /// <summary>L2-SP: lambda x ||theta - theta_0||^2 towards the starting weights; 0 disables.</summary>
    public double L2SP { get; set; }
    /// <summary>
    /// Adversarial training: each batch also runs with the word embeddings moved by up to this much
    /// (L2 norm) along its loss's gradient, and both losses train the model. 0 (the default) disables;
    /// about 1 is the usual setting. Needs trainable embeddings (<see cref="FineTuneStrategy.Full"/>).
    /// </summary>
    public double AdversarialEpsilon { get; set; }
    /// <summary>
    /// Gradient steps that find the perturbation: 1 (the default) is FGM, one move of epsilon; more is
    /// PGD, each step followed by a projection into the epsilon ball (3 is usual), at one extra
    /// forward and backward pass a step.
    /// </summary>
    public int AdversarialSteps { get; set; } = 1;
    /// <summary>Length of each PGD step; 0 (the default): 2.5 x epsilon / steps (Madry et al.).</summary>
    public double AdversarialStepSize { get; set; }

    internal AdversarialSettings Adversarial => new(AdversarialEpsilon, AdversarialSteps, AdversarialStepSize);
    /// <summary>Layer-wise learning-rate decay (rate x decay^depth below the top); 1 disables.</summary>
    public double LayerDecay { get; set; } = 1.0;
    /// <summary>Weight classes (or tags) by inverse frequency in the loss (for imbalanced labels).</summary>
    public bool BalanceClasses { get; set; }
    /// <summary>
    /// Longest sequence in tokens; longer rows are cut (and counted). 0 (the default) takes the maximum
    /// length TokenizeSubwords recorded on the token column, else 128; a pretrained model's positions cap it.
    /// </summary>
    public int MaxLength { get; set; }
    /// <summary>Encoder blocks when training from scratch.</summary>
    public int Layers { get; set; } = 4;
    /// <summary>Width when training from scratch.</summary>
    public int Hidden { get; set; } = 256;
    /// <summary>Attention heads; 0 (the default): <c>Hidden</c> / 64, the head width of BERT and GPT-2.</summary>
    public int Heads { get; set; }
    /// <summary>Dropout on the encoder and before the task head.</summary>
    public double Dropout { get; set; } = 0.1;

    internal override void Validate()
    {
        base.Validate();
        OptionChecks.Architecture(Layers, Hidden, Heads);
        OptionChecks.Require(Dropout is >= 0 and < 1, nameof(Dropout), Dropout, "must be in [0, 1)");
        OptionChecks.Require(MaxEpoch is null or >= 0, nameof(MaxEpoch), MaxEpoch, "must not be negative (null: automatic)");
        OptionChecks.Require(LoraRank > 0, nameof(LoraRank), LoraRank, "must be positive");
        OptionChecks.Require(LoraAlpha > 0, nameof(LoraAlpha), LoraAlpha, "must be positive");
        OptionChecks.Require(LoraDropout is >= 0 and < 1, nameof(LoraDropout), LoraDropout, "must be in [0, 1)");
        OptionChecks.Require(AdapterSize > 0, nameof(AdapterSize), AdapterSize, "must be positive");
        OptionChecks.Require(FrozenLayers >= 0, nameof(FrozenLayers), FrozenLayers, "must not be negative");
        OptionChecks.Require(LayerDecay is > 0 and <= 1, nameof(LayerDecay), LayerDecay, "must be in (0, 1] (1: no decay)");
        OptionChecks.Require(AdversarialEpsilon >= 0 && double.IsFinite(AdversarialEpsilon), nameof(AdversarialEpsilon), AdversarialEpsilon, "must be a finite number, at least 0");
        OptionChecks.Require(AdversarialSteps >= 1, nameof(AdversarialSteps), AdversarialSteps, "must be at least 1 (1: FGM)");
        OptionChecks.Require(AdversarialStepSize >= 0 && double.IsFinite(AdversarialStepSize), nameof(AdversarialStepSize), AdversarialStepSize, "must be a finite number, at least 0 (0: automatic)");
        if (AdversarialEpsilon > 0 && Strategy != FineTuneStrategy.Full)
            throw new ArgumentException($"AdversarialEpsilon moves the word embeddings along their gradient, but the {Strategy} strategy freezes them: use Full, or AdversarialEpsilon = 0.");
        OptionChecks.Require(MaxLength is 0 or >= 3, nameof(MaxLength), MaxLength,
            "must leave room for text between [CLS] and [SEP], at least 3 (0: the token column's)");
    }
}

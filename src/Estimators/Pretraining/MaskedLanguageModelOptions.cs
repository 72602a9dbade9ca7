using Pipelines.Models.Training;

namespace Pipelines;

/// <summary>
/// Options of <see cref="MaskedLanguageModelEstimator"/>: a BERT style encoder trained to recover
/// masked tokens (15 % of tokens; of those 80 % [MASK], 10 % random, 10 % kept), masked afresh
/// each time a sequence is drawn.
/// </summary>
public sealed class MaskedLanguageModelOptions : PretrainingOptions
{
    /// <summary>
    /// Creates options with the masked-LM defaults: lr 1e-3 (small models, as the Quickstart's; lower
    /// it, e.g. to 1e-4, for BERT-base-sized ones), weight decay 0.01, batch 32.
    /// </summary>
    public MaskedLanguageModelOptions() => LearningRate = 1e-3;

    /// <summary>Input column of token ids (vector of Int32) with [CLS]/[SEP] as the tokenizer adds them.</summary>
    public string TokenColumnName { get; set; } = "Tokens";
    /// <summary>Output column: mean of the last hidden states over real tokens, a float vector of size <see cref="Hidden"/>.</summary>
    public string EmbeddingColumnName { get; set; } = "Embedding";
    /// <summary>Output column: the row's text with every [MASK] token replaced by the model's best guess.</summary>
    public string FilledColumnName { get; set; } = "FilledText";
    /// <summary>
    /// The tokenizer that produced the token column; it must have a mask token. Null (the default)
    /// takes the one TokenizeSubwords recorded on the token column (or the <see cref="Base"/> model's).
    /// </summary>
    public TextTokenizer? Tokenizer { get; set; }
    /// <summary>Encoder blocks.</summary>
    public int Layers { get; set; } = 4;
    /// <summary>Width of the model.</summary>
    public int Hidden { get; set; } = 256;
    /// <summary>Attention heads; 0 (the default): <c>Hidden</c> / 64, the head width of BERT and GPT-2.</summary>
    public int Heads { get; set; }
    /// <summary>Feed-forward width; 0 means 4 x <see cref="Hidden"/>.</summary>
    public int FeedForward { get; set; }
    /// <summary>
    /// Longest sequence in tokens (the model's positions); longer rows are cut. 0 (the default) takes
    /// the maximum length TokenizeSubwords recorded on the token column, else 128.
    /// </summary>
    public int MaxLength { get; set; }
    /// <summary>Dropout probability.</summary>
    public double Dropout { get; set; } = 0.1;
    /// <summary>
    /// Layer norm before each block's attention and feed-forward, and once after the last block (GPT-2's
    /// order, which budget-BERT recipes such as Cramming use because it trains stably at higher learning
    /// rates), instead of BERT's after each. False (the default): BERT's. Fine-tuning, saving and ONNX
    /// export keep it; Hugging Face's BERT has no such model, so <c>SaveAsHuggingFace</c> refuses one.
    /// Ignored with <see cref="Base"/>, whose architecture is kept.
    /// </summary>
    public bool PreLayerNorm { get; set; }
    /// <summary>Masked-LM (the default) or ELECTRA's replaced-token detection (see <see cref="EncoderObjective"/>).</summary>
    public EncoderObjective Objective { get; set; } = EncoderObjective.MaskedLanguageModel;
    /// <summary>Encoder blocks of replaced-token detection's generator (same width, shared embeddings); 0 (the default): a quarter of <see cref="Layers"/>, at least 1.</summary>
    public int GeneratorLayers { get; set; }
    /// <summary>Weight of replaced-token detection's discriminator loss against the generator's masked-LM loss (ELECTRA's 50).</summary>
    public double DiscriminatorWeight { get; set; } = 50;
    /// <summary>Fraction of (non-special) tokens chosen for prediction.</summary>
    public double MaskProbability { get; set; } = 0.15;
    /// <summary>
    /// Token masking (BERT), span masking, or whole-word masking (every piece of a chosen word is
    /// masked together; it reads the word ids TokenizeSubwords writes in "{TokenColumnName}.WordIds").
    /// </summary>
    public MaskingStrategy Masking { get; set; } = MaskingStrategy.Token;
    /// <summary>
    /// A sentence-pair objective trained beside masked-LM on BERT's pooled output: none (the default,
    /// as RoBERTa), next-sentence prediction (BERT) or sentence-order prediction (ALBERT). Each row is a
    /// document that is cut into two segments ([CLS] A [SEP] B [SEP] with segment ids); validation
    /// then also reports the pairs' accuracy. Rows need at least 2 tokens besides [CLS] and [SEP].
    /// </summary>
    public SentencePairObjective SentencePairs { get; set; } = SentencePairObjective.None;
    /// <summary>
    /// Weight of a contrastive sentence-embedding loss added to masked-LM (unsupervised SimCSE: each
    /// batch's sequences, unmasked, are encoded twice with different dropout and must pick each other
    /// out of the batch by the cosine of their mean-pooled embeddings). 0 (the default) trains none; 1
    /// weighs it like masked-LM. Needs <see cref="Dropout"/> above 0 and no <see cref="SentencePairs"/>.
    /// </summary>
    public double ContrastiveWeight { get; set; }
    /// <summary>Temperature of the contrastive loss (SimCSE's 0.05).</summary>
    public double ContrastiveTemperature { get; set; } = ContrastiveLoss.DefaultTemperature;
    /// <summary>
    /// Continue pretraining this model (domain adaptation, or retraining a deployed model on new text)
    /// instead of starting from random weights: a fitted transformer, or one loaded with
    /// <see cref="MaskedLanguageModelTransformer.FromZip"/>, <see cref="MaskedLanguageModelTransformer.FromHuggingFace"/>. Its tokenizer must be the token column's.
    /// </summary>
    public MaskedLanguageModelTransformer? Base { get; set; }

    internal override void Validate()
    {
        base.Validate();
        if (Base is null) OptionChecks.Architecture(Layers, Hidden, Heads, FeedForward);
        OptionChecks.Require(Dropout is >= 0 and < 1, nameof(Dropout), Dropout, "must be in [0, 1)");
        if (Tokenizer is { MaskId: null }) throw new ArgumentException("The tokenizer has no mask token; masked-LM pretraining needs one.");
        if (MaxLength is < 0 or (> 0 and < 4)) throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength, "The maximum length must be at least 4 tokens (0: the token column's).");
        if (Masking == MaskingStrategy.WholeWord && SentencePairs != SentencePairObjective.None)
            throw new ArgumentException("Whole-word masking reads each row's word ids, which a sentence-pair objective's rebuilt pairs do not have: use Token or Span masking with SentencePairs.");
        if (SentencePairs != SentencePairObjective.None && MaxLength is > 0 and < 5) throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength, "Sentence pairs need at least 5 positions.");
        if (ContrastiveWeight < 0) throw new ArgumentOutOfRangeException(nameof(ContrastiveWeight), ContrastiveWeight, "The contrastive weight must not be negative.");
        if (ContrastiveWeight > 0 && SentencePairs != SentencePairObjective.None) throw new ArgumentException("The contrastive loss embeds single rows: use it without SentencePairs.");
        if (ContrastiveWeight > 0 && Dropout <= 0) throw new ArgumentException("The contrastive loss needs dropout above 0: dropout is what makes the two views of a row differ.");
        if (ContrastiveTemperature <= 0) throw new ArgumentOutOfRangeException(nameof(ContrastiveTemperature), ContrastiveTemperature, "The temperature must be positive.");
        OptionChecks.Require(GeneratorLayers >= 0, nameof(GeneratorLayers), GeneratorLayers, "must not be negative (0: a quarter of Layers)");
        OptionChecks.Require(DiscriminatorWeight > 0, nameof(DiscriminatorWeight), DiscriminatorWeight, "must be positive");
        if (Objective == EncoderObjective.ReplacedTokenDetection && (SentencePairs != SentencePairObjective.None || ContrastiveWeight > 0))
            throw new ArgumentException("Replaced-token detection is trained alone: use it without SentencePairs and ContrastiveWeight.");
        if (MaskProbability is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(MaskProbability), MaskProbability, "The mask probability must be in (0, 1).");
    }
}

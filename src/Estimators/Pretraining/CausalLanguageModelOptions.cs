using Pipelines.Models;

namespace Pipelines;

/// <summary>
/// Options of <see cref="CausalLanguageModelEstimator"/>: a GPT-2 style decoder trained to predict
/// the next token. The defaults are nanoGPT's Shakespeare-on-CPU recipe except the block size
/// (128 here, 64 there) and the number of steps.
/// </summary>
public sealed class CausalLanguageModelOptions : PretrainingOptions
{
    /// <summary>Creates options with the causal-LM defaults (lr 1e-3, beta2 0.99, weight decay 0.1, batch 12).</summary>
    public CausalLanguageModelOptions()
    {
        LearningRate = 1e-3;
        Beta2 = 0.99;
        WeightDecay = 0.1;
        BatchSize = 12;
    }

    /// <summary>Input column of token ids (vector of Int32).</summary>
    public string TokenColumnName { get; set; } = "Tokens";
    /// <summary>Output column: mean-pooled last hidden state, a float vector of size <see cref="Hidden"/>.</summary>
    public string EmbeddingColumnName { get; set; } = "Embedding";
    /// <summary>Output column: the model's perplexity on the row (exp of mean next-token loss).</summary>
    public string PerplexityColumnName { get; set; } = "Perplexity";
    /// <summary>The tokenizer that produced the token column (stored with the model, used for generation); null takes the one TokenizeSubwords recorded on the column.</summary>
    public TextTokenizer? Tokenizer { get; set; }
    /// <summary>Decoder blocks.</summary>
    public int Layers { get; set; } = 4;
    /// <summary>Width of the model.</summary>
    public int Hidden { get; set; } = 128;
    /// <summary>Attention heads; 0 (the default): <c>Hidden</c> / 64, the head width of BERT and GPT-2.</summary>
    public int Heads { get; set; }
    /// <summary>Feed-forward width; 0 means 4 x <see cref="Hidden"/>.</summary>
    public int FeedForward { get; set; }
    /// <summary>Context length in tokens (training windows and the longest sequence the model reads).</summary>
    public int BlockSize { get; set; } = 128;
    /// <summary>Dropout probability.</summary>
    public double Dropout { get; set; }
    /// <summary>The feed-forward non-linearity: GPT-2's tanh GELU by default (<see cref="Activation.Default"/>), or the exact GELU (nanoGPT's).</summary>
    public Activation Activation { get; set; } = Activation.Default;
    /// <summary>
    /// True (GPT-2, and what Hugging Face export needs): linear layers and LayerNorms carry biases.
    /// False: none, as nanoGPT trains (its <c>bias = False</c>), a little faster and no worse.
    /// </summary>
    public bool Bias { get; set; } = true;
    /// <summary>Windows scored per validation = ValidationBatches x BatchSize (fixed windows, comparable across validations).</summary>
    public int ValidationBatches { get; set; } = 20;
    /// <summary>
    /// Continue pretraining this model (domain adaptation, or retraining a deployed model on new text)
    /// instead of starting from random weights: a fitted transformer, or one loaded with
    /// <see cref="CausalLanguageModelTransformer.FromZip"/>. Its tokenizer must be the token column's.
    /// </summary>
    public CausalLanguageModelTransformer? Base { get; set; }

    internal override void Validate()
    {
        base.Validate();
        if (Base is null) OptionChecks.Architecture(Layers, Hidden, Heads, FeedForward);
        OptionChecks.Require(Dropout is >= 0 and < 1, nameof(Dropout), Dropout, "must be in [0, 1)");
        if (BlockSize < 2) throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize, "The block size must be at least 2 tokens.");
    }
}

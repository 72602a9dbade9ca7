using Microsoft.ML;
using Pipelines.Models;

namespace Pipelines;

/// <summary>
/// Where a fine-tuned model's encoder starts: a pretrained masked-LM (in memory, from the
/// pretraining estimator of the same chain, from a model zip, or a Hugging Face bert or roberta
/// directory), or nothing (random weights: training from scratch, the baseline every comparison needs).
/// </summary>
public abstract class EncoderSource
{
    private EncoderSource() { }

    /// <summary>Random initialisation: no pretraining.</summary>
    public static EncoderSource None { get; } = new Scratch();

    /// <summary>A fitted masked-LM transformer.</summary>
    public static EncoderSource FromTransformer(MaskedLanguageModelTransformer pretrained) => new Fitted(() => pretrained);

    /// <summary>
    /// The transformer that <paramref name="pretraining"/> produces when it is fitted earlier in the
    /// same chain: "tokenize -> pretrain -> fine-tune" fitted once.
    /// </summary>
    public static EncoderSource FromEstimator(MaskedLanguageModelEstimator pretraining) =>
        new Fitted(() => pretraining.LastFitted ?? throw new InvalidOperationException(
            "The pretraining estimator has not been fitted yet: put it before the fine-tuning trainer in the chain."));

    /// <summary>A model zip holding a masked-LM transformer (alone or in a chain).</summary>
    public static EncoderSource FromZip(string path) => new Fitted(() => MaskedLanguageModelTransformer.FromZip(path));

    /// <summary>
    /// A Hugging Face model directory of a bert or roberta checkpoint: config.json, model.safetensors
    /// (never pickle) and its tokenizer (vocab.txt, or vocab.json + merges.txt). The trainer's token
    /// column must come from the same tokenizer: <see cref="HuggingFaceTokenizer(string)"/>.
    /// </summary>
    public static EncoderSource FromHuggingFace(string directory) => new Fitted(() => HuggingFaceEncoder.Load(directory));

    /// <summary>The tokenizer of a Hugging Face bert or roberta directory, for the tokenization step before the trainer.</summary>
    public static TextTokenizer HuggingFaceTokenizer(string directory) => HuggingFaceEncoder.LoadTokenizer(directory);

    /// <summary>The pretrained encoder, or null for random initialisation.</summary>
    internal abstract MaskedLanguageModelTransformer? Resolve();

    private sealed class Scratch : EncoderSource
    {
        internal override MaskedLanguageModelTransformer? Resolve() => null;
    }

    private sealed class Fitted(Func<MaskedLanguageModelTransformer> get) : EncoderSource
    {
        internal override MaskedLanguageModelTransformer? Resolve() => get();
    }
}

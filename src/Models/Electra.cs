using Pipelines.Models.Lora;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Pipelines.Models;

/// <summary>
/// ELECTRA's discriminator head: dense + activation + a linear layer to one logit per token, whether
/// the token is the original or one the generator put there. Named as Hugging Face's
/// ElectraDiscriminatorPredictions.
/// </summary>
public sealed class ElectraDiscriminatorHead : nn.Module<Tensor, Tensor>
{
    private readonly LoraLinear dense;
    private readonly LoraLinear dense_prediction;
    private readonly Activation activation;

    /// <summary>Builds the head for <paramref name="config"/>.</summary>
    public ElectraDiscriminatorHead(TransformerConfig config) : base(nameof(ElectraDiscriminatorHead))
    {
        dense = new LoraLinear(config.Hidden, config.Hidden, true);
        dense_prediction = new LoraLinear(config.Hidden, 1, true);
        activation = config.Activation;
        RegisterComponents();
    }

    /// <summary>(..., C) hidden states to (...) replaced-token logits.</summary>
    public override Tensor forward(Tensor hidden) =>
        dense_prediction.forward(Activations.Apply(dense.forward(hidden), activation, Activation.Gelu)).squeeze(-1);
}

/// <summary>
/// ELECTRA's replaced-token detection (Clark et al., 2020) around a <see cref="BertForPreTraining"/>:
/// a small generator (the model's own embeddings, <c>generatorLayers</c> encoder blocks of its own and
/// the model's masked-LM head) fills the masked positions with tokens sampled from its predictions,
/// and the model's encoder, the discriminator, learns for every token whether it was replaced. The
/// discriminator learns from all tokens, not the 15 % masked-LM predicts, which is where ELECTRA's
/// better downstream quality per unit of compute comes from. The generator is made smaller by depth
/// here (ELECTRA narrows it instead; the same width is what lets it share the embeddings without a
/// projection). After pretraining the wrapped model's encoder is the discriminator, the one to fine-tune.
/// </summary>
public sealed class ElectraForPreTraining : nn.Module
{
    private readonly BertForPreTraining discriminator;
    private readonly BertEncoder generator;
    private readonly ElectraDiscriminatorHead discriminator_predictions;

    /// <summary>Wraps <paramref name="model"/> and adds a generator of <paramref name="generatorLayers"/> blocks and the discriminator head.</summary>
    /// <param name="model">The model to pretrain: its encoder becomes the discriminator, its masked-LM head the generator's.</param>
    /// <param name="generatorLayers">Encoder blocks of the generator (ELECTRA's generators are a quarter to a half of the discriminator).</param>
    /// <param name="discriminatorWeight">Weight of the discriminator's loss against the generator's masked-LM loss (ELECTRA's 50).</param>
    public ElectraForPreTraining(BertForPreTraining model, int generatorLayers, double discriminatorWeight = 50) : base(nameof(ElectraForPreTraining))
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(generatorLayers, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(discriminatorWeight);
        discriminator = model;
        generator = new BertEncoder(model.Config with { Layers = generatorLayers });
        discriminator_predictions = new ElectraDiscriminatorHead(model.Config);
        DiscriminatorWeight = discriminatorWeight;
        RegisterComponents();
        WeightInit.Normal(generator, model.Config.InitRange);
        WeightInit.Normal(discriminator_predictions, model.Config.InitRange);
        var device = model.parameters().First().device;
        generator.to(device);
        discriminator_predictions.to(device);
    }

    /// <summary>The wrapped model: its encoder is the discriminator.</summary>
    public BertForPreTraining Discriminator => discriminator;
    /// <summary>Weight of the discriminator's loss.</summary>
    public double DiscriminatorWeight { get; }
    /// <summary>Encoder blocks of the generator.</summary>
    public int GeneratorLayers => generator.Layers;

    /// <summary>Frees the generator's and the discriminator head's weights once pretraining is over; the wrapped model stays.</summary>
    public void ReleaseGenerator()
    {
        generator.Dispose();
        discriminator_predictions.Dispose();
    }

    /// <summary>
    /// One replaced-token detection pass. <paramref name="masked"/> (B, T) holds [MASK] (or another
    /// corruption) where <paramref name="positions"/> point, <paramref name="original"/> (B, T) the
    /// true ids; <paramref name="targets"/> (N) are the true ids at those positions.
    /// </summary>
    /// <returns>The generator's logits (N, V) at the positions, its masked-LM loss, the discriminator's loss
    /// (mean over real tokens), the discriminator's logits (B, T) and where a token was replaced (B, T, 1 or 0).</returns>
    public (Tensor GeneratorLogits, Tensor GeneratorLoss, Tensor DiscriminatorLoss, Tensor DiscriminatorLogits, Tensor Replaced) Forward(
        Tensor masked, Tensor original, Tensor attentionMask, Tensor positions, Tensor targets)
    {
        var bert = discriminator.Bert;
        using var keep = BertModel.KeyMask(attentionMask);
        var generated = generator.forward(bert.Embeddings.forward(masked, null, attentionMask), keep);             // (B, T, C)
        var logits = discriminator.LmHead.forward(generated.flatten(0, 1).index_select(0, positions), bert.WordEmbeddings.weight!); // (N, V)
        var logits32 = logits.to(ScalarType.Float32);
        var generatorLoss = F.cross_entropy(logits32, targets);
        Tensor corrupted, replaced;
        using (no_grad())
        {
            // Sampled, not the argmax: the discriminator must see the plausible mistakes a language model makes (Gumbel-max).
            var noise = -(-rand_like(logits, dtype: ScalarType.Float32).clamp_min(1e-9).log()).log();
            var sampled = (logits32 + noise).argmax(-1);                                       // (N)
            corrupted = original.flatten().index_copy(0, positions, sampled).view_as(original);
            replaced = corrupted.ne(original).to(ScalarType.Float32);                                            // (B, T)
        }
        var discriminatorLogits = discriminator_predictions.forward(bert.Forward(corrupted, attentionMask)).to(ScalarType.Float32);
        var real = attentionMask.to(ScalarType.Float32);
        var discriminatorLoss = (F.binary_cross_entropy_with_logits(discriminatorLogits, replaced, reduction: nn.Reduction.None) * real).sum() / real.sum().clamp_min(1);
        return (logits, generatorLoss, discriminatorLoss, discriminatorLogits, replaced);
    }
}

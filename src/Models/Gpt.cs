using Pipelines.Models.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Pipelines.Models;

// A GPT-2 style decoder: learned positions, pre-LayerNorm blocks, causal self-attention through
// TorchSharp's fused scaled_dot_product_attention, and a language-model head tied to the token
// embeddings. Field names follow Hugging Face's GPT-2 checkpoints (transformer.h.N.attn.c_attn ...)
// so that import and export are a name map. Shapes: B batch, T time (tokens), C = Hidden.

/// <summary>Causal multi-head self-attention.</summary>
public sealed class CausalSelfAttention : nn.Module<Tensor, Tensor>
{
    private readonly LoraLinear c_attn; // q, k, v projections in one matrix
    private readonly LoraLinear c_proj;
    private readonly Dropout resid_dropout;
    private readonly int heads;
    private readonly double attentionDropout;

    /// <summary>Builds the layer for <paramref name="config"/>.</summary>
    public CausalSelfAttention(TransformerConfig config) : base(nameof(CausalSelfAttention))
    {
        heads = config.Heads;
        attentionDropout = config.Dropout;
        c_attn = new LoraLinear(config.Hidden, 3 * config.Hidden, config.Bias);
        c_proj = new LoraLinear(config.Hidden, config.Hidden, config.Bias);
        resid_dropout = nn.Dropout(config.Dropout);
        RegisterComponents();
    }

    /// <summary>The output projection, scaled at initialisation because it feeds the residual stream.</summary>
    public LoraLinear OutputProjection => c_proj;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        var (b, t, c) = (x.shape[0], x.shape[1], x.shape[2]);
        var qkv = c_attn.forward(x).split(c, dim: 2);                          // 3 x (B, T, C)
        var q = qkv[0].view(b, t, heads, c / heads).transpose(1, 2);          // (B, H, T, hs)
        var k = qkv[1].view(b, t, heads, c / heads).transpose(1, 2);
        var v = qkv[2].view(b, t, heads, c / heads).transpose(1, 2);
        var y = F.scaled_dot_product_attention(q, k, v, null, training ? attentionDropout : 0.0, is_casual: true);
        y = y.transpose(1, 2).contiguous().view(b, t, c);                     // (B, T, C)
        return resid_dropout.forward(c_proj.forward(y));
    }
}

/// <summary>The position-wise feed-forward network of a block (tanh GELU unless the config says otherwise).</summary>
public sealed class GptMlp : nn.Module<Tensor, Tensor>
{
    private readonly LoraLinear c_fc;
    private readonly LoraLinear c_proj;
    private readonly Dropout dropout;
    private readonly Activation activation;

    /// <summary>Builds the layer for <paramref name="config"/>.</summary>
    public GptMlp(TransformerConfig config) : base(nameof(GptMlp))
    {
        c_fc = new LoraLinear(config.Hidden, config.FeedForward, config.Bias);
        c_proj = new LoraLinear(config.FeedForward, config.Hidden, config.Bias);
        dropout = nn.Dropout(config.Dropout);
        activation = config.Activation;
        RegisterComponents();
    }

    /// <summary>The output projection, scaled at initialisation because it feeds the residual stream.</summary>
    public LoraLinear OutputProjection => c_proj;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) =>
        dropout.forward(c_proj.forward(Activations.Apply(c_fc.forward(x), activation, Activation.GeluTanh)));
}

/// <summary>One pre-LayerNorm decoder block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).</summary>
public sealed class GptBlock : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1;
    private readonly CausalSelfAttention attn;
    private readonly LayerNorm ln_2;
    private readonly GptMlp mlp;

    /// <summary>Builds the block for <paramref name="config"/>.</summary>
    public GptBlock(TransformerConfig config) : base(nameof(GptBlock))
    {
        ln_1 = nn.LayerNorm(config.Hidden, config.LayerNormEpsilon, bias: config.Bias);
        attn = new CausalSelfAttention(config);
        ln_2 = nn.LayerNorm(config.Hidden, config.LayerNormEpsilon, bias: config.Bias);
        mlp = new GptMlp(config);
        RegisterComponents();
    }

    internal IEnumerable<LoraLinear> ResidualProjections => [attn.OutputProjection, mlp.OutputProjection];

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        x = x + attn.forward(ln_1.forward(x));
        return x + mlp.forward(ln_2.forward(x));
    }
}

/// <summary>Embeddings, blocks and final LayerNorm: token ids (B, T) to hidden states (B, T, C).</summary>
public sealed class GptBody : nn.Module<Tensor, Tensor>
{
    private readonly Embedding wte;
    private readonly Embedding wpe;
    private readonly Dropout drop;
    private readonly ModuleList<GptBlock> h;
    private readonly LayerNorm ln_f;
    private readonly int positionOffset;

    /// <summary>Builds the body for <paramref name="config"/>.</summary>
    public GptBody(TransformerConfig config) : base(nameof(GptBody))
    {
        wte = nn.Embedding(config.VocabSize, config.Hidden);
        wpe = nn.Embedding(config.MaxPositions, config.Hidden);
        drop = nn.Dropout(config.Dropout);
        h = nn.ModuleList(Enumerable.Range(0, config.Layers).Select(_ => new GptBlock(config)).ToArray());
        ln_f = nn.LayerNorm(config.Hidden, config.LayerNormEpsilon, bias: config.Bias);
        positionOffset = config.PositionOffset;
        RegisterComponents();
    }

    /// <summary>The token embedding table, shared with the language-model head.</summary>
    public Embedding TokenEmbedding => wte;
    internal IEnumerable<GptBlock> Blocks => h;

    /// <inheritdoc/>
    public override Tensor forward(Tensor ids)
    {
        var t = ids.shape[1];
        var rows = wpe.weight!.shape[0];
        if (t + positionOffset > rows)
            throw new ArgumentException($"Sequence of {t} tokens is longer than the model's {rows - positionOffset} positions.");
        TokenIds.Check(ids, wte.weight!.shape[0], training);
        using var positions = arange(positionOffset, positionOffset + t, dtype: ScalarType.Int64, device: ids.device);
        var x = drop.forward(wte.forward(ids) + wpe.forward(positions));    // (B, T, C)
        foreach (var block in h) x = block.forward(x);
        return ln_f.forward(x);
    }
}

/// <summary>
/// A GPT-2 style causal language model. <c>forward(ids)</c> gives next-token logits (B, T, V);
/// <see cref="Loss"/> gives the mean cross-entropy against targets, ignoring positions whose
/// target is <see cref="IgnoreIndex"/>.
/// </summary>
public sealed class GptLanguageModel : nn.Module<Tensor, Tensor>
{
    /// <summary>Target id that the loss skips (padding, or positions without a next token): the encoder heads' <see cref="Heads.IgnoreIndex"/>.</summary>
    public const long IgnoreIndex = Heads.IgnoreIndex;

    private readonly GptBody transformer;
    private readonly LoraLinear? lm_head; // only without weight tying

    /// <summary>The architecture this model was built with.</summary>
    public TransformerConfig Config { get; }

    /// <summary>Builds and initialises the model; the seed of TorchSharp's generator decides the weights.</summary>
    public GptLanguageModel(TransformerConfig config) : base(nameof(GptLanguageModel))
    {
        Config = config.Validate();
        transformer = new GptBody(config);
        // Weight tying (as GPT-2): the output projection is the input embedding matrix, which
        // saves V x C parameters and makes rare tokens' input and output vectors learn together.
        // It is one parameter used twice (forward below), so moving devices cannot untie it.
        if (!config.TieEmbeddings) lm_head = new LoraLinear(config.Hidden, config.VocabSize, hasBias: false);
        RegisterComponents();
        WeightInit.Normal(this, config.InitRange);
        // Residual projections add into the stream once per sub-layer: scale them by
        // 1/sqrt(2 * layers) so the stream's variance does not grow with depth (GPT-2).
        using var _ = no_grad();
        var residualStd = config.InitRange / Math.Sqrt(2.0 * config.Layers);
        foreach (var block in transformer.Blocks)
            foreach (var projection in block.ResidualProjections)
                nn.init.normal_(projection.Weight, 0, residualStd);
    }

    /// <summary>The embedding and block stack, without the language-model head.</summary>
    public GptBody Body => transformer;

    /// <summary>Next-token logits (B, T, V) for token ids (B, T).</summary>
    public override Tensor forward(Tensor ids) => Head(transformer.forward(ids));

    /// <summary>Next-token logits (B, T, V) from final hidden states (B, T, C) of <see cref="Body"/>.</summary>
    public Tensor Head(Tensor hidden) =>
        lm_head is null ? F.linear(hidden, transformer.TokenEmbedding.weight!) : lm_head.forward(hidden);

    /// <summary>
    /// Mean cross-entropy of <paramref name="logits"/> (B, T, V) against <paramref name="targets"/> (B, T),
    /// computed in float32 whatever the logits' type (bf16's 8 mantissa bits would blur the log-softmax).
    /// </summary>
    public static Tensor Loss(Tensor logits, Tensor targets) =>
        F.cross_entropy(logits.flatten(0, 1).to(ScalarType.Float32), targets.flatten(), ignore_index: IgnoreIndex);
}

using Pipelines.Models.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Pipelines.Models;

// A BERT/RoBERTa style encoder and its task heads, in one file as Hugging Face keeps them.
// Field names follow Hugging Face's BERT checkpoints (bert.encoder.layer.N.attention.self.query,
// cls.predictions.transform.LayerNorm ...) so that import and export are a name map.
// Shapes: B batch, T tokens, C = Hidden, H heads. Attention masks are (B, T) with 1 for real
// tokens and 0 for padding; padded positions never influence real ones.

/// <summary>
/// Token + position + segment embeddings, then LayerNorm and dropout. Positions count from
/// <see cref="TransformerConfig.PositionOffset"/> (0 for BERT, 2 for RoBERTa).
/// </summary>
public sealed class BertEmbeddings : nn.Module<Tensor, Tensor?, Tensor?, Tensor>
{
    private readonly Embedding word_embeddings;
    private readonly Embedding position_embeddings;
    private readonly Embedding? token_type_embeddings;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;
    private readonly int positionOffset;

    /// <summary>Builds the embeddings for <paramref name="config"/>.</summary>
    public BertEmbeddings(TransformerConfig config) : base(nameof(BertEmbeddings))
    {
        word_embeddings = nn.Embedding(config.VocabSize, config.Hidden);
        position_embeddings = nn.Embedding(config.MaxPositions, config.Hidden);
        if (config.TypeVocabSize > 0) token_type_embeddings = nn.Embedding(config.TypeVocabSize, config.Hidden);
        LayerNorm = nn.LayerNorm(config.Hidden, config.LayerNormEpsilon);
        dropout = nn.Dropout(config.Dropout);
        positionOffset = config.PositionOffset;
        RegisterComponents();
    }

    /// <summary>The token embedding table (tied to the masked-LM decoder).</summary>
    public Embedding WordEmbeddings => word_embeddings;

    /// <summary>
    /// Embeds ids (B, T) with optional segment ids (B, T) into (B, T, C). The attention mask (B, T)
    /// matters only with a position offset: then real tokens are numbered offset, offset + 1, ...
    /// counting unmasked tokens only, and padding takes row offset - 1, as RoBERTa numbers them.
    /// </summary>
    public override Tensor forward(Tensor ids, Tensor? segments, Tensor? attentionMask)
    {
        var t = ids.shape[1];
        var rows = position_embeddings.weight!.shape[0];
        if (t + positionOffset > rows)
            throw new ArgumentException($"Sequence of {t} tokens is longer than the model's {rows - positionOffset} positions.");
        TokenIds.Check(ids, word_embeddings.weight!.shape[0], training);
        using var positions = Positions(ids, attentionMask);
        var x = word_embeddings.forward(ids) + position_embeddings.forward(positions);
        if (token_type_embeddings is not null)
            x = segments is null ? x + token_type_embeddings.weight![0] : x + token_type_embeddings.forward(segments);
        return dropout.forward(LayerNorm.forward(x));
    }

    /// <summary>Position ids: (T) offset + 0..T-1, or (B, T) from the mask when there is an offset.</summary>
    private Tensor Positions(Tensor ids, Tensor? attentionMask)
    {
        if (positionOffset == 0 || attentionMask is null)
            return arange(positionOffset, positionOffset + ids.shape[1], dtype: ScalarType.Int64, device: ids.device);
        using var scope = NewDisposeScope();
        var real = attentionMask.to(ScalarType.Int64);                                  // (B, T) 1 real, 0 padding
        return (real.cumsum(1) * real + (positionOffset - 1)).MoveToOuterDisposeScope(); // padding -> offset - 1
    }
}

/// <summary>Multi-head self-attention with a padding mask, through the fused attention kernel.</summary>
public sealed class BertSelfAttention : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly LoraLinear query;
    private readonly LoraLinear key;
    private readonly LoraLinear value;
    private readonly int heads;
    private readonly double attentionDropout;

    /// <summary>Builds the layer for <paramref name="config"/>.</summary>
    public BertSelfAttention(TransformerConfig config) : base(nameof(BertSelfAttention))
    {
        query = new LoraLinear(config.Hidden, config.Hidden, config.Bias);
        key = new LoraLinear(config.Hidden, config.Hidden, config.Bias);
        value = new LoraLinear(config.Hidden, config.Hidden, config.Bias);
        heads = config.Heads;
        attentionDropout = config.Dropout;
        RegisterComponents();
    }

    /// <summary>
    /// Attends over x (B, T, C); <paramref name="keep"/> is a boolean (B, 1, 1, T) mask, true
    /// where a key may be attended to, or null for no padding.
    /// </summary>
    public override Tensor forward(Tensor x, Tensor? keep)
    {
        var (b, t, c) = (x.shape[0], x.shape[1], x.shape[2]);
        Tensor Heads(LoraLinear projection) => projection.forward(x).view(b, t, heads, c / heads).transpose(1, 2); // (B, H, T, hs)
        var y = F.scaled_dot_product_attention(Heads(query), Heads(key), Heads(value), keep,
            training ? attentionDropout : 0.0);
        return y.transpose(1, 2).contiguous().view(b, t, c);                                                       // (B, T, C)
    }
}

/// <summary>
/// A sub-layer's output: dense projection, an optional bottleneck adapter, dropout, and LayerNorm of
/// the residual sum (post-LN).
/// </summary>
public sealed class BertSublayerOutput : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly LoraLinear dense;
    private readonly BottleneckAdapter? adapter;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;
    private readonly bool preLayerNorm;

    /// <summary>Projects from <paramref name="inner"/> features back to the hidden size; <paramref name="withAdapter"/> adds an adapter after the projection.</summary>
    public BertSublayerOutput(TransformerConfig config, int inner, bool withAdapter = false) : base(nameof(BertSublayerOutput))
    {
        dense = new LoraLinear(inner, config.Hidden, config.Bias);
        if (withAdapter && config.AdapterSize > 0) adapter = new BottleneckAdapter(config.Hidden, config.AdapterSize);
        LayerNorm = nn.LayerNorm(config.Hidden, config.LayerNormEpsilon);
        dropout = nn.Dropout(config.Dropout);
        preLayerNorm = config.PreLayerNorm;
        RegisterComponents();
    }

    /// <summary>The sub-layer's own LayerNorm; pre-LN blocks apply it to the sub-layer's input instead.</summary>
    internal LayerNorm Norm => LayerNorm;

    /// <summary>Residual sum: post-LN gives LayerNorm(residual + f), pre-LN gives residual + f.</summary>
    public override Tensor forward(Tensor inner, Tensor residual)
    {
        var projected = dense.forward(inner);
        var y = dropout.forward(adapter is null ? projected : adapter.forward(projected)) + residual;
        return preLayerNorm ? y : LayerNorm.forward(y);
    }
}

/// <summary>Self-attention and its output sub-layer.</summary>
public sealed class BertAttention : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly BertSelfAttention self;
    private readonly BertSublayerOutput output;
    private readonly bool preLayerNorm;

    /// <summary>Builds the block part for <paramref name="config"/>.</summary>
    public BertAttention(TransformerConfig config) : base(nameof(BertAttention))
    {
        self = new BertSelfAttention(config);
        output = new BertSublayerOutput(config, config.Hidden, withAdapter: config.AdapterAfterAttention);
        preLayerNorm = config.PreLayerNorm;
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x, Tensor? keep) =>
        output.forward(self.forward(preLayerNorm ? output.Norm.forward(x) : x, keep), x);
}

/// <summary>One encoder block: attention, then the feed-forward network (intermediate + output).</summary>
public sealed class BertLayer : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly BertAttention attention;
    private readonly BertIntermediate intermediate;
    private readonly BertSublayerOutput output;
    private readonly bool preLayerNorm;

    /// <summary>Builds the block for <paramref name="config"/>.</summary>
    public BertLayer(TransformerConfig config) : base(nameof(BertLayer))
    {
        attention = new BertAttention(config);
        intermediate = new BertIntermediate(config);
        output = new BertSublayerOutput(config, config.FeedForward, withAdapter: true);
        preLayerNorm = config.PreLayerNorm;
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x, Tensor? keep)
    {
        var a = attention.forward(x, keep);
        return output.forward(intermediate.forward(preLayerNorm ? output.Norm.forward(a) : a), a);
    }
}

/// <summary>The feed-forward network's expansion: dense to FeedForward features, then GELU (exact unless the config says otherwise).</summary>
public sealed class BertIntermediate : nn.Module<Tensor, Tensor>
{
    private readonly LoraLinear dense;
    private readonly Activation activation;

    /// <summary>Builds the layer for <paramref name="config"/>.</summary>
    public BertIntermediate(TransformerConfig config) : base(nameof(BertIntermediate))
    {
        dense = new LoraLinear(config.Hidden, config.FeedForward, config.Bias);
        activation = config.Activation;
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => Activations.Apply(dense.forward(x), activation, Activation.Gelu);
}

/// <summary>The stack of encoder blocks (plus a final LayerNorm when blocks are pre-LN).</summary>
public sealed class BertEncoder : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly ModuleList<BertLayer> layer;
    private readonly LayerNorm? final_LayerNorm;

    /// <summary>Builds <see cref="TransformerConfig.Layers"/> blocks.</summary>
    public BertEncoder(TransformerConfig config) : base(nameof(BertEncoder))
    {
        layer = nn.ModuleList(Enumerable.Range(0, config.Layers).Select(_ => new BertLayer(config)).ToArray());
        if (config.PreLayerNorm) final_LayerNorm = nn.LayerNorm(config.Hidden, config.LayerNormEpsilon);
        RegisterComponents();
    }

    /// <summary>Number of blocks.</summary>
    public int Layers => layer.Count;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x, Tensor? keep)
    {
        foreach (var block in layer) x = block.forward(x, keep);
        return final_LayerNorm is null ? x : final_LayerNorm.forward(x);
    }
}

/// <summary>BERT's pooler: tanh(dense(hidden state of the first token)).</summary>
public sealed class BertPooler : nn.Module<Tensor, Tensor>
{
    private readonly LoraLinear dense;

    /// <summary>Builds the pooler for <paramref name="config"/>.</summary>
    public BertPooler(TransformerConfig config) : base(nameof(BertPooler))
    {
        dense = new LoraLinear(config.Hidden, config.Hidden, config.Bias);
        RegisterComponents();
    }

    /// <summary>(B, T, C) to (B, C).</summary>
    public override Tensor forward(Tensor hidden) => dense.forward(hidden[.., 0]).tanh();
}

/// <summary>The encoder: ids, attention mask and segment ids to hidden states (B, T, C).</summary>
public sealed class BertModel : nn.Module
{
    private readonly BertEmbeddings embeddings;
    private readonly BertEncoder encoder;
    private readonly BertPooler? pooler;

    /// <summary>The architecture.</summary>
    public TransformerConfig Config { get; }

    /// <summary>Builds the encoder; <paramref name="addPooler"/> adds BERT's first-token pooler.</summary>
    public BertModel(TransformerConfig config, bool addPooler = false) : base(nameof(BertModel))
    {
        Config = config.Validate();
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoder(config);
        if (addPooler) pooler = new BertPooler(config);
        RegisterComponents();
    }

    /// <summary>The token embedding table.</summary>
    public Embedding WordEmbeddings => embeddings.WordEmbeddings;

    /// <summary>The first-token pooler, if the model has one.</summary>
    public BertPooler? Pooler => pooler;

    /// <summary>The embeddings, for a model that shares them (ELECTRA's generator).</summary>
    internal BertEmbeddings Embeddings => embeddings;

    /// <summary>Hidden states (B, T, C) of ids (B, T); mask and segments are (B, T) or null.</summary>
    public Tensor Forward(Tensor ids, Tensor? attentionMask = null, Tensor? segments = null)
    {
        using var keep = attentionMask is null ? null : KeyMask(attentionMask);
        return encoder.forward(embeddings.forward(ids, segments, attentionMask), keep);
    }

    /// <summary>The (B, 1, 1, T) boolean mask, true where a key is a real token.</summary>
    public static Tensor KeyMask(Tensor attentionMask) =>
        attentionMask.to(ScalarType.Bool).view(attentionMask.shape[0], 1, 1, attentionMask.shape[1]);
}

/// <summary>Shared pooling code for heads that need one vector per sequence.</summary>
public static class SequencePooling
{
    /// <summary>Mean of hidden (B, T, C) over positions where mask (B, T) is 1; gives (B, C).</summary>
    public static Tensor MaskedMean(Tensor hidden, Tensor? attentionMask)
    {
        if (attentionMask is null) return hidden.mean([1]);
        var weights = attentionMask.to(hidden.dtype).unsqueeze(-1);                 // (B, T, 1)
        return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0);
    }
}

using Pipelines.Models.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Pipelines.Models;

// Task heads on the BERT encoder (Bert.cs), named as in Hugging Face's checkpoints:
// BertForPreTraining (masked-LM, optionally with a sentence-pair head), BertForSequenceClassification
// and BertForTokenClassification. Labels equal to IgnoreIndex are skipped by every loss.

/// <summary>Constants shared by the heads.</summary>
public static class Heads
{
    /// <summary>Label value that losses skip (unmasked positions, padding, non-first word pieces).</summary>
    public const long IgnoreIndex = -100;
}

/// <summary>dense + GELU (the config's activation) + LayerNorm applied before the masked-LM decoder.</summary>
public sealed class BertPredictionHeadTransform : nn.Module<Tensor, Tensor>
{
    private readonly LoraLinear dense;
    private readonly LayerNorm LayerNorm;
    private readonly Activation activation;

    /// <summary>Builds the transform for <paramref name="config"/>.</summary>
    public BertPredictionHeadTransform(TransformerConfig config) : base(nameof(BertPredictionHeadTransform))
    {
        dense = new LoraLinear(config.Hidden, config.Hidden, config.Bias);
        LayerNorm = nn.LayerNorm(config.Hidden, config.LayerNormEpsilon);
        activation = config.Activation;
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => LayerNorm.forward(Activations.Apply(dense.forward(x), activation, Activation.Gelu));
}

/// <summary>
/// The masked-LM prediction head. Its decoder is the token embedding matrix itself (weight tying
/// as in BERT): logits = transform(h) E^T + bias, so there is no separate decoder parameter.
/// </summary>
public sealed class BertLmPredictionHead : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly BertPredictionHeadTransform transform;
    private readonly Parameter bias;

    /// <summary>Builds the head for <paramref name="config"/>.</summary>
    public BertLmPredictionHead(TransformerConfig config) : base(nameof(BertLmPredictionHead))
    {
        transform = new BertPredictionHeadTransform(config);
        bias = new Parameter(zeros(config.VocabSize));
        RegisterComponents();
    }

    /// <summary>Vocabulary logits (..., V) of hidden states (..., C), decoded by <paramref name="embeddings"/> (V, C).</summary>
    public override Tensor forward(Tensor hidden, Tensor embeddings) => F.linear(transform.forward(hidden), embeddings, bias);
}

/// <summary>The pretraining heads: masked-LM predictions and, optionally, a two-way sentence-pair classifier.</summary>
public sealed class BertPreTrainingHeads : nn.Module
{
    private readonly BertLmPredictionHead predictions;
    private readonly LoraLinear? seq_relationship;

    /// <summary>Builds the heads; <paramref name="sentencePair"/> adds the NSP/SOP classifier.</summary>
    public BertPreTrainingHeads(TransformerConfig config, bool sentencePair) : base(nameof(BertPreTrainingHeads))
    {
        predictions = new BertLmPredictionHead(config);
        if (sentencePair) seq_relationship = new LoraLinear(config.Hidden, 2, true);
        RegisterComponents();
    }

    internal BertLmPredictionHead Predictions => predictions;
    internal LoraLinear? SentencePair => seq_relationship;
}

/// <summary>Outputs of <see cref="BertForPreTraining"/>.</summary>
/// <param name="TokenLogits">(B, T, V) masked-LM logits.</param>
/// <param name="PairLogits">(B, 2) sentence-pair logits, or null without that head.</param>
public sealed record PreTrainingOutput(Tensor TokenLogits, Tensor? PairLogits);

/// <summary>
/// BERT pretraining model: masked-LM, plus next-sentence or sentence-order prediction when built
/// with <c>sentencePair: true</c>.
/// </summary>
public sealed class BertForPreTraining : nn.Module
{
    private readonly BertModel bert;
    private readonly BertPreTrainingHeads cls;

    /// <summary>
    /// Builds and initialises the model; TorchSharp's seed decides the weights. The encoder gets
    /// BERT's pooler when the sentence-pair head needs it or <paramref name="addPooler"/> asks for it
    /// (to carry a checkpoint's pooler on to a classifier).
    /// </summary>
    public BertForPreTraining(TransformerConfig config, bool sentencePair = false, bool addPooler = false) : base(nameof(BertForPreTraining))
    {
        bert = new BertModel(config, addPooler: sentencePair || addPooler);
        cls = new BertPreTrainingHeads(config, sentencePair);
        RegisterComponents();
        WeightInit.Normal(this, config.InitRange);
    }

    /// <summary>The encoder, to share with fine-tuning models.</summary>
    public BertModel Bert => bert;
    /// <summary>The architecture.</summary>
    public TransformerConfig Config => bert.Config;
    /// <summary>True when the model has the sentence-pair (NSP/SOP) head.</summary>
    public bool HasSentencePairHead => cls.SentencePair is not null;
    /// <summary>The masked-LM head (its decoder is <see cref="BertModel.WordEmbeddings"/>).</summary>
    public BertLmPredictionHead LmHead => cls.Predictions;

    /// <summary>Masked-LM (and sentence-pair) logits for a batch.</summary>
    public PreTrainingOutput Forward(Tensor ids, Tensor? attentionMask = null, Tensor? segments = null)
    {
        var hidden = bert.Forward(ids, attentionMask, segments);                              // (B, T, C)
        var tokens = cls.Predictions.forward(hidden, bert.WordEmbeddings.weight!);            // (B, T, V)
        var pair = cls.SentencePair is null ? null : cls.SentencePair.forward(bert.Pooler!.forward(hidden));
        return new PreTrainingOutput(tokens, pair);
    }

    /// <summary>
    /// Masked-LM logits at the predicted positions only: (N, V) for the N positions whose label is
    /// not <see cref="Heads.IgnoreIndex"/>, with those labels (N). About 15 % of positions are
    /// predicted, so this skips most of the V-wide output projection, the costliest matrix product
    /// of a small model with a large vocabulary. <paramref name="positions"/>, when given, are those
    /// positions' flat indices into (B x T) in row order, made on the host: finding them on the device
    /// (a boolean index) makes the host wait for it.
    /// </summary>
    public (Tensor Logits, Tensor Labels) PredictMasked(Tensor ids, Tensor labels, Tensor? attentionMask = null, Tensor? segments = null,
        Tensor? positions = null) =>
        AtMaskedPositions(bert.Forward(ids, attentionMask, segments), labels, positions);

    /// <summary>
    /// As <see cref="PredictMasked"/>, plus the sentence-pair logits (B, 2) from the same encoder pass.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model was built without the sentence-pair head.</exception>
    public (Tensor Logits, Tensor Labels, Tensor PairLogits) PredictMaskedAndPair(Tensor ids, Tensor labels, Tensor? attentionMask, Tensor segments,
        Tensor? positions = null)
    {
        var head = cls.SentencePair ?? throw new InvalidOperationException("This model has no sentence-pair head: build it with sentencePair: true.");
        var hidden = bert.Forward(ids, attentionMask, segments);                              // (B, T, C)
        var (logits, targets) = AtMaskedPositions(hidden, labels, positions);
        return (logits, targets, head.forward(bert.Pooler!.forward(hidden)));
    }

    // The output projection at the positions with a label only: (N, V) and those labels (N).
    private (Tensor Logits, Tensor Labels) AtMaskedPositions(Tensor hidden, Tensor labels, Tensor? positions)
    {
        if (positions is not null)
            return (cls.Predictions.forward(hidden.flatten(0, 1).index_select(0, positions), bert.WordEmbeddings.weight!),
                    labels.flatten().index_select(0, positions));
        var selected = labels.ne(Heads.IgnoreIndex);                                          // (B, T)
        return (cls.Predictions.forward(hidden[selected], bert.WordEmbeddings.weight!), labels[selected]);
    }

    /// <summary>Mean cross-entropy over the positions whose label is not <see cref="Heads.IgnoreIndex"/>.</summary>
    public static Tensor MaskedLmLoss(Tensor tokenLogits, Tensor labels) =>
        F.cross_entropy(tokenLogits.flatten(0, 1), labels.flatten(), ignore_index: Heads.IgnoreIndex);
}

/// <summary>
/// Sequence classification: pooled encoder output, dropout, linear classifier. With one label it is
/// a regressor (as Hugging Face's <c>num_labels = 1</c>): the single output is the predicted value.
/// </summary>
public sealed class BertForSequenceClassification : nn.Module, ISequenceClassifier
{
    private readonly BertModel bert;
    private readonly Dropout dropout;
    private readonly LoraLinear classifier;
    private readonly Pooling pooling;

    /// <summary>Builds and initialises a classifier over <paramref name="labels"/> classes (1: a regressor).</summary>
    public BertForSequenceClassification(TransformerConfig config, int labels, Pooling pooling = Pooling.FirstToken)
        : base(nameof(BertForSequenceClassification))
    {
        if (labels < 1) throw new ArgumentOutOfRangeException(nameof(labels), labels, "A classifier needs at least two classes (one output: a regressor).");
        bert = new BertModel(config, addPooler: pooling == Pooling.FirstToken);
        dropout = nn.Dropout(config.Dropout);
        classifier = new LoraLinear(config.Hidden, labels, true);
        this.pooling = pooling;
        RegisterComponents();
        WeightInit.Normal(this, config.InitRange);
    }

    /// <summary>The encoder.</summary>
    public BertModel Bert => bert;
    /// <summary>Number of classes.</summary>
    public long Labels => classifier.Weight.shape[0];
    /// <summary>How hidden states become the one vector the classifier reads.</summary>
    public Pooling Pooling => pooling;

    /// <summary>Class logits (B, Labels); a regressor's values (B, 1).</summary>
    public Tensor Forward(Tensor ids, Tensor? attentionMask = null, Tensor? segments = null)
    {
        var hidden = bert.Forward(ids, attentionMask, segments);
        var pooled = pooling == Pooling.FirstToken ? bert.Pooler!.forward(hidden) : SequencePooling.MaskedMean(hidden, attentionMask);
        return classifier.forward(dropout.forward(pooled));
    }

    /// <summary>
    /// Folds <c>output x scale + shift</c> into the classifier's weights, so that a regressor trained
    /// on standardised targets outputs values on the label's own scale with no extra step at scoring
    /// (or in an exported graph).
    /// </summary>
    public void RescaleOutput(double scale, double shift)
    {
        using var _ = no_grad();
        classifier.Weight.mul_(scale);
        classifier.Bias!.mul_(scale).add_(shift);
    }
}

/// <summary>
/// Token classification (e.g. NER): a linear classifier on every token's hidden state, optionally
/// followed by a CRF over the words' scores (BERT-CRF).
/// </summary>
public sealed class BertForTokenClassification : nn.Module
{
    private readonly BertModel bert;
    private readonly Dropout dropout;
    private readonly LoraLinear classifier;
    private readonly ConditionalRandomField? crf;

    /// <summary>Builds and initialises a tagger over <paramref name="labels"/> tags, with <paramref name="crf"/> over them if given.</summary>
    public BertForTokenClassification(TransformerConfig config, int labels, ConditionalRandomField? crf = null) : base(nameof(BertForTokenClassification))
    {
        if (labels < 2) throw new ArgumentOutOfRangeException(nameof(labels), labels, "A tagger needs at least two tags.");
        if (crf is not null && crf.Tags != labels) throw new ArgumentException($"The CRF has {crf.Tags} tags, the tagger {labels}.", nameof(crf));
        bert = new BertModel(config);
        dropout = nn.Dropout(config.Dropout);
        classifier = new LoraLinear(config.Hidden, labels, true);
        this.crf = crf;
        RegisterComponents();
        WeightInit.Normal(this, config.InitRange);
    }

    /// <summary>The encoder.</summary>
    public BertModel Bert => bert;
    /// <summary>The CRF over the words' tag scores, or null for independent softmax tags.</summary>
    public ConditionalRandomField? Crf => crf;
    /// <summary>Number of tags.</summary>
    public long Labels => classifier.Weight.shape[0];

    /// <summary>Tag logits (B, T, Labels).</summary>
    public Tensor Forward(Tensor ids, Tensor? attentionMask = null, Tensor? segments = null) =>
        classifier.forward(dropout.forward(bert.Forward(ids, attentionMask, segments)));

    /// <summary>Mean cross-entropy over tokens whose label is not <see cref="Heads.IgnoreIndex"/>.</summary>
    public static Tensor Loss(Tensor logits, Tensor labels, Tensor? classWeights = null) =>
        F.cross_entropy(logits.flatten(0, 1), labels.flatten(), classWeights, ignore_index: Heads.IgnoreIndex);
}

/// <summary>
/// Extractive question answering (BERT's SQuAD head): a linear layer on every token's hidden state
/// gives a start and an end logit; the answer is the span between the best start and end.
/// </summary>
public sealed class BertForQuestionAnswering : nn.Module
{
    private readonly BertModel bert;
    private readonly LoraLinear qa_outputs;

    /// <summary>Builds and initialises the model.</summary>
    public BertForQuestionAnswering(TransformerConfig config) : base(nameof(BertForQuestionAnswering))
    {
        bert = new BertModel(config);
        qa_outputs = new LoraLinear(config.Hidden, 2, true);
        RegisterComponents();
        WeightInit.Normal(this, config.InitRange);
    }

    /// <summary>The encoder.</summary>
    public BertModel Bert => bert;

    /// <summary>Start and end logits (B, T) each; padding positions (mask 0) get a large negative logit.</summary>
    public (Tensor Start, Tensor End) Forward(Tensor ids, Tensor? attentionMask = null, Tensor? segments = null)
    {
        var logits = qa_outputs.forward(bert.Forward(ids, attentionMask, segments));     // (B, T, 2)
        if (attentionMask is not null) logits = logits.masked_fill(attentionMask.eq(0).unsqueeze(-1), -1e4);
        return (logits[.., .., 0], logits[.., .., 1]);
    }

    /// <summary>Mean of the start and end cross-entropies against the true positions (B) each.</summary>
    public static Tensor Loss(Tensor start, Tensor end, Tensor startPositions, Tensor endPositions) =>
        (F.cross_entropy(start, startPositions) + F.cross_entropy(end, endPositions)) / 2;
}

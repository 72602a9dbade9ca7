using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines.Models;
using Pipelines.Models.Lora;
using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines;

/// <summary>
/// The steps every fine-tuning trainer takes in the same way: resolve the starting encoder, build
/// the config, copy the pretrained weights, apply the strategy, split off validation rows, and
/// run the training loop with the right optimizer.
/// </summary>
internal static class FineTuningRun
{
    /// <summary>
    /// Before data: the token column must be a vector of Int32 whose tokenizer is known (the column's
    /// annotation, the options, or a pretrained start).
    /// </summary>
    public static void CheckTokens(SchemaShape schema, FineTuningOptions options) =>
        TokenColumn.Check(schema, options.TokenColumnName, options.Tokenizer is not null || options.Base != EncoderSource.None, nameof(FineTuningOptions));

    /// <summary>A multiclass classifier has no AUC to select by: refused before data.</summary>
    public static void CheckClassifierBestBy(FineTuningOptions options, bool binary)
    {
        if (!binary && options.BestBy == BestBy.Auc)
            throw new ArgumentException("BestBy.Auc: AUC is a binary classifier's measure; a multiclass classifier selects by BestBy.F1 (macro), Accuracy or Loss.", nameof(options.BestBy));
    }

    /// <summary>
    /// The pretrained encoder (null from scratch), the token column (tokenizer, maximum length,
    /// tokenization of raw validation text) and the model config. A pretrained start's tokenizer must
    /// be the one that wrote the token column.
    /// </summary>
    public static (MaskedLanguageModelTransformer? Pretrained, TokenColumn Tokens, TransformerConfig Config) Start(FineTuningOptions options, DataViewSchema schema)
    {
        var pretrained = options.Base.Resolve();
        var tokens = TokenColumn.Resolve(schema, options.TokenColumnName, options.Tokenizer, pretrained?.Tokenizer, "pretrained model",
            options.MaxLength, nameof(FineTuningOptions));
        return (pretrained, tokens, Config(options, pretrained, tokens.Tokenizer, tokens.MaxLength));
    }

    /// <summary>
    /// The pretrained model's architecture, or a BERT of the options' shape for <paramref name="maxLength"/>
    /// tokens; the options' dropout and, with <see cref="FineTuneStrategy.Adapters"/>, bottleneck adapters either way.
    /// </summary>
    public static TransformerConfig Config(FineTuningOptions options, MaskedLanguageModelTransformer? pretrained, TextTokenizer tokenizer, int maxLength) =>
        (pretrained?.Config ?? TransformerConfig.Bert(tokenizer.VocabSize, options.Layers, options.Hidden, ModelShape.Heads(options.Hidden, options.Heads), maxLength)) with
        {
            Dropout = options.Dropout,
            AdapterSize = options.Strategy == FineTuneStrategy.Adapters ? options.AdapterSize : 0,
            AdapterAfterAttention = options.AdapterAfterAttention,
        };

    /// <summary>Copies the pretrained encoder's weights into <paramref name="encoder"/> and logs what stays random.</summary>
    public static void CopyEncoder(MaskedLanguageModelTransformer? pretrained, BertModel encoder, IChannel channel)
    {
        if (pretrained is null) return;
        var fresh = WeightTransfer.CopyMatching(pretrained.Model.Bert, encoder);
        if (fresh.Count > 0) channel.Info($"Not in the pretrained model, initialised at random: {string.Join(", ", fresh)}.");
    }

    /// <summary>
    /// Freezes weights or attaches LoRA adapters as the strategy says (bottleneck adapters are already in
    /// the model, from <see cref="Config"/>); the head (the module named <paramref name="head"/>, and a tagger's CRF) always trains.
    /// </summary>
    public static void ApplyStrategy(nn.Module model, FineTuningOptions options, IChannel channel, string head = "classifier")
    {
        switch (options.Strategy)
        {
            case FineTuneStrategy.FreezeEmbeddings:
                Freezing.FreezeEmbeddings(model);
                break;
            case FineTuneStrategy.FreezeBottomLayers:
                var blocks = model.named_parameters().Select(p => Freezing.BlockIndex(p.name)).OfType<int>().DefaultIfEmpty(-1).Max() + 1;
                OptionChecks.Require(options.FrozenLayers <= blocks, nameof(options.FrozenLayers), options.FrozenLayers,
                    $"must not exceed the model's {blocks} blocks (HeadOnly trains the head alone)");
                Freezing.FreezeEmbeddings(model);
                Freezing.FreezeBottomLayers(model, options.FrozenLayers);
                break;
            case FineTuneStrategy.HeadOnly:
                Freezing.FreezeAllBut(model, head, "bert.pooler", "crf.");
                break;
            case FineTuneStrategy.LoRA:
                var adapted = Adapters.Attach(model, new LoraOptions
                {
                    Rank = options.LoraRank, Alpha = options.LoraAlpha, Dropout = options.LoraDropout, Targets = options.LoraTargets,
                }, head, "bert.pooler", "crf.");
                channel.Info($"LoRA adapters on {adapted.Count} layers.");
                break;
            case FineTuneStrategy.Adapters:
                Freezing.FreezeAllButAdapters(model, head, "bert.pooler", "crf.");
                break;
        }
        channel.Info($"Trainable parameters: {Freezing.TrainableParameters(model):N0} of {Freezing.TotalParameters(model):N0} ({options.Strategy}).");
    }

    /// <summary>
    /// The joint masked-LM objective of <paramref name="weight"/> with the pretrained model's head and
    /// BERT's masking (15 % of tokens, 80/10/10), or null when the weight is 0.
    /// </summary>
    /// <exception cref="ArgumentException">The weight is above 0 but there is no pretrained model, or its tokenizer has no mask token.</exception>
    public static JointMaskedLm? JointObjective(MaskedLanguageModelTransformer? pretrained, TextTokenizer tokenizer, TransformerConfig config,
        double weight, Device device, IChannel channel)
    {
        if (weight == 0) return null;
        if (pretrained is null) throw new ArgumentException("MaskedLmWeight needs a pretrained masked-LM: its head scores the masked tokens.");
        if (tokenizer.MaskId is null) throw new ArgumentException("MaskedLmWeight masks tokens, but the tokenizer has no mask token.");
        var masker = new MlmMasker(tokenizer, new MaskingOptions());
        channel.Info($"Joint objective: classification loss + {weight:G3} x masked-LM loss ({masker.Options.MaskProbability:P0} of tokens, pretrained head frozen).");
        return new JointMaskedLm(pretrained.Model.LmHead, config, (ids, words, random) => masker.Mask(ids, random, words), weight, device);
    }

    /// <summary>
    /// The options' maximum length, cut to the positions the model can use (a checkpoint may have fewer,
    /// RoBERTa's offset included), with a log line when it is cut.
    /// </summary>
    public static int MaxLength(TokenColumn tokens, TransformerConfig config, IChannel channel)
    {
        var maxLength = Math.Min(tokens.MaxLength, config.MaxSequenceLength);
        if (maxLength < tokens.MaxLength)
            channel.Info($"The model has {config.MaxSequenceLength} positions: rows are cut to {maxLength} tokens (MaxLength {tokens.MaxLength}).");
        return maxLength;
    }

    /// <summary>Fewest held-out rows worth validating on: fewer measure noise, and cost scarce training rows.</summary>
    public const int MinimumValidationRows = 10;

    /// <summary>
    /// A seeded random <paramref name="fraction"/> of <paramref name="labelled"/> held out for
    /// validation; none, with a log line, when that would be fewer than <see cref="MinimumValidationRows"/> rows.
    /// </summary>
    public static (List<T> Train, List<T> Validation) Split<T>(List<T> labelled, double fraction, int seed, IChannel channel)
    {
        var count = (int)(labelled.Count * fraction);
        if (fraction > 0 && count < MinimumValidationRows)
            channel.Warning($"ValidationFraction {fraction} of {labelled.Count} labelled rows holds out {count} (fewer than {MinimumValidationRows}): " +
                            "training on every row without validation, and keeping the last epoch. Set ValidationSet to validate anyway.");
        if (count < MinimumValidationRows || labelled.Count - count < 2) return (labelled, []);
        var order = Enumerable.Range(0, labelled.Count).ToArray();
        new Random(seed).Shuffle(order);
        return (order.Skip(count).Select(i => labelled[i]).ToList(), order.Take(count).Select(i => labelled[i]).ToList());
    }

    /// <summary>Inverse-frequency weights of <paramref name="classes"/> classes from their counts (0 for a class never seen).</summary>
    public static float[] InverseFrequency(IEnumerable<int> labels, int classes)
    {
        var counts = new double[classes];
        var total = 0;
        foreach (var label in labels) { counts[label]++; total++; }
        return counts.Select(c => c == 0 ? 0f : (float)(total / (classes * c))).ToArray();
    }

    /// <summary>
    /// Trains <paramref name="task"/> for the options' epochs (or MaxSteps), validating once per epoch
    /// unless EvaluateEvery says otherwise, with AdamW (layer-wise decay when asked).
    /// </summary>
    public static TrainingResult Train(ITrainingTask task, int batchesPerEpoch, int layers, FineTuningOptions options, int seed, IChannel channel,
        bool continueRunLog = false)
    {
        var model = task.Model;
        var epochs = options.Epochs(batchesPerEpoch);
        var steps = epochs > 0 ? epochs * batchesPerEpoch : options.MaxSteps;
        if (epochs > 0) channel.Info($"Fine-tuning for up to {epochs} epochs of {batchesPerEpoch} batches ({steps} steps){(options.MaxEpoch is null ? ", chosen from the number of rows" : "")}, learning rate {options.LearningRate:G3}.");
        var evaluateEvery = options.EvaluateEvery > 0 ? options.EvaluateEvery : batchesPerEpoch;
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = options.LayerDecay < 1
            ? Optimizers.AdamWWithLayerDecay(model, layers, options.LearningRate, options.LayerDecay, options.WeightDecay, options.Beta1, options.Beta2)
            : Optimizers.AdamW(parameters, options.LearningRate, options.WeightDecay, options.Beta1, options.Beta2);
        var loop = options.ToLoopOptions(seed, channel, steps, continueRunLog) with { EvaluateEvery = evaluateEvery };
        // Resuming checks the checkpoint against this: every parameter's name and shape (encoder, head, adapters).
        var architecture = string.Join(";", model.named_parameters().Select(p => $"{p.name}:{string.Join('x', p.parameter.shape)}:{p.parameter.requires_grad}"));
        var result = TrainingLoop.Run(task, optimizer, parameters, loop, configJson: architecture);
        channel.Info($"Fine-tuning ended after {result.Steps} steps ({result.Reason}) in {result.Elapsed:hh\\:mm\\:ss}" +
                     (result.Best is null ? "" : $"; best {result.Best}"));
        return result;
    }
}

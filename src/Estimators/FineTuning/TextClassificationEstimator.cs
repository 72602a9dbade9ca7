using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines.Estimators.Data;
using Pipelines.Estimators.Pretraining;
using Pipelines.Estimators.Training;
using Pipelines.Models;
using Pipelines.Models.Lora;
using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Estimators.FineTuning;

/// <summary>
/// Fine-tunes a BERT style encoder with a classification head on labelled token sequences:
/// binary (Score, Probability, PredictedLabel: Boolean) or multiclass (Score: probabilities,
/// PredictedLabel: Key), so ML.NET's evaluators, CrossValidate and PredictionEngine work unchanged.
/// Rows without a label are not trained on (they can be pseudo-labelled by self-training), so the
/// same data view can feed pretraining and fine-tuning in one chain.
/// </summary>
public sealed class TextClassificationEstimator : IEstimator<TextClassificationTransformer>
{
    private readonly IHost _host;
    private readonly TextClassifierOptions _options;
    private readonly bool _binary;

    internal TextClassificationEstimator(IHostEnvironment env, TextClassifierOptions options, bool binary)
    {
        _host = env.Register(nameof(TextClassificationEstimator));
        (_options, _binary) = (options, binary);
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        TokenSequences.CheckColumn(inputSchema, _options.TokenColumnName);
        if (_options.SegmentColumnName is not null) TokenSequences.CheckColumn(inputSchema, _options.SegmentColumnName);
        if (!inputSchema.TryFindColumn(_options.LabelColumnName, out var label))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Could not find label column '{_options.LabelColumnName}'");
        var ok = _binary
            ? label.Kind == SchemaShape.Column.VectorKind.Scalar && (label.ItemType == BooleanDataViewType.Instance || label.ItemType == NumberDataViewType.Single)
            : label.Kind == SchemaShape.Column.VectorKind.Scalar && label.IsKey;
        if (!ok)
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"Schema mismatch for label column '{_options.LabelColumnName}': expected {(_binary ? "Boolean or Single" : "Key (use MapValueToKey)")}, got {label.ItemType}");
        var columns = inputSchema.ToDictionary(c => c.Name);
        foreach (var column in TextClassificationTransformer.OutputShape(_binary, label))
            columns[column.Name] = column;
        return new SchemaShape(columns.Values);
    }

    /// <inheritdoc/>
    public TextClassificationTransformer Fit(IDataView input)
    {
        _options.Validate();
        var seed = _options.Seed ?? _host.Rand.Next();
        using var channel = _host.Start("Text classifier fine-tuning");
        var rows = ClassificationRows.Read(input, _options.TokenColumnName, _options.SegmentColumnName, _options.LabelColumnName, _binary, _options.MaxLength);
        if (rows.TooShort > 0) channel.Warning($"Skipped {rows.TooShort} rows with no tokens.");
        if (rows.Truncated > 0) channel.Info($"{rows.Truncated} rows are longer than {_options.MaxLength} tokens and were truncated.");
        if (rows.Labelled.Count == 0)
            throw new InvalidOperationException($"No row has a label in column '{_options.LabelColumnName}': nothing to fine-tune on.");
        var seen = rows.Labelled.Select(r => r.Label).Distinct().Count();
        if (seen < 2)
            throw new InvalidOperationException($"Every labelled row has the same class ('{rows.ClassNames[rows.Labelled[0].Label]}'); a classifier needs at least two.");
        channel.Info($"{rows.Labelled.Count:N0} labelled rows ({seen} of {rows.Classes} classes seen), {rows.Unlabelled.Count:N0} unlabelled.");

        var pretrained = _options.Base.Resolve();
        var tokenizer = pretrained?.Tokenizer ?? _options.Tokenizer
            ?? throw new ArgumentException($"Set {nameof(TextClassifierOptions.Tokenizer)} when training from scratch (no {nameof(TextClassifierOptions.Base)}).");
        var device = DeviceSelection.Select(_host, _options.Device, "Text classifier fine-tuning");
        Seeding.Set(seed);
        var config = (pretrained?.Config ?? new TransformerConfig
        {
            VocabSize = tokenizer.VocabSize, Layers = _options.Layers, Hidden = _options.Hidden, Heads = _options.Heads,
            FeedForward = 4 * _options.Hidden, MaxPositions = Math.Max(_options.MaxLength, 8),
        }) with { Dropout = _options.Dropout };
        var model = new BertForSequenceClassification(config, rows.Classes, _options.Pooling);
        if (pretrained is not null)
        {
            var fresh = WeightTransfer.CopyMatching(pretrained.Model.Bert, model.Bert);
            if (fresh.Count > 0) channel.Info($"Not in the pretrained model, initialised at random: {string.Join(", ", fresh)}.");
        }
        model.to(device);
        ApplyStrategy(model, channel);
        channel.Info($"Trainable parameters: {Freezing.TrainableParameters(model):N0} of {Freezing.TotalParameters(model):N0} ({_options.Strategy}).");

        var (train, validation) = Split(rows.Labelled, seed);
        var weights = _options.BalanceClasses ? ClassWeights(train, rows.Classes) : null;
        var maxLength = Math.Min(_options.MaxLength, config.MaxPositions);
        var result = Train(model, train, validation, weights, tokenizer.PadId, maxLength, seed, channel);
        for (var round = 1; round <= _options.SelfTrainingRounds && rows.Unlabelled.Count > 0; round++)
        {
            var pseudo = PseudoLabel(model, rows.Unlabelled, tokenizer.PadId, maxLength);
            channel.Info($"Self-training round {round}: {pseudo.Count:N0} of {rows.Unlabelled.Count:N0} unlabelled rows pseudo-labelled at probability >= {_options.PseudoLabelThreshold}.");
            if (pseudo.Count == 0) break;
            result = Train(model, [.. train, .. pseudo], validation, weights, tokenizer.PadId, maxLength, seed + round, channel);
        }
        Adapters.Merge(model);
        model.eval();
        return new TextClassificationTransformer(_host, _binary, _options.TokenColumnName, _options.SegmentColumnName,
            rows.ClassNames, tokenizer.PadId, maxLength, _options.Pooling, model, result);
    }

    private TrainingResult Train(BertForSequenceClassification model, List<LabelledSequence> train, List<LabelledSequence> validation,
        float[]? weights, int padId, int maxLength, int seed, IChannel channel)
    {
        using var task = new SequenceClassificationTask(model, train, validation, padId, maxLength, _options.BatchSize, seed, weights, _options.L2SP);
        var steps = _options.Epochs > 0 ? _options.Epochs * task.BatchesPerEpoch : _options.MaxSteps;
        var evaluateEvery = _options.EvaluateEvery > 0 ? _options.EvaluateEvery : task.BatchesPerEpoch; // once per epoch
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = _options.LayerDecay < 1
            ? Optimizers.AdamWWithLayerDecay(model, model.Bert.Config.Layers, _options.LearningRate, _options.LayerDecay, _options.WeightDecay, _options.Beta1, _options.Beta2)
            : Optimizers.AdamW(parameters, _options.LearningRate, _options.WeightDecay, _options.Beta1, _options.Beta2);
        var progress = new ProgressLog(channel, _options.Progress, _options.LogEvery);
        var loop = _options.ToLoopOptions(seed, progress, steps) with { EvaluateEvery = evaluateEvery };
        var result = TrainingLoop.Run(task, optimizer, parameters, loop);
        channel.Info($"Fine-tuning ended after {result.Steps} steps ({result.Reason}) in {result.Elapsed:hh\\:mm\\:ss}" +
                     (result.Best is null ? "" : $"; best {result.Best}"));
        return result;
    }

    private void ApplyStrategy(BertForSequenceClassification model, IChannel channel)
    {
        switch (_options.Strategy)
        {
            case FineTuneStrategy.FreezeEmbeddings:
                Freezing.FreezeEmbeddings(model);
                break;
            case FineTuneStrategy.FreezeBottomLayers:
                Freezing.FreezeEmbeddings(model);
                Freezing.FreezeBottomLayers(model, _options.FrozenLayers);
                break;
            case FineTuneStrategy.HeadOnly:
                Freezing.FreezeAllBut(model, "classifier", "bert.pooler");
                break;
            case FineTuneStrategy.LoRA:
                var adapted = Adapters.Attach(model, new LoraOptions
                {
                    Rank = _options.LoraRank, Alpha = _options.LoraAlpha, Dropout = _options.LoraDropout, Targets = _options.LoraTargets,
                }, "classifier", "bert.pooler");
                channel.Info($"LoRA adapters on {adapted.Count} layers.");
                break;
        }
    }

    // A seeded random fraction of the labelled rows, or the separate validation data.
    private (List<LabelledSequence> Train, List<LabelledSequence> Validation) Split(List<LabelledSequence> labelled, int seed)
    {
        if (_options.ValidationData is not null)
            return (labelled, ClassificationRows.Read(_options.ValidationData, _options.TokenColumnName, _options.SegmentColumnName,
                _options.LabelColumnName, _binary, _options.MaxLength).Labelled);
        var count = (int)(labelled.Count * _options.ValidationFraction);
        if (count == 0 || labelled.Count - count < 2) return (labelled, []);
        var order = Enumerable.Range(0, labelled.Count).ToArray();
        new Random(seed).Shuffle(order);
        return (order.Skip(count).Select(i => labelled[i]).ToList(), order.Take(count).Select(i => labelled[i]).ToList());
    }

    private static float[] ClassWeights(List<LabelledSequence> train, int classes)
    {
        var counts = new double[classes];
        foreach (var row in train) counts[row.Label]++;
        return counts.Select(c => c == 0 ? 0f : (float)(train.Count / (classes * c))).ToArray();
    }

    private List<LabelledSequence> PseudoLabel(BertForSequenceClassification model, List<LabelledSequence> unlabelled, int padId, int maxLength)
    {
        var device = model.parameters().First().device;
        var confident = new List<LabelledSequence>();
        using var _ = no_grad();
        model.eval();
        foreach (var chunk in unlabelled.Chunk(64))
        {
            using var scope = NewDisposeScope();
            var (ids, mask) = Batching.Pad(chunk.Select(r => r.Ids).ToList(), padId, maxLength, device);
            var probabilities = nn.functional.softmax(model.Forward(ids, mask), -1).cpu();
            var (best, index) = probabilities.max(-1);
            var p = best.data<float>().ToArray();
            var c = index.data<long>().ToArray();
            for (var i = 0; i < chunk.Length; i++)
                if (p[i] >= _options.PseudoLabelThreshold) confident.Add(chunk[i] with { Label = (int)c[i] });
        }
        return confident;
    }
}

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
        FineTuningRun.CheckTokens(inputSchema, _options);
        if (_options.SegmentColumnName is not null) TokenSequences.CheckColumn(inputSchema, _options.SegmentColumnName);
        return WithClassifierOutputs(inputSchema, _options.LabelColumnName, _binary);
    }

    /// <summary>
    /// <paramref name="inputSchema"/> with a classifier's output columns, after checking the label column:
    /// Boolean or Single for binary, Key for multiclass.
    /// </summary>
    internal static SchemaShape WithClassifierOutputs(SchemaShape inputSchema, string labelColumn, bool binary)
    {
        if (!inputSchema.TryFindColumn(labelColumn, out var label))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Could not find label column '{labelColumn}'");
        var ok = binary
            ? label.Kind == SchemaShape.Column.VectorKind.Scalar && (label.ItemType == BooleanDataViewType.Instance || label.ItemType == NumberDataViewType.Single)
            : label.Kind == SchemaShape.Column.VectorKind.Scalar && label.IsKey;
        if (!ok)
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"Schema mismatch for label column '{labelColumn}': expected {(binary ? "Boolean or Single" : "Key (use MapValueToKey)")}, got {label.ItemType}");
        var columns = inputSchema.ToDictionary(c => c.Name);
        foreach (var column in TextClassificationTransformer.OutputShape(binary, label))
            columns[column.Name] = column;
        return new SchemaShape(columns.Values);
    }

    /// <inheritdoc/>
    public TextClassificationTransformer Fit(IDataView input)
    {
        _options.Validate();
        FineTuningRun.CheckClassifierBestBy(_options, _binary);
        var seed = _options.Seed ?? _host.Rand.Next();
        using var channel = _host.Start("Text classifier fine-tuning");
        var (pretrained, tokens, config) = FineTuningRun.Start(_options, input.Schema);
        var maxLength = FineTuningRun.MaxLength(tokens, config, channel);
        var rows = ClassificationRows.Read(input, _options.TokenColumnName, _options.SegmentColumnName, _options.LabelColumnName, _binary, maxLength);
        if (rows.TooShort > 0) channel.Warning($"Skipped {rows.TooShort} rows with no tokens.");
        if (rows.Truncated > 0) channel.Info($"{rows.Truncated} rows are longer than {maxLength} tokens and were truncated.");
        var seen = rows.CheckTrainable(_options.LabelColumnName, _binary && input.Schema[_options.LabelColumnName].Type == NumberDataViewType.Single);
        channel.Info($"{rows.Labelled.Count:N0} labelled rows ({seen} of {rows.Classes} classes seen), {rows.Unlabelled.Count:N0} unlabelled.");

        var tokenizer = tokens.Tokenizer;
        var device = DeviceSelection.Select(_host, _options.Device, "Text classifier fine-tuning");
        Seeding.Set(seed);
        var model = new BertForSequenceClassification(config, rows.Classes, _options.Pooling);
        FineTuningRun.CopyEncoder(pretrained, model.Bert, channel);
        model.to(device);
        FineTuningRun.ApplyStrategy(model, _options, channel);

        var (train, validation) = ClassificationRows.Split(rows.Labelled, _options, tokens, _options.SegmentColumnName, _options.LabelColumnName, _binary, maxLength, seed, channel);
        var weights = _options.BalanceClasses ? FineTuningRun.InverseFrequency(train.Select(r => r.Label), rows.Classes) : null;
        using var joint = FineTuningRun.JointObjective(pretrained, tokenizer, config, _options.MaskedLmWeight, device, channel);
        var result = Train(model, train, validation, weights, tokenizer.PadId, maxLength, seed, channel, laterRound: false, joint);
        for (var round = 1; round <= _options.SelfTrainingRounds && rows.Unlabelled.Count > 0; round++)
        {
            var pseudo = PseudoLabel(model, rows.Unlabelled, tokenizer.PadId, maxLength);
            channel.Info($"Self-training round {round}: {pseudo.Count:N0} of {rows.Unlabelled.Count:N0} unlabelled rows pseudo-labelled at probability >= {_options.PseudoLabelThreshold}.");
            if (pseudo.Count == 0) break;
            result = Train(model, [.. train, .. pseudo], validation, weights, tokenizer.PadId, maxLength, seed + round, channel, laterRound: true, joint);
        }
        Adapters.Merge(model);
        model.eval();
        return new TextClassificationTransformer(_host, _binary, _options.TokenColumnName, _options.SegmentColumnName,
            rows.ClassNames, tokenizer.PadId, maxLength, _options.Pooling, model, result);
    }

    private TrainingResult Train(BertForSequenceClassification model, List<LabelledSequence> train, List<LabelledSequence> validation,
        float[]? weights, int padId, int maxLength, int seed, IChannel channel, bool laterRound, JointMaskedLm? joint)
    {
        using var task = new SequenceClassificationTask(model, train, validation, padId, maxLength, _options.BatchSize, seed, weights, _options.L2SP, _options.Adversarial, joint);
        return FineTuningRun.Train(task, task.BatchesPerEpoch, model.Bert.Config.Layers, _options, seed, channel, continueRunLog: laterRound);
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

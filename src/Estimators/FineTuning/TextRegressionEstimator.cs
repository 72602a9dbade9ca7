using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines.Models;
using Pipelines.Models.Lora;
using Pipelines.Models.Training;
using TorchSharp;

namespace Pipelines;

/// <summary>
/// Fine-tunes a BERT style encoder with a one-output head on token sequences (one text or a
/// sentence pair) labelled with real values: Score (Single) out, so ML.NET's regression evaluator,
/// CrossValidate and PredictionEngine work unchanged. The head learns standardised targets and
/// its weights are then rescaled to the label's units. Rows whose label is NaN are not trained on.
/// </summary>
public sealed class TextRegressionEstimator : IEstimator<TextRegressionTransformer>
{
    private readonly IHost _host;
    private readonly TextRegressorOptions _options;

    internal TextRegressionEstimator(IHostEnvironment env, TextRegressorOptions options)
    {
        _host = env.Register(nameof(TextRegressionEstimator));
        _options = options;
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        FineTuningRun.CheckTokens(inputSchema, _options);
        if (_options.SegmentColumnName is not null) TokenSequences.CheckColumn(inputSchema, _options.SegmentColumnName);
        if (!inputSchema.TryFindColumn(_options.LabelColumnName, out var label))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Could not find label column '{_options.LabelColumnName}'");
        if (label.Kind != SchemaShape.Column.VectorKind.Scalar || label.ItemType != NumberDataViewType.Single)
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"Schema mismatch for label column '{_options.LabelColumnName}': expected Single, got {label.ItemType}");
        var columns = inputSchema.ToDictionary(c => c.Name);
        columns["Score"] = new SchemaShape.Column("Score", SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false);
        return new SchemaShape(columns.Values);
    }

    /// <inheritdoc/>
    public TextRegressionTransformer Fit(IDataView input)
    {
        _options.Validate();
        var seed = _options.Seed ?? _host.Rand.Next();
        using var channel = _host.Start("Text regressor fine-tuning");
        var (pretrained, tokens, config) = FineTuningRun.Start(_options, input.Schema);
        var maxLength = FineTuningRun.MaxLength(tokens, config, channel);
        var (labelled, unlabelled, tooShort, truncated) = Read(input, maxLength);
        if (tooShort > 0) channel.Warning($"Skipped {tooShort} rows with no tokens.");
        if (truncated > 0) channel.Info($"{truncated} rows are longer than {maxLength} tokens and were truncated.");
        if (labelled.Count == 0)
            throw new InvalidOperationException($"No row has a label in column '{_options.LabelColumnName}' (NaN means none): nothing to fine-tune on.");
        if (labelled.All(r => r.Target == labelled[0].Target))
            throw new InvalidOperationException($"Every labelled row has the same value ({labelled[0].Target}); a regressor needs at least two.");
        channel.Info($"{labelled.Count:N0} labelled rows, {unlabelled:N0} without a label (NaN) not trained on.");

        var device = DeviceSelection.Select(_host, _options.Device, "Text regressor fine-tuning");
        Seeding.Set(seed);
        var model = new BertForSequenceClassification(config, 1, _options.Pooling);
        FineTuningRun.CopyEncoder(pretrained, model.Bert, channel);
        model.to(device);
        FineTuningRun.ApplyStrategy(model, _options, channel);

        var (train, validation) = _options.ValidationSet is null
            ? FineTuningRun.Split(labelled, _options.ValidationFraction, seed, channel)
            : (labelled, Read(tokens.Prepare(_options.ValidationSet, _options.SegmentColumnName, _options.LabelColumnName), maxLength).Labelled);
        using var task = new SequenceRegressionTask(model, train, validation, tokens.Tokenizer.PadId, maxLength, _options.BatchSize, seed,
            _options.L2SP, _options.Adversarial);
        channel.Info($"Targets standardised by the training rows' mean {task.Shift:G4} and standard deviation {task.Scale:G4}.");
        var result = FineTuningRun.Train(task, task.BatchesPerEpoch, config.Layers, _options, seed, channel);
        Adapters.Merge(model);
        model.RescaleOutput(task.Scale, task.Shift);
        model.eval();
        return new TextRegressionTransformer(_host, _options.TokenColumnName, _options.SegmentColumnName, tokens.Tokenizer.PadId, maxLength,
            _options.Pooling, model, result);
    }

    private (List<ScoredSequence> Labelled, int Unlabelled, int TooShort, int Truncated) Read(IDataView data, int maxLength)
    {
        var label = data.Schema.GetColumnOrNull(_options.LabelColumnName)
            ?? throw new ArgumentOutOfRangeException(nameof(data), $"Could not find label column '{_options.LabelColumnName}'");
        if (label.Type != NumberDataViewType.Single)
            throw new ArgumentOutOfRangeException(nameof(data), $"Schema mismatch for label column '{_options.LabelColumnName}': expected Single, got {label.Type}");
        var (rows, tooShort, truncated) = SequenceRows.Read<float>(data, _options.TokenColumnName, _options.SegmentColumnName, label, row =>
        {
            var get = row.GetGetter<float>(label);
            return () =>
            {
                float v = default;
                get(ref v);
                if (float.IsInfinity(v)) throw new InvalidOperationException($"Label column '{_options.LabelColumnName}' holds {v}; use NaN for a row without a label.");
                return float.IsNaN(v) ? null : v;
            };
        }, maxLength);
        var labelled = rows.Where(r => r.Label is not null).Select(r => new ScoredSequence(r.Ids, r.Segments, r.Label!.Value)).ToList();
        return (labelled, rows.Count - labelled.Count, tooShort, truncated);
    }
}

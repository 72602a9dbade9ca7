using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines.Models;
using Pipelines.Models.Training;
using TorchSharp;

namespace Pipelines;

/// <summary>
/// Pretrains a GPT-2 style decoder on a column of token ids by next-token prediction. Fit reads
/// every row, concatenates the rows into one stream with the tokenizer's separator between them
/// (sequence packing), holds out the last <see cref="TrainingOptions.ValidationFraction"/> of the
/// stream for validation (or uses <see cref="TrainingOptions.ValidationSet"/>), and trains on
/// random windows of <see cref="CausalLanguageModelOptions.BlockSize"/> tokens.
/// </summary>
public sealed class CausalLanguageModelEstimator : IEstimator<CausalLanguageModelTransformer>
{
    private readonly IHost _host;
    private readonly CausalLanguageModelOptions _options;

    internal CausalLanguageModelEstimator(IHostEnvironment env, CausalLanguageModelOptions options)
    {
        _host = env.Register(nameof(CausalLanguageModelEstimator));
        _options = options;
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        TokenColumn.Check(inputSchema, _options.TokenColumnName, _options.Tokenizer is not null || _options.Base is not null, nameof(CausalLanguageModelOptions));
        return CausalLanguageModelTransformer.OutputSchema(inputSchema, _options.EmbeddingColumnName, _options.PerplexityColumnName);
    }

    /// <inheritdoc/>
    public CausalLanguageModelTransformer Fit(IDataView input)
    {
        _options.Validate();
        var column = TokenColumn.Resolve(input.Schema, _options.TokenColumnName, _options.Tokenizer, _options.Base?.Tokenizer, "base model",
            _options.BlockSize, nameof(CausalLanguageModelOptions));
        var tokenizer = column.Tokenizer;
        var seed = _options.Seed ?? _host.Rand.Next();
        using var channel = _host.Start("Causal language model pretraining");

        var (rows, skipped) = TokenSequences.Read(input, _options.TokenColumnName);
        if (skipped > 0) channel.Warning($"Skipped {skipped} rows of '{_options.TokenColumnName}' with fewer than 2 tokens.");
        if (rows.Count == 0) throw new InvalidOperationException($"No row of column '{_options.TokenColumnName}' has at least 2 tokens: nothing to train on.");
        var stream = SequencePacking.Concatenate(rows, tokenizer.SepId);
        long[] train = stream, validation = [];
        if (_options.ValidationSet is not null)
        {
            var (validationRows, _) = TokenSequences.Read(column.Prepare(_options.ValidationSet), column.Name);
            validation = SequencePacking.Concatenate(validationRows, tokenizer.SepId);
        }
        else if (_options.ValidationFraction > 0)
        {
            var cut = (int)(stream.Length * (1 - _options.ValidationFraction));
            (train, validation) = (stream[..cut], stream[cut..]);
        }
        var hasValidation = validation.Length > _options.BlockSize + 1;
        if (!hasValidation && validation.Length > 0)
            channel.Warning($"The validation stream has only {validation.Length} tokens (block size {_options.BlockSize}); training without validation.");
        channel.Info($"Training stream {train.Length:N0} tokens from {rows.Count:N0} rows; validation {(hasValidation ? validation.Length : 0):N0} tokens.");

        var device = DeviceSelection.Select(_host, _options.Device, "Causal language model pretraining");
        Seeding.Set(seed);
        var config = _options.Base?.Config ?? TransformerConfig.Gpt(tokenizer.VocabSize, _options.Layers, _options.Hidden,
            ModelShape.Heads(_options.Hidden, _options.Heads), _options.BlockSize, _options.FeedForward) with
        {
            Dropout = _options.Dropout, Activation = _options.Activation, Bias = _options.Bias,
        };
        var model = new GptLanguageModel(config);
        if (_options.Base is not null) model.load_state_dict(_options.Base.Model.state_dict());
        model.to(device);

        using var precision = _options.MixedPrecision ? new MixedPrecision(model) : null;
        var parameters = (precision?.MasterParameters ?? model.parameters()).ToList();
        using var optimizer = Optimizers.AdamW(parameters, _options.LearningRate, _options.WeightDecay, _options.Beta1, _options.Beta2);
        using var task = new CausalLanguageModelingTask(model, train, hasValidation ? validation : null,
            Math.Min(_options.BlockSize, config.MaxSequenceLength), _options.BatchSize, _options.ValidationBatches, seed);
        var result = TrainingLoop.Run(task, optimizer, parameters, _options.ToLoopOptions(seed, channel), precision, column.CheckpointIdentity(config));
        precision?.RestoreFloat32(model);
        model.eval();
        channel.Info($"Pretraining ended after {result.Steps} steps ({result.Reason}) in {result.Elapsed:hh\\:mm\\:ss}" +
                     (result.Best is null ? "" : $"; best {result.Best}"));
        return new CausalLanguageModelTransformer(_host, _options.TokenColumnName, _options.EmbeddingColumnName,
            _options.PerplexityColumnName, model, tokenizer, result);
    }
}

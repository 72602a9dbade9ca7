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

        var (streamed, why) = _options.ChooseReading(input, _options.BlockSize);
        channel.Info($"Reading the corpus {why}.");
        long[] train = [], validation = [];
        TokenStream? tokens = null;
        if (streamed)
        {
            tokens = TokenStream.Open(input, _options.TokenColumnName, null, _options.ValidationSet is null ? _options.ValidationFraction : 0,
                _options.MaxStreamedValidationRows, seed);
            validation = _options.ValidationSet is null ? SequencePacking.Concatenate(tokens.Validation, tokenizer.SepId) : ReadValidation(column, tokenizer.SepId);
        }
        else
        {
            var (rows, skipped) = TokenSequences.Read(input, _options.TokenColumnName);
            if (skipped > 0) channel.Warning($"Skipped {skipped} rows of '{_options.TokenColumnName}' with fewer than 2 tokens.");
            if (rows.Count == 0) throw new InvalidOperationException($"No row of column '{_options.TokenColumnName}' has at least 2 tokens: nothing to train on.");
            train = SequencePacking.Concatenate(rows, tokenizer.SepId);
            if (_options.ValidationSet is not null) validation = ReadValidation(column, tokenizer.SepId);
            else if (_options.ValidationFraction > 0)
            {
                var cut = (int)(train.Length * (1 - _options.ValidationFraction));
                (train, validation) = (train[..cut], train[cut..]);
            }
            channel.Info($"Training stream {train.Length:N0} tokens from {rows.Count:N0} rows.");
        }
        var hasValidation = validation.Length > _options.BlockSize + 1;
        if (!hasValidation && validation.Length > 0)
            channel.Warning($"The validation stream has only {validation.Length} tokens (block size {_options.BlockSize}); training without validation.");
        channel.Info($"Validation stream {(hasValidation ? validation.Length : 0):N0} tokens.");

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
        var blockSize = Math.Min(_options.BlockSize, config.MaxSequenceLength);
        using var windows = tokens is null ? null
            : new StreamedSequences(() => CausalLanguageModelingTask.PackedWindows(tokens.Rows().Select(r => r.Ids), tokenizer.SepId, blockSize).Select(w => new StreamedSequence(w)),
                _options.ShuffleBufferSize, seed);
        using var task = windows is null
            ? new CausalLanguageModelingTask(model, train, hasValidation ? validation : null, blockSize, _options.BatchSize, _options.ValidationBatches, seed)
            : CausalLanguageModelingTask.Streaming(model, windows, hasValidation ? validation : null, blockSize, _options.BatchSize, _options.ValidationBatches, seed);
        var result = TrainingLoop.Run(task, optimizer, parameters, _options.ToLoopOptions(seed, channel), precision, column.CheckpointIdentity(config));
        precision?.RestoreFloat32(model);
        model.eval();
        channel.Info($"Pretraining ended after {result.Steps} steps ({result.Reason}) in {result.Elapsed:hh\\:mm\\:ss}" +
                     (result.Best is null ? "" : $"; best {result.Best}"));
        return new CausalLanguageModelTransformer(_host, _options.TokenColumnName, _options.EmbeddingColumnName,
            _options.PerplexityColumnName, model, tokenizer, result);
    }

    private long[] ReadValidation(TokenColumn column, int separator) =>
        SequencePacking.Concatenate(TokenSequences.Read(column.Prepare(_options.ValidationSet!), column.Name).Sequences, separator);
}

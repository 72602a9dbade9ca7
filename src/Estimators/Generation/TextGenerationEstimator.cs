using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines.Models;
using Pipelines.Models.Training;
using TorchSharp;

namespace Pipelines;

/// <summary>
/// Fine-tunes a causal language model (our pretraining's, from a zip, or from scratch) on prompt ->
/// response text rows, with the loss on the response's tokens only. The transformer it returns
/// writes each prompt's generated response to a text column; <c>mlContext.TextGeneration().Evaluate</c>
/// scores it against the references with ROUGE-L and BLEU.
/// </summary>
public sealed class TextGenerationEstimator : IEstimator<TextGenerationTransformer>
{
    private readonly IHost _host;
    private readonly TextGeneratorOptions _options;

    internal TextGenerationEstimator(IHostEnvironment env, TextGeneratorOptions options)
    {
        _host = env.Register(nameof(TextGenerationEstimator));
        _options = options;
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        TextColumns.Check(inputSchema, _options.PromptColumnName, _options.ResponseColumnName);
        var columns = inputSchema.ToDictionary(c => c.Name);
        columns[_options.GeneratedColumnName] = new SchemaShape.Column(_options.GeneratedColumnName, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance, false);
        return new SchemaShape(columns.Values);
    }

    /// <inheritdoc/>
    public TextGenerationTransformer Fit(IDataView input)
    {
        _options.Validate();
        var seed = _options.Seed ?? _host.Rand.Next();
        using var channel = _host.Start("Text generation fine-tuning");
        var tokenizer = _options.Base?.Tokenizer ?? _options.Tokenizer!;
        var config = (_options.Base?.Config ?? TransformerConfig.Gpt(tokenizer.VocabSize, _options.Layers, _options.Hidden,
            ModelShape.Heads(_options.Hidden, _options.Heads), _options.BlockSize)) with { Dropout = _options.Dropout };
        var blockSize = Math.Min(_options.BlockSize, config.MaxSequenceLength);
        if (blockSize < _options.BlockSize) channel.Info($"The base model has {config.MaxSequenceLength} positions: BlockSize {_options.BlockSize} is cut to {blockSize}.");

        var (rows, empty) = Read(input, tokenizer);
        if (empty > 0) channel.Warning($"Skipped {empty} rows with an empty response in '{_options.ResponseColumnName}'.");
        if (rows.Count == 0) throw new InvalidOperationException($"No row has a response in column '{_options.ResponseColumnName}': nothing to fine-tune on.");
        var cut = rows.Count(r => r.Prompt.Length + r.Response.Length + 2 > blockSize + 1);
        if (cut > 0) channel.Info($"{cut} of {rows.Count} rows are longer than {blockSize} tokens with their separators: their prompts were cut at the end.");
        var emptyPrompts = rows.Count(r => r.Prompt.Length == 0);
        if (emptyPrompts > 0) channel.Info($"{emptyPrompts} rows have an empty prompt: they teach responses to no prompt at all.");
        var (train, validation) = _options.ValidationSet is null
            ? FineTuningRun.Split(rows, _options.ValidationFraction, seed, channel)
            : (rows, Read(_options.ValidationSet, tokenizer).Rows);

        var device = DeviceSelection.Select(_host, _options.Device, "Text generation fine-tuning");
        Seeding.Set(seed);
        var model = new GptLanguageModel(config);
        if (_options.Base is not null) model.load_state_dict(_options.Base.Model.state_dict());
        model.to(device);
        var task = new PromptResponseTask(model, train, validation, tokenizer.SepId, tokenizer.PadId, blockSize, _options.BatchSize, seed);
        channel.Info($"Fine-tuning on {train.Count:N0} prompt -> response rows ({task.BatchesPerEpoch} batches an epoch), validating on {validation.Count:N0}.");
        var parameters = model.parameters().ToList();
        using var optimizer = Optimizers.AdamW(parameters, _options.LearningRate, _options.WeightDecay, _options.Beta1, _options.Beta2);
        var result = TrainingLoop.Run(task, optimizer, parameters, _options.ToLoopOptions(seed, channel), configJson: TokenColumn.CheckpointIdentity(config, tokenizer));
        model.eval();
        channel.Info($"Fine-tuning ended after {result.Steps} steps ({result.Reason}) in {result.Elapsed:hh\\:mm\\:ss}" +
                     (result.Best is null ? "" : $"; best {result.Best}"));
        return new TextGenerationTransformer(_host, _options.PromptColumnName, _options.GeneratedColumnName, _options.Generation, blockSize, model, tokenizer, result);
    }

    // Every row's prompt and response as token ids (no [CLS]/[SEP]); rows whose response is empty are counted, not kept.
    private (List<PromptResponse> Rows, int EmptyResponses) Read(IDataView data, TextTokenizer tokenizer)
    {
        var prompt = TextColumns.Check(data.Schema, _options.PromptColumnName);
        var response = TextColumns.Check(data.Schema, _options.ResponseColumnName);
        var rows = new List<PromptResponse>();
        var empty = 0;
        using var cursor = data.GetRowCursor([prompt, response]);
        var getPrompt = cursor.GetGetter<ReadOnlyMemory<char>>(prompt);
        var getResponse = cursor.GetGetter<ReadOnlyMemory<char>>(response);
        ReadOnlyMemory<char> p = default, r = default;
        while (cursor.MoveNext())
        {
            getPrompt(ref p);
            getResponse(ref r);
            var answer = Encode(tokenizer, r);
            if (answer.Length == 0) { empty++; continue; }
            rows.Add(new PromptResponse(Encode(tokenizer, p), answer));
        }
        return (rows, empty);
    }

    internal static int[] Encode(TextTokenizer tokenizer, ReadOnlyMemory<char> text) =>
        text.Span.IsWhiteSpace() ? [] : tokenizer.Encode(text.ToString(), maxLength: int.MaxValue, addSpecialTokens: false).Ids;
}

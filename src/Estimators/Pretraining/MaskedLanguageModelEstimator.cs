using Microsoft.ML;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using Pipelines.Models;
using Pipelines.Models.Training;

namespace Pipelines;

/// <summary>
/// Pretrains a BERT style encoder on a column of token ids by masked-token prediction (dynamic
/// masking: each draw of a sequence gets a new mask). Fit reads every row; rows with fewer than 2
/// tokens are skipped and counted; a seeded <see cref="TrainingOptions.ValidationFraction"/> of
/// rows is held out (or <see cref="TrainingOptions.ValidationSet"/> is used) and scored for loss,
/// perplexity and masked-token accuracy.
/// </summary>
public sealed class MaskedLanguageModelEstimator : IEstimator<MaskedLanguageModelTransformer>
{
    private readonly IHost _host;
    private readonly MaskedLanguageModelOptions _options;

    /// <summary>The transformer of the latest Fit, so that a fine-tuning trainer later in the same chain can start from it.</summary>
    public MaskedLanguageModelTransformer? LastFitted { get; private set; }

    internal MaskedLanguageModelEstimator(IHostEnvironment env, MaskedLanguageModelOptions options)
    {
        _host = env.Register(nameof(MaskedLanguageModelEstimator));
        _options = options;
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        TokenColumn.Check(inputSchema, _options.TokenColumnName, _options.Tokenizer is not null || _options.Base is not null, nameof(MaskedLanguageModelOptions));
        return MaskedLanguageModelTransformer.OutputSchema(inputSchema, _options.EmbeddingColumnName, _options.FilledColumnName);
    }

    /// <inheritdoc/>
    public MaskedLanguageModelTransformer Fit(IDataView input)
    {
        _options.Validate();
        var column = TokenColumn.Resolve(input.Schema, _options.TokenColumnName, _options.Tokenizer, _options.Base?.Tokenizer, "base model",
            _options.MaxLength, nameof(MaskedLanguageModelOptions));
        var tokenizer = column.Tokenizer;
        if (tokenizer.MaskId is null) throw new ArgumentException("The tokenizer has no mask token; masked-LM pretraining needs one.");
        if (_options.SentencePairs != SentencePairObjective.None && column.MaxLength < 5)
            throw new ArgumentOutOfRangeException(nameof(MaskedLanguageModelOptions.MaxLength), column.MaxLength, "Sentence pairs need at least 5 positions.");
        var seed = _options.Seed ?? _host.Rand.Next();
        using var channel = _host.Start("Masked language model pretraining");

        // Whole-word masking reads the word ids TokenizeSubwords writes beside the tokens.
        var wordIdsColumn = _options.Masking == MaskingStrategy.WholeWord ? WordIdsColumn(input.Schema) : null;
        var pairs = _options.SentencePairs != SentencePairObjective.None;
        var (streamed, why) = _options.ChooseReading(input, column.MaxLength);
        if (streamed && pairs)
        {
            if (_options.Reading == CorpusReading.Streamed)
                throw new ArgumentException("Sentence-pair objectives cut pairs out of whole documents in memory: use Reading = InMemory (or Auto) with SentencePairs.");
            (streamed, why) = (false, "in memory: sentence-pair objectives need whole documents");
        }
        channel.Info($"Reading the corpus {why}.");
        Rows train, validation;
        TokenStream? stream = null;
        if (streamed)
        {
            stream = TokenStream.Open(input, _options.TokenColumnName, wordIdsColumn, _options.ValidationSet is null ? _options.ValidationFraction : 0,
                _options.MaxStreamedValidationRows, seed);
            (train, validation) = (new Rows([], null), _options.ValidationSet is null ? new Rows(stream.Validation, stream.ValidationWordIds) : ReadValidation(column, wordIdsColumn));
            channel.Info($"{validation.Ids.Count:N0} validation sequences {(_options.ValidationSet is null ? "held out" : "from ValidationSet")}" +
                         $"{(wordIdsColumn is null ? "" : ", whole-word masking")}; the training rows are read as training goes.");
        }
        else
        {
            var (rows, wordIds, skipped) = TokenSequences.ReadWithWordIds(input, _options.TokenColumnName, wordIdsColumn);
            if (skipped > 0) channel.Warning($"Skipped {skipped} rows of '{_options.TokenColumnName}' with fewer than 2 tokens.");
            if (rows.Count == 0) throw new InvalidOperationException($"No row of column '{_options.TokenColumnName}' has at least 2 tokens: nothing to train on.");
            (train, validation) = Split(new Rows(rows, wordIds), column, wordIdsColumn, seed, channel);
            channel.Info($"{train.Ids.Count:N0} training and {validation.Ids.Count:N0} validation sequences{(wordIdsColumn is null ? "" : ", whole-word masking")}.");
        }

        var device = DeviceSelection.Select(_host, _options.Device, "Masked language model pretraining");
        Seeding.Set(seed);
        var config = _options.Base?.Config ?? TransformerConfig.Bert(tokenizer.VocabSize, _options.Layers, _options.Hidden,
            ModelShape.Heads(_options.Hidden, _options.Heads), column.MaxLength, _options.FeedForward) with { Dropout = _options.Dropout, PreLayerNorm = _options.PreLayerNorm };
        var model = new BertForPreTraining(config, sentencePair: pairs || (_options.Base?.Model.HasSentencePairHead ?? false));
        if (_options.Base is not null) model.load_state_dict(_options.Base.Model.state_dict(), strict: false);
        model.to(device);
        var electra = _options.Objective == EncoderObjective.ReplacedTokenDetection
            ? new ElectraForPreTraining(model, _options.GeneratorLayers > 0 ? _options.GeneratorLayers : Math.Max(1, config.Layers / 4), _options.DiscriminatorWeight)
            : null;
        nn.Module trained = electra is null ? model : electra;

        var masker = new MlmMasker(tokenizer, new MaskingOptions { MaskProbability = _options.MaskProbability, Strategy = _options.Masking });
        using var precision = _options.MixedPrecision ? new MixedPrecision(trained) : null;
        var parameters = (precision?.MasterParameters ?? trained.parameters()).ToList();
        using var optimizer = Optimizers.AdamW(parameters, _options.LearningRate, _options.WeightDecay, _options.Beta1, _options.Beta2);
        TokenMasking masking = (ids, words, random) => masker.Mask(ids, random, words);
        var maxLength = Math.Min(column.MaxLength, config.MaxSequenceLength);
        using var sequences = stream is null ? null : new StreamedSequences(stream.Rows, _options.ShuffleBufferSize, seed);
        var task = sequences is not null
            ? MaskedLanguageModelingTask.Streaming(model, sequences, validation.Ids, masking, tokenizer.PadId, maxLength, _options.BatchSize, seed,
                _options.ContrastiveWeight, _options.ContrastiveTemperature, validation.WordIds, electra)
            : new MaskedLanguageModelingTask(model, train.Ids, validation.Ids, masking, tokenizer.PadId, maxLength, _options.BatchSize, seed,
                _options.SentencePairs, tokenizer.ClsId, tokenizer.SepId, _options.ContrastiveWeight, _options.ContrastiveTemperature,
                train.WordIds, validation.WordIds, electra);
        if (electra is not null)
            channel.Info($"Replaced-token detection (ELECTRA): a generator of {electra.GeneratorLayers} blocks, discriminator loss weight {electra.DiscriminatorWeight}; " +
                         "validation reports the generator's masked-LM and the discriminator's replaced-token AUC.");
        if (_options.ContrastiveWeight > 0) channel.Info($"Contrastive sentence embeddings (SimCSE, weight {_options.ContrastiveWeight}) trained beside masked-LM.");
        if (pairs) channel.Info($"Sentence pairs ({_options.SentencePairs}) trained beside masked-LM.");
        var result = TrainingLoop.Run(task, optimizer, parameters, _options.ToLoopOptions(seed, channel), precision,
            column.CheckpointIdentity(config) + (electra is null ? "" : $"\nreplaced-token detection, a generator of {electra.GeneratorLayers} blocks"));
        precision?.RestoreFloat32(trained);
        electra?.ReleaseGenerator();
        model.eval();
        channel.Info($"Pretraining ended after {result.Steps} steps ({result.Reason}) in {result.Elapsed:hh\\:mm\\:ss}" +
                     (result.Best is null ? "" : $"; best {result.Best}"));
        return LastFitted = new MaskedLanguageModelTransformer(_host, _options.TokenColumnName, _options.EmbeddingColumnName,
            _options.FilledColumnName, model, tokenizer, result);
    }

    // Token rows and, for whole-word masking, their word ids (aligned).
    private sealed record Rows(List<int[]> Ids, List<int[]>? WordIds)
    {
        public Rows Select(IEnumerable<int> indices)
        {
            var kept = indices.ToList();
            return new(kept.Select(i => Ids[i]).ToList(), WordIds is null ? null : kept.Select(i => WordIds[i]).ToList());
        }
    }

    private string WordIdsColumn(DataViewSchema schema)
    {
        var name = $"{_options.TokenColumnName}.WordIds";
        if (schema.GetColumnOrNull(name) is null)
            throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find input column '{name}': whole-word masking reads the word ids " +
                $"that TokenizeSubwords writes beside '{_options.TokenColumnName}'.");
        return name;
    }

    private Rows ReadValidation(TokenColumn column, string? wordIdsColumn)
    {
        var (sequences, words, _) = TokenSequences.ReadWithWordIds(column.Prepare(_options.ValidationSet!, wordIdsColumn), column.Name, wordIdsColumn);
        return new Rows(sequences, words);
    }

    // Held-out rows: the separate validation data, or a seeded random fraction of the rows.
    private (Rows Train, Rows Validation) Split(Rows rows, TokenColumn column, string? wordIdsColumn, int seed, IChannel channel)
    {
        if (_options.ValidationSet is not null) return (rows, ReadValidation(column, wordIdsColumn));
        var count = (int)(rows.Ids.Count * _options.ValidationFraction);
        if (count == 0 && _options.ValidationFraction > 0)
            channel.Warning($"ValidationFraction {_options.ValidationFraction} of {rows.Ids.Count} rows holds out none: training without validation " +
                            "(no early stopping; the last weights are kept). Give a ValidationSet, or more rows.");
        if (count == 0) return (rows, new Rows([], rows.WordIds is null ? null : []));
        var order = Enumerable.Range(0, rows.Ids.Count).ToArray();
        new Random(seed).Shuffle(order);
        var held = order.Take(count).ToHashSet();
        return (rows.Select(Enumerable.Range(0, rows.Ids.Count).Where(i => !held.Contains(i))), rows.Select(Enumerable.Range(0, rows.Ids.Count).Where(held.Contains)));
    }
}

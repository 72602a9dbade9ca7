using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines.Models;
using Pipelines.Models.Lora;
using Pipelines.Models.Training;
using TorchSharp;

namespace Pipelines;

/// <summary>
/// Fine-tunes a BERT style encoder with a tag classifier on every token: each word's tag is
/// learned on its first subword token, the other pieces are skipped by the loss. Tags may come in
/// IOB1 or IOB2; training uses IOB2 and predictions come back in the scheme of the training tags.
/// Rows with no tags are not trained on, so one data view can feed pretraining and tagging.
/// </summary>
public sealed class TokenClassificationEstimator : IEstimator<TokenClassificationTransformer>
{
    private readonly IHost _host;
    private readonly TokenClassifierOptions _options;

    internal TokenClassificationEstimator(IHostEnvironment env, TokenClassifierOptions options)
    {
        _host = env.Register(nameof(TokenClassificationEstimator));
        _options = options;
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        FineTuningRun.CheckTokens(inputSchema, _options);
        TokenSequences.CheckColumn(inputSchema, _options.WordIdsColumn);
        if (!inputSchema.TryFindColumn(_options.SentenceColumnName, out var sentence) || sentence.ItemType is not TextDataViewType || sentence.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Could not find input column '{_options.SentenceColumnName}' of type String");
        if (!inputSchema.TryFindColumn(_options.LabelColumnName, out var tags) || tags.Kind == SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Could not find tag column '{_options.LabelColumnName}' (a vector, one tag per word)");
        var columns = inputSchema.ToDictionary(c => c.Name);
        void Add(string name, DataViewType type) => columns[name] = new SchemaShape.Column(name, SchemaShape.Column.VectorKind.VariableVector, type, false);
        Add(_options.PredictionColumnName, TextDataViewType.Instance);
        if (_options.EntitiesColumnName is string entities)
            foreach (var (suffix, type) in TaggedEntity.Columns) Add(entities + suffix, type);
        return new SchemaShape(columns.Values);
    }

    /// <inheritdoc/>
    public TokenClassificationTransformer Fit(IDataView input)
    {
        _options.Validate();
        var seed = _options.Seed ?? _host.Rand.Next();
        using var channel = _host.Start("Token classifier fine-tuning");
        var sentences = TaggedRows.Read(input, _options, withTags: true);
        var labelled = sentences.Where(s => s.Tags is not null).ToList();
        if (labelled.Count == 0)
            throw new InvalidOperationException($"No row has tags in column '{_options.LabelColumnName}': nothing to fine-tune on.");
        var iob1 = labelled.Any(s => EntityTags.OpensWithInside(s.Tags!));
        // Training uses IOB2: convert each sentence's tags once.
        labelled = Iob2(labelled);
        var tagNames = TagNames(labelled);
        if (tagNames.Length < 2)
            throw new InvalidOperationException($"Every word of every labelled row has the tag '{tagNames[0]}'; a tagger needs at least two tags.");
        channel.Info($"{labelled.Count:N0} tagged sentences ({sentences.Count - labelled.Count:N0} untagged), {tagNames.Length} tags in IOB2 " +
                     $"({string.Join(" ", tagNames)}); training tags read as {(iob1 ? "IOB1" : "IOB2")}.");

        var (pretrained, tokens, config) = FineTuningRun.Start(_options, input.Schema);
        var tokenizer = tokens.Tokenizer;
        var device = DeviceSelection.Select(_host, _options.Device, "Token classifier fine-tuning");
        Seeding.Set(seed);
        var model = NewModel(config, tagNames, _options.Crf);
        FineTuningRun.CopyEncoder(pretrained, model.Bert, channel);
        model.to(device);
        FineTuningRun.ApplyStrategy(model, _options, channel);

        var maxLength = FineTuningRun.MaxLength(tokens, config, channel);
        var tagIndex = tagNames.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i);
        var (train, validation) = _options.ValidationSet is null
            ? FineTuningRun.Split(ToTraining(labelled, tagIndex, maxLength, channel, "training"), _options.ValidationFraction, seed, channel)
            : (ToTraining(labelled, tagIndex, maxLength, channel, "training"),
               ToTraining(Iob2(TaggedRows.Read(tokens.Prepare(_options.ValidationSet, _options.WordIdsColumn, _options.SentenceColumnName, _options.LabelColumnName), _options, withTags: true)), tagIndex, maxLength, channel, "validation"));
        var weights = _options.BalanceClasses
            ? FineTuningRun.InverseFrequency(train.SelectMany(r => r.Labels).Where(l => l >= 0), tagNames.Length)
            : null;
        // Validation's F1 is seqeval's micro entity F1 over the validation words, as the evaluator computes it.
        double EntityF1(IReadOnlyList<(int[] Gold, int[] Predicted)> rows) => EntityMetrics.Compute(rows.Select(r =>
            ((IReadOnlyList<string>)r.Gold.Select(i => tagNames[i]).ToArray(), (IReadOnlyList<string>)r.Predicted.Select(i => tagNames[i]).ToArray()))).Micro.F1;
        using var task = new TokenClassificationTask(model, train, validation, tokenizer.PadId, maxLength, _options.BatchSize, seed, weights,
            _options.L2SP, _options.Adversarial, EntityF1);
        var result = FineTuningRun.Train(task, task.BatchesPerEpoch, config.Layers, _options, seed, channel);
        Adapters.Merge(model);
        model.eval();
        return new TokenClassificationTransformer(_host, _options, tagNames, iob1, tokenizer.PadId, maxLength, model, result);
    }

    /// <summary>A tagger over <paramref name="tagNames"/> (IOB2), with a CRF that forbids IOB2's invalid transitions when asked.</summary>
    internal static BertForTokenClassification NewModel(TransformerConfig config, string[] tagNames, bool crf)
    {
        if (!crf) return new BertForTokenClassification(config, tagNames.Length);
        var (allowed, allowedFirst) = TagDecoder.Transitions(tagNames);
        return new BertForTokenClassification(config, tagNames.Length, new ConditionalRandomField(tagNames.Length, allowed, allowedFirst));
    }

    // The tagged sentences, their tags in IOB2.
    private static List<TaggedSentence> Iob2(List<TaggedSentence> sentences) =>
        sentences.Where(s => s.Tags is not null).Select(s => s with { Tags = EntityTags.ToIob2(s.Tags!) }).ToList();

    // "O" first, then the IOB2 tags in ordinal order, so the tag set does not depend on row order.
    private static string[] TagNames(List<TaggedSentence> labelled)
    {
        var tags = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var sentence in labelled)
            foreach (var tag in sentence.Tags!) tags.Add(tag);
        tags.Remove(EntityTags.Outside);
        return [EntityTags.Outside, .. tags];
    }

    // Sentences whose tags are already IOB2, as token-labelled training rows.
    private static List<TaggedSequence> ToTraining(List<TaggedSentence> sentences, Dictionary<string, int> tagIndex, int maxLength, IChannel channel, string what)
    {
        int unknown = 0, cut = 0, cutWords = 0;
        var rows = new List<TaggedSequence>(sentences.Count);
        foreach (var sentence in sentences)
        {
            var lost = TaggedRows.WordsWithoutToken(sentence, maxLength);
            if (lost > 0) { cut++; cutWords += lost; }
            rows.Add(TaggedRows.ToTraining(sentence, sentence.Tags!, tagIndex, ref unknown));
        }
        if (cut > 0) channel.Info($"{cut:N0} {what} sentences are longer than {maxLength} tokens: {cutWords:N0} words cut off are not trained on (predicted O).");
        if (unknown > 0) channel.Warning($"{unknown:N0} {what} words have tags never seen in the training rows; the loss skips them.");
        return rows;
    }
}

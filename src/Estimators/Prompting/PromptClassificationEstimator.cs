using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines.Models;
using Pipelines.Models.Lora;
using Pipelines.Models.Training;
using TorchSharp;

namespace Pipelines;

/// <summary>
/// Trains a prompt-based (cloze) classifier, PET / LM-BFF style: each row's tokens are set into a
/// template around the mask token and the pretrained masked-LM head's scores of each class's words
/// at the mask are the class logits. Zero-shot, the pretrained model is used as it is; few-shot,
/// the labelled rows fine-tune it through the same head, so no classifier starts from random
/// weights. Binary and multiclass, with the outputs ML.NET's evaluators read.
/// </summary>
public sealed class PromptClassificationEstimator : IEstimator<PromptClassificationTransformer>
{
    private readonly IHost _host;
    private readonly PromptClassifierOptions _options;
    private readonly bool _binary;

    internal PromptClassificationEstimator(IHostEnvironment env, PromptClassifierOptions options, bool binary)
    {
        _host = env.Register(nameof(PromptClassificationEstimator));
        (_options, _binary) = (options, binary);
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        FineTuningRun.CheckTokens(inputSchema, _options);
        return TextClassificationEstimator.WithClassifierOutputs(inputSchema, _options.LabelColumnName, _binary);
    }

    /// <inheritdoc/>
    public PromptClassificationTransformer Fit(IDataView input)
    {
        _options.Validate();
        FineTuningRun.CheckClassifierBestBy(_options, _binary);
        var seed = _options.Seed ?? _host.Rand.Next();
        using var channel = _host.Start("Prompt-based classifier");
        var (pretrained, tokens, config) = FineTuningRun.Start(_options, input.Schema);
        var tokenizer = tokens.Tokenizer;
        var maxLength = FineTuningRun.MaxLength(tokens, config, channel);
        var template = new PromptTemplate(_options.Template, tokenizer);
        if (template.Overhead >= maxLength)
            throw new ArgumentException($"The template takes {template.Overhead} of the {maxLength} tokens a row may have, leaving no room for text: shorten it or raise MaxLength.");
        if (template.UnknownWords > 0)
            channel.Warning($"{template.UnknownWords} of the template's tokens are unknown to the vocabulary (\"{template.Template}\"): the model reads them as the unknown token.");
        var rows = ClassificationRows.Read(input, _options.TokenColumnName, null, _options.LabelColumnName, _binary, maxLength);
        var classWords = Verbalizer.Resolve(_options.Verbalizer!, rows.ClassNames, tokenizer, channel.Warning);
        channel.Info("Verbalizer: " + string.Join("; ", rows.ClassNames.Select((n, c) => $"{n} = {string.Join(", ", classWords[c].Select(id => tokenizer.Decode([id]).Trim()))}")));

        var device = DeviceSelection.Select(_host, _options.Device, "Prompt-based classifier");
        Seeding.Set(seed);
        var model = new BertForClozeClassification(config, tokenizer.MaskId!.Value, classWords);
        var fresh = WeightTransfer.CopyMatching(pretrained!.Model, model);
        if (fresh.Any(n => n.StartsWith("cls.", StringComparison.Ordinal)))
            throw new ArgumentException($"The pretrained model has no masked-LM head ({string.Join(", ", fresh.Where(n => n.StartsWith("cls.", StringComparison.Ordinal)))} missing), " +
                                        "which a prompt-based classifier reads: start from a masked-LM with its head.");
        if (fresh.Count > 0) channel.Info($"Not in the pretrained model, initialised at random: {string.Join(", ", fresh)}.");
        model.to(device);

        TrainingResult? result = null;
        if (_options.ZeroShot) channel.Info("Zero-shot: the pretrained head classifies as it is; no row is trained on.");
        else
        {
            var seen = rows.CheckTrainable(_options.LabelColumnName, _binary && input.Schema[_options.LabelColumnName].Type == NumberDataViewType.Single);
            channel.Info($"{rows.Labelled.Count:N0} labelled rows ({seen} of {rows.Classes} classes seen) set into \"{template.Template}\".");
            FineTuningRun.ApplyStrategy(model, _options, channel, head: "cls.predictions");
            var (train, validation) = ClassificationRows.Split(rows.Labelled, _options, tokens, null, _options.LabelColumnName, _binary, maxLength, seed, channel);
            (train, validation) = (Prompts(train), Prompts(validation));
            List<LabelledSequence> Prompts(List<LabelledSequence> sequences) => sequences.Select(r => r with { Ids = template.Apply(r.Ids, maxLength) }).ToList();
            var weights = _options.BalanceClasses ? FineTuningRun.InverseFrequency(train.Select(r => r.Label), rows.Classes) : null;
            using var task = new SequenceClassificationTask(model, train, validation, tokenizer.PadId, maxLength, _options.BatchSize, seed, weights,
                _options.L2SP, _options.Adversarial);
            result = FineTuningRun.Train(task, task.BatchesPerEpoch, config.Layers, _options, seed, channel);
            Adapters.Merge(model);
        }
        model.eval();
        return new PromptClassificationTransformer(_host, _binary, _options.TokenColumnName, rows.ClassNames, template.Template, tokenizer, maxLength, model, result);
    }
}

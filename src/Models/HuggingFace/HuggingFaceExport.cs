using Pipelines.Models.Checkpoints;
using Pipelines.Models.Lora;
using static TorchSharp.torch;

namespace Pipelines.Models.HuggingFace;

/// <summary>
/// Exports a model as a Hugging Face model directory that transformers' <c>from_pretrained</c> loads:
/// config.json (the model type's fields, <c>architectures</c> and <c>model_type</c>), model.safetensors with
/// Hugging Face's names and shapes (GPT-2's Conv1D weights transposed to (in, out)), and the tokenizer files
/// if given. Each file is written atomically. Tied weights are written once, as transformers does
/// (no <c>cls.predictions.decoder.weight</c> or <c>lm_head.weight</c> copy of the embeddings).
/// </summary>
/// <remarks>
/// Supported models: <see cref="BertForPreTraining"/> (as BertForMaskedLM, or BertForPreTraining with the
/// sentence-pair head; RobertaForMaskedLM), <see cref="BertModel"/> (BertModel / RobertaModel),
/// <see cref="GptLanguageModel"/> (GPT2LMHeadModel), and the task models with their heads:
/// <see cref="BertForSequenceClassification"/> pooled at the first token (…ForSequenceClassification; one
/// output: <c>problem_type</c> regression), <see cref="BertForTokenClassification"/> without a CRF
/// (…ForTokenClassification) and <see cref="BertForQuestionAnswering"/> (…ForQuestionAnswering), with
/// <c>id2label</c>/<c>label2id</c> from <see cref="HuggingFaceConfig.Labels"/>. LoRA adapters must be merged first
/// (<see cref="Adapters.Merge"/>); the merged weights are written and the adapter matrices are not.
/// </remarks>
public static class HuggingFaceExport
{
    /// <summary>Writes <paramref name="model"/>, whose architecture is <paramref name="config"/>, as a <paramref name="modelType"/> directory.</summary>
    /// <inheritdoc cref="Save(nn.Module, HuggingFaceConfig, string, HuggingFaceTokenizerFiles?)"/>
    public static void Save(nn.Module model, TransformerConfig config, string directory, HuggingFaceModelType modelType,
        HuggingFaceTokenizerFiles? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var pad = modelType == HuggingFaceModelType.Roberta ? config.PositionOffset - 1 : (int?)null;
        Save(model, new HuggingFaceConfig { ModelType = modelType, Transformer = config, PadTokenId = pad }, directory, tokenizer);
    }

    /// <summary>Writes <paramref name="model"/> with <paramref name="config"/> (which also carries special token ids) into <paramref name="directory"/>, creating it if needed.</summary>
    /// <param name="model">A <see cref="BertForPreTraining"/>, <see cref="BertModel"/> or <see cref="GptLanguageModel"/>, on any device.</param>
    /// <param name="config">The model type and architecture; the architecture must be the model's own.</param>
    /// <param name="directory">Where config.json, model.safetensors and the tokenizer files go.</param>
    /// <param name="tokenizer">Tokenizer files to copy under their standard names, or null.</param>
    /// <exception cref="ArgumentException">The model kind does not fit the model type, its config differs from
    /// <paramref name="config"/>, the architecture has no Hugging Face equivalent, or LoRA adapters are unmerged.</exception>
    public static void Save(nn.Module model, HuggingFaceConfig config, string directory, HuggingFaceTokenizerFiles? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var type = config.ModelType;
        var (architecture, modelConfig, prefix, head, outputs) = Describe(model, type);
        config = WithLabels(config, head, outputs);
        config.Validate();
        if (modelConfig != config.Transformer)
            throw new ArgumentException($"The model's architecture differs from the config given for export:{Environment.NewLine}" +
                $"model: {modelConfig.ToJson()}{Environment.NewLine}given: {config.Transformer.ToJson()}", nameof(config));
        if (model.modules().OfType<LoraLinear>().Any(l => l.HasAdapter && !l.IsMerged))
            throw new ArgumentException("The model has unmerged LoRA adapters, which Hugging Face checkpoints cannot hold: merge them first (Adapters.Merge).", nameof(model));

        var tensors = new List<KeyValuePair<string, Tensor>>();
        using var scope = NewDisposeScope();
        foreach (var (ours, tensor) in model.state_dict())
        {
            if (LoraLinear.IsAdapterParameter(ours)) continue;
            var (name, transposed) = HuggingFaceNames.ToHuggingFace(type, prefix + ours, head);
            tensors.Add(new(prefix.Length > 0 ? name[type.BasePrefix().Length..] : name, transposed ? tensor.t() : tensor));
        }

        Directory.CreateDirectory(directory);
        SafeTensors.Save(Path.Combine(directory, HuggingFaceImport.WeightsFileName), tensors,
            new Dictionary<string, string> { [CheckpointMetadata.FormatKey] = "pt" });
        foreach (var (path, name) in tokenizer?.Files ?? [])
            AtomicFile.Copy(path, Path.Combine(directory, name));
        AtomicFile.WriteAllText(Path.Combine(directory, HuggingFaceConfig.FileName), config.ToJson(architecture));
    }

    // A task model's labels: the config's, or transformers' LABEL_0, LABEL_1, ... when it names none.
    private static HuggingFaceConfig WithLabels(HuggingFaceConfig config, HuggingFaceHead head, long outputs)
    {
        if (head is HuggingFaceHead.None or HuggingFaceHead.QuestionAnswering)
            return config.Labels is null ? config : throw new ArgumentException("Labels name a classifier's outputs; this model has no classification head.", nameof(config));
        var labels = config.Labels ?? HuggingFaceConfig.DefaultLabels((int)outputs);
        if (labels.Count != outputs)
            throw new ArgumentException($"The config names {labels.Count} labels; the model has {outputs} outputs.", nameof(config));
        if (labels.Distinct(StringComparer.Ordinal).Count() != labels.Count)
            throw new ArgumentException("The config names a label twice; label2id needs distinct names.", nameof(config));
        var regression = head == HuggingFaceHead.SequenceClassification && outputs == 1;
        return config with { Labels = labels, ProblemType = config.ProblemType ?? (regression ? "regression" : null) };
    }

    /// <summary>
    /// The Hugging Face class name, the model's config, the prefix that turns a base model's names into a
    /// task model's, the task head and its outputs per position (labels).
    /// </summary>
    private static (string Architecture, TransformerConfig Config, string Prefix, HuggingFaceHead Head, long Outputs) Describe(nn.Module model, HuggingFaceModelType type)
    {
        var name = type.ClassPrefix();
        switch (model)
        {
            case BertForPreTraining pretraining when type.IsEncoder():
                if (pretraining.HasSentencePairHead && type == HuggingFaceModelType.Roberta)
                    throw new ArgumentException("RoBERTa has no sentence-pair head; export this model as bert, or its encoder (Bert) as roberta.", nameof(model));
                return (pretraining.HasSentencePairHead ? "BertForPreTraining" : $"{name}ForMaskedLM", pretraining.Config, "", HuggingFaceHead.None, 0);
            case BertModel encoder when type.IsEncoder():
                return ($"{name}Model", encoder.Config, "bert.", HuggingFaceHead.None, 0);
            case GptLanguageModel decoder when type == HuggingFaceModelType.Gpt2:
                return ("GPT2LMHeadModel", decoder.Config, "", HuggingFaceHead.None, 0);
            case BertForSequenceClassification classifier when type.IsEncoder():
                if (classifier.Pooling != Pooling.FirstToken)
                    throw new ArgumentException($"This classifier pools the mean of its tokens (Pooling.{classifier.Pooling}); transformers' sequence classifiers read " +
                        "the first token through the pooler, so they would compute something else. Fine-tune with Pooling.FirstToken to export to Hugging Face.", nameof(model));
                return (HuggingFaceHead.SequenceClassification.Architecture(type), classifier.Bert.Config, "", HuggingFaceHead.SequenceClassification, classifier.Labels);
            case BertForTokenClassification tagger when type.IsEncoder():
                if (tagger.Crf is not null)
                    throw new ArgumentException("This tagger decodes with a CRF, which transformers' token classifiers do not have: its emissions alone would tag differently. " +
                        "Train without Crf to export to Hugging Face (the ONNX graph carries the CRF's scores in its metadata).", nameof(model));
                return (HuggingFaceHead.TokenClassification.Architecture(type), tagger.Bert.Config, "", HuggingFaceHead.TokenClassification, tagger.Labels);
            case BertForQuestionAnswering reader when type.IsEncoder():
                return (HuggingFaceHead.QuestionAnswering.Architecture(type), reader.Bert.Config, "", HuggingFaceHead.QuestionAnswering, 2);
            default:
                throw new ArgumentException(
                    $"A {model.GetType().Name} cannot be exported as {type.Name()}: bert and roberta take a BertForPreTraining, a BertModel or a task model " +
                    "(sequence classifier, token classifier, question answering), gpt2 a GptLanguageModel.", nameof(model));
        }
    }
}

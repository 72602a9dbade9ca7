using Pipelines.Models.Checkpoints;
using Pipelines.Models.Lora;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.HuggingFace;

/// <summary>
/// Imports a Hugging Face model directory (config.json + model.safetensors + tokenizer files) of
/// model type bert, roberta or gpt2 into this library's models. Only safetensors weights are read:
/// a directory with only PyTorch pickle files (pytorch_model.bin) is refused, because unpickling a
/// file can run arbitrary code.
/// </summary>
/// <example><code>
/// var checkpoint = HuggingFaceImport.Load("models/my-bert");
/// var classifier = checkpoint.CreateSequenceClassifier(labels: 2);   // encoder weights from the checkpoint
/// var mlm = checkpoint.PreTrainingModel;                             // or the masked-LM model itself
/// </code></example>
public static class HuggingFaceImport
{
    /// <summary>The weights file of a model directory.</summary>
    public const string WeightsFileName = "model.safetensors";

    /// <summary>
    /// Reads <paramref name="directory"/>: config.json, then model.safetensors into a
    /// <see cref="BertForPreTraining"/> (bert, roberta; with the pooler and sentence-pair head when the file
    /// has them) or a <see cref="GptLanguageModel"/> (gpt2), in evaluation mode on the CPU. Every tensor the
    /// encoder or decoder body needs must be present with the shape config.json implies; head tensors may
    /// be absent (they keep their initial values and are listed in the report). Files saved from a base
    /// model (BertModel, GPT2Model: names without "bert." / "transformer.") load too.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="InvalidDataException">config.json or model.safetensors is missing or malformed, the model
    /// type is not supported, a tensor is missing or has the wrong shape; the message names the file and tensor.</exception>
    public static HuggingFaceCheckpoint Load(string directory)
    {
        var (config, weightsPath) = Open(directory);
        using var file = SafeTensors.Read(weightsPath);
        var (model, report) = Build(config, file, $"'{weightsPath}'");
        return new HuggingFaceCheckpoint(directory, config, model, report, HuggingFaceTokenizerFiles.Locate(directory));
    }

    /// <summary>
    /// Reads a …ForSequenceClassification directory (bert, roberta) as a complete classifier, head included,
    /// pooled at the first token as transformers' are; its labels are config.json's <c>id2label</c> (LABEL_0 ... when
    /// absent). One output is a regressor (<c>num_labels = 1</c>). Strict: every tensor must be in the file.
    /// </summary>
    /// <exception cref="InvalidDataException">The directory holds another architecture, a multi-label classifier, or does not fit its config.</exception>
    public static HuggingFaceTaskModel<BertForSequenceClassification> LoadSequenceClassifier(string directory) =>
        LoadTask(directory, HuggingFaceHead.SequenceClassification, (config, labels) => new BertForSequenceClassification(config, labels, Pooling.FirstToken));

    /// <summary>
    /// Reads a …ForTokenClassification directory (bert, roberta) as a complete tagger, head included; its tags
    /// are config.json's <c>id2label</c> (LABEL_0 ... when absent). Strict: every tensor must be in the file.
    /// </summary>
    /// <exception cref="InvalidDataException">The directory holds another architecture, or does not fit its config.</exception>
    public static HuggingFaceTaskModel<BertForTokenClassification> LoadTokenClassifier(string directory) =>
        LoadTask(directory, HuggingFaceHead.TokenClassification, (config, labels) => new BertForTokenClassification(config, labels));

    private static HuggingFaceTaskModel<TModel> LoadTask<TModel>(string directory, HuggingFaceHead head, Func<TransformerConfig, int, TModel> create)
        where TModel : nn.Module
    {
        var (config, weightsPath) = Open(directory);
        var source = $"'{weightsPath}'";
        var expected = head.Architecture(config.ModelType.IsEncoder() ? config.ModelType : HuggingFaceModelType.Bert);
        if (!config.ModelType.IsEncoder() || HuggingFaceHeads.Parse(config.Architecture) != head)
            throw new InvalidDataException($"'{directory}' holds a {config.Architecture ?? config.ModelType.Name() + " model without \"architectures\""}, not a {expected}. " +
                "To fine-tune from an encoder, start from it instead (EncoderSource.FromHuggingFace).");
        if (config.ProblemType == "multi_label_classification")
            throw new InvalidDataException($"'{directory}' is a multi-label classifier (a sigmoid per label); this library's classifiers choose one label (softmax).");
        using var file = SafeTensors.Read(weightsPath);
        var names = NormalizedNames(file, config.ModelType, source);
        var headWeight = HuggingFaceNames.ToHuggingFace(config.ModelType, "classifier.weight", head).Name;
        if (!names.TryGetValue(headWeight, out var real) || file[real].Shape.Count != 2)
            throw new InvalidDataException($"{source} has no {headWeight} (a matrix), the {expected}'s output layer.");
        var outputs = (int)file[real].Shape[0];
        var labels = config.Labels ?? HuggingFaceConfig.DefaultLabels(outputs);
        if (labels.Count != outputs)
            throw new InvalidDataException($"'{directory}': config.json's id2label names {labels.Count} labels, but {headWeight} has {outputs} outputs.");
        var model = create(config.Transformer, outputs);
        try
        {
            var report = Fill(model, config, file, names, _ => true, source, head);
            model.eval();
            return new HuggingFaceTaskModel<TModel>(model, config with { Labels = labels }, report, HuggingFaceTokenizerFiles.Locate(directory));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    // config.json read and model.safetensors found (not opened), or why not.
    private static (HuggingFaceConfig Config, string WeightsPath) Open(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"The Hugging Face model directory '{directory}' does not exist.");
        var configPath = Path.Combine(directory, HuggingFaceConfig.FileName);
        var weightsPath = Path.Combine(directory, WeightsFileName);
        if (!File.Exists(configPath))
            throw new InvalidDataException($"'{directory}' has no {HuggingFaceConfig.FileName}: a Hugging Face model directory holds it beside {WeightsFileName}.");
        if (!File.Exists(weightsPath)) throw new InvalidDataException(NoSafetensorsMessage(directory));
        return (HuggingFaceConfig.Read(configPath), weightsPath);
    }

    private static string NoSafetensorsMessage(string directory)
    {
        if (File.Exists(Path.Combine(directory, "model.safetensors.index.json")))
            return $"'{directory}' holds a sharded checkpoint (model.safetensors.index.json), which is not supported: " +
                   "save it as one file with save_pretrained(..., max_shard_size=\"100GB\").";
        string[] pickleKinds = ["*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl"];
        var pickles = pickleKinds.SelectMany(p => Directory.EnumerateFiles(directory, p)).Select(Path.GetFileName).Order().ToList();
        if (pickles.Count == 0) return $"'{directory}' has no {WeightsFileName}.";
        return $"'{directory}' has no {WeightsFileName}, only PyTorch pickle weights ({string.Join(", ", pickles)}). " +
               "They are not read: unpickling a file can run arbitrary code, so this library never does (no pickle). " +
               "Convert the model once with Hugging Face transformers, where you trust the file: " +
               "model = AutoModel.from_pretrained(directory); model.save_pretrained(directory, safe_serialization=True), " +
               $"which writes {WeightsFileName}.";
    }

    /// <summary>Builds the model for <paramref name="config"/> and fills it from <paramref name="file"/>.</summary>
    internal static (nn.Module Model, HuggingFaceLoadReport Report) Build(HuggingFaceConfig config, SafeTensorsFile file, string source)
    {
        var type = config.ModelType;
        var names = NormalizedNames(file, type, source);
        nn.Module model;
        Func<string, bool> required;
        if (type.IsEncoder())
        {
            var sentencePair = type == HuggingFaceModelType.Bert && names.ContainsKey("cls.seq_relationship.weight");
            var pooler = names.ContainsKey(type.BasePrefix() + "pooler.dense.weight");
            model = new BertForPreTraining(config.Transformer, sentencePair, addPooler: pooler);
            required = n => n.StartsWith("bert.embeddings.", StringComparison.Ordinal) || n.StartsWith("bert.encoder.", StringComparison.Ordinal);
        }
        else
        {
            model = new GptLanguageModel(config.Transformer);
            required = n => n.StartsWith("transformer.", StringComparison.Ordinal);
        }
        try
        {
            var report = Fill(model, config, file, names, required, source, HuggingFaceHead.None);
            model.eval();
            return (model, report);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The file's names as a task model's file would spell them, mapped to their real names.</summary>
    private static Dictionary<string, string> NormalizedNames(SafeTensorsFile file, HuggingFaceModelType type, string source)
    {
        var prefix = type.BasePrefix();
        string[] baseRoots = type.IsEncoder() ? ["embeddings.", "encoder.", "pooler."] : ["wte.", "wpe.", "h.", "ln_f."];
        var isBaseModel = !file.Names.Any(n => n.StartsWith(prefix, StringComparison.Ordinal))
                          && file.Names.Any(n => baseRoots.Any(r => n.StartsWith(r, StringComparison.Ordinal)));
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in file.Names)
        {
            var normal = HuggingFaceNames.Normalize(name, isBaseModel && baseRoots.Any(r => name.StartsWith(r, StringComparison.Ordinal)) ? prefix : null);
            if (!names.TryAdd(normal, name))
                throw new InvalidDataException($"{source} holds both '{names[normal]}' and '{name}', which are the same tensor under old and new names.");
        }
        return names;
    }

    private static HuggingFaceLoadReport Fill(nn.Module model, HuggingFaceConfig config, SafeTensorsFile file,
        Dictionary<string, string> names, Func<string, bool> required, string source, HuggingFaceHead head)
    {
        var type = config.ModelType;
        var copies = HuggingFaceNames.TiedCopies(type, config.Transformer.TieEmbeddings);
        var (missing, absent, mismatched) = (new List<string>(), new List<string>(), new List<string>());
        var used = new HashSet<string>(StringComparer.Ordinal);
        var plan = new List<(Tensor Target, Tensor Source, bool Transposed)>();

        foreach (var (ours, target) in model.state_dict())
        {
            if (LoraLinear.IsAdapterParameter(ours)) continue;
            var (name, transposed) = HuggingFaceNames.ToHuggingFace(type, ours, head);
            // A file may keep only the tied copy (e.g. cls.predictions.decoder.bias for cls.predictions.bias).
            var present = names.ContainsKey(name) ? name : copies.Where(c => c.Original == name && names.ContainsKey(c.Copy)).Select(c => c.Copy).FirstOrDefault();
            if (present is null)
            {
                if (required(ours)) absent.Add(name); else missing.Add(ours);
                continue;
            }
            used.Add(present);
            var entry = file[names[present]];
            long[] expected = transposed ? [.. target.shape.Reverse()] : target.shape;
            if (!entry.Tensor.is_floating_point())
                mismatched.Add($"{entry.Name} (dtype {entry.DType}, expected a floating-point type)");
            else if (!entry.Shape.SequenceEqual(expected))
                mismatched.Add($"{entry.Name} (shape {Shape(entry.Shape)} in the file, {Shape(expected)} from {HuggingFaceConfig.FileName})");
            else
                plan.Add((target, entry.Tensor, transposed));
        }

        // Tied copies are not loaded; they must equal what they are tied to, or the model would silently differ.
        foreach (var (copy, original) in copies)
        {
            if (!names.TryGetValue(copy, out var copyName) || !used.Add(copy) || !names.TryGetValue(original, out var originalName)) continue;
            if (!SameValues(file[copyName].Tensor, file[originalName].Tensor))
                mismatched.Add($"{copyName} (differs from {originalName}, to which this library's models tie it; untied output weights are not supported)");
        }

        var ignored = names.Where(n => !used.Contains(n.Key) && HuggingFaceNames.IsBuffer(n.Key)).Select(n => n.Value).ToList();
        var unused = names.Where(n => !used.Contains(n.Key) && !HuggingFaceNames.IsBuffer(n.Key)).Select(n => n.Value).ToList();
        if (absent.Count > 0 || mismatched.Count > 0)
            throw new InvalidDataException(
                $"{source} does not fit the {(head == HuggingFaceHead.None ? type.Name() : head.Architecture(type))} model its {HuggingFaceConfig.FileName} describes:" +
                List("missing", absent) + List("mismatched", mismatched));

        using (no_grad())
            foreach (var (target, value, transposed) in plan)
                target.copy_(transposed ? value.t() : value);
        return new HuggingFaceLoadReport(missing, unused, ignored);
    }

    private static bool SameValues(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        using var scope = NewDisposeScope();
        return a.to(ScalarType.Float64).eq(b.to(ScalarType.Float64)).all().item<bool>();
    }

    internal static string Shape(IEnumerable<long> shape) => $"[{string.Join(", ", shape)}]";

    internal static string List(string what, IReadOnlyCollection<string> names)
    {
        if (names.Count == 0) return "";
        const int shown = 20;
        var more = names.Count > shown ? $", ... and {names.Count - shown} more" : "";
        return $"{Environment.NewLine}  {what} ({names.Count}): {string.Join(", ", names.Take(shown))}{more}";
    }
}

using System.Text.Json;
using Pipelines.Models.Lora;
using static TorchSharp.torch;

namespace Pipelines.Models.HuggingFace;

/// <summary>
/// A Hugging Face model directory imported by <see cref="HuggingFaceImport.Load"/>: its config, the
/// model built from it with the weights loaded, what did not load one to one, and where its tokenizer
/// files are. Task models start from it with <see cref="CreateSequenceClassifier"/>,
/// <see cref="CreateTokenClassifier"/> or <see cref="LoadEncoderInto"/>.
/// </summary>
public sealed class HuggingFaceCheckpoint
{
    internal HuggingFaceCheckpoint(string directory, HuggingFaceConfig config, nn.Module model,
        HuggingFaceLoadReport report, HuggingFaceTokenizerFiles tokenizer)
    {
        (Directory, Config, Model, Report, Tokenizer) = (directory, config, model, report, tokenizer);
    }

    /// <summary>The directory it was read from.</summary>
    public string Directory { get; }
    /// <summary>The parsed config.json.</summary>
    public HuggingFaceConfig Config { get; }
    /// <summary>bert, roberta or gpt2.</summary>
    public HuggingFaceModelType ModelType => Config.ModelType;
    /// <summary>The architecture in this library's terms.</summary>
    public TransformerConfig Transformer => Config.Transformer;
    /// <summary>
    /// The loaded model, in evaluation mode on the CPU: a <see cref="BertForPreTraining"/> for bert and
    /// roberta, a <see cref="GptLanguageModel"/> for gpt2. The caller owns it.
    /// </summary>
    public nn.Module Model { get; }
    /// <summary>Parameters kept at their initial values, file tensors not used, buffers skipped.</summary>
    public HuggingFaceLoadReport Report { get; }
    /// <summary>The tokenizer files found in the directory (paths; null where absent).</summary>
    public HuggingFaceTokenizerFiles Tokenizer { get; }

    /// <summary>The masked-LM model of a bert or roberta checkpoint.</summary>
    /// <exception cref="InvalidOperationException">The checkpoint is a gpt2 decoder.</exception>
    public BertForPreTraining PreTrainingModel => Model as BertForPreTraining
        ?? throw new InvalidOperationException($"'{Directory}' is a {ModelType.Name()} checkpoint: use {nameof(LanguageModel)}.");

    /// <summary>The causal language model of a gpt2 checkpoint.</summary>
    /// <exception cref="InvalidOperationException">The checkpoint is a bert or roberta encoder.</exception>
    public GptLanguageModel LanguageModel => Model as GptLanguageModel
        ?? throw new InvalidOperationException($"'{Directory}' is a {ModelType.Name()} checkpoint: use {nameof(PreTrainingModel)}.");

    /// <summary>True when the checkpoint held BERT's pooler (bert.pooler.dense), which first-token classifiers use.</summary>
    public bool HasPooler => (Model as BertForPreTraining)?.Bert.Pooler is not null;

    /// <summary>
    /// A sequence classifier whose encoder (and pooler, when the checkpoint has one) comes from this
    /// checkpoint; the classifier layer, and a pooler the checkpoint lacks, are freshly initialised.
    /// </summary>
    public BertForSequenceClassification CreateSequenceClassifier(int labels, Pooling pooling = Pooling.FirstToken)
    {
        var model = new BertForSequenceClassification(Transformer, labels, pooling);
        LoadEncoderInto(model.Bert);
        return model;
    }

    /// <summary>A token classifier whose encoder comes from this checkpoint; the classifier layer is freshly initialised.</summary>
    public BertForTokenClassification CreateTokenClassifier(int labels)
    {
        var model = new BertForTokenClassification(Transformer, labels);
        LoadEncoderInto(model.Bert);
        return model;
    }

    /// <summary>
    /// Copies the checkpoint's encoder into <paramref name="target"/>, strictly: every embedding and
    /// block tensor must be there with the same shape, and the architecture must match (dropout and
    /// init range may differ). The pooler is copied when both have one; a pooler only the target has keeps
    /// its values (listed as missing), one only the checkpoint has is listed as unused. LoRA adapter
    /// parameters of the target are left alone. Works on any device the target is on.
    /// </summary>
    /// <exception cref="ArgumentException">The target's architecture differs from the checkpoint's.</exception>
    /// <exception cref="InvalidOperationException">The checkpoint is a gpt2 decoder.</exception>
    public HuggingFaceLoadReport LoadEncoderInto(BertModel target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var source = PreTrainingModel.Bert;
        var differences = ArchitectureDifferences(source.Config, target.Config);
        if (differences.Count > 0)
            throw new ArgumentException($"The target encoder's config differs from the checkpoint '{Directory}' in {string.Join(", ", differences)}.", nameof(target));

        var from = source.state_dict();
        var (missing, mismatched) = (new List<string>(), new List<string>());
        var plan = new List<(Tensor Target, Tensor Source)>();
        foreach (var (name, tensor) in target.state_dict())
        {
            if (LoraLinear.IsAdapterParameter(name)) continue;
            if (!from.TryGetValue(name, out var value))
            {
                if (name.StartsWith("pooler.", StringComparison.Ordinal)) missing.Add(name);
                else mismatched.Add($"{name} (not in the checkpoint)");
            }
            else if (!value.shape.SequenceEqual(tensor.shape))
                mismatched.Add($"{name} (checkpoint {HuggingFaceImport.Shape(value.shape)}, target {HuggingFaceImport.Shape(tensor.shape)})");
            else plan.Add((tensor, value));
        }
        if (mismatched.Count > 0)
            throw new InvalidDataException($"The encoder of '{Directory}' does not fit the target:" + HuggingFaceImport.List("mismatched", mismatched));
        var targetNames = target.state_dict().Keys.ToHashSet(StringComparer.Ordinal);
        var unused = from.Keys.Where(n => !targetNames.Contains(n))
            .Select(n => HuggingFaceNames.ToHuggingFace(ModelType, "bert." + n).Name).ToList();
        using (no_grad())
            foreach (var (to, value) in plan) to.copy_(value);
        return new HuggingFaceLoadReport(missing, unused, []);
    }

    /// <summary>Config fields that change what an encoder computes (all but dropout, init range and tying, which encoders always do).</summary>
    private static List<string> ArchitectureDifferences(TransformerConfig a, TransformerConfig b)
    {
        var (x, y) = (a with { Dropout = 0, InitRange = 1, TieEmbeddings = true }, b with { Dropout = 0, InitRange = 1, TieEmbeddings = true });
        if (x == y) return [];
        using var left = JsonDocument.Parse(x.ToJson());
        using var right = JsonDocument.Parse(y.ToJson());
        return left.RootElement.EnumerateObject()
            .Where(p => p.Value.GetRawText() != right.RootElement.GetProperty(p.Name).GetRawText())
            .Select(p => $"{p.Name} ({p.Value.GetRawText()} here, {right.RootElement.GetProperty(p.Name).GetRawText()} in the target)")
            .ToList();
    }
}

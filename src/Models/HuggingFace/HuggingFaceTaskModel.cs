using static TorchSharp.torch;

namespace Pipelines.Models.HuggingFace;

/// <summary>
/// A Hugging Face task model read whole, head included (<see cref="HuggingFaceImport.LoadSequenceClassifier"/>,
/// <see cref="HuggingFaceImport.LoadTokenClassifier"/>): ready to predict without fine-tuning.
/// </summary>
/// <param name="Model">The model, in evaluation mode on the CPU. The caller owns it.</param>
/// <param name="Config">The parsed config.json; its <see cref="HuggingFaceConfig.Labels"/> are never null here.</param>
/// <param name="Report">What did not load one to one (buffers skipped, tensors unused).</param>
/// <param name="Tokenizer">The tokenizer files found beside the weights.</param>
public sealed record HuggingFaceTaskModel<TModel>(TModel Model, HuggingFaceConfig Config, HuggingFaceLoadReport Report,
    HuggingFaceTokenizerFiles Tokenizer) where TModel : nn.Module
{
    /// <summary>The label names in output order: classes, or tags.</summary>
    public IReadOnlyList<string> Labels => Config.Labels!;
}

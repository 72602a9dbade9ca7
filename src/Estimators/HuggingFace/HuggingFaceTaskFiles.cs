using Microsoft.ML;
using Microsoft.ML.Runtime;
using Pipelines.Models;
using Pipelines.Models.HuggingFace;
using static TorchSharp.torch;

namespace Pipelines;

/// <summary>
/// What the fitted task transformers share to leave for, and come back from, the Hugging Face format:
/// the model type an encoder's config implies, the directory written (weights, config.json with the label
/// names, the tokenizer files), and the config of a directory read back.
/// </summary>
internal static class HuggingFaceTaskFiles
{
    /// <summary>
    /// Writes <paramref name="model"/> (a task model on the encoder <paramref name="config"/>) into
    /// <paramref name="directory"/> as bert (positions from 0) or roberta (positions offset by the padding id),
    /// with <paramref name="labels"/> as id2label and <paramref name="tokenizer"/>'s files beside it. Nothing is
    /// left behind when the model or the tokenizer cannot be written.
    /// </summary>
    public static void Save(nn.Module model, TransformerConfig config, IReadOnlyList<string>? labels, int padId, string directory, TextTokenizer? tokenizer)
    {
        var type = config.PositionOffset > 0 ? HuggingFaceModelType.Roberta : HuggingFaceModelType.Bert;
        Save(model, new HuggingFaceConfig
        {
            ModelType = type,
            Transformer = config,
            PadTokenId = type == HuggingFaceModelType.Roberta ? config.PositionOffset - 1 : padId,
            Labels = labels,
        }, directory, tokenizer);
    }

    /// <summary>Writes <paramref name="model"/> with <paramref name="config"/> and <paramref name="tokenizer"/>'s files, or nothing.</summary>
    public static void Save(nn.Module model, HuggingFaceConfig config, string directory, TextTokenizer? tokenizer)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (tokenizer is not null && tokenizer.VocabSize != config.Transformer.VocabSize)
            throw new ArgumentException($"The tokenizer has {tokenizer.VocabSize} ids, the model {config.Transformer.VocabSize}: pass the tokenizer of the pipeline that made the model's tokens.", nameof(tokenizer));
        var written = tokenizer?.SaveHuggingFaceFiles(directory) ?? [];
        try
        {
            HuggingFaceExport.Save(model, config, directory);
        }
        catch
        {
            foreach (var path in written) File.Delete(path);
            throw;
        }
    }

    /// <summary>A host for a transformer read from a directory, outside any pipeline's MLContext.</summary>
    public static IHost Host(string name) => ((IHostEnvironment)new MLContext()).Register(name);

    /// <summary>The padding id and the longest sequence of an imported model's config.</summary>
    public static (int PadId, int MaxLength) Inputs(HuggingFaceConfig config) =>
        (config.ModelType == HuggingFaceModelType.Roberta ? config.Transformer.PositionOffset - 1 : config.PadTokenId ?? 0,
         config.Transformer.MaxPositions - config.Transformer.PositionOffset);
}

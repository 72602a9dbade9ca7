using Microsoft.ML;
using Pipelines.Models;
using Pipelines.Models.Checkpoints;
using Pipelines.Models.Lora;
using Pipelines.Transforms;
using TorchSharp;

namespace Pipelines.Estimators.Persistence;

/// <summary>
/// The thin layer between ML.NET's model-zip streams and this library's models: a model
/// transformer's entry in a zip holds its architecture (JSON), its tokenizer (self-contained bytes)
/// and its weights (safetensors, validated on load), each in a named binary stream.
/// </summary>
internal static class ModelStreams
{
    private const string ConfigStream = "Config.json";
    private const string TokenizerStream = "Tokenizer.bin";
    private const string WeightsStream = "Weights.safetensors";

    public static void SaveConfig(ModelSaveContext ctx, TransformerConfig config) =>
        ctx.SaveBinaryStream(ConfigStream, writer => writer.Write(config.ToJson()));

    public static TransformerConfig LoadConfig(ModelLoadContext ctx)
    {
        string? json = null;
        if (!ctx.TryLoadBinaryStream(ConfigStream, reader => json = reader.ReadString()) || json is null)
            throw new InvalidDataException($"The model zip lacks the '{ConfigStream}' stream of a transformer model.");
        return TransformerConfig.FromJson(json);
    }

    public static void SaveTokenizer(ModelSaveContext ctx, TextTokenizer tokenizer) =>
        ctx.SaveBinaryStream(TokenizerStream, writer => tokenizer.Save(writer.BaseStream));

    public static TextTokenizer LoadTokenizer(ModelLoadContext ctx)
    {
        TextTokenizer? tokenizer = null;
        if (!ctx.TryLoadBinaryStream(TokenizerStream, reader => tokenizer = TextTokenizer.Load(reader.BaseStream)) || tokenizer is null)
            throw new InvalidDataException($"The model zip lacks the '{TokenizerStream}' stream of a transformer model.");
        return tokenizer;
    }

    /// <summary>
    /// Writes the weights. LoRA adapters must have been merged into their layers (fine-tuning does
    /// that at the end): the merged weights are saved and the adapter matrices left out, so the
    /// loaded model is a plain one that computes the same function.
    /// </summary>
    public static void SaveWeights(ModelSaveContext ctx, torch.nn.Module model)
    {
        if (model.modules().OfType<LoraLinear>().Any(l => l.HasAdapter && !l.IsMerged))
            throw new InvalidOperationException("Merge the LoRA adapters (Adapters.Merge) before saving the model.");
        var state = model.state_dict().Where(p => !p.Key.Contains(".lora_", StringComparison.Ordinal));
        ctx.SaveBinaryStream(WeightsStream, writer => SafeTensors.Save(writer.BaseStream, state, new Dictionary<string, string> { ["format"] = "pt" }));
    }

    /// <summary>
    /// Reads the weights into <paramref name="model"/> and moves it to the default device ("auto":
    /// CUDA when available, else CPU), where a loaded model runs; the zip records no device.
    /// </summary>
    public static void LoadWeights(ModelLoadContext ctx, torch.nn.Module model)
    {
        if (!ctx.TryLoadBinaryStream(WeightsStream, reader => { using var file = SafeTensors.Read(reader.BaseStream); SafeTensors.LoadInto(model, file); }))
            throw new InvalidDataException($"The model zip lacks the '{WeightsStream}' stream of a transformer model.");
        model.to(ComputeDevice.Resolve(ComputeDevice.Auto));
    }
}

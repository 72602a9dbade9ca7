using System.Text.Json;

namespace Pipelines.Models.Checkpoints;

/// <summary>
/// The keys this project writes into a safetensors file's <c>__metadata__</c>, and helpers for
/// the model configuration stored there. The config travels as metadata rather than in a side file
/// so that one file is a whole checkpoint: <c>SafeTensors.SaveModule(model, path,
/// CheckpointMetadata.ForConfig(model.Config))</c>, then <c>CheckpointMetadata.ReadConfig(file)</c>.
/// </summary>
public static class CheckpointMetadata
{
    /// <summary>The <see cref="TransformerConfig"/> as JSON (<see cref="TransformerConfig.ToJson"/>).</summary>
    public const string ConfigKey = "pipelines.config";

    /// <summary>"format": "pt" marks PyTorch-layout weights; Hugging Face transformers expects it.</summary>
    public const string FormatKey = "format";

    /// <summary>Metadata holding <paramref name="config"/> under <see cref="ConfigKey"/>.</summary>
    public static Dictionary<string, string> ForConfig(TransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new Dictionary<string, string> { [ConfigKey] = config.Validate().ToJson() };
    }

    /// <summary>The config stored under <see cref="ConfigKey"/>, validated.</summary>
    /// <exception cref="InvalidDataException">The file has no config, or it does not parse or validate.</exception>
    public static TransformerConfig ReadConfig(SafeTensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (!file.Metadata.TryGetValue(ConfigKey, out var json))
            throw new InvalidDataException($"The checkpoint has no model configuration (metadata key '{ConfigKey}').");
        try { return TransformerConfig.FromJson(json); }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"The checkpoint's model configuration (metadata key '{ConfigKey}') is invalid: {e.Message}", e);
        }
    }
}

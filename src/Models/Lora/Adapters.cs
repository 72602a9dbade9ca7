using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Lora;

/// <summary>Attaches, merges and removes LoRA adapters across a model, and counts trainable parameters.</summary>
public static class Adapters
{
    /// <summary>
    /// Freezes every parameter of <paramref name="model"/>, attaches adapters to the target layers,
    /// and leaves trainable only the adapters and the parameters whose path starts with one of
    /// <paramref name="trainablePrefixes"/> (a task head such as "classifier"). Returns the names of
    /// the adapted layers.
    /// </summary>
    /// <exception cref="ArgumentException">No layer matched <see cref="LoraOptions.Targets"/>.</exception>
    public static IReadOnlyList<string> Attach(nn.Module model, LoraOptions options, params string[] trainablePrefixes)
    {
        Freezing.FreezeAllBut(model, trainablePrefixes);
        var adapted = new List<string>();
        foreach (var (name, module) in model.named_modules())
        {
            if (module is not LoraLinear linear) continue;
            var last = name[(name.LastIndexOf('.') + 1)..];
            if (!options.Targets.Contains(last)) continue;
            linear.AddAdapter(options.Rank, options.Alpha, options.Dropout);
            adapted.Add(name);
        }
        if (adapted.Count == 0)
            throw new ArgumentException($"No linear layer is named one of [{string.Join(", ", options.Targets)}]; nothing to adapt.", nameof(options));
        return adapted;
    }

    /// <summary>Folds every adapter into its layer's weight (for inference).</summary>
    public static void Merge(nn.Module model)
    {
        foreach (var linear in model.modules().OfType<LoraLinear>()) linear.Merge();
    }

    /// <summary>Takes every merged adapter back out of its layer's weight.</summary>
    public static void Unmerge(nn.Module model)
    {
        foreach (var linear in model.modules().OfType<LoraLinear>()) linear.Unmerge();
    }
}

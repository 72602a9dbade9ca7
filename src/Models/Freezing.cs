using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models;

/// <summary>Freezing policies: which parameters fine-tuning may change.</summary>
public static class Freezing
{
    /// <summary>Freezes every parameter except those whose path starts with one of <paramref name="prefixes"/>.</summary>
    public static void FreezeAllBut(nn.Module model, params string[] prefixes)
    {
        foreach (var (name, parameter) in model.named_parameters())
            parameter.requires_grad = prefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));
    }

    /// <summary>
    /// Freezes every parameter except the bottleneck adapters, the LayerNorms (as Houlsby et al. train
    /// them) and those whose path starts with one of <paramref name="prefixes"/> (the task head).
    /// </summary>
    /// <exception cref="ArgumentException">The model has no adapters (its config's AdapterSize is 0).</exception>
    public static void FreezeAllButAdapters(nn.Module model, params string[] prefixes)
    {
        if (!model.modules().OfType<BottleneckAdapter>().Any())
            throw new ArgumentException("The model has no bottleneck adapters to train: build it with a config whose AdapterSize is above 0.", nameof(model));
        foreach (var (name, parameter) in model.named_parameters())
            parameter.requires_grad = name.Contains(".adapter.", StringComparison.Ordinal) || name.Contains("LayerNorm", StringComparison.Ordinal)
                                      || prefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));
    }

    /// <summary>Freezes the token, position and segment embeddings (BERT's "embeddings.", GPT's wte and wpe).</summary>
    public static void FreezeEmbeddings(nn.Module model)
    {
        foreach (var (name, parameter) in model.named_parameters())
            if (name.Contains("embeddings.") || name.Contains(".wte.") || name.Contains(".wpe."))
                parameter.requires_grad = false;
    }

    /// <summary>Freezes the first <paramref name="count"/> blocks (encoder.layer.N or transformer.h.N with N below count).</summary>
    public static void FreezeBottomLayers(nn.Module model, int count)
    {
        foreach (var (name, parameter) in model.named_parameters())
            if (BlockIndex(name) is int index && index < count)
                parameter.requires_grad = false;
    }

    /// <summary>The block number in a parameter path, or null outside the block stack.</summary>
    public static int? BlockIndex(string parameterName)
    {
        foreach (var marker in (string[])["encoder.layer.", "transformer.h."])
        {
            var at = parameterName.IndexOf(marker, StringComparison.Ordinal);
            if (at < 0) continue;
            var rest = parameterName.AsSpan(at + marker.Length);
            var dot = rest.IndexOf('.');
            if (dot > 0 && int.TryParse(rest[..dot], out var index)) return index;
        }
        return null;
    }

    /// <summary>Number of scalar parameters that receive gradients.</summary>
    public static long TrainableParameters(nn.Module model) =>
        model.parameters().Where(p => p.requires_grad).Sum(p => p.numel());

    /// <summary>Number of scalar parameters in all.</summary>
    public static long TotalParameters(nn.Module model) => model.parameters().Sum(p => p.numel());
}

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>AdamW set up as BERT and GPT train: weight decay on matrices only.</summary>
public static class Optimizers
{
    /// <summary>
    /// AdamW over the trainable parameters in two groups: weight decay on parameters of two or
    /// more dimensions (linear weights, embeddings), none on biases and LayerNorm weights (one
    /// dimension), whose decay would only pull them to zero without regularising anything.
    /// </summary>
    public static AdamW AdamW(IEnumerable<Parameter> parameters, double learningRate, double weightDecay = 0.01,
        double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    {
        var trainable = parameters.Where(p => p.requires_grad).ToList();
        if (trainable.Count == 0) throw new ArgumentException("No trainable parameters: everything is frozen.", nameof(parameters));
        var groups = new List<AdamW.ParamGroup>
        {
            new(trainable.Where(p => p.dim() >= 2), learningRate, beta1, beta2, epsilon, weightDecay),
            new(trainable.Where(p => p.dim() < 2), learningRate, beta1, beta2, epsilon, 0.0),
        };
        return optim.AdamW(groups.Where(g => g.Parameters.Any()), learningRate, beta1, beta2, epsilon, weightDecay);
    }

    /// <summary>
    /// Layer-wise learning-rate decay for encoders: parameters of block N (of L) get
    /// lr * decay^(L - N), embeddings lr * decay^(L + 1), everything above the blocks (heads) lr.
    /// Weight decay as in <see cref="AdamW(IEnumerable{Parameter}, double, double, double, double, double)"/>.
    /// </summary>
    public static AdamW AdamWWithLayerDecay(nn.Module model, int layers, double learningRate, double layerDecay,
        double weightDecay = 0.01, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    {
        var groups = model.named_parameters()
            .Where(p => p.parameter.requires_grad)
            .GroupBy(p => (Depth: Depth(p.name, layers), Decay: p.parameter.dim() >= 2))
            .Select(g => new AdamW.ParamGroup(g.Select(p => p.parameter),
                learningRate * Math.Pow(layerDecay, layers + 1 - g.Key.Depth), beta1, beta2, epsilon,
                g.Key.Decay ? weightDecay : 0.0))
            .ToList();
        if (groups.Count == 0) throw new ArgumentException("No trainable parameters: everything is frozen.", nameof(model));
        return optim.AdamW(groups, learningRate, beta1, beta2, epsilon, weightDecay);
    }

    // 0 for embeddings, N + 1 for block N, layers + 1 for everything above the blocks.
    private static int Depth(string name, int layers) =>
        Freezing.BlockIndex(name) is int block ? block + 1 : name.Contains("embeddings.") || name.Contains(".wte.") || name.Contains(".wpe.") ? 0 : layers + 1;
}

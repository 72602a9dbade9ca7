using System.Text.Json.Serialization;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Pipelines;

/// <summary>
/// The non-linearity of the feed-forward networks. The two GELUs differ by up to about 1e-3 per
/// value, enough to matter when reproducing a checkpoint, so a config names the one it was trained with.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<Activation>))]
public enum Activation
{
    /// <summary>The architecture's own: exact GELU in the encoder, tanh GELU in the decoder.</summary>
    Default,
    /// <summary>Exact GELU, x Φ(x) (Hugging Face's "gelu").</summary>
    Gelu,
    /// <summary>GELU's tanh approximation (Hugging Face's "gelu_new" and "gelu_pytorch_tanh", GPT-2's).</summary>
    GeluTanh,
}

/// <summary>Applies an <see cref="Activation"/>.</summary>
internal static class Activations
{
    /// <summary>The activation of x; <paramref name="fallback"/> stands in for <see cref="Activation.Default"/>.</summary>
    public static Tensor Apply(Tensor x, Activation activation, Activation fallback) =>
        (activation == Activation.Default ? fallback : activation) == Activation.GeluTanh
            ? F.gelu(x, GELU.Approximate.tanh)
            : F.gelu(x);
}

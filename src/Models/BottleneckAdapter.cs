using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pipelines.Models;

/// <summary>
/// A bottleneck adapter (Houlsby et al., 2019): x + up(ReLU(down(x))), with a few hidden units. Its
/// up projection starts at zero, so a model with fresh adapters computes exactly what it computed
/// without them; fine-tuning then trains the adapters (and LayerNorms and head) instead of the
/// encoder. Unlike LoRA they cannot be folded into the weights, so they stay in the saved model.
/// </summary>
public sealed class BottleneckAdapter : nn.Module<Tensor, Tensor>
{
    private readonly Linear down;
    private readonly Linear up;

    /// <summary>
    /// An adapter on <paramref name="hidden"/> features through <paramref name="size"/> units. The down
    /// projection keeps PyTorch's default (Kaiming uniform) initialisation, as LoRA's A does: with
    /// BERT's N(0, 0.02) its features were too small for the adapter to learn in a few hundred steps.
    /// </summary>
    public BottleneckAdapter(int hidden, int size) : base(nameof(BottleneckAdapter))
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), size, "An adapter needs at least one hidden unit.");
        down = nn.Linear(hidden, size);
        up = nn.Linear(size, hidden);
        using (no_grad())
        {
            nn.init.zeros_(up.weight!);
            nn.init.zeros_(up.bias!);
        }
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => x + up.forward(nn.functional.relu(down.forward(x)));
}

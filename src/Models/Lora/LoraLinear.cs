using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Pipelines.Models.Lora;

/// <summary>
/// A linear layer (y = x W^T + b, parameters named <c>weight</c> and <c>bias</c> like
/// <c>nn.Linear</c>, so checkpoints map one to one) that can carry a LoRA adapter:
/// y = x W^T + b + (dropout(x) A^T B^T) * alpha / rank, with A (rank x in) random and B (out x rank)
/// zero, so an adapter starts as the identity change. Every linear layer of the models is one of
/// these, so LoRA is switched on by name rather than by swapping modules.
/// </summary>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
    private Parameter weight;
    private Parameter? bias;
    private Parameter? lora_A;
    private Parameter? lora_B;
    private double _scaling;
    private double _dropout;

    /// <summary>Creates the layer with weights to be initialised by the owning model.</summary>
    public LoraLinear(long inFeatures, long outFeatures, bool hasBias = true) : base(nameof(LoraLinear))
    {
        weight = new Parameter(empty(outFeatures, inFeatures));
        if (hasBias) bias = new Parameter(zeros(outFeatures));
        nn.init.kaiming_uniform_(weight, Math.Sqrt(5));
        RegisterComponents();
    }

    /// <summary>The (out, in) weight matrix.</summary>
    public Parameter Weight => weight;
    /// <summary>The bias, or null.</summary>
    public Parameter? Bias => bias;
    /// <summary>True while an adapter is attached (merged or not).</summary>
    public bool HasAdapter => lora_A is not null;

    /// <summary>True for a state_dict name of an adapter matrix (…lora_A, …lora_B), which merged weights do without.</summary>
    public static bool IsAdapterParameter(string name) =>
        name.EndsWith("." + nameof(lora_A), StringComparison.Ordinal) || name.EndsWith("." + nameof(lora_B), StringComparison.Ordinal);
    /// <summary>True while the adapter's product is folded into <see cref="Weight"/>.</summary>
    public bool IsMerged { get; private set; }
    /// <summary>The adapter's down projection A (rank, in), or null.</summary>
    public Parameter? LoraA => lora_A;
    /// <summary>The adapter's up projection B (out, rank), or null.</summary>
    public Parameter? LoraB => lora_B;

    /// <summary>
    /// Attaches an adapter of <paramref name="rank"/>; A is drawn like a linear layer's weight (so
    /// the seed decides it) and B is zero. The base weight and bias are frozen.
    /// </summary>
    public void AddAdapter(int rank, double alpha, double dropout)
    {
        if (rank <= 0) throw new ArgumentOutOfRangeException(nameof(rank), rank, "LoRA rank must be positive.");
        if (HasAdapter) throw new InvalidOperationException("This layer already has a LoRA adapter.");
        var device = weight.device;
        lora_A = new Parameter(empty(rank, weight.shape[1], device: device));
        nn.init.kaiming_uniform_(lora_A, Math.Sqrt(5));
        lora_B = new Parameter(zeros(weight.shape[0], rank, device: device));
        register_parameter(nameof(lora_A), lora_A);
        register_parameter(nameof(lora_B), lora_B);
        (_scaling, _dropout) = (alpha / rank, dropout);
        weight.requires_grad = false;
        if (bias is not null) bias.requires_grad = false;
    }

    /// <summary>Folds B A * scaling into the weight, so inference costs nothing extra.</summary>
    public void Merge()
    {
        if (!HasAdapter || IsMerged) return;
        using var _ = no_grad();
        weight.add_(lora_B!.matmul(lora_A!).mul(_scaling));
        IsMerged = true;
    }

    /// <summary>Takes the adapter's product back out of the weight, so training can continue.</summary>
    public void Unmerge()
    {
        if (!IsMerged) return;
        using var _ = no_grad();
        weight.sub_(lora_B!.matmul(lora_A!).mul(_scaling));
        IsMerged = false;
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        var y = F.linear(x, weight, bias);
        if (!HasAdapter || IsMerged) return y;
        var input = training && _dropout > 0 ? F.dropout(x, _dropout, training) : x;
        return y + F.linear(F.linear(input, lora_A!), lora_B!) * _scaling;
    }
}

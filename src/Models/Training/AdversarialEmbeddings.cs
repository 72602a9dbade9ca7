using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>
/// Adversarial training on the word embeddings by the fast gradient method (FGM; Miyato et al.,
/// 2017): the batch is run a second time with the embedding table moved by epsilon along the
/// normalized gradient of its loss, and that adversarial loss is added to the clean one, so the
/// model learns to keep its answer under the small change of input that hurts it most. The table
/// is restored exactly afterwards (from a copy, not by subtracting).
/// </summary>
public sealed class AdversarialEmbeddings(Parameter wordEmbeddings, double epsilon)
{
    /// <summary>Size of the perturbation (L2 norm over the table); 0 turns adversarial training off.</summary>
    public double Epsilon { get; } = epsilon >= 0 && double.IsFinite(epsilon) ? epsilon
        : throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "Epsilon must be a finite number, at least 0.");

    /// <summary>
    /// <paramref name="cleanLoss"/> plus the loss that <paramref name="forwardLoss"/> computes with
    /// the perturbed embeddings; <paramref name="cleanLoss"/> alone when epsilon is 0 or its gradient vanishes.
    /// </summary>
    /// <exception cref="InvalidOperationException">The embeddings are frozen, so they have no gradient to follow.</exception>
    public Tensor AddTo(Tensor cleanLoss, Func<Tensor> forwardLoss)
    {
        if (Epsilon == 0) return cleanLoss;
        if (!wordEmbeddings.requires_grad)
            throw new InvalidOperationException("Adversarial training moves the word embeddings along their gradient, but they are frozen: " +
                                                "use a strategy that trains them (Full), or no adversarial training.");
        using var gradient = autograd.grad([cleanLoss], [wordEmbeddings], retain_graph: true)[0];
        var norm = gradient.norm().item<float>();
        if (!(norm > 0) || !float.IsFinite(norm)) return cleanLoss;
        using var saved = wordEmbeddings.detach().clone();
        using (no_grad()) wordEmbeddings.add_(gradient, alpha: Epsilon / norm);
        try
        {
            return cleanLoss + forwardLoss();
        }
        finally
        {
            using (no_grad()) wordEmbeddings.copy_(saved);
        }
    }
}

using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>
/// Adversarial training on the word embeddings. With one step it is the fast gradient method (FGM;
/// Miyato et al., 2017): the batch is run a second time with the embedding table moved by epsilon
/// along the normalized gradient of its loss, and that adversarial loss is added to the clean one,
/// so the model learns to keep its answer under the small change of input that hurts it most. With
/// K steps it is projected gradient descent (PGD; Madry et al., 2018): K moves of the step size along
/// the gradient of the loss at the current perturbation, each projected back into the epsilon ball,
/// and the loss at the last one is added. The table is restored exactly afterwards (from a copy).
/// </summary>
public sealed class AdversarialEmbeddings
{
    private readonly Parameter _wordEmbeddings;

    /// <summary>
    /// Perturbs <paramref name="wordEmbeddings"/> by at most <paramref name="epsilon"/> in
    /// <paramref name="steps"/> steps of <paramref name="stepSize"/> (0: 2.5 x epsilon / steps, Madry et
    /// al.'s choice, which with one step is FGM's move of exactly epsilon).
    /// </summary>
    public AdversarialEmbeddings(Parameter wordEmbeddings, double epsilon, int steps = 1, double stepSize = 0)
    {
        _wordEmbeddings = wordEmbeddings;
        Epsilon = epsilon >= 0 && double.IsFinite(epsilon) ? epsilon
            : throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "Epsilon must be a finite number, at least 0.");
        Steps = steps >= 1 ? steps : throw new ArgumentOutOfRangeException(nameof(steps), steps, "PGD takes at least one step (one step is FGM).");
        StepSize = stepSize >= 0 && double.IsFinite(stepSize) ? (stepSize > 0 ? stepSize : 2.5 * epsilon / steps)
            : throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "The step size must be a finite number, at least 0 (0: 2.5 x epsilon / steps).");
    }

    /// <summary>Largest perturbation (L2 norm over the table); 0 turns adversarial training off.</summary>
    public double Epsilon { get; }
    /// <summary>Gradient steps that build the perturbation (1: FGM).</summary>
    public int Steps { get; }
    /// <summary>Length of each step before projection.</summary>
    public double StepSize { get; }
    /// <summary>L2 norm of the last perturbation applied (at most <see cref="Epsilon"/>); 0 before any.</summary>
    public double LastPerturbationNorm { get; private set; }

    /// <summary>
    /// <paramref name="cleanLoss"/> plus the loss that <paramref name="forwardLoss"/> computes with
    /// the perturbed embeddings; <paramref name="cleanLoss"/> alone when epsilon is 0 or its gradient vanishes.
    /// </summary>
    /// <exception cref="InvalidOperationException">The embeddings are frozen, so they have no gradient to follow.</exception>
    public Tensor AddTo(Tensor cleanLoss, Func<Tensor> forwardLoss)
    {
        if (Epsilon == 0) return cleanLoss;
        if (!_wordEmbeddings.requires_grad)
            throw new InvalidOperationException("Adversarial training moves the word embeddings along their gradient, but they are frozen: " +
                                                "use a strategy that trains them (Full), or no adversarial training.");
        using var saved = _wordEmbeddings.detach().clone();
        var gradient = autograd.grad([cleanLoss], [_wordEmbeddings], retain_graph: true)[0];
        using var perturbation = zeros_like(saved);
        try
        {
            for (var step = 1; ; step++)
            {
                var norm = gradient.norm().item<float>();
                if (!(norm > 0) || !float.IsFinite(norm))
                {
                    gradient.Dispose();
                    return step == 1 ? cleanLoss : cleanLoss + forwardLoss();
                }
                perturbation.add_(gradient, alpha: StepSize / norm);
                gradient.Dispose();
                var size = perturbation.norm().item<float>();
                if (size > Epsilon) perturbation.mul_(Epsilon / size);
                LastPerturbationNorm = Math.Min(size, Epsilon);
                using (no_grad()) _wordEmbeddings.copy_(saved).add_(perturbation);
                if (step == Steps) return cleanLoss + forwardLoss();
                // An inner step: only the direction of the loss at this perturbation is kept, not its graph.
                using var loss = forwardLoss();
                gradient = autograd.grad([loss], [_wordEmbeddings])[0];
            }
        }
        finally
        {
            using (no_grad()) _wordEmbeddings.copy_(saved);
        }
    }
}

/// <summary>How a fine-tuning task perturbs its word embeddings: epsilon (0: not at all), steps (1: FGM, more: PGD) and step size (0: automatic).</summary>
public sealed record AdversarialSettings(double Epsilon, int Steps = 1, double StepSize = 0)
{
    /// <summary>No adversarial training.</summary>
    public static AdversarialSettings None { get; } = new(0);

    /// <summary>The perturbation of <paramref name="wordEmbeddings"/> these settings describe.</summary>
    public AdversarialEmbeddings For(Parameter wordEmbeddings) => new(wordEmbeddings, Epsilon, Steps, StepSize);
}

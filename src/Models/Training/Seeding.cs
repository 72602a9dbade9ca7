using TorchSharp;

namespace Pipelines.Models.Training;

/// <summary>One place to seed every random generator a training run uses.</summary>
public static class Seeding
{
    /// <summary>
    /// Seeds TorchSharp's CPU generator and, when CUDA is present, every GPU's generator; returns a
    /// <see cref="Random"/> from the same seed for host-side sampling (batches, masking).
    /// On CPU, same seed and data give bit-identical weights.
    /// </summary>
    public static Random Set(int seed)
    {
        torch.random.manual_seed(seed);
        if (torch.cuda.is_available()) torch.cuda.manual_seed_all(seed);
        return new Random(seed);
    }
}

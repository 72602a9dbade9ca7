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
        SeedTorch(seed);
        return new Random(seed);
    }

    /// <summary>Seeds TorchSharp's CPU generator and every GPU's (dropout on a GPU draws from the GPU's generator).</summary>
    public static void SeedTorch(long seed)
    {
        torch.random.manual_seed(seed);
        if (CudaAvailable.Value) torch.cuda.manual_seed_all(seed);
    }

    private static readonly Lazy<bool> CudaAvailable = new(torch.cuda.is_available);
}

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

    /// <summary>
    /// A <see cref="Random"/> for the <paramref name="index"/>-th draw (step, epoch) of a run seeded
    /// with <paramref name="seed"/>. The two are mixed with SplitMix64 first: .NET's seeded Random
    /// gives neighbouring seeds first values a near-constant stride apart, so seeding it with
    /// seed + step made successive batches walk the data in a lattice (window starts over 1,000
    /// bins: chi-square about 2,000, where uniform draws give about 1,000).
    /// </summary>
    public static Random Derived(int seed, long index)
    {
        var z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)index + 0x632BE59BD9B4E019UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return new Random((int)(z ^ (z >> 31)));
    }

    /// <summary>Seeds TorchSharp's CPU generator and every GPU's (dropout on a GPU draws from the GPU's generator).</summary>
    public static void SeedTorch(long seed)
    {
        torch.random.manual_seed(seed);
        if (CudaAvailable.Value) torch.cuda.manual_seed_all(seed);
    }

    private static readonly Lazy<bool> CudaAvailable = new(torch.cuda.is_available);
}

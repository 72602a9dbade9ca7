using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>Training produced a NaN or infinite loss or gradient; the step is named so the run can be diagnosed.</summary>
public sealed class NonFiniteLossException(int step, string what)
    : Exception($"Training stopped at step {step}: the {what} is not finite (NaN or infinity). " +
                "Lower the learning rate, enable gradient clipping, or check the input data.")
{
    /// <summary>The optimizer step at which the non-finite value appeared.</summary>
    public int Step { get; } = step;

    /// <summary>Throws when <paramref name="value"/> is NaN or infinite.</summary>
    public static void ThrowIfNonFinite(double value, int step, string what = "loss")
    {
        if (!double.IsFinite(value)) throw new NonFiniteLossException(step, what);
    }

    /// <summary>Throws when any element of <paramref name="value"/> is NaN or infinite.</summary>
    public static void ThrowIfNonFinite(Tensor value, int step, string what)
    {
        using var finite = isfinite(value).all();
        if (!finite.item<bool>()) throw new NonFiniteLossException(step, what);
    }
}

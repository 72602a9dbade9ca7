using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>
/// What <see cref="TrainingLoop"/> trains: a model, a way to draw a batch and compute its loss,
/// and a validation measure. Batches are drawn from the <see cref="Random"/> the loop passes in,
/// which the loop derives from the seed and the step, so a resumed run draws the same batches.
/// </summary>
public interface ITrainingTask
{
    /// <summary>The model being trained (all of it, so that checkpoints hold every weight).</summary>
    nn.Module Model { get; }

    /// <summary>Number of training examples, for reporting epochs.</summary>
    long TrainingExamples { get; }

    /// <summary>
    /// Draws micro-batch number <paramref name="draw"/> (0, 1, 2 ... across the whole run, so an
    /// epoch-ordered task can find its place after a resume) and returns its mean loss (a scalar
    /// with a graph) and its size.
    /// </summary>
    (Tensor Loss, int Examples, long Tokens) Step(long draw, Random random);

    /// <summary>Evaluates on held-out data in eval mode, without gradients; null when there is none.</summary>
    ValidationResult? Validate(int step);
}

using Pipelines.Models.Training;

namespace Pipelines;

/// <summary>A transformer made by one of this library's trainers: how its training run went.</summary>
public interface ITrainedTransformer
{
    /// <summary>Steps, stop reason, loss curve and validations of the run; null for a model loaded from a zip.</summary>
    TrainingResult? Training { get; }
}

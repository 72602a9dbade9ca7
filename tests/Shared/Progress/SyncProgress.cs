using Pipelines.Models.Training;

namespace Pipelines.Tests;

/// <summary>
/// Reports on the training thread, as the step happens: System.Progress would post to the thread pool,
/// too late to stop a run at a given step or to read the model's state at it.
/// </summary>
internal sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => report(value);
}

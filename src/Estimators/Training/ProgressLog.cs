using Microsoft.ML.Runtime;
using Pipelines.Models.Training;

namespace Pipelines;

/// <summary>Forwards training progress to <c>MLContext.Log</c> (through a channel) and to the user's <see cref="IProgress{T}"/>.</summary>
internal sealed class ProgressLog(IChannel channel, IProgress<TrainingProgress>? user, int logEvery) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value)
    {
        if (value.Validation is not null || value.Step % Math.Max(1, logEvery) == 0 || value.Step == value.TotalSteps)
            channel.Info(value.ToString());
        user?.Report(value);
    }
}

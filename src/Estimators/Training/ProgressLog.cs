using Microsoft.ML.Runtime;
using Pipelines.Models.Training;

namespace Pipelines;

/// <summary>
/// Forwards training progress to <c>MLContext.Log</c> (through a channel), to the run log file when
/// there is one, and to the user's <see cref="IProgress{T}"/>.
/// </summary>
internal sealed class ProgressLog(IChannel channel, IProgress<TrainingProgress>? user, int logEvery, RunLog? file = null) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value)
    {
        if (value.Validation is not null || value.Step % Math.Max(1, logEvery) == 0 || value.Step == value.TotalSteps)
        {
            channel.Info(value.ToString());
            file?.Write(value);
        }
        user?.Report(value);
    }
}

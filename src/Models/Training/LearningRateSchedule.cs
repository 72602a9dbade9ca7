using TorchSharp;

namespace Pipelines.Models.Training;

/// <summary>
/// Linear warmup from 0 to each parameter group's initial learning rate over
/// <see cref="WarmupSteps"/>, then <see cref="Shape"/> decay to <see cref="FloorRatio"/> times it
/// at <see cref="TotalSteps"/>, then flat. Steps count from 1 (the first optimizer step).
/// </summary>
public sealed record LearningRateSchedule(DecayShape Shape, int WarmupSteps, int TotalSteps, double FloorRatio = 0.0)
{
    /// <summary>Multiplier of the peak rate at <paramref name="step"/>.</summary>
    public double Factor(int step)
    {
        if (WarmupSteps > 0 && step <= WarmupSteps) return (double)step / WarmupSteps;
        if (Shape == DecayShape.Constant || step >= TotalSteps) return Shape == DecayShape.Constant ? 1.0 : FloorRatio;
        var progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        var decayed = Shape == DecayShape.Linear ? 1 - progress : 0.5 * (1 + Math.Cos(Math.PI * progress));
        return FloorRatio + (1 - FloorRatio) * decayed;
    }

    /// <summary>Sets every group's rate to its initial rate times <see cref="Factor"/>; returns the first group's rate.</summary>
    public double Apply(torch.optim.Optimizer optimizer, int step)
    {
        var factor = Factor(step);
        double first = double.NaN;
        foreach (var group in optimizer.ParamGroups)
        {
            group.LearningRate = group.InitialLearningRate * factor;
            if (double.IsNaN(first)) first = group.LearningRate;
        }
        return first;
    }
}

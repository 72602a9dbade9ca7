namespace Pipelines.Models.Training;

/// <summary>How <see cref="TrainingLoop"/> runs. Defaults suit small models on a CPU.</summary>
public sealed record TrainingLoopOptions
{
    /// <summary>Optimizer steps to run.</summary>
    public int MaxSteps { get; init; } = 1000;
    /// <summary>Micro-batches whose gradients are summed before each optimizer step.</summary>
    public int AccumulationSteps { get; init; } = 1;
    /// <summary>Clip the global gradient norm to this value; 0 disables clipping.</summary>
    public double GradientClipNorm { get; init; } = 1.0;
    /// <summary>The learning-rate curve; applied to each group's initial rate.</summary>
    public LearningRateSchedule Schedule { get; init; } = new(DecayShape.Linear, 0, 1000);
    /// <summary>Validate every this many steps (and at the end); 0: only at the end.</summary>
    public int EvaluateEvery { get; init; }
    /// <summary>Also validate before the first step (recorded as step 0), to know the starting point.</summary>
    public bool EvaluateAtStart { get; init; }
    /// <summary>Stop after this many validations without a new best; 0 disables early stopping.</summary>
    public int Patience { get; init; }
    /// <summary>What "best" means for <see cref="Patience"/> and <see cref="RestoreBest"/>.</summary>
    public BestBy BestBy { get; init; } = BestBy.Loss;
    /// <summary>At the end, put back the weights of the best validation (when there was validation).</summary>
    public bool RestoreBest { get; init; } = true;
    /// <summary>Write a checkpoint here every <see cref="CheckpointEvery"/> steps (and at the end); null: none.</summary>
    public string? CheckpointDirectory { get; init; }
    /// <summary>Steps between checkpoints; 0: only at the end.</summary>
    public int CheckpointEvery { get; init; }
    /// <summary>Continue from the checkpoint in <see cref="CheckpointDirectory"/> when there is one.</summary>
    public bool Resume { get; init; }
    /// <summary>Stop (keeping what was learned) once this much wall time has passed.</summary>
    public TimeSpan? TimeBudget { get; init; }
    /// <summary>Report progress every this many steps.</summary>
    public int ReportEvery { get; init; } = 10;
    /// <summary>Seed of batch sampling and of TorchSharp's generator (reset every step from seed and step).</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Receives a report every <see cref="ReportEvery"/> steps and after each validation.</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }
    /// <summary>Cancels the run between steps (the model keeps what it learned; a checkpoint is written when configured).</summary>
    public CancellationToken Cancellation { get; init; }
}

using Pipelines.Models.Training;

namespace Pipelines;

/// <summary>Why a training run ended.</summary>
public enum StopReason
{
    /// <summary>All planned steps ran.</summary>
    Completed,
    /// <summary>Validation loss stopped improving for <see cref="TrainingLoopOptions.Patience"/> validations.</summary>
    EarlyStopped,
    /// <summary>The time budget ran out.</summary>
    TimeBudget,
    /// <summary>The cancellation token fired.</summary>
    Cancelled,
}

/// <summary>What a run did.</summary>
/// <param name="Steps">Optimizer steps done (counting steps before a resume).</param>
/// <param name="Reason">Why it ended.</param>
/// <param name="Reports">Every progress report, in order (loss curve).</param>
/// <param name="Validations">Every validation, in order.</param>
/// <param name="Best">The best validation, whose weights the model holds when RestoreBest was set.</param>
/// <param name="Elapsed">Wall time of this run (since the resume, if resumed).</param>
public sealed record TrainingResult(int Steps, StopReason Reason, IReadOnlyList<TrainingProgress> Reports,
    IReadOnlyList<ValidationResult> Validations, ValidationResult? Best, TimeSpan Elapsed);

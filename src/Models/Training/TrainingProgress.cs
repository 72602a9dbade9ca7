namespace Pipelines;

/// <summary>One progress report of a training run.</summary>
/// <param name="Step">Optimizer steps done.</param>
/// <param name="TotalSteps">Optimizer steps planned.</param>
/// <param name="Epoch">Passes over the training data so far (fractional).</param>
/// <param name="Loss">Mean training loss since the previous report.</param>
/// <param name="LearningRate">Current learning rate (first parameter group).</param>
/// <param name="TokensPerSecond">Training throughput since the run (or resume) started.</param>
/// <param name="Elapsed">Wall time since the run (or resume) started.</param>
/// <param name="Remaining">Estimated wall time to <paramref name="TotalSteps"/>.</param>
/// <param name="Validation">The latest validation result, if one was computed at this step.</param>
public sealed record TrainingProgress(
    int Step, int TotalSteps, double Epoch, double Loss, double LearningRate, double TokensPerSecond,
    TimeSpan Elapsed, TimeSpan Remaining, ValidationResult? Validation)
{
    /// <summary>A one-line summary for logs.</summary>
    public override string ToString() =>
        $"step {Step}/{TotalSteps} epoch {Epoch:F2} loss {Loss:F4} lr {LearningRate:E2} {TokensPerSecond:N0} tok/s " +
        $"elapsed {Elapsed:hh\\:mm\\:ss} eta {Remaining:hh\\:mm\\:ss}" + (Validation is null ? "" : $" | {Validation}");
}

/// <summary>Validation metrics at one step.</summary>
/// <param name="Step">The optimizer step they were measured at.</param>
/// <param name="Loss">Mean validation loss (nats per predicted token for language models).</param>
/// <param name="Accuracy">Fraction of predicted tokens (or examples) that were right, if the task measures it.</param>
/// <param name="PairAccuracy">Fraction of sentence pairs classified right, when masked-LM trains with a sentence-pair objective.</param>
/// <param name="F1">The task's F1, when it has one: the positive class's (binary classifier), macro-averaged over classes (multiclass), entity-level (tagger).</param>
/// <param name="Auc">Area under the ROC curve (binary classifier).</param>
public sealed record ValidationResult(int Step, double Loss, double? Accuracy = null, double? PairAccuracy = null, double? F1 = null, double? Auc = null)
{
    /// <summary>exp(loss): the perplexity of a language model.</summary>
    public double Perplexity => Math.Exp(Loss);

    /// <inheritdoc/>
    public override string ToString() =>
        $"validation loss {Loss:F4} perplexity {Perplexity:F2}" + (Accuracy is double a ? $" accuracy {a:P2}" : "") +
        (PairAccuracy is double p ? $" sentence pairs {p:P2}" : "") + (F1 is double f ? $" F1 {f:F4}" : "") + (Auc is double auc ? $" AUC {auc:F4}" : "");
}

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>
/// The training loop shared by pretraining and fine-tuning: gradient accumulation, clipping,
/// learning-rate schedule, optional bf16 master weights, periodic validation with early stopping
/// and best-weights restore, checkpoints and resume, time budget, cancellation, progress, and a
/// non-finite loss check. One dispose scope per micro-batch keeps memory flat. What a run carries
/// from step to step is its <see cref="TrainingState"/>; the measures it reports, <see cref="RunProgress"/>.
/// Determinism: step s draws its batch from Random(seed, s) and reseeds TorchSharp's generator
/// from (seed, s), so a resumed run repeats the uninterrupted run's steps exactly.
/// </summary>
public static class TrainingLoop
{
    /// <summary>Trains <paramref name="task"/>'s model with <paramref name="optimizer"/>, whose parameters are <paramref name="parameters"/>.</summary>
    public static TrainingResult Run(ITrainingTask task, OptimizerHelper optimizer, IReadOnlyList<Parameter> parameters,
        TrainingLoopOptions options, MixedPrecision? precision = null, string configJson = "")
    {
        using var state = new TrainingState(task, optimizer, parameters, options, precision, configJson);
        if (options.Resume) state.Resume();
        // Cancelled before anything was learned: there is no model to return (later, the run keeps what it learned).
        if (state.Step == 0 && options.Cancellation.IsCancellationRequested)
            throw new OperationCanceledException("Training was cancelled before its first step, so there is no trained model to return.", options.Cancellation);

        var startStep = state.Step;
        var progress = new RunProgress(options, task.TrainingExamples, startStep);
        var validations = new List<ValidationResult>();
        ValidationResult? best = null;
        if (options.EvaluateAtStart && state.Step == 0 && task.Validate(0) is { } initial) validations.Add(initial);

        var reason = StopReason.Completed;
        while (state.Step < options.MaxSteps)
        {
            if (Stop(options, progress.Elapsed) is StopReason stop) { reason = stop; break; }
            var step = state.Step + 1;
            var (loss, examples, tokens, learningRate) = TrainStep(state, options, step);
            state.Advance(step);
            progress.Add(loss, examples, tokens, learningRate);

            ValidationResult? validation = null;
            if ((options.EvaluateEvery > 0 && step % options.EvaluateEvery == 0 || step == options.MaxSteps) && task.Validate(step) is { } result)
            {
                validations.Add(validation = result);
                if (state.Record(Score(result, options.BestBy))) best = result;
            }
            progress.ReportIfDue(step, validation);
            if (options.CheckpointEvery > 0 && step % options.CheckpointEvery == 0) state.Save();
            if (options.Patience > 0 && state.Counters.ValidationsWithoutImprovement >= options.Patience) { reason = StopReason.EarlyStopped; break; }
        }

        // A run resumed from the checkpoint of its last step trains nothing more; it still reports the
        // final validation the uninterrupted run ended with (the weights are the same).
        if (state.Step == startStep && state.Step > 0 && validations.Count == 0 && task.Validate(state.Step) is { } final)
        {
            validations.Add(final);
            if (state.Counters.BestStep == state.Step) best = final;
        }
        state.Save();
        state.RestoreBest();
        return new TrainingResult(state.Step, reason, progress.Reports, validations, best, progress.Elapsed);
    }

    // Cancellation and the time budget end a run between steps.
    private static StopReason? Stop(TrainingLoopOptions options, TimeSpan elapsed) =>
        options.Cancellation.IsCancellationRequested ? StopReason.Cancelled
        : options.TimeBudget is TimeSpan budget && elapsed >= budget ? StopReason.TimeBudget
        : null;

    // One optimizer step: its micro-batches' gradients accumulated, clipped, applied (through the
    // masters in mixed precision). Returns the step's mean loss, examples, tokens and learning rate.
    private static (double Loss, long Examples, long Tokens, double LearningRate) TrainStep(TrainingState state, TrainingLoopOptions options, int step)
    {
        var sampler = Seeding.Derived(options.Seed, step);
        Seeding.SeedTorch(options.Seed * 1_000_003L + step);
        state.Model.train();
        var learningRate = options.Schedule.Apply(state.Optimizer, step);
        using (NewDisposeScope()) state.Optimizer.zero_grad(); // it wraps each parameter's gradient in a new handle
        long examples = 0, tokens = 0;
        // The micro-batches' losses stay on the device until the step's end and are read in one
        // transfer: reading each (.item()) would make the host wait for the device every micro-batch.
        using var losses = NewDisposeScope();
        var microLosses = new List<Tensor>(options.AccumulationSteps);
        for (var micro = 0; micro < options.AccumulationSteps; micro++)
        {
            using var scope = NewDisposeScope();
            var (loss, count, batchTokens) = state.Task.Step((long)(step - 1) * options.AccumulationSteps + micro, sampler);
            (loss / options.AccumulationSteps).backward();
            microLosses.Add(loss.detach().MoveToOuterDisposeScope());
            (examples, tokens) = (examples + count, tokens + batchTokens);
        }
        // A non-finite loss leaves the weights untouched: the check comes before the optimizer's step.
        double stepLoss = 0;
        foreach (var value in stack(microLosses).to(ScalarType.Float32).cpu().data<float>().ToArray())
        {
            NonFiniteLossException.ThrowIfNonFinite(value, step);
            stepLoss += value / options.AccumulationSteps;
        }
        // Its own scope too: clipping and the optimizer create a tensor handle per parameter
        // (gradients, temporaries) that would otherwise live until the garbage collector runs.
        using (NewDisposeScope())
        {
            state.Precision?.CopyGradientsToMaster();
            if (options.GradientClipNorm > 0)
                NonFiniteLossException.ThrowIfNonFinite(nn.utils.clip_grad_norm_(state.Parameters, options.GradientClipNorm), step, "gradient norm");
            state.Optimizer.step();
            state.Precision?.CopyMasterToModel();
        }
        return (stepLoss, examples, tokens, learningRate);
    }

    // Lower is better: the loss, or minus the accuracy, F1 or AUC.
    private static double Score(ValidationResult validation, BestBy by) => by switch
    {
        BestBy.Accuracy => -(validation.Accuracy ?? throw new InvalidOperationException("Selecting the best step by accuracy, but the task's validation reports no accuracy.")),
        BestBy.F1 => -(validation.F1 ?? throw new InvalidOperationException("Selecting the best step by F1, but the task's validation reports no F1.")),
        // A validation set of one class has no AUC (NaN): it never counts as an improvement.
        BestBy.Auc => -(validation.Auc is double auc ? (double.IsNaN(auc) ? double.NegativeInfinity : auc) : throw new InvalidOperationException("Selecting the best step by AUC, but the task's validation reports no AUC.")),
        _ => validation.Loss,
    };
}

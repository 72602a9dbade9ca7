using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>
/// The training loop shared by pretraining and fine-tuning: gradient accumulation, clipping,
/// learning-rate schedule, optional bf16 master weights, periodic validation with early stopping
/// and best-weights restore, checkpoints and resume, time budget, cancellation, progress, and a
/// non-finite loss check. One dispose scope per micro-batch keeps memory flat.
/// Determinism: step s draws its batch from Random(seed, s) and reseeds TorchSharp's generator
/// from (seed, s), so a resumed run repeats the uninterrupted run's steps exactly.
/// </summary>
public static class TrainingLoop
{
    /// <summary>Trains <paramref name="task"/>'s model with <paramref name="optimizer"/>, whose parameters are <paramref name="parameters"/>.</summary>
    public static TrainingResult Run(ITrainingTask task, OptimizerHelper optimizer, IReadOnlyList<Parameter> parameters,
        TrainingLoopOptions options, MixedPrecision? precision = null, string configJson = "")
    {
        var model = task.Model;
        var checkpoints = options.CheckpointDirectory is null ? null : new TrainingCheckpoint(options.CheckpointDirectory);
        checkpoints?.EnsureWritable();
        var state = new LoopState(0, double.PositiveInfinity, 0, 0, configJson);
        if (checkpoints is not null && options.Resume && checkpoints.TryLoad(model, optimizer, configJson, precision) is LoopState resumed)
            state = resumed;
        // Cancelled before anything was learned: there is no model to return (later, the run keeps what it learned).
        if (state.Step == 0 && options.Cancellation.IsCancellationRequested)
            throw new OperationCanceledException("Training was cancelled before its first step, so there is no trained model to return.", options.Cancellation);

        var reports = new List<TrainingProgress>();
        var validations = new List<ValidationResult>();
        ValidationResult? best = null;
        var clock = Stopwatch.StartNew();
        var startStep = state.Step;
        long tokens = 0, examples = 0;
        double lossSum = 0;
        int lossCount = 0;
        var reason = StopReason.Completed;
        var learningRate = 0.0;
        var bestWeights = new BestWeights();

        if (options.EvaluateAtStart && state.Step == 0 && task.Validate(0) is { } initial)
            validations.Add(initial);

        while (state.Step < options.MaxSteps)
        {
            if (options.Cancellation.IsCancellationRequested) { reason = StopReason.Cancelled; break; }
            if (options.TimeBudget is TimeSpan budget && clock.Elapsed >= budget) { reason = StopReason.TimeBudget; break; }

            var step = state.Step + 1;
            var sampler = Seeding.Derived(options.Seed, step);
            Seeding.SeedTorch(options.Seed * 1_000_003L + step);
            model.train();
            learningRate = options.Schedule.Apply(optimizer, step);
            using (NewDisposeScope()) optimizer.zero_grad(); // it wraps each parameter's gradient in a new handle
            double stepLoss = 0;
            for (var micro = 0; micro < options.AccumulationSteps; micro++)
            {
                using var scope = NewDisposeScope();
                var (loss, count, batchTokens) = task.Step((long)(step - 1) * options.AccumulationSteps + micro, sampler);
                var value = loss.item<float>();
                NonFiniteLossException.ThrowIfNonFinite(value, step);
                (loss / options.AccumulationSteps).backward();
                stepLoss += value / options.AccumulationSteps;
                tokens += batchTokens;
                examples += count;
            }
            // Its own scope too: clipping and the optimizer create a tensor handle per parameter
            // (gradients, temporaries) that would otherwise live until the garbage collector runs.
            using (NewDisposeScope())
            {
                precision?.CopyGradientsToMaster();
                if (options.GradientClipNorm > 0)
                {
                    var norm = nn.utils.clip_grad_norm_(parameters, options.GradientClipNorm);
                    NonFiniteLossException.ThrowIfNonFinite(norm, step, "gradient norm");
                }
                optimizer.step();
                precision?.CopyMasterToModel();
            }
            state = state with { Step = step };
            lossSum += stepLoss;
            lossCount++;

            var last = step == options.MaxSteps;
            ValidationResult? validation = null;
            if ((options.EvaluateEvery > 0 && step % options.EvaluateEvery == 0) || last)
            {
                validation = task.Validate(step);
                if (validation is not null)
                {
                    validations.Add(validation);
                    var score = Score(validation, options.BestBy);
                    if (score < state.BestLoss)
                    {
                        state = state with { BestLoss = score, BestStep = step, ValidationsWithoutImprovement = 0 };
                        best = validation;
                        if (options.RestoreBest) checkpoints?.SaveBest(model, precision);
                        if (options.RestoreBest && checkpoints is null) bestWeights.Keep(model, precision);
                    }
                    else
                    {
                        state = state with { ValidationsWithoutImprovement = state.ValidationsWithoutImprovement + 1 };
                    }
                }
            }

            if (step % options.ReportEvery == 0 || validation is not null || last)
            {
                var elapsed = clock.Elapsed;
                var done = step - startStep;
                var remaining = TimeSpan.FromSeconds(elapsed.TotalSeconds / Math.Max(1, done) * (options.MaxSteps - step));
                var epoch = step * (examples / (double)Math.Max(1, done)) / Math.Max(1, task.TrainingExamples);
                var report = new TrainingProgress(step, options.MaxSteps, epoch,
                    lossSum / Math.Max(1, lossCount), learningRate, tokens / Math.Max(1e-9, elapsed.TotalSeconds), elapsed, remaining, validation);
                reports.Add(report);
                options.Progress?.Report(report);
                lossSum = 0;
                lossCount = 0;
            }

            if (checkpoints is not null && options.CheckpointEvery > 0 && step % options.CheckpointEvery == 0)
                checkpoints.Save(model, optimizer, state, precision);
            if (options.Patience > 0 && state.ValidationsWithoutImprovement >= options.Patience) { reason = StopReason.EarlyStopped; break; }
        }

        // A run resumed from the checkpoint of its last step trains nothing more; it still reports the
        // final validation the uninterrupted run ended with (the weights are the same).
        if (state.Step == startStep && state.Step > 0 && validations.Count == 0 && task.Validate(state.Step) is { } final)
        {
            validations.Add(final);
            if (state.BestStep == state.Step) best = final;
        }
        if (checkpoints is not null) checkpoints.Save(model, optimizer, state, precision);
        if (options.RestoreBest && state.BestStep > 0 && state.BestStep != state.Step)
        {
            if (checkpoints is not null) checkpoints.TryLoadBest(model, precision);
            else bestWeights.Restore(model, precision);
        }
        bestWeights.Dispose();
        return new TrainingResult(state.Step, reason, reports, validations, best, clock.Elapsed);
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

    // The best validation's weights, kept in memory when there is no checkpoint directory: the
    // model's, or in mixed precision the float32 masters (the bf16 model is their rounding).
    private sealed class BestWeights : IDisposable
    {
        private Dictionary<string, Tensor>? _copy;

        private static IEnumerable<KeyValuePair<string, Tensor>> Record(nn.Module model, MixedPrecision? precision) =>
            precision?.Masters ?? (IEnumerable<KeyValuePair<string, Tensor>>)model.state_dict();

        public void Keep(nn.Module model, MixedPrecision? precision)
        {
            Dispose();
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            _copy = Record(model, precision).ToDictionary(p => p.Key, p => p.Value.clone().DetachFromDisposeScope());
        }

        public void Restore(nn.Module model, MixedPrecision? precision)
        {
            if (_copy is null) return;
            using (no_grad())
                foreach (var (name, value) in Record(model, precision)) value.copy_(_copy[name]);
            precision?.CopyMasterToModel();
        }

        public void Dispose()
        {
            if (_copy is null) return;
            foreach (var tensor in _copy.Values) tensor.Dispose();
            _copy = null;
        }
    }
}

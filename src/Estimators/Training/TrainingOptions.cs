using Microsoft.ML;
using Microsoft.ML.Runtime;
using Pipelines.Models.Training;

namespace Pipelines;

/// <summary>
/// Options every trainer of this library shares: optimisation, validation, early stopping,
/// checkpoints, budgets, progress, device and seed. Defaults suit small models on a CPU.
/// </summary>
public abstract class TrainingOptions
{
    /// <summary>Optimizer steps to run.</summary>
    public int MaxSteps { get; set; } = 1000;
    /// <summary>Sequences per micro-batch.</summary>
    public int BatchSize { get; set; } = 32;
    /// <summary>Micro-batches summed into one optimizer step (effective batch = BatchSize x this).</summary>
    public int AccumulationSteps { get; set; } = 1;
    /// <summary>Peak learning rate of AdamW.</summary>
    public virtual double LearningRate { get; set; } = 5e-4;
    /// <summary>Final learning rate as a fraction of the peak.</summary>
    public double FinalLearningRateRatio { get; set; } = 0.1;
    /// <summary>Steps of linear warmup from 0 to the peak; negative means 10 % of the steps.</summary>
    public int WarmupSteps { get; set; } = 100;
    /// <summary>Decay after warmup.</summary>
    public DecayShape Schedule { get; set; } = DecayShape.Cosine;
    /// <summary>AdamW weight decay, applied to matrices only (not biases or LayerNorms).</summary>
    public double WeightDecay { get; set; } = 0.01;
    /// <summary>AdamW beta1.</summary>
    public double Beta1 { get; set; } = 0.9;
    /// <summary>AdamW beta2.</summary>
    public double Beta2 { get; set; } = 0.999;
    /// <summary>Clip the global gradient norm to this; 0 disables clipping.</summary>
    public double GradientClipNorm { get; set; } = 1.0;
    /// <summary>Fraction of the training data held out for validation when <see cref="ValidationSet"/> is null; 0 disables validation.</summary>
    public double ValidationFraction { get; set; } = 0.1;
    /// <summary>
    /// Separate validation data; overrides <see cref="ValidationFraction"/>. It is read as given, so it
    /// must hold the columns this trainer reads: apply the chain's earlier steps (the tokenizer) to it first.
    /// </summary>
    public IDataView? ValidationSet { get; set; }
    /// <summary>Validate every this many steps (and at the end); 0: only at the end.</summary>
    public int EvaluateEvery { get; set; } = 200;
    /// <summary>Stop after this many validations without improvement; 0 disables early stopping.</summary>
    public int Patience { get; set; }
    /// <summary>What picks the best validation, for early stopping and the weights kept: loss (default) or accuracy.</summary>
    public BestBy BestBy { get; set; } = BestBy.Loss;
    /// <summary>Write checkpoints to this directory; null: none.</summary>
    public string? CheckpointDirectory { get; set; }
    /// <summary>Steps between checkpoints; 0: only at the end.</summary>
    public int CheckpointEvery { get; set; }
    /// <summary>Resume from the latest checkpoint in <see cref="CheckpointDirectory"/> when one exists.</summary>
    public bool Resume { get; set; }
    /// <summary>Stop training after this much wall time (the model keeps what it learned).</summary>
    public TimeSpan? TimeBudget { get; set; }
    /// <summary>Stops training between steps.</summary>
    public CancellationToken Cancellation { get; set; }
    /// <summary>Receives step, epoch, loss, learning rate, tokens/s and ETA; progress also goes to MLContext.Log.</summary>
    public IProgress<TrainingProgress>? Progress { get; set; }
    /// <summary>Log a progress line every this many steps.</summary>
    public int LogEvery { get; set; } = 50;
    /// <summary>
    /// Also write the run's log to this file as JSON lines, one per logged step (every
    /// <see cref="LogEvery"/> steps, each validation and the last step): step, epoch, loss, learning rate,
    /// tokens/s, elapsed seconds and the validation's loss, perplexity, accuracy, F1 and AUC (those it measures) when there is one,
    /// for plotting or comparing runs. A new run replaces the file; a resumed run (<see cref="Resume"/>)
    /// and self-training's later rounds (whose steps count from 1 again) append to it. Null (the default): no file.
    /// </summary>
    public string? RunLogPath { get; set; }
    /// <summary>
    /// "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N". Null (the default) follows
    /// the MLContext, as ML.NET's GPU trainers do: <c>MLContext.GpuDeviceId</c> set trains on that GPU
    /// (on the CPU when it is unusable and <c>MLContext.FallbackToCpu</c> is true, else an error); unset, on the CPU.
    /// </summary>
    public string? Device { get; set; }
    /// <summary>Seed of initialisation, batching and masking; null takes one from the MLContext's seed.</summary>
    public int? Seed { get; set; }
    /// <summary>Compute in bfloat16 with float32 master weights (for GPUs; slow on most CPUs).</summary>
    public bool MixedPrecision { get; set; }

    /// <summary>
    /// The loop's options for a run of <paramref name="steps"/> (MaxSteps when null), with progress
    /// reported through <paramref name="channel"/>; warns when the warmup outlasts the run.
    /// <paramref name="continueRunLog"/>: a later training round of the same Fit (self-training), which
    /// appends to the run log instead of starting it anew.
    /// </summary>
    internal TrainingLoopOptions ToLoopOptions(int seed, IChannel channel, int? steps = null, bool continueRunLog = false)
    {
        var run = steps ?? MaxSteps;
        var warmup = WarmupSteps >= 0 ? WarmupSteps : run / 10;
        // A warning, not a refusal: the default warmup of 100 steps meets short runs every day.
        if (warmup > run)
            channel.Warning($"WarmupSteps ({warmup}) is longer than the run ({run} steps): the learning rate ends at " +
                            $"{(double)run / warmup:P0} of LearningRate and never reaches it. WarmupSteps = -1 warms up for 10 % of the steps.");
        return new TrainingLoopOptions
        {
            MaxSteps = run, AccumulationSteps = AccumulationSteps, GradientClipNorm = GradientClipNorm,
            Schedule = new LearningRateSchedule(Schedule, warmup, run, FinalLearningRateRatio),
            EvaluateEvery = EvaluateEvery, EvaluateAtStart = EvaluateEvery > 0, Patience = Patience, BestBy = BestBy, CheckpointDirectory = CheckpointDirectory,
            CheckpointEvery = CheckpointEvery, Resume = Resume, TimeBudget = TimeBudget, ReportEvery = 1,
            Seed = seed, Progress = new ProgressLog(channel, Progress, LogEvery, RunLogPath is null ? null : new RunLog(RunLogPath, append: Resume || continueRunLog)),
            Cancellation = Cancellation,
        };
    }

    /// <summary>The <see cref="BestBy"/> choices this trainer's validation reports.</summary>
    private protected virtual BestBy[] BestByChoices => [BestBy.Loss, BestBy.Accuracy];

    internal virtual void Validate()
    {
        if (!BestByChoices.Contains(BestBy))
            throw new ArgumentException($"BestBy.{BestBy}: this trainer's validation does not measure it; choose {string.Join(" or ", BestByChoices.Select(b => $"BestBy.{b}"))}.", nameof(BestBy));
        OptionChecks.Require(MaxSteps > 0, nameof(MaxSteps), MaxSteps, "must be positive");
        OptionChecks.Require(BatchSize > 0, nameof(BatchSize), BatchSize, "must be positive");
        OptionChecks.Require(AccumulationSteps > 0, nameof(AccumulationSteps), AccumulationSteps, "must be positive");
        OptionChecks.Require(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "must be a positive number");
        OptionChecks.Require(FinalLearningRateRatio is >= 0 and <= 1, nameof(FinalLearningRateRatio), FinalLearningRateRatio,
            "must be in [0, 1]: the final learning rate is that fraction of the peak");
        OptionChecks.Require(WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "must not be negative");
        OptionChecks.Require(Beta1 is >= 0 and < 1, nameof(Beta1), Beta1, "must be in [0, 1)");
        OptionChecks.Require(Beta2 is >= 0 and < 1, nameof(Beta2), Beta2, "must be in [0, 1)");
        OptionChecks.Require(GradientClipNorm >= 0, nameof(GradientClipNorm), GradientClipNorm, "must not be negative (0: no clipping)");
        OptionChecks.Require(ValidationFraction is >= 0 and < 1, nameof(ValidationFraction), ValidationFraction, "must be in [0, 1)");
        OptionChecks.Require(EvaluateEvery >= 0, nameof(EvaluateEvery), EvaluateEvery, "must not be negative (0: only at the end)");
        OptionChecks.Require(Patience >= 0, nameof(Patience), Patience, "must not be negative (0: no early stopping)");
        OptionChecks.Require(CheckpointEvery >= 0, nameof(CheckpointEvery), CheckpointEvery, "must not be negative (0: only at the end)");
        OptionChecks.Require(LogEvery > 0, nameof(LogEvery), LogEvery, "must be positive");
        OptionChecks.Require(TimeBudget is null || TimeBudget > TimeSpan.Zero, nameof(TimeBudget), TimeBudget, "must be positive (null: no budget)");
    }
}

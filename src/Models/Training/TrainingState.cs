using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>
/// Everything a training run carries from one step to the next: the model, the optimizer and its
/// parameters, the float32 master weights of mixed precision, the step and best-step counters, and
/// where the best weights and checkpoints go. It saves and loads itself as a checkpoint, and
/// snapshots and restores the best weights (in the checkpoint directory, or in memory without one;
/// the masters when there are some, as they are the weights of record).
/// </summary>
public sealed class TrainingState : IDisposable
{
    private readonly TrainingCheckpoint? _checkpoints;
    private readonly bool _keepBest;
    private Dictionary<string, Tensor>? _best;

    /// <summary>The state of a run that has not started: step 0, no best validation yet.</summary>
    public TrainingState(ITrainingTask task, OptimizerHelper optimizer, IReadOnlyList<Parameter> parameters, TrainingLoopOptions options,
        MixedPrecision? precision, string identity)
    {
        (Task, Optimizer, Parameters, Precision) = (task, optimizer, parameters, precision);
        Counters = new LoopState(0, double.PositiveInfinity, 0, 0, identity);
        _keepBest = options.RestoreBest;
        if (options.CheckpointDirectory is null) return;
        _checkpoints = new TrainingCheckpoint(options.CheckpointDirectory);
        _checkpoints.EnsureWritable();
    }

    /// <summary>What is trained.</summary>
    public ITrainingTask Task { get; }
    /// <summary>The model (all of it).</summary>
    public nn.Module Model => Task.Model;
    /// <summary>The optimizer.</summary>
    public OptimizerHelper Optimizer { get; }
    /// <summary>The parameters the optimizer updates (those clipping reads).</summary>
    public IReadOnlyList<Parameter> Parameters { get; }
    /// <summary>The float32 master weights of bf16 training, or null.</summary>
    public MixedPrecision? Precision { get; }
    /// <summary>Step, best score and step, validations without improvement, and the run's identity (what a checkpoint must match).</summary>
    public LoopState Counters { get; private set; }
    /// <summary>Optimizer steps taken.</summary>
    public int Step => Counters.Step;

    /// <summary>Loads the checkpoint of an earlier run of the same identity, if there is one; true when it did.</summary>
    public bool Resume()
    {
        if (_checkpoints?.TryLoad(Model, Optimizer, Counters.ConfigJson, Precision) is not LoopState resumed) return false;
        Counters = resumed;
        return true;
    }

    /// <summary>Records that step <paramref name="step"/> was taken.</summary>
    public void Advance(int step) => Counters = Counters with { Step = step };

    /// <summary>
    /// Records a validation score (lower is better) at the current step; on an improvement, snapshots
    /// the weights as the best. Returns true when it improved.
    /// </summary>
    public bool Record(double score)
    {
        if (!(score < Counters.BestLoss))
        {
            Counters = Counters with { ValidationsWithoutImprovement = Counters.ValidationsWithoutImprovement + 1 };
            return false;
        }
        Counters = Counters with { BestLoss = score, BestStep = Step, ValidationsWithoutImprovement = 0 };
        if (_keepBest) Snapshot();
        return true;
    }

    /// <summary>Writes a checkpoint (model, optimizer, masters, counters) when the run has a checkpoint directory.</summary>
    public void Save() => _checkpoints?.Save(Model, Optimizer, Counters, Precision);

    /// <summary>Puts the best validation's weights back, unless the current ones are those.</summary>
    public void RestoreBest()
    {
        if (!_keepBest || Counters.BestStep == 0 || Counters.BestStep == Step) return;
        if (_checkpoints is not null)
        {
            _checkpoints.TryLoadBest(Model, Precision);
            return;
        }
        if (_best is null) return;
        using (no_grad())
            foreach (var (name, value) in WeightsOfRecord()) value.copy_(_best[name]);
        Precision?.CopyMasterToModel();
    }

    /// <summary>Frees the in-memory copy of the best weights.</summary>
    public void Dispose()
    {
        if (_best is null) return;
        foreach (var tensor in _best.Values) tensor.Dispose();
        _best = null;
    }

    // The best weights: into the checkpoint directory, or copied in memory.
    private void Snapshot()
    {
        if (_checkpoints is not null)
        {
            _checkpoints.SaveBest(Model, Precision);
            return;
        }
        Dispose();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        _best = WeightsOfRecord().ToDictionary(p => p.Key, p => p.Value.clone().DetachFromDisposeScope());
    }

    // The model's weights, or in mixed precision the float32 masters (the bf16 model is their rounding).
    private IEnumerable<KeyValuePair<string, Tensor>> WeightsOfRecord() =>
        Precision?.Masters ?? (IEnumerable<KeyValuePair<string, Tensor>>)Model.state_dict();
}

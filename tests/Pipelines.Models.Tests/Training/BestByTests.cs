using Pipelines.Tests;
using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.Training;

[TestClass]
public sealed class BestByTests
{
    // A task whose validations are scripted: loss is best at step 2, accuracy at step 3, F1 at step 4,
    // AUC at step 5 (step 1's NaN AUC, a validation set of one class, never counts as best).
    private sealed class ScriptedTask : ITrainingTask
    {
        private readonly nn.Module<Tensor, Tensor> _model = nn.Linear(2, 1);
        private static readonly (double Loss, double Accuracy, double F1, double Auc)[] Script =
            [(1.0, 0.5, 0.2, double.NaN), (0.9, 0.4, 0.3, 0.6), (1.1, 0.7, 0.1, 0.7), (1.2, 0.6, 0.5, 0.65), (1.3, 0.6, 0.4, 0.8)];

        public nn.Module Model => _model;
        public long TrainingExamples => 4;

        public (Tensor Loss, int Examples, long Tokens) Step(long draw, Random random) =>
            (_model.forward(ones(4, 2)).pow(2).mean(), 4, 4);

        public ValidationResult? Validate(int step) =>
            new(step, Script[step - 1].Loss, Script[step - 1].Accuracy, F1: Script[step - 1].F1, Auc: Script[step - 1].Auc);

        public float Weight => _model.parameters().First().data<float>()[0];
    }

    private static TrainingResult Run(ScriptedTask task, BestBy by, int patience = 0)
    {
        var parameters = task.Model.parameters().ToList();
        using var optimizer = Optimizers.AdamW(parameters, 0.1, 0);
        return TrainingLoop.Run(task, optimizer, parameters, new TrainingLoopOptions
        {
            MaxSteps = 5, EvaluateEvery = 1, BestBy = by, Patience = patience, ReportEvery = 1, Seed = 1,
        });
    }

    [TestMethod]
    public void LossPicksTheLowestLossAndAccuracyTheHighestAccuracy()
    {
        random.manual_seed(1);
        var byLoss = Run(new ScriptedTask(), BestBy.Loss);
        Assert.AreEqual(2, byLoss.Best!.Step);
        random.manual_seed(1);
        var byAccuracy = Run(new ScriptedTask(), BestBy.Accuracy);
        Assert.AreEqual(3, byAccuracy.Best!.Step);
        random.manual_seed(1);
        Assert.AreEqual(4, Run(new ScriptedTask(), BestBy.F1).Best!.Step);
        random.manual_seed(1);
        Assert.AreEqual(5, Run(new ScriptedTask(), BestBy.Auc).Best!.Step);
    }

    [TestMethod]
    public void PatienceCountsFromTheChosenMeasuresBest()
    {
        // By loss, steps 3 and 4 do not improve on step 2: stops after 4. By accuracy, 4 and 5 do not improve on 3: stops after 5.
        Assert.AreEqual((4, StopReason.EarlyStopped), (Run(new ScriptedTask(), BestBy.Loss, patience: 2) is var l ? (l.Steps, l.Reason) : default));
        Assert.AreEqual((5, StopReason.EarlyStopped), (Run(new ScriptedTask(), BestBy.Accuracy, patience: 2) is var a ? (a.Steps, a.Reason) : default));
    }

    [TestMethod]
    public void TheBestStepsWeightsAreRestored()
    {
        random.manual_seed(1);
        var task = new ScriptedTask();
        var weights = new Dictionary<int, float>();
        var parameters = task.Model.parameters().ToList();
        using var optimizer = Optimizers.AdamW(parameters, 0.1, 0);
        // Progress is reported after each optimizer step: record the weight each step left.
        var progress = new SyncProgress(p => weights[p.Step] = task.Weight);
        TrainingLoop.Run(task, optimizer, parameters, new TrainingLoopOptions
        {
            MaxSteps = 5, EvaluateEvery = 1, BestBy = BestBy.Accuracy, ReportEvery = 1, Seed = 1, Progress = progress,
        });
        Assert.AreNotEqual(weights[3], weights[5]);
        Assert.AreEqual(weights[3], task.Weight, "the weights after step 3, the most accurate");
    }

}

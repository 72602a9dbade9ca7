using Pipelines.Tests;
using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.Training;

[TestClass]
public sealed class TrainingLoopTests
{
    private static readonly TransformerConfig Config = TinyConfigs.Decoder with { Dropout = 0.1 };

    // A learnable stream: a repeating pattern with noise, so loss falls but not to zero.
    private static long[] Stream(int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(i => random.NextDouble() < 0.1 ? random.Next(Config.VocabSize) : (long)(i * 7 % 31)).ToArray();
    }

    private static (GptLanguageModel Model, CausalLanguageModelingTask Task, TorchSharp.Modules.AdamW Optimizer) Setup(int seed = 3)
    {
        random.manual_seed(seed);
        var model = new GptLanguageModel(Config);
        var task = new CausalLanguageModelingTask(model, Stream(4000, 1), Stream(1000, 2), blockSize: 12, batchSize: 4, validationBatches: 4);
        return (model, task, Optimizers.AdamW(model.parameters(), 3e-3));
    }

    private static TrainingLoopOptions Options(int maxSteps, string? checkpoints = null, bool resume = false) => new()
    {
        MaxSteps = maxSteps, Schedule = new LearningRateSchedule(DecayShape.Cosine, 5, 30, 0.1), ReportEvery = 1,
        EvaluateEvery = 10, CheckpointDirectory = checkpoints, CheckpointEvery = 10, Resume = resume, Seed = 9,
    };

    [TestMethod]
    public void TrainingLowersTheValidationLoss()
    {
        using var scope = NewDisposeScope();
        var (model, task, optimizer) = Setup();
        var start = task.Validate(0)!.Loss;
        var result = TrainingLoop.Run(task, optimizer, model.parameters().ToList(), Options(30));
        Assert.AreEqual(StopReason.Completed, result.Reason);
        Assert.AreEqual(30, result.Steps);
        Assert.HasCount(30, result.Reports);
        Assert.HasCount(3, result.Validations);
        Assert.IsLessThan(start * 0.8, result.Best!.Loss, $"from {start} to {result.Best.Loss}");
        Assert.AreEqual(3e-4, result.Reports[^1].LearningRate, 1e-12, "cosine ends at the floor");
    }

    [TestMethod]
    public void LiveTensorsStayConstantFromStepToStep()
    {
        using var scope = NewDisposeScope();
        var (model, task, optimizer) = Setup();
        var live = new List<long>();
        var options = Options(40) with
        {
            EvaluateEvery = 0, GradientClipNorm = 1.0, AccumulationSteps = 2,
            Progress = new SyncProgress(_ => live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount)),
        };
        TrainingLoop.Run(task, optimizer, model.parameters().ToList(), options);
        // Step 1 creates the optimizer's state and the gradients; after that nothing may accumulate
        // (zero_grad, clipping and the optimizer each wrapped every parameter's gradient in a new handle per step).
        var steady = live.Skip(1).Take(live.Count - 2).ToList(); // the last step also validates
        Assert.AreEqual(1, steady.Distinct().Count(), "live tensors by step: " + string.Join(", ", live));
    }


    [TestMethod]
    public void ARunResumedFromItsLastCheckpointReportsTheFinalValidationAgain()
    {
        // A process killed after its last checkpoint, before it wrote its results, is resumed: nothing is
        // left to train, and the result must still carry the final validation.
        var directory = Path.Combine(Path.GetTempPath(), $"loop-{Guid.NewGuid():N}");
        try
        {
            ValidationResult last;
            using (var scope = NewDisposeScope())
            {
                var (model, task, optimizer) = Setup();
                last = TrainingLoop.Run(task, optimizer, model.parameters().ToList(), Options(30, directory) with { RestoreBest = false }).Validations[^1];
            }
            using (var scope = NewDisposeScope())
            {
                var (model, task, optimizer) = Setup(seed: 77);
                var result = TrainingLoop.Run(task, optimizer, model.parameters().ToList(), Options(30, directory, resume: true) with { RestoreBest = false });
                Assert.AreEqual(30, result.Steps);
                Assert.HasCount(0, result.Reports, "nothing was trained");
                Assert.HasCount(1, result.Validations);
                Assert.AreEqual(last, result.Validations[0]);
            }
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void AResumedRunRepeatsTheUninterruptedRun()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"loop-{Guid.NewGuid():N}");
        try
        {
            double[] straight, resumed;
            using (var scope = NewDisposeScope())
            {
                var (model, task, optimizer) = Setup();
                straight = TrainingLoop.Run(task, optimizer, model.parameters().ToList(), Options(30) with { RestoreBest = false }).Reports.Select(r => r.Loss).ToArray();
            }
            using (var scope = NewDisposeScope())
            {
                var (model, task, optimizer) = Setup();
                TrainingLoop.Run(task, optimizer, model.parameters().ToList(), Options(20, directory) with { RestoreBest = false });
            }
            using (var scope = NewDisposeScope())
            {
                var (model, task, optimizer) = Setup(seed: 77);   // different initial weights: the checkpoint must replace them
                var result = TrainingLoop.Run(task, optimizer, model.parameters().ToList(), Options(30, directory, resume: true) with { RestoreBest = false });
                resumed = result.Reports.Select(r => r.Loss).ToArray();
                Assert.AreEqual(30, result.Steps);
            }
            Assert.HasCount(10, resumed);
            for (var i = 0; i < 10; i++)
                Assert.AreEqual(straight[20 + i], resumed[i], 1e-5, $"step {21 + i}");
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void EarlyStoppingRestoresTheBestWeights()
    {
        using var scope = NewDisposeScope();
        var (model, task, _) = Setup();
        // A learning rate far too high makes validation worse after the first evaluation.
        var optimizer = Optimizers.AdamW(model.parameters(), 0.5);
        var options = Options(200) with { EvaluateEvery = 2, Patience = 2, GradientClipNorm = 0, Schedule = new LearningRateSchedule(DecayShape.Constant, 0, 200) };
        var result = TrainingLoop.Run(task, optimizer, model.parameters().ToList(), options);
        Assert.AreEqual(StopReason.EarlyStopped, result.Reason);
        Assert.IsLessThan(200, result.Steps);
        Assert.AreEqual(result.Validations.Min(v => v.Loss), result.Best!.Loss);
        Assert.AreEqual(result.Best.Loss, task.Validate(0)!.Loss, 1e-5, "the model holds the best validation's weights");
    }

    [TestMethod]
    public void CancellationAndTimeBudgetStopBetweenSteps()
    {
        using var scope = NewDisposeScope();
        var (model, task, optimizer) = Setup();
        using var cancel = new CancellationTokenSource();
        var options = Options(1000) with { EvaluateEvery = 0, Progress = new SyncProgress(p => { if (p.Step == 5) cancel.Cancel(); }), Cancellation = cancel.Token };
        var cancelled = TrainingLoop.Run(task, optimizer, model.parameters().ToList(), options);
        Assert.AreEqual(StopReason.Cancelled, cancelled.Reason);
        Assert.AreEqual(5, cancelled.Steps);

        var timed = TrainingLoop.Run(task, optimizer, model.parameters().ToList(), Options(100000) with { TimeBudget = TimeSpan.Zero });
        Assert.AreEqual(StopReason.TimeBudget, timed.Reason);
        Assert.AreEqual(0, timed.Steps);
    }

    [TestMethod]
    public void ANonFiniteLossNamesTheStep()
    {
        using var scope = NewDisposeScope();
        var (model, task, optimizer) = Setup();
        var poisoned = new PoisonedTask(task, atStep: 4);
        var e = Assert.ThrowsExactly<NonFiniteLossException>(() => TrainingLoop.Run(poisoned, optimizer, model.parameters().ToList(), Options(10)));
        Assert.AreEqual(4, e.Step);
    }


    private sealed class PoisonedTask(ITrainingTask inner, int atStep) : ITrainingTask
    {
        private int _calls;
        public nn.Module Model => inner.Model;
        public long TrainingExamples => inner.TrainingExamples;
        public ValidationResult? Validate(int step) => inner.Validate(step);
        public (Tensor Loss, int Examples, long Tokens) Step(long draw, Random random)
        {
            var (loss, examples, tokens) = inner.Step(draw, random);
            return (++_calls == atStep ? loss * float.NaN : loss, examples, tokens);
        }
    }
}

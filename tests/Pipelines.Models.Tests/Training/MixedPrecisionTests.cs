using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.Training;

/// <summary>bf16 compute with float32 master weights, checked on CPU.</summary>
[TestClass]
public sealed class MixedPrecisionTests
{
    [TestMethod]
    public void MasterWeightsKeepUpdatesThatBf16WouldRoundAway()
    {
        using var scope = NewDisposeScope();
        // bf16 has 8 mantissa bits: 1 + 2^-10 rounds back to 1.
        var bf16 = ones(1, ScalarType.BFloat16);
        Assert.AreEqual(1f, (bf16 + 1e-3).to(ScalarType.Float32).item<float>());

        var layer = nn.Linear(1, 1, hasBias: false);
        using (no_grad()) layer.weight!.fill_(1);
        using var precision = new MixedPrecision(layer);
        var optimizer = optim.SGD(precision.MasterParameters, 1e-3);
        for (var step = 0; step < 100; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            layer.forward(ones(1, 1, dtype: ScalarType.BFloat16)).to(ScalarType.Float32).sum().neg().backward(); // dL/dw = -1
            precision.CopyGradientsToMaster();
            optimizer.step();
            precision.CopyMasterToModel();
        }
        Assert.AreEqual(1.1f, precision.MasterParameters.Single().item<float>(), 1e-5f, "100 steps of +1e-3 accumulate in float32");
        Assert.AreEqual(1.1f, layer.weight!.to(ScalarType.Float32).item<float>(), 0.01f, "the bf16 copy follows, rounded");
        Assert.AreEqual(ScalarType.BFloat16, layer.weight!.dtype);
    }

    [TestMethod]
    public void Bf16TrainingTracksFloat32Training()
    {
        float[] Train(bool mixed)
        {
            using var scope = NewDisposeScope();
            random.manual_seed(11);
            var model = new GptLanguageModel(TinyConfigs.Decoder);
            var ids = randint(0, TinyConfigs.Decoder.VocabSize, [4, 16]);
            MixedPrecision? precision = mixed ? new MixedPrecision(model) : null;
            var optimizer = Optimizers.AdamW(precision?.MasterParameters ?? model.parameters(), 3e-3);
            var losses = new List<float>();
            for (var step = 0; step < 40; step++)
            {
                using var stepScope = NewDisposeScope();
                optimizer.zero_grad();
                var logits = model.forward(ids[.., ..^1]).to(ScalarType.Float32);
                var loss = GptLanguageModel.Loss(logits, ids[.., 1..]);
                loss.backward();
                precision?.CopyGradientsToMaster();
                optimizer.step();
                precision?.CopyMasterToModel();
                losses.Add(loss.item<float>());
            }
            precision?.Dispose();
            return losses.ToArray();
        }

        var full = Train(mixed: false);
        var mixed = Train(mixed: true);
        Assert.IsLessThan(full[0] / 3, full[^1], "float32 learns");
        Assert.AreEqual(full[0], mixed[0], 0.02 * full[0], "same start");
        Assert.AreEqual(full[^1], mixed[^1], 0.15 * full[0], $"float32 ends at {full[^1]}, bf16 at {mixed[^1]}");
        Assert.IsLessThan(mixed[0] / 3, mixed[^1], "bf16 learns");
    }

    // A decoder learning a noisy repeating stream in bf16 with float32 masters, through the training loop.
    private static (GptLanguageModel Model, CausalLanguageModelingTask Task, MixedPrecision Precision, TorchSharp.Modules.AdamW Optimizer) Bf16Setup(int seed)
    {
        random.manual_seed(seed);
        var model = new GptLanguageModel(TinyConfigs.Decoder);
        var data = new Random(1);
        var stream = Enumerable.Range(0, 3000).Select(i => data.NextDouble() < 0.1 ? data.Next(TinyConfigs.Decoder.VocabSize) : (long)(i * 7 % 31)).ToArray();
        var task = new CausalLanguageModelingTask(model, stream[..2400], stream[2400..], blockSize: 12, batchSize: 4, validationBatches: 4);
        var precision = new MixedPrecision(model);
        return (model, task, precision, Optimizers.AdamW(precision.MasterParameters, 3e-3));
    }

    private static TrainingLoopOptions Loop(int maxSteps, string? checkpoints = null, bool resume = false) => new()
    {
        MaxSteps = maxSteps, Schedule = new LearningRateSchedule(DecayShape.Cosine, 5, 30, 0.1), ReportEvery = 1, EvaluateEvery = 10,
        CheckpointDirectory = checkpoints, CheckpointEvery = 10, Resume = resume, RestoreBest = false, Seed = 9,
    };

    private static Dictionary<string, float[]> Masters(MixedPrecision precision) =>
        precision.Masters.ToDictionary(p => p.Key, p => p.Value.data<float>().ToArray());

    private static void AssertSameWeights(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual)
    {
        foreach (var (name, values) in expected)
            CollectionAssert.AreEqual(values, actual[name], $"{name} differs");
    }

    [TestMethod]
    public void Bf16ResumeContinuesFromTheCheckpointsFloat32Masters()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"bf16-{Guid.NewGuid():N}");
        try
        {
            Dictionary<string, float[]> straight, resumed;
            using (var scope = NewDisposeScope())
            {
                var (_, task, precision, optimizer) = Bf16Setup(3);
                TrainingLoop.Run(task, optimizer, precision.MasterParameters.ToList(), Loop(30), precision);
                straight = Masters(precision);
            }
            using (var scope = NewDisposeScope())
            {
                var (_, task, precision, optimizer) = Bf16Setup(3);
                TrainingLoop.Run(task, optimizer, precision.MasterParameters.ToList(), Loop(20, directory), precision);
            }
            using (var scope = NewDisposeScope())
            {
                // Other initial weights (and masters made from them): the checkpoint must replace both.
                var (_, task, precision, optimizer) = Bf16Setup(77);
                Assert.AreEqual(30, TrainingLoop.Run(task, optimizer, precision.MasterParameters.ToList(), Loop(30, directory, resume: true), precision).Steps);
                resumed = Masters(precision);
            }
            AssertSameWeights(straight, resumed);
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void Bf16BestWeightsRestoreGivesTheBestStepsFloat32Weights(bool checkpoints)
    {
        var directory = checkpoints ? Path.Combine(Path.GetTempPath(), $"bf16-{Guid.NewGuid():N}") : null;
        try
        {
            // A learning rate far too high, constant and unclipped: validation is best early, then worsens.
            TrainingLoopOptions TooFast(int steps, string? checkpoint) => Loop(steps, checkpoint) with
            {
                RestoreBest = true, EvaluateEvery = 2, GradientClipNorm = 0, Schedule = new LearningRateSchedule(DecayShape.Constant, 0, 20),
            };
            int bestStep;
            Dictionary<string, float[]> restored;
            using (var scope = NewDisposeScope())
            {
                var (model, task, precision, _) = Bf16Setup(3);
                using var optimizer = Optimizers.AdamW(precision.MasterParameters, 0.5);
                var result = TrainingLoop.Run(task, optimizer, precision.MasterParameters.ToList(), TooFast(20, directory), precision);
                bestStep = result.Best!.Step;
                Assert.IsLessThan(20, bestStep, "the best step is not the last, so restoring matters");
                precision.RestoreFloat32(model);
                restored = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());
            }
            Dictionary<string, float[]> atBest;
            using (var scope = NewDisposeScope())
            {
                var (_, task, precision, _) = Bf16Setup(3);
                using var optimizer = Optimizers.AdamW(precision.MasterParameters, 0.5);
                TrainingLoop.Run(task, optimizer, precision.MasterParameters.ToList(), TooFast(bestStep, null), precision);
                atBest = Masters(precision);
            }
            AssertSameWeights(atBest, restored);
        }
        finally
        {
            if (directory is not null && Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }
}

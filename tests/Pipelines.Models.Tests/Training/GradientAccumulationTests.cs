using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.Training;

/// <summary>
/// Gradient accumulation is what it claims: k micro-batches of b rows per step train exactly as one
/// batch of k x b rows (same rows, same optimizer), because each micro-batch's mean loss is scaled
/// by 1/k before its gradients add up.
/// </summary>
[TestClass]
public sealed class GradientAccumulationTests
{
    // Linear regression on fixed rows; micro-batch number `draw` is rows [draw x size, (draw + 1) x size).
    private sealed class Rows(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y, int size) : ITrainingTask
    {
        public nn.Module Model => model;
        public long TrainingExamples => x.shape[0];

        public (Tensor Loss, int Examples, long Tokens) Step(long draw, Random random)
        {
            var start = draw * size % x.shape[0];
            var rows = arange(start, start + size) % x.shape[0];
            return (nn.functional.mse_loss(model.forward(x[rows]), y[rows]), size, size);
        }

        public ValidationResult? Validate(int step) => null;
    }

    private static float[] Train(int batchSize, int accumulation, double clip)
    {
        random.manual_seed(1);
        var x = randn(96, 8);
        var y = x.matmul(randn(8, 1)) + 0.1 * randn(96, 1);
        random.manual_seed(2);
        var model = nn.Linear(8, 1);
        // Plain SGD: its step is proportional to the gradient, so a wrong 1/k scale shows (Adam's would hide it).
        var optimizer = optim.SGD(model.parameters(), 0.05);
        TrainingLoop.Run(new Rows(model, x, y, batchSize), optimizer, model.parameters().ToList(), new TrainingLoopOptions
        {
            MaxSteps = 8, AccumulationSteps = accumulation, GradientClipNorm = clip, EvaluateEvery = 0,
            Schedule = new LearningRateSchedule(DecayShape.Cosine, 2, 8, 0.1), Seed = 3,
        });
        return model.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();
    }

    [TestMethod]
    [DataRow(0.0)]
    [DataRow(0.5)]
    public void ThreeMicroBatchesOfFourTrainAsOneBatchOfTwelve(double clip)
    {
        using var scope = NewDisposeScope();
        var accumulated = Train(batchSize: 4, accumulation: 3, clip);
        var whole = Train(batchSize: 12, accumulation: 1, clip);
        for (var i = 0; i < whole.Length; i++) Assert.AreEqual(whole[i], accumulated[i], 1e-5f, $"parameter {i}");
        // The comparison has teeth: a batch of 4 without accumulation trains differently.
        var small = Train(batchSize: 4, accumulation: 1, clip);
        Assert.IsTrue(whole.Zip(small, (a, b) => Math.Abs(a - b)).Max() > 1e-3, "batch 4 differs from batch 12");
    }
}

using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.Training;

// The batches a run draws must sample the data, not walk it: seeding .NET's Random with
// seed + step gave successive steps nearly linear first draws, and a causal-LM run's windows
// covered the stream unevenly (chi-square about 2,000 where uniform draws give about 1,000).
[TestClass]
public sealed class BatchSamplingTests
{
    private const int Bins = 1000;

    [TestMethod]
    public void WindowStartsDrawnStepByStepCoverTheStreamUniformly()
    {
        using var scope = NewDisposeScope();
        const long streamLength = 1_000_000;
        var task = new RecordingTask(draws: 12, streamLength);
        var options = new TrainingLoopOptions
        {
            MaxSteps = 2000, Schedule = new LearningRateSchedule(DecayShape.Constant, 0, 2000), EvaluateEvery = 0, Seed = 1337,
        };
        using var optimizer = optim.SGD(task.Model.parameters(), 0.01);
        TrainingLoop.Run(task, optimizer, task.Model.parameters().ToList(), options);

        Assert.HasCount(24_000, task.Starts);
        var counts = new int[Bins];
        foreach (var start in task.Starts) counts[start * Bins / streamLength]++;
        // 999 degrees of freedom: mean 999, standard deviation 45; 1,200 is 4.5 deviations out.
        var chiSquare = ChiSquare(counts);
        Assert.IsLessThan(1200, chiSquare, $"chi-square of window starts over {Bins} bins: {chiSquare:F0}");
    }

    [TestMethod]
    public void SuccessiveEpochsBeginAtUnrelatedRows()
    {
        const int rows = 1000;
        var batches = new EpochBatches(rows, batchSize: 10, seed: 7);
        var firstRows = Enumerable.Range(0, 101).Select(epoch => batches.Draw((long)epoch * batches.PerEpoch)[0]).ToList();
        // With neighbouring seeds per epoch the first rows moved by one or two fixed strides.
        var strides = firstRows.Zip(firstRows.Skip(1), (a, b) => ((b - a) % rows + rows) % rows).Distinct().Count();
        Assert.IsGreaterThan(80, strides, $"{strides} distinct strides between 100 pairs of successive epochs' first rows");
    }

    [TestMethod]
    public void DerivedGeneratorsAreReproducibleAndDifferByIndex()
    {
        Assert.AreEqual(Seeding.Derived(5, 17).NextInt64(), Seeding.Derived(5, 17).NextInt64());
        Assert.AreNotEqual(Seeding.Derived(5, 17).NextInt64(), Seeding.Derived(5, 18).NextInt64());
        Assert.AreNotEqual(Seeding.Derived(5, 17).NextInt64(), Seeding.Derived(6, 17).NextInt64());
    }

    private static double ChiSquare(int[] counts)
    {
        var expected = counts.Sum() / (double)counts.Length;
        return counts.Sum(c => (c - expected) * (c - expected) / expected);
    }

    // Records where each step's windows would start; its loss only gives the optimizer something to do.
    private sealed class RecordingTask(int draws, long streamLength) : ITrainingTask
    {
        private readonly nn.Module<Tensor, Tensor> _model = nn.Linear(1, 1);
        public List<long> Starts { get; } = [];
        public nn.Module Model => _model;
        public long TrainingExamples => streamLength;
        public ValidationResult? Validate(int step) => null;

        public (Tensor Loss, int Examples, long Tokens) Step(long draw, Random random)
        {
            for (var i = 0; i < draws; i++) Starts.Add(random.NextInt64(streamLength));
            return (_model.forward(ones(1, 1)).square().sum(), draws, draws);
        }
    }
}

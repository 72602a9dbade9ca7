
namespace Pipelines.Estimators.Tests.Sweeps;

[TestClass]
public sealed class SearchSpaceTests
{
    public sealed class Parameters
    {
        [Range(1e-4, 1e-1, logBase: true)] public double LearningRate { get; set; } = 1e-3;
        [Range(1, 5)] public int Layers { get; set; } = 2;
        [Choice(4, 8, 16)] public int Rank { get; set; } = 8;
        [Choice("mean", "first")] public string Pooling { get; set; } = "first";
        public int NotSearched { get; set; } = 42;
    }

    public sealed class Broken
    {
        [Range(0, 1, logBase: true)] public double Rate { get; set; }
    }

    // Written with Microsoft.ML.SearchSpace's constructor shapes (init values, a choice's default).
    public sealed class WithInit
    {
        [Range(1e-4, 1e-1, init: 3e-3, logBase: true)] public double LearningRate { get; set; } = 1e-3;
        [Range(1, 5, init: 4)] public int Layers { get; set; } = 2;
        [Range(0.1f, 0.9f, 0.5f)] public float Dropout { get; set; } = 0.2f;
        [Choice(new object[] { 4, 8, 16 }, 16)] public int Rank { get; set; } = 8;
        [Choice("mean", "first")] public string Pooling { get; set; } = "first";
    }

    public sealed class InitOutside
    {
        [Range(1, 5, init: 9)] public int Layers { get; set; }
    }

    [TestMethod]
    public void TheDefaultPointTakesTheAttributesInitValuesAndOtherwiseThePropertys()
    {
        var point = new SearchSpace<WithInit>().Default();
        Assert.AreEqual(3e-3, point.LearningRate);
        Assert.AreEqual(4, point.Layers);
        Assert.AreEqual(0.5f, point.Dropout);
        Assert.AreEqual(16, point.Rank);
        Assert.AreEqual("first", point.Pooling, "no default in the attribute: the property's own");
        var plain = new SearchSpace<Parameters>().Default();
        Assert.AreEqual((1e-3, 2, 8), (plain.LearningRate, plain.Layers, plain.Rank), "without init values: new T()");
        var e = Assert.ThrowsExactly<ArgumentException>(() => new SearchSpace<InitOutside>());
        StringAssert.Contains(e.Message, "init 9 lies outside [1, 5]");
    }

    [TestMethod]
    public void LogScaleSamplesAreUniformInTheLogarithm()
    {
        var space = new SearchSpace<Parameters>();
        var random = new Random(1);
        var samples = Enumerable.Range(0, 4000).Select(_ => space.Sample(random)).ToList();
        var logs = samples.Select(p => Math.Log10(p.LearningRate)).ToList();
        Assert.IsTrue(logs.All(l => l is >= -4 and <= -1));
        Assert.AreEqual(-2.5, logs.Average(), 0.05, "uniform on [-4, -1] has mean -2.5");
        Assert.AreEqual(1.0 / 3, logs.Count(l => l < -3) / 4000.0, 0.03, "a third of the log range lies below 1e-3");
        CollectionAssert.AreEquivalent(new[] { 1, 2, 3, 4, 5 }, samples.Select(p => p.Layers).Distinct().ToArray());
        CollectionAssert.AreEquivalent(new[] { 4, 8, 16 }, samples.Select(p => p.Rank).Distinct().ToArray());
        Assert.IsTrue(samples.All(p => p.NotSearched == 42));
    }

    [TestMethod]
    public void GridIsTheProductOfLogSpacedPointsAndChoices()
    {
        var grid = new SearchSpace<Parameters>().Grid(pointsPerRange: 3).ToList();
        Assert.HasCount(3 * 3 * 3 * 2, grid);
        CollectionAssert.AreEquivalent(new[] { -4.0, -2.5, -1.0 },
            grid.Select(p => Math.Round(Math.Log10(p.LearningRate), 9)).Distinct().ToArray());
        CollectionAssert.AreEquivalent(new[] { 1, 3, 5 }, grid.Select(p => p.Layers).Distinct().ToArray());
        Assert.HasCount(grid.Count, grid.Select(p => $"{p.LearningRate}/{p.Layers}/{p.Rank}/{p.Pooling}").Distinct().ToList());
    }

    [TestMethod]
    public void DescribeAndParseRoundTripExactly()
    {
        var space = new SearchSpace<Parameters>();
        var point = space.Sample(new Random(3));
        var described = space.Describe(point);
        CollectionAssert.AreEquivalent(new[] { "LearningRate", "Layers", "Rank", "Pooling" }, described.Keys.ToArray());
        var parsed = space.Parse(described);
        Assert.AreEqual(point.LearningRate, parsed.LearningRate);
        Assert.AreEqual((point.Layers, point.Rank, point.Pooling), (parsed.Layers, parsed.Rank, parsed.Pooling));
    }

    [TestMethod]
    public void ALogRangeThroughZeroIsRefused()
    {
        var error = Assert.ThrowsExactly<ArgumentException>(() => new SearchSpace<Broken>());
        StringAssert.Contains(error.Message, "Broken.Rate");
    }
}

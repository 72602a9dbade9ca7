using System.Security.Cryptography;
using Microsoft.ML;
using Pipelines.Models.Checkpoints;

namespace Pipelines.Estimators.Tests.Reliability;

/// <summary>
/// A checkpointed pretraining run in a separate process, killed (SIGKILL) at random points and
/// resumed: it completes with the uninterrupted run's weights and metrics, and what it leaves on
/// disk after every kill is whole. Also: two processes with one seed train identical weights.
/// </summary>
[TestClass]
public sealed class InterruptionTests
{
    private const int Steps = 60;
    private static string? _root;
    private static string _corpus = "";
    private static WorkerProcess? _reference;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void TrainOnceUninterrupted(TestContext _)
    {
        _root = Path.Combine(Path.GetTempPath(), $"interruption-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_root);
        _corpus = Path.Combine(_root, "corpus.txt");
        File.WriteAllText(_corpus, File.ReadAllText(TestData.Shakespeare)[..20_000]);
        _reference = Worker("reference", seed: 1);
        Assert.IsTrue(_reference.Run());
    }

    [ClassCleanup]
    public static void RemoveFiles()
    {
        if (_root is not null && Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static WorkerProcess Worker(string name, int seed, string reading = "inmemory") =>
        new(_corpus, Path.Combine(_root!, name, "checkpoints"), Path.Combine(_root!, name, "out"), Steps, seed, reading);

    [TestMethod]
    public void RunsKilledAtRandomPointsResumeToTheUninterruptedRunsWeightsAndMetrics() => KillAndResume(_reference!, "killed", "inmemory");

    // The streamed run's position in its corpus is its step: a resumed run reads up to it again.
    [TestMethod]
    public void StreamedRunsKilledAtRandomPointsResumeToTheUninterruptedStreamedRunsWeights()
    {
        var reference = Worker("streamed-reference", seed: 1, "streamed");
        Assert.IsTrue(reference.Run());
        CollectionAssert.AreNotEqual(_reference!.Weights, reference.Weights, "streamed windows are drawn otherwise than in-memory ones");
        KillAndResume(reference, "streamed-killed", "streamed");
    }

    private void KillAndResume(WorkerProcess reference, string name, string reading)
    {
        // Random kill points; PIPELINES_KILL_SEED replays a run's.
        var seed = int.TryParse(Environment.GetEnvironmentVariable("PIPELINES_KILL_SEED"), out var fixedSeed) ? fixedSeed : Environment.TickCount;
        TestContext.WriteLine($"kill points seed {seed}");
        var random = new Random(seed);
        var worker = Worker(name, seed: 1, reading);
        var kills = new List<string>();
        // Three kills at increasing random steps (at, or a few milliseconds after, the reported step: inside
        // the next step or a checkpoint write), then a run to the end.
        var points = Enumerable.Range(0, 3).Select(_ => random.Next(1, Steps)).Order().ToList();
        foreach (var step in points)
        {
            var delay = TimeSpan.FromMilliseconds(random.Next(0, 30));
            if (worker.Run(step, delay)) break;
            kills.Add($"step {step} + {delay.TotalMilliseconds} ms");
            AssertNothingHalfWritten(Path.Combine(_root!, name));
        }
        TestContext.WriteLine("killed at " + string.Join(", ", kills));
        while (!worker.Run()) { }

        Assert.AreEqual(reference.ReadMetrics(), worker.ReadMetrics(), $"seed {seed}, kills: {string.Join(", ", kills)}");
        CollectionAssert.AreEqual(SHA256.HashData(reference.Weights), SHA256.HashData(worker.Weights), "weights differ from the uninterrupted run's");
        AssertNothingHalfWritten(Path.Combine(_root!, name));
    }

    [TestMethod]
    public void TwoProcessesWithOneSeedTrainBitIdenticalWeightsAndAnotherSeedDoesNot()
    {
        var same = Worker("same-seed", seed: 1);
        var other = Worker("other-seed", seed: 2);
        Assert.IsTrue(same.Run());
        Assert.IsTrue(other.Run());
        CollectionAssert.AreEqual(_reference!.Weights, same.Weights, "same seed, different weights");
        Assert.AreEqual(_reference.ReadMetrics(), same.ReadMetrics());
        CollectionAssert.AreNotEqual(_reference.Weights, other.Weights, "the seed does not reach the weights");
    }

    /// <summary>Every file with a final name loads: the checkpoint "latest" names, and any zip or weights written.</summary>
    private static void AssertNothingHalfWritten(string run)
    {
        var checkpoints = Path.Combine(run, "checkpoints");
        var latest = Path.Combine(checkpoints, "latest");
        if (File.Exists(latest))
        {
            var folder = Path.Combine(checkpoints, File.ReadAllText(latest).Trim());
            foreach (var file in new[] { "model.safetensors", "optimizer.state", "state.json" })
                Assert.IsTrue(File.Exists(Path.Combine(folder, file)), $"{folder} lacks {file}");
            using var weights = SafeTensors.Read(Path.Combine(folder, "model.safetensors"));
            Assert.IsTrue(weights.Names.Any(), "a checkpoint with no tensors");
        }
        var output = Path.Combine(run, "out");
        if (File.Exists(Path.Combine(output, "weights.safetensors")))
            using (SafeTensors.Read(Path.Combine(output, "weights.safetensors"))) { }
        if (File.Exists(Path.Combine(output, "model.zip")))
            new MLContext().Model.Load(Path.Combine(output, "model.zip"), out _);
    }
}

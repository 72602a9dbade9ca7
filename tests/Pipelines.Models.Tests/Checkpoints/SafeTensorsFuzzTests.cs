using Pipelines.Models.Checkpoints;
using Pipelines.Tests.Fuzzing;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.Checkpoints;

[TestClass]
public sealed class SafeTensorsFuzzTests
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>
    /// Mutants of a valid file (bit flips, truncations, splices, insertions, deletions, boundary
    /// bytes): each must read, with every tensor's values readable, or be refused with
    /// InvalidDataException; never another exception, a crash or a hang. 2,000 by default;
    /// PIPELINES_FUZZ_ITERATIONS=10000 for the long run, PIPELINES_FUZZ_SEED to replay one.
    /// </summary>
    [TestMethod]
    [Timeout(300_000)]
    public void MutatedFilesEitherReadOrFailWithInvalidDataException()
    {
        byte[] valid;
        using (var scope = NewDisposeScope())
        {
            random.manual_seed(3);
            var stream = new MemoryStream();
            SafeTensors.Save(stream,
            [
                new("w", randn(2, 3)), new("ids", tensor(new[] { 1L, -2L })), new("flags", tensor(new[] { true, false, true })),
                new("half", randn(2).to_type(ScalarType.BFloat16)), new("none", zeros(0, 2)), new("s", tensor(5)),
            ], new Dictionary<string, string> { ["format"] = "pt" });
            valid = stream.ToArray();
        }

        var report = Fuzzer.Run(valid, file =>
        {
            using var scope = NewDisposeScope();
            using var read = SafeTensors.Read(new MemoryStream(file));
            foreach (var entry in read.Entries) _ = entry.Tensor.to_type(ScalarType.Float64).sum().item<double>();
        }, e => e is InvalidDataException, defaultIterations: 2_000);
        TestContext.WriteLine(report.ToString());

        Assert.AreEqual(report.Iterations, report.Loaded + report.Refused);
        if (report.Iterations < 1_000) return; // too few mutants for the proportions below
        Assert.IsGreaterThan(report.Iterations / 5, report.Refused, "most mutations break the file");
        Assert.IsGreaterThan(report.Iterations / 100, report.Loaded, "changes inside the data keep it valid");
    }
}

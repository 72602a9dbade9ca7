using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Tests.Fuzzing;

namespace Pipelines.Estimators.Tests.Reliability;

/// <summary>
/// Mutants of a valid model zip (tokenizer + masked LM): each must load and then embed a row, or be
/// refused with an exception that says the file is bad; never another exception, a crash or a hang.
/// 300 mutants by default; PIPELINES_FUZZ_ITERATIONS=10000 for the long run, PIPELINES_FUZZ_SEED
/// to replay one.
/// </summary>
[TestClass]
public sealed class ModelZipFuzzTests
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>The exceptions that report a bad file: ours (InvalidDataException), the zip reader's, and ML.NET's FormatException.</summary>
    internal static bool SaysTheFileIsBad(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x is InvalidDataException or FormatException or EndOfStreamException) return true;
        return false;
    }

    [TestMethod]
    [Timeout(600_000)]
    public void MutatedModelZipsLoadAndPredictOrAreRefused()
    {
        var ml = new MLContext();
        var row = TinyModels.Data(ml, TinyModels.Mails.Take(1));
        var report = Fuzzer.Run(TinyModels.MaskedLmZip, zip =>
        {
            var model = TinyModels.Load(ml, zip);
            var embedding = model.Transform(row).GetColumn<float[]>("Embedding").Single();
            Assert.HasCount(16, embedding);
        }, SaysTheFileIsBad, defaultIterations: 300);
        TestContext.WriteLine(report.ToString());
        Assert.AreEqual(report.Iterations, report.Loaded + report.Refused);
        Assert.IsGreaterThan(report.Iterations / 2, report.Refused, "most mutations break the zip");
    }
}

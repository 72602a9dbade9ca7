using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Tests.Fuzzing;

namespace Pipelines.Estimators.Tests.Reliability;

/// <summary>
/// Mutants of a valid model zip (tokenizer + masked LM): each must load and then embed a row, or be
/// refused with an exception that gives the reason; never a bug's exception, a crash or a hang.
/// 300 mutants by default; PIPELINES_FUZZ_ITERATIONS=10000 for the long run, PIPELINES_FUZZ_SEED
/// to replay one.
/// </summary>
[TestClass]
public sealed class ModelZipFuzzTests
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>
    /// A damaged zip is refused by whichever reader meets the damage first: the zip reader and our
    /// streams (InvalidDataException: bad entry, failed SHA-256), ML.NET's header checks
    /// (FormatException), its loaders of the other streams it owns, such as the stored input schema
    /// (InvalidOperationException, NotSupportedException, EndOfStreamException with their reasons),
    /// or the runtime when a damaged header names an assembly (FileLoadException), all wrapped by
    /// ML.NET in TargetInvocationException. Those are clean. The exceptions that mean a bug, not a
    /// refusal, fail the test: null references, bad indices or casts, native (TorchSharp) errors,
    /// running out of memory.
    /// </summary>
    internal static bool IsACleanRefusal(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x is NullReferenceException or IndexOutOfRangeException or InvalidCastException or AccessViolationException
                or OutOfMemoryException or DivideByZeroException or System.Runtime.InteropServices.ExternalException or AssertFailedException)
                return false;
        return true;
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
        }, IsACleanRefusal, defaultIterations: 300);
        TestContext.WriteLine(report.ToString());
        Assert.AreEqual(report.Iterations, report.Loaded + report.Refused);
        if (report.Iterations >= 100) Assert.IsGreaterThan(report.Iterations / 2, report.Refused, "most mutations break the zip");
    }
}

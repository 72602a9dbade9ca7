using Pipelines.Models.Training;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.Training;

[TestClass]
public sealed class NonFiniteLossTests
{
    [TestMethod]
    public void NaNAndInfinityStopTrainingWithTheStep()
    {
        var e = Assert.ThrowsExactly<NonFiniteLossException>(() => NonFiniteLossException.ThrowIfNonFinite(double.NaN, 17));
        Assert.AreEqual(17, e.Step);
        StringAssert.Contains(e.Message, "step 17");
        Assert.ThrowsExactly<NonFiniteLossException>(() => NonFiniteLossException.ThrowIfNonFinite(double.PositiveInfinity, 3));
        NonFiniteLossException.ThrowIfNonFinite(2.5, 4); // finite: no exception, and nothing to return

        using var scope = NewDisposeScope();
        var gradient = tensor(new float[] { 1, float.NaN, 3 });
        var t = Assert.ThrowsExactly<NonFiniteLossException>(() => NonFiniteLossException.ThrowIfNonFinite(gradient, 9, "gradient norm"));
        StringAssert.Contains(t.Message, "gradient norm");
    }

    [TestMethod]
    public void SeedingMakesRunsRepeatable()
    {
        using var scope = NewDisposeScope();
        var a = Seeding.Set(5);
        var first = (randn(4).data<float>().ToArray(), a.Next());
        var b = Seeding.Set(5);
        var second = (randn(4).data<float>().ToArray(), b.Next());
        CollectionAssert.AreEqual(first.Item1, second.Item1);
        Assert.AreEqual(first.Item2, second.Item2);
    }
}

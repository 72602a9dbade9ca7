using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests;

/// <summary>
/// The native libtorch backend loads and trains. On Debian 12 this passes only because the build
/// patched the output's libLibTorchSharp.so (build/TorchSharpBackend); without the patch the first
/// TorchSharp call throws TypeInitializationException.
/// </summary>
[TestClass]
public sealed class TorchSharpRuntimeTests
{
    [TestMethod]
    public void ForwardAndBackwardGiveTheAnalyticGradient()
    {
        using var scope = NewDisposeScope();
        // loss = sum((W x + b)^2) / 2  =>  dL/dW = (W x + b) x^T, dL/db = W x + b
        var w = tensor(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]).requires_grad_();
        var b = tensor(new float[] { 0.5f, -1 }).requires_grad_();
        var x = tensor(new float[] { 1, -1, 2 });
        var y = w.matmul(x) + b;                       // [1-2+6+0.5, 4-5+12-1] = [5.5, 10]
        var loss = y.pow(2).sum() / 2;
        loss.backward();

        Assert.AreEqual((5.5 * 5.5 + 10 * 10) / 2, loss.item<float>(), 1e-5);
        CollectionAssert.AreEqual(new float[] { 5.5f, -5.5f, 11, 10, -10, 20 }, w.grad!.data<float>().ToArray());
        CollectionAssert.AreEqual(new float[] { 5.5f, 10 }, b.grad!.data<float>().ToArray());
    }

    [TestMethod]
    public void AnOptimizerStepLowersTheLossOfALinearLayer()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(1);
        var layer = nn.Linear(8, 1);
        var inputs = randn(64, 8);
        var targets = inputs.sum(1, keepdim: true);
        var optimizer = optim.SGD(layer.parameters(), 0.1);
        double first = 0, last = 0;
        for (var step = 0; step < 50; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(layer.forward(inputs), targets);
            loss.backward();
            optimizer.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.IsLessThan(first / 100, last, $"loss went from {first} to {last}");
    }
}

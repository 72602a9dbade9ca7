using Microsoft.ML;
using TorchSharp;

namespace Pipelines.Estimators.Tests;

[TestClass]
public sealed class DeviceSelectionTests
{
    private static (MLContext, List<string>) Logged(MLContext ml)
    {
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        return (ml, messages);
    }

    [TestMethod]
    public void TheChosenDeviceIsLoggedThroughMLContext()
    {
        var (ml, messages) = Logged(new MLContext());
        var device = DeviceSelection.Select(ml, "cpu", "Pretraining");
        Assert.AreEqual(DeviceType.CPU, device.type);
        Assert.IsTrue(messages.Any(m => m.Contains("Pretraining: device cpu (") && m.Contains("option 'cpu'")), string.Join("\n", messages));
    }

    [TestMethod]
    public void WithoutADeviceOptionTheMLContextDecidesAsForMLNetsGpuTrainers()
    {
        var (ml, messages) = Logged(new MLContext());
        Assert.AreEqual(DeviceType.CPU, DeviceSelection.Select(ml, null, "Fine-tuning").type, "no GpuDeviceId: the CPU");
        Assert.IsTrue(messages.Any(m => m.Contains("MLContext.GpuDeviceId not set")), string.Join("\n", messages));

        if (torch.cuda.is_available()) Assert.Inconclusive("This machine has a GPU; the fallback is tested where there is none.");
        var strict = new MLContext { GpuDeviceId = 0, FallbackToCpu = false };
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => DeviceSelection.Select(strict, null, "Fine-tuning"));
        StringAssert.Contains(e.Message, "no CUDA device is available");

        var (lenient, warnings) = Logged(new MLContext { GpuDeviceId = 0, FallbackToCpu = true });
        Assert.AreEqual(DeviceType.CPU, DeviceSelection.Select(lenient, null, "Fine-tuning").type);
        Assert.IsTrue(warnings.Any(m => m.Contains("MLContext.FallbackToCpu is true: using the CPU")), string.Join("\n", warnings));
    }

    [TestMethod]
    public void ATrainerWithoutADeviceOptionFollowsTheMLContextAndTheOptionWins()
    {
        if (torch.cuda.is_available()) Assert.Inconclusive("This machine has a GPU; the refusal is tested where there is none.");
        var train = SyntheticMail.Make(40, seed: 1);
        var tokenizer = SyntheticMail.Tokenizer(train);
        var ml = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = false };
        var options = new TextClassifierOptions { Layers = 1, Hidden = 16, Heads = 2, MaxEpoch = 1, BatchSize = 16, Seed = 1 };
        var pipeline = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 24)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(options));
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => pipeline.Fit(ml.Data.LoadFromEnumerable(train)));
        StringAssert.Contains(e.Message, "CUDA");
        options.Device = "cpu";
        Assert.IsNotNull(pipeline.Fit(ml.Data.LoadFromEnumerable(train)).LastTransformer.Model, "the Device option wins over the MLContext");
    }
}

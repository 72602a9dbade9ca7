using Pipelines.Models.Training;

namespace Pipelines.Models.Tests.Training;

[TestClass]
public sealed class LearningRateScheduleTests
{
    // nanoGPT's get_lr (train.py), written out independently: linear warmup to the peak over
    // warmup_iters, cosine from the peak to min_lr at lr_decay_iters.
    private static double NanoGptRate(int it, double peak = 1e-3, double min = 1e-4, int warmup = 100, int decayIters = 2000)
    {
        if (it < warmup) return peak * (it + 1) / (warmup + 1);
        if (it > decayIters) return min;
        var ratio = (double)(it - warmup) / (decayIters - warmup);
        return min + 0.5 * (1 + Math.Cos(Math.PI * ratio)) * (peak - min);
    }

    [TestMethod]
    public void CosineMatchesNanoGptAfterWarmup()
    {
        var schedule = new LearningRateSchedule(DecayShape.Cosine, WarmupSteps: 100, TotalSteps: 2000, FloorRatio: 0.1);
        foreach (var step in new[] { 100, 500, 1050, 1999, 2000, 2500 })
            Assert.AreEqual(NanoGptRate(step), 1e-3 * schedule.Factor(step), 1e-12, $"step {step}");
    }

    [TestMethod]
    public void WarmupRisesLinearlyToThePeak()
    {
        var schedule = new LearningRateSchedule(DecayShape.Linear, WarmupSteps: 10, TotalSteps: 110);
        Assert.AreEqual(0.1, schedule.Factor(1), 1e-12);
        Assert.AreEqual(0.5, schedule.Factor(5), 1e-12);
        Assert.AreEqual(1.0, schedule.Factor(10), 1e-12);
        Assert.AreEqual(0.5, schedule.Factor(60), 1e-12);   // halfway down the linear decay
        Assert.AreEqual(0.0, schedule.Factor(110), 1e-12);
        Assert.AreEqual(1.0, new LearningRateSchedule(DecayShape.Constant, 0, 10).Factor(500));
    }

    [TestMethod]
    public void ApplySetsEveryGroupFromItsInitialRate()
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var model = new GptLanguageModel(TinyConfigs.Decoder);
        var optimizer = Optimizers.AdamW(model.parameters(), 2e-3);
        var rate = new LearningRateSchedule(DecayShape.Linear, 4, 8).Apply(optimizer, 2);
        Assert.AreEqual(1e-3, rate, 1e-15);
        foreach (var group in optimizer.ParamGroups) Assert.AreEqual(1e-3, group.LearningRate, 1e-15);
    }
}

using Pipelines.Models.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.Training;

[TestClass]
public sealed class OptimizersTests
{
    [TestMethod]
    public void WeightDecaySkipsBiasesAndLayerNorms()
    {
        using var scope = NewDisposeScope();
        var model = new BertForSequenceClassification(TinyConfigs.Encoder, 2);
        var optimizer = Optimizers.AdamW(model.parameters(), 1e-3, weightDecay: 0.1);
        var groups = optimizer.ParamGroups.Cast<AdamW.ParamGroup>().ToList();
        Assert.HasCount(2, groups);
        Assert.IsTrue(groups[0].Parameters.All(p => p.dim() == 2));
        Assert.AreEqual(0.1, groups[0].Options.weight_decay);
        Assert.IsTrue(groups[1].Parameters.All(p => p.dim() == 1));
        Assert.AreEqual(0.0, groups[1].Options.weight_decay);
        Assert.AreEqual(model.parameters().Count(), groups.Sum(g => g.Parameters.Count()));
    }

    [TestMethod]
    public void LayerDecayScalesRatesByDepth()
    {
        using var scope = NewDisposeScope();
        var model = new BertForSequenceClassification(TinyConfigs.Encoder, 2);   // 2 layers
        var optimizer = Optimizers.AdamWWithLayerDecay(model, 2, 1e-3, layerDecay: 0.5);
        double RateOf(string name)
        {
            var parameter = model.named_parameters().Single(p => p.name == name).parameter;
            return optimizer.ParamGroups.Cast<AdamW.ParamGroup>().Single(g => g.Parameters.Contains(parameter)).LearningRate;
        }
        Assert.AreEqual(1e-3, RateOf("classifier.weight"), 1e-15);
        Assert.AreEqual(0.5e-3, RateOf("bert.encoder.layer.1.output.dense.weight"), 1e-15);
        Assert.AreEqual(0.25e-3, RateOf("bert.encoder.layer.0.output.dense.weight"), 1e-15);
        Assert.AreEqual(0.125e-3, RateOf("bert.embeddings.word_embeddings.weight"), 1e-15);
    }

    [TestMethod]
    public void FrozenParametersAreLeftOut()
    {
        using var scope = NewDisposeScope();
        var model = new BertForSequenceClassification(TinyConfigs.Encoder, 2);
        Freezing.FreezeAllBut(model, "classifier");
        var optimizer = Optimizers.AdamW(model.parameters(), 1e-3);
        Assert.AreEqual(2, optimizer.ParamGroups.Cast<AdamW.ParamGroup>().Sum(g => g.Parameters.Count()));
        Freezing.FreezeAllBut(model);
        Assert.ThrowsExactly<ArgumentException>(() => Optimizers.AdamW(model.parameters(), 1e-3));
    }
}

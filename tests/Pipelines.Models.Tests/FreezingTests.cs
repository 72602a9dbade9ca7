using static TorchSharp.torch;

namespace Pipelines.Models.Tests;

[TestClass]
public sealed class FreezingTests
{
    [TestMethod]
    public void BottomLayersAndEmbeddingsFreezeByName()
    {
        using var scope = NewDisposeScope();
        var model = new BertForSequenceClassification(TinyConfigs.Encoder with { Layers = 3 }, 2);
        Freezing.FreezeEmbeddings(model);
        Freezing.FreezeBottomLayers(model, 2);
        foreach (var (name, parameter) in model.named_parameters())
        {
            var frozen = name.StartsWith("bert.embeddings.") || name.StartsWith("bert.encoder.layer.0.") || name.StartsWith("bert.encoder.layer.1.");
            Assert.AreEqual(!frozen, parameter.requires_grad, name);
        }
    }

    [TestMethod]
    [DataRow("bert.encoder.layer.12.attention.self.query.weight", 12)]
    [DataRow("transformer.h.3.mlp.c_fc.weight", 3)]
    [DataRow("bert.embeddings.word_embeddings.weight", null)]
    [DataRow("classifier.weight", null)]
    public void BlockIndexIsReadFromTheParameterPath(string name, int? expected) =>
        Assert.AreEqual(expected, Freezing.BlockIndex(name));
}

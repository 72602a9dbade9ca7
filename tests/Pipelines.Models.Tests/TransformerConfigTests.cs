using static TorchSharp.torch;

namespace Pipelines.Models.Tests;

[TestClass]
public sealed class TransformerConfigTests
{
    [TestMethod]
    public void PositionOffsetAndActivationSurviveJsonAndOlderJsonStillReads()
    {
        var config = TinyConfigs.Encoder with { PositionOffset = 2, Activation = Activation.GeluTanh };
        var json = config.ToJson();
        StringAssert.Contains(json, "\"Activation\": \"GeluTanh\"");
        Assert.AreEqual(config, TransformerConfig.FromJson(json));

        // A config written before these fields existed reads with their defaults.
        var old = TransformerConfig.FromJson("{ \"VocabSize\": 10, \"Hidden\": 8, \"Heads\": 2 }");
        Assert.AreEqual(0, old.PositionOffset);
        Assert.AreEqual(Activation.Default, old.Activation);
        Assert.AreEqual(old.MaxPositions, old.MaxSequenceLength);
    }

    [TestMethod]
    public void APositionOffsetOutsideThePositionTableIsRefused()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => (TinyConfigs.Encoder with { PositionOffset = 24 }).Validate());
        StringAssert.Contains(e.Message, "PositionOffset");
        Assert.ThrowsExactly<ArgumentException>(() => (TinyConfigs.Encoder with { PositionOffset = -1 }).Validate());
        Assert.ThrowsExactly<ArgumentException>(() => (TinyConfigs.Encoder with { Activation = (Activation)7 }).Validate());
    }

    [TestMethod]
    public void WithAnOffsetTheEncoderAcceptsOnlyTheRowsAfterIt()
    {
        using var scope = NewDisposeScope();
        var model = new BertModel(TinyConfigs.Encoder with { PositionOffset = 4 });   // 24 rows, 20 usable
        model.eval();
        using var _ = no_grad();
        Assert.HasCount(3, model.Forward(zeros(1, 20, ScalarType.Int64)).shape);
        var e = Assert.ThrowsExactly<ArgumentException>(() => model.Forward(zeros(1, 21, ScalarType.Int64)));
        StringAssert.Contains(e.Message, "20 positions");
    }

    [TestMethod]
    public void TheActivationOptionChangesWhatTheDecoderComputes()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        random.manual_seed(3);
        var tanh = new GptLanguageModel(TinyConfigs.Decoder);
        var exact = new GptLanguageModel(TinyConfigs.Decoder with { Activation = Activation.Gelu });
        var same = new GptLanguageModel(TinyConfigs.Decoder with { Activation = Activation.GeluTanh });
        foreach (var other in new[] { exact, same })
            foreach (var (name, value) in tanh.state_dict()) other.state_dict()[name].copy_(value * 30); // large enough for the GELUs to differ
        foreach (var (name, value) in tanh.state_dict()) value.mul_(30);
        var ids = randint(0, TinyConfigs.Decoder.VocabSize, [1, 8]);
        Assert.IsTrue(tanh.forward(ids).equal(same.forward(ids)).all().item<bool>(), "Default is tanh GELU in the decoder");
        Assert.IsFalse(tanh.forward(ids).allclose(exact.forward(ids), rtol: 0, atol: 1e-4));
    }

    [TestMethod]
    public void TheBertPresetIsAPostLayerNormEncoderWithSegmentsAndRoomForShortRows()
    {
        var config = TransformerConfig.Bert(vocabSize: 500, layers: 2, hidden: 64, heads: 1, maxLength: 5);
        Assert.IsFalse(config.PreLayerNorm);
        Assert.AreEqual(2, config.TypeVocabSize);
        Assert.AreEqual(1e-12, config.LayerNormEpsilon);
        Assert.AreEqual(256, config.FeedForward);
        Assert.AreEqual(8, config.MaxPositions, "at least 8 positions");
        Assert.AreEqual(100, TransformerConfig.Bert(500, 2, 64, 1, 128, feedForward: 100).FeedForward);
        Assert.AreEqual(128, TransformerConfig.Bert(500, 2, 64, 1, 128).MaxPositions);
    }
}

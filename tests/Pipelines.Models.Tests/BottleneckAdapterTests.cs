using static TorchSharp.torch;

namespace Pipelines.Models.Tests;

[TestClass]
public sealed class BottleneckAdapterTests
{
    private static readonly TransformerConfig Tiny = TinyConfigs.Encoder;

    [TestMethod]
    public void FreshAdaptersLeaveTheEncoderExactlyAsItWas()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var plain = new BertForSequenceClassification(Tiny, 3);
        var adapted = new BertForSequenceClassification(Tiny with { AdapterSize = 8 }, 3);
        var fresh = WeightTransfer.CopyMatching(plain, adapted);
        Assert.IsTrue(fresh.All(n => n.Contains(".adapter.")), string.Join(", ", fresh));
        Assert.HasCount(2 * Tiny.Layers * 4, fresh);                 // down and up, weight and bias, twice a block
        plain.eval();
        adapted.eval();
        var ids = randint(0, Tiny.VocabSize, [3, 7]);
        Assert.AreEqual(0f, (plain.Forward(ids) - adapted.Forward(ids)).abs().max().item<float>());
    }

    [TestMethod]
    public void HoulsbyPutsTwoAdaptersInABlockAndPfeifferOne()
    {
        using var houlsby = new BertModel(Tiny with { AdapterSize = 4 });
        using var pfeiffer = new BertModel(Tiny with { AdapterSize = 4, AdapterAfterAttention = false });
        Assert.AreEqual(2 * Tiny.Layers, houlsby.modules().OfType<BottleneckAdapter>().Count());
        Assert.AreEqual(Tiny.Layers, pfeiffer.modules().OfType<BottleneckAdapter>().Count());
        Assert.IsFalse(pfeiffer.named_parameters().Any(p => p.name.Contains("attention.output.adapter")));
    }

    [TestMethod]
    public void OnlyAdaptersLayerNormsAndTheHeadTrainAndTheAdaptersChangeTheOutput()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        var model = new BertForSequenceClassification(Tiny with { AdapterSize = 8 }, 3);
        Freezing.FreezeAllButAdapters(model, "classifier");
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.IsTrue(trainable.All(n => n.Contains(".adapter.") || n.Contains("LayerNorm") || n.StartsWith("classifier")), string.Join(", ", trainable));
        Assert.IsTrue(trainable.Any(n => n.Contains(".adapter.")));
        Assert.IsFalse(trainable.Any(n => n.Contains("attention.self") || n.Contains("word_embeddings")));

        var ids = randint(0, Tiny.VocabSize, [4, 6]);
        var labels = tensor(new long[] { 0, 1, 2, 1 });
        var before = model.Forward(ids).detach().clone();
        var optimizer = optim.SGD(model.parameters().Where(p => p.requires_grad), 0.5);
        for (var step = 0; step < 3; step++)
        {
            optimizer.zero_grad();
            nn.functional.cross_entropy(model.Forward(ids), labels).backward();
            optimizer.step();
        }
        var up = model.named_parameters().First(p => p.name.EndsWith("adapter.up.weight")).parameter;
        Assert.IsGreaterThan(0f, up.abs().max().item<float>(), "the zero-initialised up projection learned");
        Assert.IsGreaterThan(1e-4f, (model.Forward(ids) - before).abs().max().item<float>());
    }

    [TestMethod]
    public void AdaptersFitWhatTheHeadAloneCannotOnTheSameFrozenEncoder()
    {
        double FinalLoss(bool adapters)
        {
            using var scope = NewDisposeScope();
            random.manual_seed(4);
            var model = new BertForSequenceClassification(Tiny with { AdapterSize = 16 }, 2, Pooling.Mean);
            if (adapters) Freezing.FreezeAllButAdapters(model, "classifier");
            else Freezing.FreezeAllBut(model, "classifier");
            var ids = randint(0, Tiny.VocabSize, [32, 8]);
            var labels = randint(0, 2, [32]);                             // random labels: only capacity fits them
            var optimizer = optim.Adam(model.parameters().Where(p => p.requires_grad), 5e-3);
            var loss = 0f;
            for (var step = 0; step < 200; step++)
            {
                optimizer.zero_grad();
                using var l = nn.functional.cross_entropy(model.Forward(ids), labels);
                l.backward();
                optimizer.step();
                loss = l.item<float>();
            }
            return loss;
        }
        var (head, adapted) = (FinalLoss(adapters: false), FinalLoss(adapters: true));
        Assert.IsLessThan(head / 4, adapted, $"head only {head}, adapters {adapted}");
    }

    [TestMethod]
    public void FreezingForAdaptersRefusesAModelWithout()
    {
        using var model = new BertForSequenceClassification(Tiny, 2);
        StringAssert.Contains(Assert.Throws<ArgumentException>(() => Freezing.FreezeAllButAdapters(model, "classifier")).Message, "AdapterSize");
    }
}

using Pipelines.Models.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Pipelines.Models.Tests.Training;

[TestClass]
public sealed class AdversarialEmbeddingsTests
{
    private static (BertForSequenceClassification Model, Tensor Ids, Tensor Labels) Setup()
    {
        random.manual_seed(4);
        var model = new BertForSequenceClassification(TinyConfigs.Encoder, 2);
        model.train();
        var ids = randint(1, TinyConfigs.Encoder.VocabSize, [6, 10]);
        return (model, ids, tensor(new long[] { 0, 1, 1, 0, 1, 0 }));
    }

    [TestMethod]
    public void ThePerturbationAlongTheGradientRaisesTheLossAndTheTableComesBackExactly()
    {
        using var scope = NewDisposeScope();
        var (model, ids, labels) = Setup();
        var table = model.Bert.WordEmbeddings.weight!;
        using var before = table.detach().clone();
        var clean = F.cross_entropy(model.Forward(ids), labels);
        var total = new AdversarialEmbeddings(table, 0.5).AddTo(clean, () => F.cross_entropy(model.Forward(ids), labels));
        var adversarial = total.item<float>() - clean.item<float>();
        Assert.IsGreaterThan(clean.item<float>(), adversarial, "moving the embeddings along the gradient raises the loss");
        Assert.IsTrue(table.detach().eq(before).all().item<bool>(), "the embedding table is restored bit for bit");

        // Both losses reach the gradients: they differ from the clean loss's alone.
        total.backward();
        using var both = table.grad!.clone();
        model.zero_grad();
        F.cross_entropy(model.Forward(ids), labels).backward();
        Assert.IsFalse(both.allclose(table.grad!), "the adversarial loss adds its gradient");
    }

    [TestMethod]
    public void EpsilonZeroIsTheCleanLossAndFrozenEmbeddingsAreRefused()
    {
        using var scope = NewDisposeScope();
        var (model, ids, labels) = Setup();
        var table = model.Bert.WordEmbeddings.weight!;
        var clean = F.cross_entropy(model.Forward(ids), labels);
        Assert.AreSame(clean, new AdversarialEmbeddings(table, 0).AddTo(clean, () => throw new InvalidOperationException("not called")));
        table.requires_grad = false;
        var frozen = F.cross_entropy(model.Forward(ids), labels);
        StringAssert.Contains(Assert.Throws<InvalidOperationException>(() => new AdversarialEmbeddings(table, 1).AddTo(frozen, () => frozen)).Message, "frozen");
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdversarialEmbeddings(table, -1));
    }
}

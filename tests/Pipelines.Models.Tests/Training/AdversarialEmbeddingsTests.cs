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

    [TestMethod]
    public void PgdStaysInTheEpsilonBallAndFindsAHigherLossThanOneFgmStep()
    {
        using var scope = NewDisposeScope();
        var (model, ids, labels) = Setup();
        var table = model.Bert.WordEmbeddings.weight!;
        using var before = table.detach().clone();
        float Adversarial(AdversarialEmbeddings perturbation)
        {
            var clean = F.cross_entropy(model.Forward(ids), labels);
            return perturbation.AddTo(clean, () => F.cross_entropy(model.Forward(ids), labels)).item<float>() - clean.item<float>();
        }
        var fgm = new AdversarialEmbeddings(table, 8.0);
        var pgd = new AdversarialEmbeddings(table, 8.0, steps: 5);
        var (fgmLoss, pgdLoss) = (Adversarial(fgm), Adversarial(pgd));
        Assert.AreEqual(8.0, fgm.LastPerturbationNorm, 1e-4, "FGM moves exactly epsilon");
        Assert.IsLessThanOrEqualTo(8.0 + 1e-3, pgd.LastPerturbationNorm, "PGD is projected into the ball");
        Assert.IsGreaterThan(fgmLoss, pgdLoss, "five steps that follow the gradient find a worse perturbation than one");
        Assert.IsTrue(table.detach().eq(before).all().item<bool>(), "the table is restored bit for bit after PGD too");

        // One PGD step with the automatic step size (2.5 epsilon, projected) is FGM.
        Assert.AreEqual(fgmLoss, Adversarial(new AdversarialEmbeddings(table, 8.0, steps: 1)), 1e-6f);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdversarialEmbeddings(table, 1, steps: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdversarialEmbeddings(table, 1, stepSize: double.NaN));
    }
}

using Pipelines.Models.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Pipelines.Models.Tests.Training;

[TestClass]
public sealed class JointMaskedLmTests
{
    private static readonly TransformerConfig Tiny = TinyConfigs.Encoder;

    // Masks every second token with id 1 (a stand-in mask id), so the expected loss can be computed by hand.
    private static (int[] Inputs, int[] Labels) EverySecond(int[] ids, int[]? words, Random random) =>
        (ids.Select((id, i) => i % 2 == 1 ? 1 : id).ToArray(), ids.Select((id, i) => i % 2 == 1 ? id : (int)Heads.IgnoreIndex).ToArray());

    [TestMethod]
    public void TheLossAddsWeightTimesThePretrainedHeadsCrossEntropyOnTheMaskedRows()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        var pretrained = new BertForPreTraining(Tiny);
        var classifier = new BertForSequenceClassification(Tiny, 2);
        WeightTransfer.CopyMatching(pretrained.Bert, classifier.Bert);
        pretrained.eval();
        classifier.eval();
        using var joint = new JointMaskedLm(pretrained.LmHead, Tiny, EverySecond, 0.7, CPU);
        int[][] rows = [[5, 6, 7, 8, 9], [10, 11, 12]];
        var task = tensor(0.25f);
        var total = joint.AddTo(task, classifier.Bert, rows, padId: 0, maxLength: 16, new Random(1));

        // By hand: the pretrained model's own masked-LM logits at the masked positions.
        var (ids, mask) = Batching.Pad(rows.Select(r => EverySecond(r, null, new Random(1)).Inputs).ToList(), 0, 16, CPU);
        var labels = Batching.PadLabels(rows.Select(r => EverySecond(r, null, new Random(1)).Labels).ToList(), ids.shape[1], CPU);
        var expected = F.cross_entropy(pretrained.Forward(ids, mask).TokenLogits.flatten(0, 1), labels.flatten(), ignore_index: Heads.IgnoreIndex);
        Assert.AreEqual(0.25 + 0.7 * expected.item<float>(), total.item<float>(), 1e-5);

        // The head is a frozen copy; the gradient reaches the classifier's encoder.
        total.backward();
        Assert.IsFalse(pretrained.LmHead.parameters().Any(p => p.grad is not null), "the pretrained model is not trained");
        Assert.IsGreaterThan(0f, classifier.Bert.WordEmbeddings.weight!.grad!.abs().sum().item<float>());
    }

    [TestMethod]
    public void NoMaskedTokenLeavesTheTaskLossAndABadWeightIsRefused()
    {
        using var scope = NewDisposeScope();
        using var pretrained = new BertForPreTraining(Tiny);
        using var joint = new JointMaskedLm(pretrained.LmHead, Tiny, (ids, _, _) => (ids, ids.Select(_ => (int)Heads.IgnoreIndex).ToArray()), 1, CPU);
        var task = tensor(0.5f);
        Assert.AreSame(task, joint.AddTo(task, pretrained.Bert, [[4, 5, 6]], 0, 8, new Random(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new JointMaskedLm(pretrained.LmHead, Tiny, EverySecond, 0, CPU));
    }
}

using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.Training;

[TestClass]
public sealed class TokenClassificationTaskTests
{
    private const int Ignore = (int)Heads.IgnoreIndex;

    [TestMethod]
    public void LossCountsOnlyLabelledTokensAndAddsL2SPFromTheStart()
    {
        random.manual_seed(1);
        using var model = new BertForTokenClassification(TinyConfigs.Encoder, 3);
        model.eval();
        // Row 0: [CLS] w0 w0' w1 [SEP]; row 1 is shorter (padded). Second pieces and specials are ignored.
        var rows = new List<TaggedSequence>
        {
            new([2, 10, 11, 12, 3], [Ignore, 1, Ignore, 0, Ignore]),
            new([2, 20, 3], [Ignore, 2, Ignore]),
        };
        using var task = new TokenClassificationTask(model, rows, rows, padId: 0, maxLength: 16, batchSize: 2, seed: 1, l2sp: 0.5);
        using var _ = no_grad();
        var (loss, examples, _) = task.Step(0, new Random(0));

        // By hand: log-softmax of each labelled token's logits, mean over the 3 labelled tokens.
        var expected = 0.0;
        foreach (var (row, t) in new[] { (0, 1), (0, 3), (1, 1) })
        {
            var ids = tensor(rows[row].Ids.Select(i => (long)i).ToArray()).unsqueeze(0);
            var logits = model.Forward(ids)[0, t];
            expected -= nn.functional.log_softmax(logits, 0)[rows[row].Labels[t]].item<float>();
        }
        Assert.AreEqual(2, examples);
        Assert.AreEqual(expected / 3, loss.item<float>(), 1e-5, "L2-SP adds 0 while the weights are at their start");

        var validation = task.Validate(7)!;
        Assert.AreEqual(expected / 3, validation.Loss, 1e-5);
        Assert.IsTrue(validation.Accuracy is >= 0 and <= 1);
    }

    [TestMethod]
    public void OverfitsATinyBatchToNearZeroLoss()
    {
        random.manual_seed(2);
        using var model = new BertForTokenClassification(TinyConfigs.Encoder, 4);
        var rows = Enumerable.Range(0, 4).Select(r => new TaggedSequence(
            [2, .. Enumerable.Range(0, 6).Select(t => 10 + r * 6 + t), 3],
            [Ignore, .. Enumerable.Range(0, 6).Select(t => (r + t) % 4), Ignore])).ToList();
        using var task = new TokenClassificationTask(model, rows, rows, 0, 16, 4, seed: 3);
        var parameters = model.parameters().ToList();
        using var optimizer = Optimizers.AdamW(parameters, 1e-2, 0);
        var result = TrainingLoop.Run(task, optimizer, parameters, new TrainingLoopOptions { MaxSteps = 150, EvaluateEvery = 150, Seed = 1 });
        Assert.IsLessThan(0.01, result.Validations[^1].Loss);
        Assert.AreEqual(1.0, result.Validations[^1].Accuracy);
    }

    [TestMethod]
    public void EveryEpochVisitsEveryRowOnceInANewOrder()
    {
        var batches = new EpochBatches(rows: 10, batchSize: 4, seed: 5);
        Assert.AreEqual(3, batches.PerEpoch);
        var first = Enumerable.Range(0, 3).SelectMany(d => batches.Draw(d)).ToList();
        var second = Enumerable.Range(3, 3).SelectMany(d => batches.Draw(d)).ToList();
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 10).ToList(), first);
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 10).ToList(), second);
        CollectionAssert.AreNotEqual(first, second);
        CollectionAssert.AreEqual(batches.Draw(4), new EpochBatches(10, 4, 5).Draw(4), "a draw depends only on (seed, draw)");
    }
}

using static TorchSharp.torch;

namespace Pipelines.Models.Tests;

[TestClass]
public sealed class BertTests
{
    private static readonly TransformerConfig Tiny = TinyConfigs.Encoder;

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void MaskedLmLossAtInitialisationIsNearLnVocab(bool preLayerNorm)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(0);
        var model = new BertForPreTraining(Tiny with { PreLayerNorm = preLayerNorm });
        var ids = randint(0, Tiny.VocabSize, [8, 20]);
        var labels = randint(0, Tiny.VocabSize, [8, 20]);
        var loss = BertForPreTraining.MaskedLmLoss(model.Forward(ids).TokenLogits, labels).item<float>();
        Assert.AreEqual(Math.Log(Tiny.VocabSize), loss, 0.1 * Math.Log(Tiny.VocabSize));
    }

    [TestMethod]
    public void PredictingOnlyMaskedPositionsGivesTheFullLogitsThere()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(9);
        var model = new BertForPreTraining(Tiny);
        model.eval();
        var ids = randint(0, Tiny.VocabSize, [2, 6]);
        var labels = full([2, 6], Heads.IgnoreIndex, ScalarType.Int64);
        labels[0, 1] = 7; labels[1, 4] = 9; labels[1, 5] = 3;
        var (logits, targets) = model.PredictMasked(ids, labels);
        var everything = model.Forward(ids).TokenLogits;
        CollectionAssert.AreEqual(new long[] { 7, 9, 3 }, targets.data<long>().ToArray());
        Assert.AreEqual(0f, (logits[0] - everything[0, 1]).abs().max().item<float>(), 1e-5f);
        Assert.AreEqual(0f, (logits[2] - everything[1, 5]).abs().max().item<float>(), 1e-5f);
        Assert.AreEqual(BertForPreTraining.MaskedLmLoss(everything, labels).item<float>(),
            nn.functional.cross_entropy(logits, targets).item<float>(), 1e-5f);
    }

    [TestMethod]
    public void MaskedPositionsMadeOnTheHostSelectWhatTheLabelsSelect()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(9);
        var model = new BertForPreTraining(Tiny);
        model.eval();
        var ids = randint(0, Tiny.VocabSize, [2, 6]);
        int[][] rows = [[-100, 7, -100], [-100, -100, -100, -100, 9, 3]];     // row 0 shorter than T: padded with -100
        var labels = Pipelines.Models.Training.Batching.PadLabels(rows, 6, CPU);
        var positions = Pipelines.Models.Training.Batching.LabelledPositions(rows, 6);
        CollectionAssert.AreEqual(new long[] { 1, 10, 11 }, positions);
        var (expected, expectedTargets) = model.PredictMasked(ids, labels);
        var (logits, targets) = model.PredictMasked(ids, labels, positions: tensor(positions));
        CollectionAssert.AreEqual(expectedTargets.data<long>().ToArray(), targets.data<long>().ToArray());
        Assert.IsTrue(expected.allclose(logits, rtol: 0, atol: 0), "the same logits, bit for bit");
    }

    [TestMethod]
    public void MaskedLmOverfitsOneBatch()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(1);
        var model = new BertForPreTraining(Tiny);
        var ids = randint(5, Tiny.VocabSize, [4, 12]);
        var labels = full([4, 12], Heads.IgnoreIndex, ScalarType.Int64);
        labels[.., TensorIndex.Slice(0, 12, 3)] = ids[.., TensorIndex.Slice(0, 12, 3)];  // predict every third token
        var inputs = ids.clone();
        inputs[.., TensorIndex.Slice(0, 12, 3)] = 1;                                    // ... from a [MASK] id
        var optimizer = optim.AdamW(model.parameters(), 3e-3);
        var loss = float.NaN;
        for (var step = 0; step < 400 && !(loss < 0.05f); step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var l = BertForPreTraining.MaskedLmLoss(model.Forward(inputs).TokenLogits, labels);
            l.backward();
            optimizer.step();
            loss = l.item<float>();
        }
        Assert.IsLessThan(0.05f, loss);
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void PaddedPositionsDoNotChangeRealOnes(bool preLayerNorm)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        var model = new BertModel(Tiny with { PreLayerNorm = preLayerNorm });
        model.eval();
        var ids = randint(0, Tiny.VocabSize, [2, 10]);
        var mask = ones([2, 10], ScalarType.Int64);
        mask[0, 6..] = 0;                                         // row 0: 6 real tokens, 4 padding
        var otherPadding = ids.clone();
        otherPadding[0, 6..] = randint(0, Tiny.VocabSize, [4]);

        var a = model.Forward(ids, mask);
        var b = model.Forward(otherPadding, mask);
        Assert.AreEqual(0.0, (a[0, ..6] - b[0, ..6]).abs().max().item<float>(), 1e-6, "real positions of the padded row");
        Assert.AreEqual(0.0, (a[1] - b[1]).abs().max().item<float>(), "the unpadded row");

        // Without the mask the padding does leak in, so the check above is not vacuous.
        var c = model.Forward(otherPadding);
        Assert.IsGreaterThan(1e-4, (model.Forward(ids)[0, ..6] - c[0, ..6]).abs().max().item<float>());
    }

    [TestMethod]
    public void SegmentIdsChangeTheEncoding()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var model = new BertModel(Tiny);
        model.eval();
        var ids = randint(0, Tiny.VocabSize, [1, 8]);
        var segments = zeros([1, 8], ScalarType.Int64);
        var same = model.Forward(ids, null, segments);
        Assert.AreEqual(0.0, (same - model.Forward(ids)).abs().max().item<float>(), 1e-6, "no segments means segment 0");
        segments[0, 4..] = 1;
        Assert.IsGreaterThan(1e-4, (same[0, 4..] - model.Forward(ids, null, segments)[0, 4..]).abs().max().item<float>());
    }

    [TestMethod]
    public void HeadsHaveTheExpectedShapes()
    {
        using var scope = NewDisposeScope();
        var ids = randint(0, Tiny.VocabSize, [3, 7]);
        var mask = ones([3, 7], ScalarType.Int64);
        CollectionAssert.AreEqual(new long[] { 3, 7, Tiny.VocabSize }, new BertForPreTraining(Tiny).Forward(ids, mask).TokenLogits.shape);
        CollectionAssert.AreEqual(new long[] { 3, 2 }, new BertForPreTraining(Tiny, sentencePair: true).Forward(ids, mask).PairLogits!.shape);
        CollectionAssert.AreEqual(new long[] { 3, 5 }, new BertForSequenceClassification(Tiny, 5).Forward(ids, mask).shape);
        CollectionAssert.AreEqual(new long[] { 3, 5 }, new BertForSequenceClassification(Tiny, 5, Pooling.Mean).Forward(ids, mask).shape);
        CollectionAssert.AreEqual(new long[] { 3, 7, 9 }, new BertForTokenClassification(Tiny, 9).Forward(ids, mask).shape);
    }

    [TestMethod]
    public void MeanPoolingAveragesOnlyRealTokens()
    {
        using var scope = NewDisposeScope();
        var hidden = tensor(new float[] { 1, 2, 3, 4, 100, 200 }, [1, 3, 2]);
        var mask = tensor(new long[] { 1, 1, 0 }, [1, 3]);
        CollectionAssert.AreEqual(new float[] { 2, 3 }, SequencePooling.MaskedMean(hidden, mask).data<float>().ToArray());
    }

    [TestMethod]
    public void MaskedLmDecoderIsTiedToTheWordEmbeddings()
    {
        using var scope = NewDisposeScope();
        var model = new BertForPreTraining(Tiny);
        var names = model.state_dict().Keys.ToList();
        Assert.IsFalse(names.Any(n => n.Contains("decoder")), "no separate decoder matrix: " + string.Join(", ", names.Where(n => n.StartsWith("cls"))));
        CollectionAssert.Contains(names, "bert.encoder.layer.1.attention.self.query.weight");
        CollectionAssert.Contains(names, "cls.predictions.transform.LayerNorm.weight");
        CollectionAssert.Contains(names, "cls.predictions.bias");
    }
}

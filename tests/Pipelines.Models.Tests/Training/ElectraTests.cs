using Pipelines.Models.Training;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.Training;

/// <summary>ELECTRA's replaced-token detection: what the discriminator is told, its losses, and that it learns.</summary>
[TestClass]
public sealed class ElectraTests
{
    public TestContext TestContext { get; set; } = null!;

    private const int Mask = 4;

    // Two rows of ids 10.., padded; (row, position) pairs to mask.
    private static (Tensor Masked, Tensor Original, Tensor AttentionMask, long[] Positions, Tensor Targets) Batch(int[][] rows, (int Row, int Position)[] masked)
    {
        var (original, attention) = Batching.Pad(rows, 0, 24, CPU);
        var width = original.shape[1];
        var positions = masked.Select(m => m.Row * width + m.Position).ToArray();
        var corrupted = original.clone();
        foreach (var (r, p) in masked) corrupted[r, p] = Mask;
        var targets = original.flatten().index_select(0, tensor(positions));
        return (corrupted, original, attention, positions, targets);
    }

    [TestMethod]
    public void TheDiscriminatorIsToldWhichTokensTheGeneratorReplacedAndItsLossesAreTheTextbookOnes()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var model = new BertForPreTraining(TinyConfigs.Encoder);
        var electra = new ElectraForPreTraining(model, generatorLayers: 1);
        // A generator that always proposes token 12: its masked-LM bias for 12 dwarfs every other logit.
        using (no_grad())
            electra.named_parameters().Single(p => p.name.EndsWith("predictions.bias")).parameter[12] = 1000f;
        int[][] rows = [[2, 10, 11, 12, 13, 3], [2, 12, 14, 3]];
        (int, int)[] chosen = [(0, 1), (0, 3), (1, 1), (1, 2)];                  // originals 10, 12, 12, 14
        var (masked, original, attention, positions, targets) = Batch(rows, chosen);
        var (logits, generatorLoss, discriminatorLoss, discriminatorLogits, replaced) =
            electra.Forward(masked, original, attention, tensor(positions), targets);

        // Replaced where the proposal (12) differs from the original: (0,1) and (1,2); (0,3) and (1,1) were guessed right.
        var expected = new float[2, 6];
        (expected[0, 1], expected[1, 2]) = (1, 1);
        CollectionAssert.AreEqual(expected.Cast<float>().ToArray(), replaced.data<float>().ToArray());

        // The generator's loss: mean of -log softmax(logits)[target], by hand.
        var l = logits.to(ScalarType.Float64);
        var t = targets.data<long>().ToArray();
        double byHand = 0;
        for (var i = 0; i < t.Length; i++)
        {
            var row = l[i].data<double>().ToArray();
            var max = row.Max();
            byHand += Math.Log(row.Sum(v => Math.Exp(v - max))) + max - row[t[i]];
        }
        Assert.AreEqual(byHand / t.Length, generatorLoss.item<float>(), 1e-3);

        // The discriminator's loss: binary cross-entropy over the 10 real tokens only (padding of row 1 excluded).
        var z = discriminatorLogits.data<float>().ToArray();
        var y = replaced.data<float>().ToArray();
        var real = attention.to(ScalarType.Float32).data<float>().ToArray();
        double bce = 0;
        for (var i = 0; i < z.Length; i++)
            if (real[i] > 0) bce += Math.Log(1 + Math.Exp(-Math.Abs(z[i]))) + Math.Max(z[i], 0) - z[i] * y[i];
        Assert.AreEqual(10, real.Sum());
        Assert.AreEqual(bce / 10, discriminatorLoss.item<float>(), 1e-5);
    }

    [TestMethod]
    public void TheDiscriminatorLearnsToSpotTheGeneratorsReplacements()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var data = new Random(5);
        // Each row draws its tokens from one of four topics of ten ids: a token out of the row's topic was put there. A generator
        // that learnt the topics would sample in-topic tokens no discriminator can tell apart (ELECTRA's own limit), so the
        // generator here is left untrained: only the discriminator's loss is followed, and its samples stay random.
        int[] Row() { var topic = 10 + 10 * data.Next(4); return [2, .. Enumerable.Range(0, 12).Select(_ => topic + data.Next(10)), 3]; }
        var model = new BertForPreTraining(TinyConfigs.Encoder);
        var electra = new ElectraForPreTraining(model, generatorLayers: 1);
        var parameters = electra.parameters().ToList();
        using var optimizer = Optimizers.AdamW(parameters, 3e-3);
        (double Loss, double Auc) Probe(bool train)
        {
            var rows = Enumerable.Range(0, 32).Select(_ => Row()).ToArray();
            var chosen = rows.SelectMany((row, r) => Enumerable.Range(1, row.Length - 2).Where(_ => data.NextDouble() < 0.15).Select(p => (r, p))).ToArray();
            var (masked, original, attention, positions, targets) = Batch(rows, chosen);
            electra.train(train);
            var (_, generatorLoss, discriminatorLoss, logits, replaced) = electra.Forward(masked, original, attention, tensor(positions), targets);
            if (train)
            {
                optimizer.zero_grad();
                discriminatorLoss.backward();
                optimizer.step();
            }
            return (discriminatorLoss.item<float>(), Auc(logits.data<float>().ToArray(), replaced.data<float>().ToArray(), attention.data<long>().ToArray()));
        }
        var before = Probe(train: false);
        for (var step = 0; step < 150; step++)
        {
            using var stepScope = NewDisposeScope();
            Probe(train: true);
        }
        var after = Probe(train: false);
        Assert.IsLessThan(before.Loss * 0.7, after.Loss, $"discriminator loss {before.Loss:F3} -> {after.Loss:F3}");
        Assert.IsGreaterThan(0.7, after.Auc, $"replaced-token AUC {before.Auc:F3} -> {after.Auc:F3}");
    }

    [TestMethod]
    public void TheDiscriminatorsLossCountsByItsWeight()
    {
        using var scope = NewDisposeScope();
        int[][] rows = [[2, 10, 11, 12, 3]];
        TokenMasking masking = (ids, _, _) => (ids.Select((id, i) => i == 2 ? Mask : id).ToArray(), ids.Select((id, i) => i == 2 ? id : (int)Heads.IgnoreIndex).ToArray());
        float Loss(double weight)
        {
            random.manual_seed(9);
            var model = new BertForPreTraining(TinyConfigs.Encoder);
            var task = new MaskedLanguageModelingTask(model, rows, rows, masking, 0, 8, 1, replacedTokenDetection: new ElectraForPreTraining(model, 1, weight));
            random.manual_seed(10);
            return task.Step(0, new Random(1)).Loss.item<float>();
        }
        // The same model, batch and samples: only the weight differs, so loss(50) - loss(1) = 49 x the discriminator's loss (> 0).
        var (one, fifty) = (Loss(1), Loss(50));
        Assert.IsGreaterThan(one + 0.1f, fifty, $"loss with weight 1: {one}, with 50: {fifty}");
    }

    // Probability that a replaced token scores above an original one, over real tokens.
    private static double Auc(float[] scores, float[] replaced, long[] real)
    {
        var positive = scores.Where((_, i) => real[i] > 0 && replaced[i] > 0).ToArray();
        var negative = scores.Where((_, i) => real[i] > 0 && replaced[i] == 0).ToArray();
        if (positive.Length == 0 || negative.Length == 0) return 0.5;
        return positive.Sum(p => negative.Sum(n => p > n ? 1.0 : p == n ? 0.5 : 0)) / ((double)positive.Length * negative.Length);
    }

    [TestMethod]
    public void TheTaskTrainsReplacedTokenDetectionOnlyAroundItsOwnModelAndAlone()
    {
        using var scope = NewDisposeScope();
        var model = new BertForPreTraining(TinyConfigs.Encoder);
        var other = new BertForPreTraining(TinyConfigs.Encoder);
        var electra = new ElectraForPreTraining(other, generatorLayers: 1);
        int[][] rows = [[2, 10, 11, 3]];
        TokenMasking masking = (ids, _, _) => (ids, ids.Select((id, i) => i == 1 ? id : (int)Heads.IgnoreIndex).ToArray());
        Assert.Throws<ArgumentException>(() => new MaskedLanguageModelingTask(model, rows, rows, masking, 0, 8, 2, replacedTokenDetection: electra));
        Assert.Throws<ArgumentException>(() => new MaskedLanguageModelingTask(other, rows, rows, masking, 0, 8, 2, contrastiveWeight: 1, replacedTokenDetection: electra));
        var task = new MaskedLanguageModelingTask(other, rows, rows, masking, 0, 8, 2, replacedTokenDetection: electra);
        Assert.AreSame(electra, task.Model, "the loop trains and checkpoints the generator too");
        Assert.IsGreaterThan(0f, task.Step(0, new Random(1)).Loss.item<float>());
        // Validation adds the discriminator's replaced-token AUC; a masked-LM task has none to report.
        var auc = task.Validate(1)!.Auc;
        Assert.IsNotNull(auc);
        Assert.IsTrue(double.IsNaN(auc.Value) || auc is >= 0 and <= 1, $"AUC {auc} (NaN when the one masked token was sampled right)");
        Assert.IsNull(new MaskedLanguageModelingTask(model, rows, rows, masking, 0, 8, 2).Validate(1)!.Auc);
    }
}

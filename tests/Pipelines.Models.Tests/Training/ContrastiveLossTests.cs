using Pipelines.Models.Training;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.Training;

[TestClass]
public sealed class ContrastiveLossTests
{
    [TestMethod]
    public void TheLossIsTheCrossEntropyOfScaledCosinesComputedByHand()
    {
        using var scope = NewDisposeScope();
        double[,] a = { { 1, 0, 0 }, { 0, 2, 0 }, { 1, 1, 0 } }, b = { { 1, 0.1, 0 }, { 0, 1, 1 }, { 2, 2, 1 } };
        const double temperature = 0.5;
        // By hand: cosine similarities, divided by the temperature, softmax per row, -log of the diagonal, mean.
        double Cosine(int i, int j)
        {
            double dot = 0, na = 0, nb = 0;
            for (var k = 0; k < 3; k++) { dot += a[i, k] * b[j, k]; na += a[i, k] * a[i, k]; nb += b[j, k] * b[j, k]; }
            return dot / Math.Sqrt(na * nb);
        }
        var expected = Enumerable.Range(0, 3).Select(i =>
        {
            var logits = Enumerable.Range(0, 3).Select(j => Cosine(i, j) / temperature).ToArray();
            var max = logits.Max();
            return -(logits[i] - max - Math.Log(logits.Sum(l => Math.Exp(l - max))));
        }).Average();
        var actual = ContrastiveLoss.SimCse(tensor(a).to(ScalarType.Float32), tensor(b).to(ScalarType.Float32), temperature).item<float>();
        Assert.AreEqual(expected, actual, 1e-5);
    }

    [TestMethod]
    public void TwoDropoutViewsLearnToFindEachOther()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        var config = TinyConfigs.Encoder with { Dropout = 0.1 };
        using var encoder = new BertModel(config);
        using var optimizer = Optimizers.AdamW(encoder.parameters(), 3e-3);
        var ids = randint(5, config.VocabSize, [16, 12]);
        var mask = ones_like(ids);
        encoder.train();
        var losses = new List<float>();
        for (var step = 0; step < 60; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = ContrastiveLoss.SimCse(encoder, ids, mask);
            loss.backward();
            optimizer.step();
            losses.Add(loss.item<float>());
        }
        // Random sentences start out nearly alike after mean pooling (a loss near ln 16 = 2.77 would be chance).
        Assert.IsLessThan(0.3, losses[^1], $"first {losses[0]:F3}, last {losses[^1]:F3}");
        Assert.IsGreaterThan(losses[^1] * 3, losses[0]);
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests;

/// <summary>Backpropagation through one encoder block agrees with central finite differences in float64.</summary>
[TestClass]
public sealed class AttentionGradientTests
{
    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void BlockGradientsMatchFiniteDifferences(bool preLayerNorm)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        var config = new TransformerConfig { VocabSize = 10, Layers = 1, Hidden = 8, Heads = 2, FeedForward = 16, MaxPositions = 8, Dropout = 0, PreLayerNorm = preLayerNorm, LayerNormEpsilon = 1e-5 };
        var block = new BertLayer(config);
        WeightInit.Normal(block, 0.3);                  // large weights: a non-trivial function
        block.to(ScalarType.Float64);
        block.eval();
        var x = randn([2, 4, 8], ScalarType.Float64).requires_grad_();
        var keep = BertModel.KeyMask(tensor(new long[] { 1, 1, 1, 0, 1, 1, 1, 1 }, [2, 4]));
        var projection = randn([2, 4, 8], ScalarType.Float64);
        Tensor Loss() => (block.forward(x, keep) * projection).sum();

        Loss().backward();
        var analyticX = x.grad!.clone();
        var query = block.named_parameters().Single(p => p.name == "attention.self.query.weight").parameter;
        var analyticQ = query.grad!.clone();

        const double h = 1e-6;
        double Numeric(Tensor t, long[] index)
        {
            using var _ = no_grad();
            var flat = t.view(-1);
            var i = Offset(t, index);
            var original = flat[i].item<double>();
            flat[i] = original + h; var plus = Loss().item<double>();
            flat[i] = original - h; var minus = Loss().item<double>();
            flat[i] = original;
            return (plus - minus) / (2 * h);
        }

        foreach (var index in new[] { new long[] { 0, 0, 0 }, [0, 2, 5], [1, 3, 7], [0, 3, 1] })
            Assert.AreEqual(analyticX[index[0], index[1], index[2]].item<double>(), Numeric(x, index), 1e-6, $"dL/dx{string.Join(",", index)}");
        foreach (var index in new[] { new long[] { 0, 0 }, [3, 4], [7, 7] })
            Assert.AreEqual(analyticQ[index[0], index[1]].item<double>(), Numeric(query, index), 1e-6, $"dL/dWq{string.Join(",", index)}");
    }

    private static long Offset(Tensor t, long[] index)
    {
        long offset = 0, stride = 1;
        for (var d = index.Length - 1; d >= 0; d--) { offset += index[d] * stride; stride *= t.shape[d]; }
        return offset;
    }
}

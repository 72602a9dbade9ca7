using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests.Training;

/// <summary>bf16 compute with float32 master weights, checked on CPU.</summary>
[TestClass]
public sealed class MixedPrecisionTests
{
    [TestMethod]
    public void MasterWeightsKeepUpdatesThatBf16WouldRoundAway()
    {
        using var scope = NewDisposeScope();
        // bf16 has 8 mantissa bits: 1 + 2^-10 rounds back to 1.
        var bf16 = ones(1, ScalarType.BFloat16);
        Assert.AreEqual(1f, (bf16 + 1e-3).to(ScalarType.Float32).item<float>());

        var layer = nn.Linear(1, 1, hasBias: false);
        using (no_grad()) layer.weight!.fill_(1);
        using var precision = new MixedPrecision(layer);
        var optimizer = optim.SGD(precision.MasterParameters, 1e-3);
        for (var step = 0; step < 100; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            layer.forward(ones(1, 1, dtype: ScalarType.BFloat16)).to(ScalarType.Float32).sum().neg().backward(); // dL/dw = -1
            precision.CopyGradientsToMaster();
            optimizer.step();
            precision.CopyMasterToModel();
        }
        Assert.AreEqual(1.1f, precision.MasterParameters.Single().item<float>(), 1e-5f, "100 steps of +1e-3 accumulate in float32");
        Assert.AreEqual(1.1f, layer.weight!.to(ScalarType.Float32).item<float>(), 0.01f, "the bf16 copy follows, rounded");
        Assert.AreEqual(ScalarType.BFloat16, layer.weight!.dtype);
    }

    [TestMethod]
    public void Bf16TrainingTracksFloat32Training()
    {
        float[] Train(bool mixed)
        {
            using var scope = NewDisposeScope();
            random.manual_seed(11);
            var model = new GptLanguageModel(TinyConfigs.Decoder);
            var ids = randint(0, TinyConfigs.Decoder.VocabSize, [4, 16]);
            MixedPrecision? precision = mixed ? new MixedPrecision(model) : null;
            var optimizer = Optimizers.AdamW(precision?.MasterParameters ?? model.parameters(), 3e-3);
            var losses = new List<float>();
            for (var step = 0; step < 40; step++)
            {
                using var stepScope = NewDisposeScope();
                optimizer.zero_grad();
                var logits = model.forward(ids[.., ..^1]).to(ScalarType.Float32);
                var loss = GptLanguageModel.Loss(logits, ids[.., 1..]);
                loss.backward();
                precision?.CopyGradientsToMaster();
                optimizer.step();
                precision?.CopyMasterToModel();
                losses.Add(loss.item<float>());
            }
            precision?.Dispose();
            return losses.ToArray();
        }

        var full = Train(mixed: false);
        var mixed = Train(mixed: true);
        Assert.IsLessThan(full[0] / 3, full[^1], "float32 learns");
        Assert.AreEqual(full[0], mixed[0], 0.02 * full[0], "same start");
        Assert.AreEqual(full[^1], mixed[^1], 0.15 * full[0], $"float32 ends at {full[^1]}, bf16 at {mixed[^1]}");
        Assert.IsLessThan(mixed[0] / 3, mixed[^1], "bf16 learns");
    }
}

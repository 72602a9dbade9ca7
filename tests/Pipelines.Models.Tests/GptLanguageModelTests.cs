using static TorchSharp.torch;

namespace Pipelines.Models.Tests;

[TestClass]
public sealed class GptLanguageModelTests
{
    private static readonly TransformerConfig Tiny = new()
    {
        VocabSize = 97, Layers = 2, Hidden = 32, Heads = 4, FeedForward = 64, MaxPositions = 16,
        Dropout = 0, PreLayerNorm = true, LayerNormEpsilon = 1e-5,
    };

    [TestMethod]
    public void LossAtInitialisationIsNearLnVocab()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(0);
        var model = new GptLanguageModel(Tiny);
        var ids = randint(0, Tiny.VocabSize, [8, 16]);
        var loss = GptLanguageModel.Loss(model.forward(ids), randint(0, Tiny.VocabSize, [8, 16])).item<float>();
        Assert.AreEqual(Math.Log(Tiny.VocabSize), loss, 0.1 * Math.Log(Tiny.VocabSize));
    }

    [TestMethod]
    public void TheLanguageModelHeadIsTiedToTheTokenEmbeddings()
    {
        using var scope = NewDisposeScope();
        var model = new GptLanguageModel(Tiny);
        var state = model.state_dict();
        using (no_grad()) state["transformer.wte.weight"][3, 5] = 42f;
        Assert.AreEqual(42f, state["lm_head.weight"][3, 5].item<float>());
    }

    [TestMethod]
    public void ChangingALaterTokenLeavesEarlierLogitsUnchanged()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(1);
        var model = new GptLanguageModel(Tiny);
        model.eval();
        var ids = randint(0, Tiny.VocabSize, [1, 10]);
        var changed = ids.clone();
        changed[0, 6] = (ids[0, 6] + 1) % Tiny.VocabSize;
        var a = model.forward(ids);
        var b = model.forward(changed);
        Assert.AreEqual(0.0, (a[.., ..6] - b[.., ..6]).abs().max().item<float>(), "positions before the change");
        Assert.IsGreaterThan(1e-4, (a[.., 6..] - b[.., 6..]).abs().max().item<float>(), "positions from the change on");
    }

    [TestMethod]
    public void OverfitsOneBatch()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        var model = new GptLanguageModel(Tiny);
        var ids = randint(0, Tiny.VocabSize, [4, 16]);
        var inputs = ids[.., ..^1];
        var targets = ids[.., 1..];
        var optimizer = optim.AdamW(model.parameters(), 3e-3);
        var loss = 0f;
        for (var step = 0; step < 300 && (step == 0 || loss > 0.05f); step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var l = GptLanguageModel.Loss(model.forward(inputs), targets);
            l.backward();
            optimizer.step();
            loss = l.item<float>();
        }
        Assert.IsLessThan(0.05f, loss);
    }
}

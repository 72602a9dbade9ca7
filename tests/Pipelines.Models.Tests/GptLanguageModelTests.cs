using static TorchSharp.torch;

namespace Pipelines.Models.Tests;

[TestClass]
public sealed class GptLanguageModelTests
{
    private static readonly TransformerConfig Tiny = TinyConfigs.Decoder;

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
        var ids = tensor(new long[] { 3 }).view(1, 1);
        var before = model.forward(ids)[0, 0, 5].item<float>();
        // Logits are h . E[v]: changing token 5's embedding row changes only its logit.
        using (no_grad()) model.state_dict()["transformer.wte.weight"][5].add_(1f);
        Assert.IsFalse(model.state_dict().ContainsKey("lm_head.weight"), "tied: no separate output matrix");
        Assert.AreNotEqual(before, model.forward(ids)[0, 0, 5].item<float>());
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

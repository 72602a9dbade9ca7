using Pipelines.Models.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests;

[TestClass]
public sealed class GenerationTests
{
    private static GptLanguageModel Model()
    {
        random.manual_seed(21);
        var model = new GptLanguageModel(TinyConfigs.Decoder);
        using (no_grad()) foreach (var p in model.parameters()) p.mul_(20); // peaky, varied distributions
        return model;
    }

    [TestMethod]
    public void GreedyFollowsTheArgmaxChain()
    {
        using var scope = NewDisposeScope();
        var model = Model();
        var generated = TextGeneration.Generate(model, [1, 2, 3], new GenerationOptions { Temperature = 0, MaxNewTokens = 5 });
        var context = new List<long> { 1, 2, 3 };
        foreach (var id in generated)
        {
            var expected = model.forward(tensor(context.ToArray()).unsqueeze(0))[0, -1].argmax().item<long>();
            Assert.AreEqual(expected, id);
            context.Add(id);
        }
        Assert.HasCount(5, generated);
    }

    [TestMethod]
    public void TopKOfOneAndATinyTopPAreGreedy()
    {
        using var scope = NewDisposeScope();
        var model = Model();
        var greedy = TextGeneration.Generate(model, [4, 5], new GenerationOptions { Temperature = 0, MaxNewTokens = 8 });
        CollectionAssert.AreEqual(greedy.ToArray(), TextGeneration.Generate(model, [4, 5], new GenerationOptions { TopK = 1, MaxNewTokens = 8, Seed = 3 }).ToArray());
        CollectionAssert.AreEqual(greedy.ToArray(), TextGeneration.Generate(model, [4, 5], new GenerationOptions { TopP = 1e-6, MaxNewTokens = 8, Seed = 4 }).ToArray());
    }

    [TestMethod]
    public void SamplingIsDeterministicForASeed()
    {
        using var scope = NewDisposeScope();
        var model = Model();
        var options = new GenerationOptions { Temperature = 2, MaxNewTokens = 12, Seed = 7 };
        var a = TextGeneration.Generate(model, [1], options);
        CollectionAssert.AreEqual(a.ToArray(), TextGeneration.Generate(model, [1], options).ToArray());
        CollectionAssert.AreNotEqual(a.ToArray(), TextGeneration.Generate(model, [1], options with { Seed = 8 }).ToArray());
    }

    [TestMethod]
    public void TopKNeverPicksOutsideTheKMostLikely()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new float[] { 0, 5, 1, 4, 2, 3 });
        using var generator = new Generator(1, CPU);
        var options = new GenerationOptions { TopK = 2, Temperature = 5 };
        var picks = Enumerable.Range(0, 200).Select(_ => TextGeneration.NextToken(logits, options, generator)).ToHashSet();
        CollectionAssert.AreEquivalent(new long[] { 1, 3 }, picks.ToArray());
    }

    [TestMethod]
    public void TopPKeepsTheSmallestSetReachingP()
    {
        using var scope = NewDisposeScope();
        // probabilities 0.5, 0.3, 0.15, 0.05: p = 0.7 keeps the first two.
        var logits = tensor(new[] { 0.5, 0.3, 0.15, 0.05 }.Select(p => (float)Math.Log(p)).ToArray());
        using var generator = new Generator(2, CPU);
        var options = new GenerationOptions { TopP = 0.7 };
        var picks = Enumerable.Range(0, 300).Select(_ => TextGeneration.NextToken(logits, options, generator)).ToHashSet();
        CollectionAssert.AreEquivalent(new long[] { 0, 1 }, picks.ToArray());
    }

    [TestMethod]
    public void BadOptionsAreRejected()
    {
        Assert.ThrowsExactly<ArgumentException>(() => new GenerationOptions { TopP = 0 }.Validate());
        Assert.ThrowsExactly<ArgumentException>(() => new GenerationOptions { Temperature = -1 }.Validate());
        Assert.ThrowsExactly<ArgumentException>(() => new GenerationOptions { TopK = -2 }.Validate());
    }
}

using Pipelines.Models.Lora;
using static TorchSharp.torch;

namespace Pipelines.Models.Tests;

[TestClass]
public sealed class LoraTests
{
    private static readonly TransformerConfig Tiny = TinyConfigs.Encoder;

    private static (BertForSequenceClassification Model, Tensor Ids, Tensor Mask) Classifier(int seed)
    {
        random.manual_seed(seed);
        var model = new BertForSequenceClassification(Tiny, 3);
        model.eval();
        return (model, randint(0, Tiny.VocabSize, [4, 9]), ones([4, 9], ScalarType.Int64));
    }

    [TestMethod]
    public void AnAdapterWithZeroBLeavesTheOutputExactlyUnchanged()
    {
        using var scope = NewDisposeScope();
        var (model, ids, mask) = Classifier(5);
        var before = model.Forward(ids, mask);
        var adapted = Adapters.Attach(model, new LoraOptions { Rank = 4 }, "classifier");
        Assert.HasCount(2 * Tiny.Layers, adapted);                  // query and value of each block
        Assert.AreEqual(0.0, (model.Forward(ids, mask) - before).abs().max().item<float>());
    }

    [TestMethod]
    public void OnlyAdaptersAndTheHeadReceiveGradients()
    {
        using var scope = NewDisposeScope();
        var (model, ids, mask) = Classifier(6);
        Adapters.Attach(model, new LoraOptions { Rank = 4, Dropout = 0 }, "classifier");
        model.train();
        nn.functional.cross_entropy(model.Forward(ids, mask), tensor(new long[] { 0, 1, 2, 1 })).backward();

        foreach (var (name, parameter) in model.named_parameters())
        {
            var trainable = name.Contains("lora_") || name.StartsWith("classifier");
            Assert.AreEqual(trainable, parameter.requires_grad, name);
            if (!trainable) Assert.IsNull(parameter.grad, name);
        }
        // B starts at zero, so the first gradient reaches B (A's gradient is B^T-weighted, hence zero).
        var loraB = model.named_parameters().First(p => p.name.EndsWith("lora_B")).parameter;
        Assert.IsGreaterThan(0f, loraB.grad!.abs().sum().item<float>());
        var expected = 2 * Tiny.Layers * (4 * Tiny.Hidden + Tiny.Hidden * 4) + (Tiny.Hidden * 3 + 3);
        Assert.AreEqual(expected, Freezing.TrainableParameters(model));
    }

    [TestMethod]
    public void MergedAndUnmergedOutputsAgree()
    {
        using var scope = NewDisposeScope();
        var (model, ids, mask) = Classifier(7);
        Adapters.Attach(model, new LoraOptions { Rank = 4, Dropout = 0 }, "classifier");
        using (no_grad())
            foreach (var (name, parameter) in model.named_parameters())
                if (name.EndsWith("lora_B")) parameter.normal_(0, 0.5);  // a trained-looking adapter
        var adapted = model.Forward(ids, mask);
        var queryWeight = model.named_parameters().First(p => p.name.EndsWith("query.weight")).parameter.clone();

        Adapters.Merge(model);
        var merged = model.Forward(ids, mask);
        Assert.IsLessThan(1e-5f, (merged - adapted).abs().max().item<float>());
        Assert.IsGreaterThan(1e-3f, (model.named_parameters().First(p => p.name.EndsWith("query.weight")).parameter - queryWeight).abs().max().item<float>(), "merge changed the weight");

        Adapters.Unmerge(model);
        Assert.IsLessThan(1e-5f, (model.Forward(ids, mask) - adapted).abs().max().item<float>());
        Assert.IsLessThan(1e-6f, (model.named_parameters().First(p => p.name.EndsWith("query.weight")).parameter - queryWeight).abs().max().item<float>(), "unmerge restored the weight");
    }

    [TestMethod]
    public void UnknownTargetsAreAnError()
    {
        using var scope = NewDisposeScope();
        var (model, _, _) = Classifier(8);
        Assert.ThrowsExactly<ArgumentException>(() => Adapters.Attach(model, new LoraOptions { Targets = ["nonexistent"] }));
    }

    [TestMethod]
    public void TheDecoderAdaptsItsFusedAttentionProjection()
    {
        using var scope = NewDisposeScope();
        var model = new GptLanguageModel(TinyConfigs.Decoder);
        var adapted = Adapters.Attach(model, new LoraOptions { Rank = 2 });
        CollectionAssert.AreEqual(new[] { "transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn" }, adapted.ToArray());
    }
}

using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>;
using Pipelines.Models.Lora;
using Pipelines.Models.Onnx;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Pipelines.Models.Tests.Onnx;

/// <summary>
/// Exported graphs run under ONNX Runtime (the independent implementation) and must give the
/// TorchSharp model's outputs within 1e-4 for every model kind and architecture variant, on a
/// right-padded batch whose longest row has the exported maximum length.
/// </summary>
[TestClass]
public sealed class OnnxExportTests
{
    private const long Pad = 0;
    private const float Tolerance = 1e-4f;

    // Rows of 3, 9 and 12 tokens (ids 1.., pad 0 never inside a row); 12 is the exported maximum.
    private static long[][] Rows(int vocab) =>
        [[2, 5, 7], [1, 4, 4, 9, 13, 17, 3, 2, 8], Enumerable.Range(0, 12).Select(i => (long)(1 + (i * 7) % (vocab - 1))).ToArray()];

    public static IEnumerable<object[]> EncoderVariants =>
    [
        ["post-LN BERT", TinyConfigs.Encoder],
        ["pre-LN, tanh GELU, no biases", TinyConfigs.Encoder with { PreLayerNorm = true, Activation = Activation.GeluTanh, Bias = false }],
        ["RoBERTa positions", TinyConfigs.Encoder with { PositionOffset = 2, MaxPositions = 26, TypeVocabSize = 1 }],
    ];

    [TestMethod]
    [DynamicData(nameof(EncoderVariants))]
    public void SequenceClassifierMatches(string variant, TransformerConfig config)
    {
        foreach (var pooling in new[] { Pooling.FirstToken, Pooling.Mean })
        {
            using var scope = NewDisposeScope();
            random.manual_seed(1);
            var model = new BertForSequenceClassification(config, 3, pooling);
            model.eval();
            var (ids, mask) = Batch(Rows(config.VocabSize));
            using var _ = no_grad();
            var expected = nn.functional.softmax(model.Forward(ids, mask), -1);
            var outputs = Run(Export(s => OnnxExport.Save(model, new OnnxInputs(Pad, 12), s)), ids);
            AssertClose(expected, outputs["probabilities"], $"{variant} {pooling} probabilities");
            AssertClose(model.Forward(ids, mask), outputs["logits"], $"{variant} {pooling} logits");
        }
    }

    [TestMethod]
    public void SentencePairClassifierMatches()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        var model = new BertForSequenceClassification(TinyConfigs.Encoder, 2);
        model.eval();
        var (ids, mask) = Batch(Rows(TinyConfigs.Encoder.VocabSize));
        var segments = (arange(ids.shape[1]).unsqueeze(0).expand(ids.shape[0], -1) >= 4).to(ScalarType.Int64) * mask;
        using var _ = no_grad();
        var outputs = Run(Export(s => OnnxExport.Save(model, new OnnxInputs(Pad, 12, Segments: true), s)), ids, segments);
        AssertClose(nn.functional.softmax(model.Forward(ids, mask, segments), -1), outputs["probabilities"], "pairs");
    }

    [TestMethod]
    [DynamicData(nameof(EncoderVariants))]
    public void TokenClassifierMatches(string variant, TransformerConfig config)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var model = new BertForTokenClassification(config, 5);
        model.eval();
        var (ids, mask) = Batch(Rows(config.VocabSize));
        using var _ = no_grad();
        AssertClose(model.Forward(ids, mask), Run(Export(s => OnnxExport.Save(model, new OnnxInputs(Pad, 12), s)), ids)["logits"], variant);
    }

    [TestMethod]
    [DynamicData(nameof(EncoderVariants))]
    public void MaskedLanguageModelMatches(string variant, TransformerConfig config)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        var model = new BertForPreTraining(config, sentencePair: true);
        model.eval();
        var (ids, mask) = Batch(Rows(config.VocabSize));
        using var _ = no_grad();
        var outputs = Run(Export(s => OnnxExport.Save(model, new OnnxInputs(Pad, 12), s)), ids);
        AssertClose(model.Forward(ids, mask).TokenLogits, outputs["logits"], $"{variant} logits");
        AssertClose(SequencePooling.MaskedMean(model.Bert.Forward(ids, mask), mask), outputs["embedding"], $"{variant} embedding");
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void CausalLanguageModelMatches(bool tied)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var config = TinyConfigs.Decoder with { TieEmbeddings = tied };
        var model = new GptLanguageModel(config);
        model.eval();
        var (ids, mask) = Batch(Rows(config.VocabSize));
        using var _ = no_grad();
        var outputs = Run(Export(s => OnnxExport.Save(model, new OnnxInputs(Pad, 12), s)), ids);
        // Right padding: a causal model's real positions never see the padding after them.
        AssertClose(model.forward(ids), outputs["logits"], "logits");
        AssertClose(SequencePooling.MaskedMean(model.Body.forward(ids), mask), outputs["embedding"], "embedding");
    }

    [TestMethod]
    public void AnInputLongerThanTheExportedLengthIsRefusedNotCut()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(6);
        var model = new BertForSequenceClassification(TinyConfigs.Encoder, 2);
        model.eval();
        var onnx = Export(s => OnnxExport.Save(model, new OnnxInputs(Pad, 12), s));
        var (ids, _) = Batch([Enumerable.Range(1, 13).Select(i => (long)i).ToArray()]);
        var error = Assert.Throws<OnnxRuntimeException>(() => Run(onnx, ids));
        StringAssert.Contains(error.Message, "input_ids_longer_than_max_length_12", error.Message);
        var roberta = new BertForSequenceClassification(TinyConfigs.Encoder with { PositionOffset = 2, MaxPositions = 26 }, 2);
        roberta.eval();
        error = Assert.Throws<OnnxRuntimeException>(() => Run(Export(s => OnnxExport.Save(roberta, new OnnxInputs(Pad, 12), s)), ids));
        StringAssert.Contains(error.Message, "input_ids_longer_than_max_length_12", error.Message);
    }

    [TestMethod]
    public void UnmergedLoraAdaptersAreRefusedByName()
    {
        using var scope = NewDisposeScope();
        var model = new BertForSequenceClassification(TinyConfigs.Encoder, 2);
        Adapters.Attach(model, new LoraOptions { Rank = 2 });
        var error = Assert.Throws<InvalidOperationException>(() => Export(s => OnnxExport.Save(model, new OnnxInputs(Pad, 12), s)));
        StringAssert.Contains(error.Message, "LoRA");
        Adapters.Merge(model);
        Assert.IsNotEmpty(Export(s => OnnxExport.Save(model, new OnnxInputs(Pad, 12), s)));
    }

    [TestMethod]
    public void SegmentIdsAreRefusedForAModelWithoutSegmentEmbeddings()
    {
        using var scope = NewDisposeScope();
        var model = new BertForSequenceClassification(TinyConfigs.Encoder with { TypeVocabSize = 0 }, 2);
        Assert.Throws<InvalidOperationException>(() => Export(s => OnnxExport.Save(model, new OnnxInputs(Pad, 12, Segments: true), s)));
    }

    private static byte[] Export(Action<Stream> save)
    {
        using var stream = new MemoryStream();
        save(stream);
        return stream.ToArray();
    }

    private static (Tensor Ids, Tensor Mask) Batch(long[][] rows)
    {
        var longest = rows.Max(r => r.Length);
        var ids = full(rows.Length, longest, Pad, ScalarType.Int64);
        for (var b = 0; b < rows.Length; b++) ids[b, ..rows[b].Length] = tensor(rows[b]);
        return (ids, ids.ne(Pad).to(ScalarType.Int64));
    }

    private static Dictionary<string, (float[] Values, int[] Shape)> Run(byte[] onnx, Tensor ids, Tensor? segments = null)
    {
        using var session = new InferenceSession(onnx);
        static NamedOnnxValue Input(string name, Tensor t) =>
            NamedOnnxValue.CreateFromTensor(name, new DenseTensor(t.cpu().contiguous().data<long>().ToArray(), t.shape.Select(d => (int)d).ToArray()));
        var inputs = new List<NamedOnnxValue> { Input("input_ids", ids) };
        if (segments is not null) inputs.Add(Input("token_type_ids", segments));
        using var results = session.Run(inputs);
        return results.ToDictionary(r => r.Name, r => (r.AsTensor<float>().ToArray(), r.AsTensor<float>().Dimensions.ToArray()));
    }

    private static void AssertClose(Tensor expected, (float[] Values, int[] Shape) actual, string what)
    {
        CollectionAssert.AreEqual(expected.shape.Select(d => (int)d).ToArray(), actual.Shape, $"{what}: shape");
        var values = expected.to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        var worst = values.Zip(actual.Values, (a, b) => Math.Abs(a - b)).Max();
        Assert.IsLessThan(Tolerance, worst, $"{what}: largest difference {worst}");
    }
}

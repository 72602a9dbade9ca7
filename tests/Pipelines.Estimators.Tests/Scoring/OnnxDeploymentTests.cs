using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Pipelines.Estimators.Tests.Reliability;

namespace Pipelines.Estimators.Tests.Scoring;

/// <summary>
/// ExportToOnnx writes a model transformer's network; ONNX Runtime (directly, and inside ML.NET's
/// ApplyOnnxModel with our tokenizer in front) must give what the TorchSharp transformer gives.
/// </summary>
[TestClass]
public sealed class OnnxDeploymentTests
{
    private const float Tolerance = 1e-4f;

    [TestMethod]
    [DataRow("classifier", "Probability", "probabilities")]
    [DataRow("masked-lm", "Embedding", "embedding")]
    [DataRow("causal-lm", "Embedding", "embedding")]
    public void ExportedNetworksGiveTheTransformersOutputsOnPaddedBatches(string kind, string column, string output)
    {
        var ml = new MLContext();
        var model = TinyModels.Load(ml, kind switch
        {
            "classifier" => TinyModels.ClassifierZip,
            "masked-lm" => TinyModels.MaskedLmZip,
            _ => TinyModels.CausalLmZip,
        });
        var scored = model.Transform(ml.Data.LoadFromEnumerable(TinyModels.Mails.Concat(BatchedScoringTests.Shortened(TinyModels.Mails))));
        var tokens = scored.GetColumn<VBuffer<int>>("Tokens").Select(v => v.DenseValues().ToArray()).ToArray();
        Assert.IsGreaterThan(1, tokens.Select(t => t.Length).Distinct().Count(), "rows of several lengths, so batches pad");

        using var session = new InferenceSession(Export(ml, model));
        var metadata = session.ModelMetadata.CustomMetadataMap;
        var padId = long.Parse(metadata["pipelines.pad_id"]);
        var onnx = new List<float[]>();
        foreach (var batch in tokens.Chunk(16)) onnx.AddRange(OnnxRows(session, batch, padId, output));

        var expected = column == "Probability"
            ? scored.GetColumn<float>(column).Select(p => new[] { 1 - p, p }).ToArray()
            : scored.GetColumn<float[]>(column).ToArray();
        for (var row = 0; row < expected.Length; row++)
            for (var j = 0; j < expected[row].Length; j++)
                Assert.AreEqual(expected[row][j], onnx[row][j], Tolerance, $"{kind} row {row} slot {j}");
    }

    [TestMethod]
    public void ApplyOnnxModelBehindOurTokenizerPredictsTheTorchSharpLabelsOnRealMail()
    {
        var ml = new MLContext(seed: 1);
        var train = TestData.SpamMails("train", 240);
        // Whole mails (cut at the maximum length) and some subjects alone, so that batches pad.
        var mails = TestData.SpamMails("test", 160);
        var test = mails.Concat(mails.Take(40).Select(m => new SyntheticMail.Mail { Text = m.Text.Split('\n')[0], Label = m.Label })).ToList();
        var tokenizer = WordPieceTrainer.TrainTokenizer(train.Select(m => m.Text), new WordPieceTrainerOptions { VocabularySize = 800 });
        IEstimator<ITransformer> Tokenize() => ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 48);
        var model = Tokenize().Append(ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
        {
            Tokenizer = tokenizer, Layers = 1, Hidden = 32, Heads = 2, MaxLength = 48, MaxEpoch = 5, BatchSize = 16,
            LearningRate = 3e-3, Device = "cpu", Seed = 1,
        })).Fit(ml.Data.LoadFromEnumerable(train));
        var testData = ml.Data.LoadFromEnumerable(test);
        var torch = model.Transform(testData);
        var lengths = torch.GetColumn<VBuffer<int>>("Tokens").Select(v => v.Length).ToArray();
        Assert.IsTrue(lengths.Contains(48) && lengths.Any(l => l < 48), "the longest rows and shorter ones");

        var onnxFile = Path.Combine(Path.GetTempPath(), $"classifier-{Guid.NewGuid():N}.onnx");
        try
        {
            ml.Model.ExportToOnnx(model, onnxFile);
            // The deployment pipeline: our tokenizer, ids as Int64 named input_ids, ONNX Runtime.
            var deployed = Tokenize()
                .Append(ml.Transforms.Conversion.ConvertType("input_ids", "Tokens", DataKind.Int64))
                .Append(ml.Transforms.ApplyOnnxModel("probabilities", "input_ids", onnxFile))
                .Fit(testData)
                .Transform(testData);
            var expected = torch.GetColumn<float>("Probability").ToArray();
            var labels = torch.GetColumn<bool>("PredictedLabel").ToArray();
            var actual = deployed.GetColumn<float[]>("probabilities").ToArray();
            Assert.IsTrue(labels.Distinct().Count() == 2, "both labels predicted, or label equality proves little");
            for (var row = 0; row < expected.Length; row++)
            {
                Assert.AreEqual(expected[row], actual[row][1], Tolerance, $"row {row}");
                Assert.AreEqual(labels[row], actual[row][1] > 0.5f, $"row {row} label");
            }
        }
        finally
        {
            File.Delete(onnxFile);
        }
    }

    [TestMethod]
    public void ExportWritesWhatTheDeploymentNeedsToKnowAsMetadata()
    {
        var ml = new MLContext();
        using var session = new InferenceSession(Export(ml, TinyModels.Load(ml, TinyModels.ClassifierZip)));
        var metadata = session.ModelMetadata.CustomMetadataMap;
        Assert.AreEqual("text-classifier", metadata["pipelines.kind"]);
        Assert.AreEqual("24", metadata["pipelines.max_length"]);
        Assert.AreEqual($"{TinyModels.Tokenizer.PadId}", metadata["pipelines.pad_id"]);
        Assert.AreEqual("true", metadata["pipelines.binary"]);
        CollectionAssert.AreEqual(new[] { "input_ids" }, session.InputMetadata.Keys.ToArray());
        CollectionAssert.AreEqual(new[] { "logits", "probabilities" }, session.OutputMetadata.Keys.ToArray());
        CollectionAssert.AreEqual(new[] { -1, -1 }, session.InputMetadata["input_ids"].Dimensions, "batch and sequence are dynamic");
    }

    [TestMethod]
    public void AChainWithoutAModelTransformerIsRefusedByName()
    {
        var ml = new MLContext();
        var tokenizeOnly = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", TinyModels.Tokenizer, maxLength: 24).Fit(TinyModels.Data(ml));
        var error = Assert.Throws<ArgumentException>(() => ml.Model.ExportToOnnx(tokenizeOnly, new MemoryStream()));
        StringAssert.Contains(error.Message, "none of this library's model transformers");
    }

    internal static byte[] Export(MLContext ml, ITransformer model)
    {
        using var stream = new MemoryStream();
        ml.Model.ExportToOnnx(model, stream);
        return stream.ToArray();
    }

    // One output row per input row, from one right-padded batch.
    internal static IEnumerable<float[]> OnnxRows(InferenceSession session, int[][] rows, long padId, string output)
    {
        var longest = rows.Max(r => r.Length);
        var ids = new long[rows.Length * longest];
        for (var b = 0; b < rows.Length; b++)
            for (var t = 0; t < longest; t++) ids[b * longest + t] = t < rows[b].Length ? rows[b][t] : padId;
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input_ids",
            new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(ids, [rows.Length, longest]))]);
        var values = results.Single(r => r.Name == output).AsTensor<float>().ToArray();
        var width = values.Length / rows.Length;
        return Enumerable.Range(0, rows.Length).Select(b => values.AsSpan(b * width, width).ToArray()).ToArray();
    }
}

using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Pipelines.Estimators.Tests.Scoring;

namespace Pipelines.Estimators.Tests.FineTuning;

/// <summary>
/// The transformer text regressor: it learns a real-valued target from one text or a sentence pair,
/// scores on the label's own scale, evaluates with ML.NET's regression evaluator, skips NaN labels,
/// and survives a model zip unchanged.
/// </summary>
[TestClass]
public sealed class TextRegressorTests
{
    public sealed class Row
    {
        public string Text { get; set; } = "";
        public string Second { get; set; } = "";
        public float Label { get; set; }
    }

    private static readonly string[] Others = ["down", "left", "right", "north", "south", "east", "west"];

    // Texts of 3 to 9 words; the label is offset + 5 x the share of "up" among them.
    private static List<Row> Rows(int count, int seed, float offset = 0)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var words = Enumerable.Range(0, random.Next(3, 10)).Select(_ => random.NextDouble() < 0.4 ? "up" : Others[random.Next(Others.Length)]).ToArray();
            var second = Enumerable.Range(0, random.Next(1, 4)).Select(_ => Others[random.Next(Others.Length)]);
            return new Row { Text = string.Join(' ', words), Second = string.Join(' ', second), Label = offset + 5f * words.Count(w => w == "up") / words.Length };
        }).ToList();
    }

    private static readonly TextTokenizer Tokenizer =
        WordPieceTrainer.TrainTokenizer(Rows(50, 99).SelectMany(r => new[] { r.Text, r.Second }), new WordPieceTrainerOptions { VocabularySize = 40, MinFrequency = 1 });

    private static TextRegressorOptions Options(bool pairs = false, Action<TextRegressorOptions>? adjust = null)
    {
        var options = new TextRegressorOptions
        {
            Tokenizer = Tokenizer, Layers = 1, Hidden = 32, Heads = 2, MaxLength = 16, MaxEpoch = 6, BatchSize = 16, LearningRate = 2e-3,
            Device = "cpu", Seed = 1, Dropout = 0, SegmentColumnName = pairs ? "Tokens.SegmentIds" : null,
        };
        adjust?.Invoke(options);
        return options;
    }

    private static ITransformer Fit(MLContext ml, IDataView data, TextRegressorOptions options) =>
        ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 16, pairColumnName: options.SegmentColumnName is null ? null : "Second")
            .Append(ml.Regression.Trainers.TransformerRegressor(options))
            .Fit(data);

    [TestMethod]
    public void LearnsTheTargetAndEvaluatesWithMlNetsRegressionEvaluator()
    {
        var ml = new MLContext(seed: 1);
        var model = Fit(ml, ml.Data.LoadFromEnumerable(Rows(320, 1)), Options());
        var metrics = ml.Regression.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(Rows(200, 2))));
        // Always predicting the mean gives R squared 0; the share of "up" is read off the mean-pooled tokens.
        Assert.IsGreaterThan(0.8, metrics.RSquared, $"R squared {metrics.RSquared:F3}, RMSE {metrics.RootMeanSquaredError:F3}");
    }

    [TestMethod]
    public void ScoresAreOnTheLabelsScaleWhateverItsOffset()
    {
        // Labels near 1000: without rescaling the standardised head's output, scores would sit near 0.
        var ml = new MLContext(seed: 1);
        var train = Rows(160, 1, offset: 1000);
        var scores = Fit(ml, ml.Data.LoadFromEnumerable(train), Options()).Transform(ml.Data.LoadFromEnumerable(Rows(100, 2, offset: 1000)))
            .GetColumn<float>("Score").ToArray();
        Assert.IsLessThan(1.0, Math.Abs(scores.Average() - train.Average(r => r.Label)), $"mean score {scores.Average():F2}");
    }

    [TestMethod]
    public void RowsWithoutALabelAreNotTrainedOn()
    {
        var ml = new MLContext(seed: 1);
        var labelled = Rows(64, 1);
        var withNaN = labelled.Concat(Rows(30, 5).Select(r => { r.Label = float.NaN; return r; })).ToList();
        var test = ml.Data.LoadFromEnumerable(Rows(20, 2));
        var plain = Fit(ml, ml.Data.LoadFromEnumerable(labelled), Options()).Transform(test).GetColumn<float>("Score").ToArray();
        var mixed = Fit(ml, ml.Data.LoadFromEnumerable(withNaN), Options()).Transform(test).GetColumn<float>("Score").ToArray();
        CollectionAssert.AreEqual(plain, mixed, "NaN rows change nothing");
        Assert.IsTrue(plain.All(float.IsFinite));
    }

    [TestMethod]
    public void SentencePairRegressorRoundTripsThroughAZipWithIdenticalScores()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Rows(64, 1));
        var model = Fit(ml, data, Options(pairs: true, o => o.MaxEpoch = 2));
        var test = ml.Data.LoadFromEnumerable(Rows(40, 3));
        var before = model.Transform(test).GetColumn<float>("Score").ToArray();
        using var stream = new MemoryStream();
        ml.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        var after = ml.Model.Load(stream, out _).Transform(test).GetColumn<float>("Score").ToArray();
        CollectionAssert.AreEqual(before, after);
        Assert.IsGreaterThan(1, before.Distinct().Count(), "scores differ between rows");
    }

    [TestMethod]
    public void PoolingIsUsedAndKeptInTheZip()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Rows(64, 1));
        var test = ml.Data.LoadFromEnumerable(Rows(20, 3));
        var mean = Fit(ml, data, Options(adjust: o => o.MaxEpoch = 1)).Transform(test).GetColumn<float>("Score").ToArray();
        var firstModel = Fit(ml, data, Options(adjust: o => (o.MaxEpoch, o.Pooling) = (1, Pipelines.Pooling.FirstToken)));
        var first = firstModel.Transform(test).GetColumn<float>("Score").ToArray();
        Assert.IsGreaterThan(1e-3, mean.Zip(first, (a, b) => Math.Abs(a - b)).Max(), "first-token pooling is another model");
        using var stream = new MemoryStream();
        ml.Model.Save(firstModel, data.Schema, stream);
        stream.Position = 0;
        CollectionAssert.AreEqual(first, ml.Model.Load(stream, out _).Transform(test).GetColumn<float>("Score").ToArray());
    }

    [TestMethod]
    public void ExportedOnnxGraphGivesTheScores()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Rows(64, 1));
        var model = Fit(ml, data, Options(adjust: o => o.MaxEpoch = 2));
        var scored = model.Transform(ml.Data.LoadFromEnumerable(Rows(40, 3)));
        using var session = new InferenceSession(OnnxDeploymentTests.Export(ml, model));
        Assert.AreEqual("text-regressor", session.ModelMetadata.CustomMetadataMap["pipelines.kind"]);
        var tokens = scored.GetColumn<VBuffer<int>>("Tokens").Select(v => v.DenseValues().ToArray()).ToArray();
        var onnx = tokens.Chunk(16).SelectMany(batch => OnnxDeploymentTests.OnnxRows(session, batch, Tokenizer.PadId, "logits")).ToArray();
        var expected = scored.GetColumn<float>("Score").ToArray();
        for (var row = 0; row < expected.Length; row++) Assert.AreEqual(expected[row], onnx[row].Single(), 1e-4f, $"row {row}");
    }

    [TestMethod]
    public void WrongLabelsAndOptionsAreRefusedByName()
    {
        var ml = new MLContext(seed: 1);
        var rows = Rows(40, 1);
        var tokenized = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 16);
        var boolLabels = ml.Data.LoadFromEnumerable(rows.Select(r => new { r.Text, Label = r.Label > 2 }));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => tokenized.Append(ml.Regression.Trainers.TransformerRegressor(Options())).Fit(boolLabels));
        StringAssert.Contains(error.Message, "'Label'");
        StringAssert.Contains(error.Message, "expected Single");
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() =>
            tokenized.Append(ml.Regression.Trainers.TransformerRegressor(Options(adjust: o => o.LabelColumnName = "Similarity"))).Fit(ml.Data.LoadFromEnumerable(rows)));
        StringAssert.Contains(missing.Message, "'Similarity'");
        var constant = ml.Data.LoadFromEnumerable(rows.Select(r => { r.Label = 2; return r; }));
        StringAssert.Contains(Assert.Throws<InvalidOperationException>(() => Fit(ml, constant, Options())).Message, "same value");
        var infinite = ml.Data.LoadFromEnumerable(Rows(40, 1).Select((r, i) => { if (i == 7) r.Label = float.PositiveInfinity; return r; }));
        StringAssert.Contains(Assert.Throws<InvalidOperationException>(() => Fit(ml, infinite, Options())).Message, "use NaN");
        var data = ml.Data.LoadFromEnumerable(Rows(40, 1));
        StringAssert.Contains(Assert.Throws<ArgumentException>(() => Fit(ml, data, Options(adjust: o => o.BestBy = BestBy.Accuracy))).Message, "BestBy.Loss");
        StringAssert.Contains(Assert.Throws<ArgumentException>(() => Fit(ml, data, Options(adjust: o => o.BalanceClasses = true))).Message, "BalanceClasses");
    }

    [TestMethod]
    public void ARegressorComesBackFromHuggingFaceFilesWithTheSameScores()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Rows(120, 5));
        var model = Fit(ml, data, Options(adjust: o => (o.Pooling, o.MaxEpoch) = (Pooling.FirstToken, 2)));
        var regressor = (TextRegressionTransformer)((IEnumerable<ITransformer>)model).Last();
        var directory = Path.Combine(Path.GetTempPath(), $"hf-regressor-{Guid.NewGuid():N}");
        try
        {
            regressor.SaveAsHuggingFace(directory, Tokenizer);
            var tokens = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", EncoderSource.HuggingFaceTokenizer(directory), maxLength: 16).Fit(data);
            var reloaded = tokens.Append(TextRegressionTransformer.FromHuggingFace(directory));
            var expected = model.Transform(data).GetColumn<float>("Score").ToArray();
            CollectionAssert.AreEqual(expected, reloaded.Transform(data).GetColumn<float>("Score").ToArray());
            Assert.IsGreaterThan(20, expected.Distinct().Count(), "the scores differ between rows, so equal columns mean something");
            StringAssert.Contains(Assert.Throws<InvalidDataException>(() => TextClassificationTransformer.FromHuggingFace(directory)).Message, "regressor");
        }
        finally { if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true); }
    }
}

using Pipelines.Tests;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Models.Generation;
using Pipelines.Models.Training;

namespace Pipelines.Estimators.Tests.Pretraining;

[TestClass]
public sealed class CausalLanguageModelTests
{
    private sealed class Row
    {
        public string Text { get; set; } = "";
    }

    private static readonly string Corpus = File.ReadAllText(TestData.Shakespeare)[..40_000];
    private static readonly TextTokenizer Characters = TextTokenizer.FromCharacters(CharacterVocabulary.Build([Corpus]));

    private static IEstimator<ITransformer> Pipeline(MLContext ml, int steps, string? checkpoints = null) =>
        ml.Transforms.Text.TokenizeSubwords(Characters, new TokenizeSubwordsOptions { MaxLength = int.MaxValue, AddSpecialTokens = false })
            .Append(ml.Pretraining.CausalLanguageModel(new CausalLanguageModelOptions
            {
                Tokenizer = Characters, Layers = 2, Hidden = 32, Heads = 4, BlockSize = 32, BatchSize = 8,
                MaxSteps = steps, WarmupSteps = 5, EvaluateEvery = 20, ValidationBatches = 4, LearningRate = 3e-3,
                Device = TestDevice.Option, CheckpointDirectory = checkpoints,
            }));

    private static IDataView Data(MLContext ml, string text) => ml.Data.LoadFromEnumerable(new[] { new Row { Text = text } });

    [TestMethod]
    public void PretrainingLowersValidationLossAndTheModelZipReproducesEverything()
    {
        var ml = new MLContext(seed: 1);
        var model = Pipeline(ml, steps: 80).Fit(Data(ml, Corpus));
        var lm = ((IEnumerable<ITransformer>)model).Last() as CausalLanguageModelTransformer;
        Assert.IsNotNull(lm);
        var first = lm.Training!.Validations[0];
        var best = lm.Training.Best!;
        Assert.IsLessThan(Math.Log(Characters.VocabSize) * 0.8, best.Loss, $"validation loss {first.Loss} -> {best.Loss}");
        Assert.AreEqual(80, lm.Training.Steps);

        var probe = Data(ml, "First Citizen:\nWe are accounted poor citizens.");
        var before = model.Transform(probe);
        var embedding = before.GetColumn<float[]>("Embedding").Single();
        var perplexity = before.GetColumn<float>("Perplexity").Single();
        Assert.HasCount(32, embedding);
        Assert.IsTrue(perplexity > 1 && perplexity < Characters.VocabSize, $"perplexity {perplexity}");
        var sample = lm.Generate("ROMEO:", new GenerationOptions { MaxNewTokens = 40, Seed = 5 });
        Assert.HasCount(40, sample.EnumerateRunes().ToList());

        var path = Path.Combine(Path.GetTempPath(), $"clm-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, probe.Schema, path);
            var other = new MLContext(seed: 99);
            var loaded = other.Model.Load(path, out _);
            var after = loaded.Transform(Data(other, "First Citizen:\nWe are accounted poor citizens."));
            CollectionAssert.AreEqual(embedding, after.GetColumn<float[]>("Embedding").Single());
            Assert.AreEqual(perplexity, after.GetColumn<float>("Perplexity").Single());
            var loadedLm = (CausalLanguageModelTransformer)((IEnumerable<ITransformer>)loaded).Last();
            Assert.AreEqual(sample, loadedLm.Generate("ROMEO:", new GenerationOptions { MaxNewTokens = 40, Seed = 5 }));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void ProgressIsReportedAndLogged()
    {
        var ml = new MLContext(seed: 2);
        var logged = new List<string>();
        ml.Log += (_, e) => { lock (logged) logged.Add(e.Message); };
        var reports = new List<TrainingProgress>();
        var estimator = ml.Transforms.Text.TokenizeSubwords(Characters, new TokenizeSubwordsOptions { MaxLength = int.MaxValue, AddSpecialTokens = false })
            .Append(ml.Pretraining.CausalLanguageModel(new CausalLanguageModelOptions
            {
                Tokenizer = Characters, Layers = 1, Hidden = 16, Heads = 2, BlockSize = 16, BatchSize = 4, MaxSteps = 12,
                EvaluateEvery = 6, LogEvery = 4, Device = TestDevice.Option, Progress = new SyncProgress(reports.Add),
            }));
        estimator.Fit(Data(ml, Corpus[..5000]));
        Assert.HasCount(12, reports);
        Assert.IsTrue(reports.All(r => r.TokensPerSecond > 0 && r.TotalSteps == 12));
        Assert.AreEqual(2, reports.Count(r => r.Validation is not null));
        Assert.IsTrue(logged.Any(m => m.Contains("step 4/12")), "progress goes to MLContext.Log");
        Assert.IsTrue(logged.Any(m => m.Contains($"device {TestDevice.Option}")), "the device is logged");
    }

    [TestMethod]
    public void SchemaErrorsNameTheColumnAndTheExpectedType()
    {
        var ml = new MLContext();
        var estimator = ml.Pretraining.CausalLanguageModel("Tokens", Characters);
        var text = ml.Data.LoadFromEnumerable(new[] { new Row { Text = "abc" } });
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(SchemaShape.Create(text.Schema)));
        StringAssert.Contains(missing.Message, "Could not find input column 'Tokens'");
        var wrongType = ml.Pretraining.CausalLanguageModel("Text", Characters);
        var mismatch = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => wrongType.Fit(text));
        StringAssert.Contains(mismatch.Message, "Schema mismatch for input column 'Text': expected vector of Int32");
    }

    [TestMethod]
    public void RowsTooShortToLearnFromAreSkippedAndAnAllEmptyInputIsAnError()
    {
        var ml = new MLContext();
        var tokenize = ml.Transforms.Text.TokenizeSubwords(Characters, new TokenizeSubwordsOptions { MaxLength = 64, AddSpecialTokens = false });
        var empty = ml.Data.LoadFromEnumerable(new[] { new Row { Text = "" }, new Row { Text = "a" } });
        var e = Assert.ThrowsExactly<InvalidOperationException>(() =>
            tokenize.Append(ml.Pretraining.CausalLanguageModel("Tokens", Characters, maxSteps: 2)).Fit(empty));
        StringAssert.Contains(e.Message, "at least 2 tokens");
    }

}

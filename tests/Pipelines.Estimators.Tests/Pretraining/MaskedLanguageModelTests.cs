using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Models.Training;

namespace Pipelines.Estimators.Tests.Pretraining;

[TestClass]
public sealed class MaskedLanguageModelTests
{
    public TestContext TestContext { get; set; } = null!;

    private sealed class Row
    {
        public string Text { get; set; } = "";
    }

    // Documents whose order is visible: they open with "dear" and close with "regards", filler between.
    private static List<Row> Letters(int count, int seed)
    {
        var random = new Random(seed);
        string[] filler = "the a of to and in for on with this that is was be have it you we at from by please note".Split(' ');
        return Enumerable.Range(0, count).Select(_ =>
            new Row { Text = "dear " + string.Join(' ', Enumerable.Range(0, 10).Select(_ => filler[random.Next(filler.Length)])) + " regards" }).ToList();
    }

    [TestMethod]
    public void TheContrastiveLossSpreadsTheEmbeddingsOfDifferentRowsApart()
    {
        // Masked-LM's mean-pooled embeddings are known to crowd into a narrow cone (anisotropy);
        // SimCSE's in-batch negatives push different rows apart. Same data, seed and steps, with and without it.
        var letters = Letters(300, seed: 3);
        var tokenizer = WordPieceTrainer.TrainTokenizer(letters.Select(l => l.Text), new WordPieceTrainerOptions { VocabularySize = 100, MinFrequency = 1 });
        double MeanCosine(double weight)
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(letters);
            var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 24)
                .Append(ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
                {
                    Tokenizer = tokenizer, Layers = 1, Hidden = 32, Heads = 2, MaxLength = 24, MaxSteps = 80, BatchSize = 16,
                    LearningRate = 3e-3, WarmupSteps = 5, EvaluateEvery = 0, Dropout = 0.1, Device = TestDevice.Option, Seed = 2,
                    ContrastiveWeight = weight,
                }))
                .Fit(data);
            var embeddings = model.Transform(ml.Data.LoadFromEnumerable(Letters(40, seed: 8))).GetColumn<float[]>("Embedding").ToArray();
            var cosines = new List<double>();
            for (var i = 0; i < embeddings.Length; i++)
                for (var j = i + 1; j < embeddings.Length; j++) cosines.Add(Cosine(embeddings[i], embeddings[j]));
            return cosines.Average();
        }
        var (without, with) = (MeanCosine(0), MeanCosine(1));
        TestContext.WriteLine($"mean cosine between different rows: masked-LM {without:F3}, with SimCSE {with:F3}");
        Assert.IsLessThan(without - 0.1, with, $"mean cosine between different rows: masked-LM {without:F3}, with SimCSE {with:F3}");
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var k = 0; k < a.Length; k++) { dot += a[k] * b[k]; na += a[k] * a[k]; nb += b[k] * b[k]; }
        return dot / Math.Sqrt(na * nb);
    }

    [TestMethod]
    public void SentenceOrderPredictionTrainsBesideMaskedLmAndTheZipKeepsItsHead()
    {
        var ml = new MLContext(seed: 1);
        var letters = Letters(400, seed: 1);
        var tokenizer = WordPieceTrainer.TrainTokenizer(letters.Select(l => l.Text), new WordPieceTrainerOptions { VocabularySize = 100, MinFrequency = 1 });
        var data = ml.Data.LoadFromEnumerable(letters);
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 24)
            .Append(ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
            {
                // Pair accuracy sits at chance for 100-300 steps, then jumps: with 600 steps six seeds of six end at 0.97-1.00.
                Tokenizer = tokenizer, Layers = 1, Hidden = 32, Heads = 2, MaxLength = 24, MaxSteps = 600, BatchSize = 16,
                LearningRate = 3e-3, WarmupSteps = 10, EvaluateEvery = 100, Dropout = 0, Device = TestDevice.Option, Seed = 2,
                SentencePairs = SentencePairObjective.SentenceOrder,
            }))
            .Fit(data);
        var lm = ((IEnumerable<ITransformer>)model).OfType<MaskedLanguageModelTransformer>().Single();
        Assert.IsTrue(lm.Model.HasSentencePairHead);
        var validations = lm.Training!.Validations;
        Assert.IsTrue(validations.All(v => v.PairAccuracy is not null), "every validation reports the pairs");
        // Chance is 0.5; the order shows in where "dear" and "regards" fall.
        Assert.IsGreaterThan(0.85, validations[^1].PairAccuracy!.Value, string.Join(" | ", validations));
        Assert.IsLessThan(validations[0].Loss, validations[^1].Loss, "masked-LM still learns");

        var probe = ml.Data.LoadFromEnumerable(Letters(3, seed: 9));
        var embeddings = model.Transform(probe).GetColumn<float[]>("Embedding").ToArray();
        using var zip = new MemoryStream();
        ml.Model.Save(model, data.Schema, zip);
        zip.Position = 0;
        var loaded = new MLContext().Model.Load(zip, out _);
        Assert.IsTrue(((IEnumerable<ITransformer>)loaded).OfType<MaskedLanguageModelTransformer>().Single().Model.HasSentencePairHead);
        var again = loaded.Transform(probe).GetColumn<float[]>("Embedding").ToArray();
        for (var i = 0; i < embeddings.Length; i++) CollectionAssert.AreEqual(embeddings[i], again[i]);
    }
}

using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Estimators.Tests.Reliability;

namespace Pipelines.Estimators.Tests.Training;

/// <summary>
/// BestBy by the task's metric: the classifier's validation reports F1 and AUC, the tagger's entity F1,
/// the best step is the highest one, and a trainer refuses a metric its validation lacks.
/// </summary>
[TestClass]
public sealed class BestByMetricTests
{
    [TestMethod]
    public void TheBinaryClassifierSelectsByF1OrAucFromItsValidations()
    {
        var log = Path.Combine(Path.GetTempPath(), $"bestby-{Guid.NewGuid():N}.jsonl");
        foreach (var by in new[] { BestBy.F1, BestBy.Auc })
        {
            var ml = new MLContext(seed: 1);
            var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", TinyModels.Tokenizer, maxLength: 24)
                .Append(ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
                {
                    Tokenizer = TinyModels.Tokenizer, Layers = 1, Hidden = 16, Heads = 2, MaxLength = 24, MaxEpoch = 4, BatchSize = 16,
                    LearningRate = 2e-3, Device = "cpu", Seed = 1, ValidationFraction = 0.3, EvaluateEvery = 3, BestBy = by, RunLogPath = log,
                }))
                .Fit(TinyModels.Data(ml));
            var validations = model.LastTransformer.Training!.Validations.Where(v => v.Step > 0).ToList();
            Assert.IsGreaterThan(2, validations.Count);
            Assert.IsTrue(validations.All(v => v.F1 is >= 0 and <= 1 && v.Auc is >= 0 and <= 1), string.Join("\n", validations));
            var best = model.LastTransformer.Training.Best!;
            Assert.AreEqual(by == BestBy.F1 ? validations.Max(v => v.F1) : validations.Max(v => v.Auc), by == BestBy.F1 ? best.F1 : best.Auc, $"best by {by}");
        }
        // The run log carries them too.
        var logged = File.ReadAllLines(log).Where(l => l.Contains("validation_loss")).ToList();
        File.Delete(log);
        Assert.IsTrue(logged.Count > 0 && logged.All(l => l.Contains("\"validation_f1\"") && l.Contains("\"validation_auc\"")), string.Join("\n", logged));
    }

    [TestMethod]
    public void TheTaggersValidationF1IsTheEvaluatorsEntityF1()
    {
        var ml = new MLContext(seed: 1);
        var rows = SyntheticNer.Make(120, seed: 1);
        var tokenizer = SyntheticNer.Tokenizer(rows);
        var validationRows = SyntheticNer.Make(20, seed: 2);
        var tokenize = ml.Transforms.Text.TokenizeSubwords("Tokens", "Sentence", tokenizer, maxLength: 32);
        var validation = tokenize.Fit(ml.Data.LoadFromEnumerable(validationRows)).Transform(ml.Data.LoadFromEnumerable(validationRows));
        var model = tokenize.Append(ml.MulticlassClassification.Trainers.TransformerTokenClassifier(new TokenClassifierOptions
        {
            Tokenizer = tokenizer, Layers = 1, Hidden = 32, Heads = 2, MaxLength = 32, MaxEpoch = 8, BatchSize = 16, LearningRate = 3e-3,
            Device = "cpu", Seed = 3, ValidationSet = validation, BestBy = BestBy.F1, Dropout = 0,
        })).Fit(ml.Data.LoadFromEnumerable(rows));
        var training = model.LastTransformer.Training!;
        Assert.AreEqual(training.Validations.Max(v => v.F1), training.Best!.F1);
        // The model holds the best step's weights: the evaluator, scoring the same rows, must find the same entity F1.
        var metrics = ml.MulticlassClassification.EvaluateEntities(model.Transform(ml.Data.LoadFromEnumerable(validationRows)));
        Assert.IsGreaterThan(0, metrics.Micro.F1);
        Assert.AreEqual(metrics.Micro.F1, training.Best.F1!.Value, 1e-9);
    }

    [TestMethod]
    public void AMetricTheTrainersValidationLacksIsRefused()
    {
        var ml = new MLContext(seed: 1);
        var data = TinyModels.Data(ml);
        var tokenize = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", TinyModels.Tokenizer, maxLength: 24);
        var pretraining = Assert.Throws<ArgumentException>(() => tokenize.Append(ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
            { Tokenizer = TinyModels.Tokenizer, MaxSteps = 1, BestBy = BestBy.F1 })).Fit(data));
        StringAssert.Contains(pretraining.Message, "BestBy.F1: this trainer's validation does not measure it; choose BestBy.Loss or BestBy.Accuracy");
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label", "Group").Fit(ml.Data.LoadFromEnumerable(TinyModels.Mails.Select(m => new { m.Text, Group = m.Label ? "spam" : "ham" })));
        var multiclass = Assert.Throws<ArgumentException>(() => tokenize.Append(ml.MulticlassClassification.Trainers.TransformerClassifier(new TextClassifierOptions
            { Tokenizer = TinyModels.Tokenizer, BestBy = BestBy.Auc })).Fit(keyed.Transform(ml.Data.LoadFromEnumerable(TinyModels.Mails.Select(m => new { m.Text, Group = m.Label ? "spam" : "ham" })))));
        StringAssert.Contains(multiclass.Message, "binary classifier's measure");
    }
}

using System.Text.Json;
using Microsoft.ML;
using Pipelines.Estimators.Tests.Reliability;

namespace Pipelines.Estimators.Tests.Training;

/// <summary>RunLogPath: the library writes the run's log as JSON lines, one per logged step.</summary>
[TestClass]
public sealed class RunLogTests
{
    [TestMethod]
    public void EveryLoggedStepAndValidationIsAJsonLineAndANewRunReplacesTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"runlog-{Guid.NewGuid():N}", "run.jsonl");
        try
        {
            void Fit(int steps, bool resume = false)
            {
                var ml = new MLContext(seed: 1);
                ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", TinyModels.Tokenizer, maxLength: 24)
                    .Append(ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
                    {
                        Tokenizer = TinyModels.Tokenizer, Layers = 1, Hidden = 16, Heads = 2, MaxLength = 24, MaxSteps = steps, BatchSize = 8,
                        WarmupSteps = 0, LogEvery = 2, EvaluateEvery = 3, Device = "cpu", Seed = 1, RunLogPath = path,
                        CheckpointDirectory = Path.Combine(Path.GetDirectoryName(path)!, "checkpoints"), Resume = resume,
                    }))
                    .Fit(TinyModels.Data(ml));
            }
            Fit(6);
            var lines = File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            // Steps 2, 3 (validation), 4, 6 (validation, last): the log's cadence.
            CollectionAssert.AreEqual(new[] { 2, 3, 4, 6 }, lines.Select(l => l.GetProperty("step").GetInt32()).ToArray());
            Assert.IsTrue(lines.All(l => l.GetProperty("loss").GetDouble() > 0 && l.GetProperty("learning_rate").GetDouble() > 0));
            var validations = lines.Where(l => l.TryGetProperty("validation_loss", out _)).ToList();
            Assert.HasCount(2, validations);
            Assert.AreEqual(Math.Exp(validations[0].GetProperty("validation_loss").GetDouble()), validations[0].GetProperty("validation_perplexity").GetDouble(), 1e-6);
            Assert.IsTrue(validations[0].TryGetProperty("validation_accuracy", out _));

            // A resumed run continues the log: the 6-step run's checkpoint, resumed to 8 steps, adds step 8.
            Fit(8, resume: true);
            CollectionAssert.AreEqual(new[] { 2, 3, 4, 6, 8 }, File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32()).ToArray());

            Directory.Delete(Path.Combine(Path.GetDirectoryName(path)!, "checkpoints"), recursive: true);
            Fit(2);
            Assert.HasCount(1, File.ReadAllLines(path), "a new run starts a new log");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [TestMethod]
    public void SelfTrainingRoundsContinueOneLog()
    {
        var path = Path.Combine(Path.GetTempPath(), $"runlog-{Guid.NewGuid():N}.jsonl");
        try
        {
            var ml = new MLContext(seed: 1);
            var mails = TinyModels.Mails.Select((m, i) => new SyntheticMail.Mail { Text = m.Text, Label = m.Label, LabelOrMissing = i % 2 == 0 ? (m.Label ? 1 : 0) : float.NaN }).ToList();
            ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", TinyModels.Tokenizer, maxLength: 24)
                .Append(ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
                {
                    Tokenizer = TinyModels.Tokenizer, Layers = 1, Hidden = 16, Heads = 2, MaxLength = 24, MaxEpoch = 0, MaxSteps = 3, BatchSize = 16,
                    Device = "cpu", Seed = 1, ValidationFraction = 0, LogEvery = 1, LabelColumnName = nameof(SyntheticMail.Mail.LabelOrMissing),
                    SelfTrainingRounds = 1, PseudoLabelThreshold = 0.01, RunLogPath = path,
                }))
                .Fit(TinyModels.Data(ml, mails));
            // Round 0's steps 1-3, then the self-training round's steps 1-3: one log for one Fit.
            CollectionAssert.AreEqual(new[] { 1, 2, 3, 1, 2, 3 }, File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32()).ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }
}

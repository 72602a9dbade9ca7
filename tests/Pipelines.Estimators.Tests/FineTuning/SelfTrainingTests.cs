using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Estimators.Tests.Reliability;

namespace Pipelines.Estimators.Tests.FineTuning;

/// <summary>
/// Self-training does what it should: the unlabelled rows the first model is confident about come
/// back with its predicted class, and training on them makes the model surer of that class; with
/// no confident row, nothing changes.
/// </summary>
[TestClass]
public sealed class SelfTrainingTests
{
    private const string Probe = "meeting notes attached please review the budget before friday";

    private static (float Probability, List<string> Log) Fit(int rounds, double threshold)
    {
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Log += (_, e) => { lock (log) log.Add(e.Message); };
        var labelled = TinyModels.Mails.Take(24).Select(m => new SyntheticMail.Mail { Text = m.Text, LabelOrMissing = m.Label ? 1 : 0 });
        var unlabelled = Enumerable.Range(0, 64).Select(_ => new SyntheticMail.Mail { Text = Probe, LabelOrMissing = float.NaN });
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", TinyModels.Tokenizer, maxLength: 24)
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(new TextClassifierOptions
            {
                Tokenizer = TinyModels.Tokenizer, LabelColumnName = "LabelOrMissing", Layers = 1, Hidden = 16, Heads = 2, MaxLength = 24,
                MaxEpoch = 3, BatchSize = 8, LearningRate = 2e-3, Device = "cpu", Seed = 1, Dropout = 0, ValidationFraction = 0,
                SelfTrainingRounds = rounds, PseudoLabelThreshold = threshold,
            }))
            .Fit(ml.Data.LoadFromEnumerable(labelled.Concat(unlabelled)));
        var probe = ml.Data.LoadFromEnumerable(new[] { new SyntheticMail.Mail { Text = Probe } });
        return (model.Transform(probe).GetColumn<float>("Probability").Single(), log);
    }

    [TestMethod]
    public void PseudoLabelsMakeTheModelSurerOfWhatItPredictedAndNoConfidentRowChangesNothing()
    {
        var (before, _) = Fit(rounds: 0, threshold: 0.5);
        var (after, log) = Fit(rounds: 1, threshold: 0.5);
        Assert.IsTrue(log.Any(l => l.Contains("Self-training round 1: 64 of 64 unlabelled rows pseudo-labelled")), string.Join(" | ", log.Where(l => l.Contains("Self-training"))));
        // The 64 copies carry the first model's class for the probe: its probability moves away from 0.5, towards that class.
        var surer = before >= 0.5 ? after > before : after < before;
        Assert.IsTrue(surer, $"p(spam) of the probe: {before} before, {after} after one round");
        Assert.IsGreaterThan(Math.Abs(before - 0.5f), Math.Abs(after - 0.5f));

        var (unchanged, quiet) = Fit(rounds: 1, threshold: 1.0);
        Assert.IsTrue(quiet.Any(l => l.Contains("Self-training round 1: 0 of 64")), string.Join(" | ", quiet.Where(l => l.Contains("Self-training"))));
        Assert.AreEqual(before, unchanged, "no confident row: the model of round 0");
    }
}

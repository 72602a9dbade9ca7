using Pipelines.Tests;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Models.Training;

namespace Pipelines.Estimators.Tests.Pretraining;

/// <summary>
/// Objective = ReplacedTokenDetection (ELECTRA) in the masked-LM estimator: it trains the encoder differently, the
/// generator does not travel into the zip, an interrupted run resumes to the uninterrupted run's weights, and the
/// combinations it cannot train are refused.
/// </summary>
[TestClass]
public sealed class ReplacedTokenDetectionTests
{
    private static readonly List<SyntheticMail.Mail> Mails = SyntheticMail.Make(300, seed: 31);
    private static readonly TextTokenizer Tokenizer = SyntheticMail.Tokenizer(Mails);

    private static MaskedLanguageModelOptions Options(EncoderObjective objective, int steps = 12, string? checkpoints = null) => new()
    {
        Tokenizer = Tokenizer, Layers = 2, Hidden = 16, Heads = 2, MaxLength = 24, BatchSize = 8, MaxSteps = steps, WarmupSteps = 2,
        EvaluateEvery = 6, Device = "cpu", Seed = 4, Objective = objective,
        CheckpointDirectory = checkpoints, CheckpointEvery = checkpoints is null ? 0 : 4, Resume = checkpoints is not null,
    };

    private static MaskedLanguageModelTransformer Fit(MLContext ml, MaskedLanguageModelOptions options) =>
        (MaskedLanguageModelTransformer)((IEnumerable<ITransformer>)ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 24)
            .Append(ml.Pretraining.MaskedLanguageModel(options)).Fit(ml.Data.LoadFromEnumerable(Mails))).Last();

    [TestMethod]
    public void ItTrainsTheEncoderAsADiscriminatorAndTheZipHoldsNoGenerator()
    {
        var ml = new MLContext(seed: 1);
        var logged = new List<string>();
        ml.Log += (_, e) => { lock (logged) logged.Add(e.Message); };
        var options = Options(EncoderObjective.ReplacedTokenDetection);
        options.GeneratorLayers = 3;
        var electra = Fit(ml, options);
        var masked = Fit(new MLContext(seed: 1), Options(EncoderObjective.MaskedLanguageModel));
        Assert.IsTrue(logged.Any(m => m.Contains("Replaced-token detection (ELECTRA): a generator of 3 blocks, discriminator loss weight 50")),
            string.Join("\n", logged.Where(m => m.Contains("ELECTRA"))));

        // Same seed, data and steps: the objective alone makes the encoders differ.
        var expected = masked.Model.state_dict();
        var names = electra.Model.state_dict().Keys.ToList();
        CollectionAssert.AreEquivalent(expected.Keys.ToList(), names, "the kept model has the masked-LM model's weights, no generator");
        Assert.IsTrue(names.Where(n => n.StartsWith("bert.encoder")).Any(n => !electra.Model.state_dict()[n].allclose(expected[n])),
            "replaced-token detection trained the encoder differently");
        Assert.IsTrue(electra.Training!.Validations.All(v => v.Accuracy is not null), "validation reports the generator's masked-LM");
        Assert.IsTrue(electra.Training.Validations.All(v => v.Auc is >= 0 and <= 1), "and the discriminator's replaced-token AUC");
        Assert.IsTrue(masked.Training!.Validations.All(v => v.Auc is null), "masked-LM has no discriminator");

        var probe = ml.Data.LoadFromEnumerable(Mails.Take(4));
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 24).Fit(probe).Append(electra);
        var embeddings = model.Transform(probe).GetColumn<float[]>("Embedding").ToArray();
        using var zip = new MemoryStream();
        ml.Model.Save(model, probe.Schema, zip);
        zip.Position = 0;
        var again = new MLContext().Model.Load(zip, out _).Transform(probe).GetColumn<float[]>("Embedding").ToArray();
        for (var i = 0; i < embeddings.Length; i++) CollectionAssert.AreEqual(embeddings[i], again[i]);
    }

    [TestMethod]
    public void AnInterruptedRunResumesToTheUninterruptedRunsWeights()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"electra-resume-{Guid.NewGuid():N}");
        try
        {
            var ml = new MLContext(seed: 1);
            var uninterrupted = Fit(ml, Options(EncoderObjective.ReplacedTokenDetection));
            using var stop = new CancellationTokenSource();
            var first = Options(EncoderObjective.ReplacedTokenDetection, checkpoints: directory);
            (first.Cancellation, first.LogEvery) = (stop.Token, 1);
            first.Progress = new SyncProgress(p => { if (p.Step == 7) stop.Cancel(); });
            Assert.AreEqual(StopReason.Cancelled, Fit(ml, first).Training!.Reason);
            var resumed = Fit(ml, Options(EncoderObjective.ReplacedTokenDetection, checkpoints: directory));
            Assert.AreEqual(12, resumed.Training!.Steps);
            var expected = uninterrupted.Model.state_dict();
            foreach (var (name, tensor) in resumed.Model.state_dict())
                Assert.IsTrue(tensor.equal(expected[name]).all().item<bool>(), $"{name} differs from the uninterrupted run's");
            // A masked-LM run does not pick up the replaced-token detection run's checkpoint (nor the other way round).
            var error = Assert.Throws<InvalidDataException>(() => Fit(ml, Options(EncoderObjective.MaskedLanguageModel, steps: 16, checkpoints: directory)));
            Assert.Contains("different model", error.Message);
        }
        finally { if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true); }
    }

    [TestMethod]
    public void WhatItCannotTrainIsRefusedByName()
    {
        var ml = new MLContext(seed: 1);
        var cases = new (Action<MaskedLanguageModelOptions> Set, string Expected)[]
        {
            (o => o.GeneratorLayers = -1, nameof(MaskedLanguageModelOptions.GeneratorLayers)),
            (o => o.DiscriminatorWeight = 0, nameof(MaskedLanguageModelOptions.DiscriminatorWeight)),
            (o => o.SentencePairs = SentencePairObjective.SentenceOrder, "SentencePairs"),
            (o => o.ContrastiveWeight = 1, "ContrastiveWeight"),
        };
        foreach (var (set, expected) in cases)
        {
            var options = Options(EncoderObjective.ReplacedTokenDetection);
            set(options);
            var error = Assert.Throws<ArgumentException>(() => Fit(ml, options), expected);
            Assert.Contains(expected, error.Message + error.ParamName);
        }
    }

}

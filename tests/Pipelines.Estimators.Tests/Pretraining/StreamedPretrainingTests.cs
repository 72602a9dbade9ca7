using Pipelines.Tests;
using System.Collections;
using Microsoft.ML;
using Pipelines.Models.Checkpoints;
using Pipelines.Models.Training;

namespace Pipelines.Estimators.Tests.Pretraining;

/// <summary>
/// Pretraining that reads its corpus through a cursor and a shuffle buffer (Reading = Streamed): memory
/// does not follow the corpus, validation rows are held out by a seeded hash, and an interrupted run
/// resumes to the uninterrupted run's weights.
/// </summary>
[TestClass]
public sealed class StreamedPretrainingTests
{
    private static readonly List<SyntheticMail.Mail> Mails = SyntheticMail.Make(600, seed: 21);
    private static readonly TextTokenizer Tokenizer = SyntheticMail.Tokenizer(Mails);

    // The mails as a sequence that counts the rows the pipeline pulls out of it.
    private sealed class CountedMails(List<SyntheticMail.Mail> mails) : IEnumerable<SyntheticMail.Mail>
    {
        public long Read;

        public IEnumerator<SyntheticMail.Mail> GetEnumerator()
        {
            foreach (var mail in mails)
            {
                Interlocked.Increment(ref Read);
                yield return mail;
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private static MaskedLanguageModelOptions Options(int steps, string? checkpoints = null) => new()
    {
        Tokenizer = Tokenizer, Layers = 1, Hidden = 16, Heads = 2, MaxLength = 24, BatchSize = 8, MaxSteps = steps, WarmupSteps = 2,
        EvaluateEvery = 5, Reading = CorpusReading.Streamed, ShuffleBufferSize = 32, MaxStreamedValidationRows = 20,
        Device = "cpu", Seed = 3, CheckpointDirectory = checkpoints, CheckpointEvery = checkpoints is null ? 0 : 4, Resume = checkpoints is not null,
    };

    private static MaskedLanguageModelTransformer Fit(MLContext ml, IDataView data, MaskedLanguageModelOptions options) =>
        (MaskedLanguageModelTransformer)((IEnumerable<ITransformer>)ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 24)
            .Append(ml.Pretraining.MaskedLanguageModel(options)).Fit(data)).Last();

    [TestMethod]
    public void AStreamedRunReadsOnlyWhatItTrainsOnAndSaysSo()
    {
        var ml = new MLContext(seed: 1);
        var logged = new List<string>();
        ml.Log += (_, e) => { lock (logged) logged.Add(e.Message); };
        var mails = new CountedMails(Enumerable.Repeat(Mails, 40).SelectMany(m => m).ToList());
        var lm = Fit(ml, ml.Data.LoadFromEnumerable(mails), Options(steps: 6));
        Assert.IsTrue(logged.Any(m => m.Contains("Reading the corpus streamed through a shuffle buffer of 32")), "the log says how the corpus is read");
        Assert.IsTrue(logged.Any(m => m.Contains("20 validation sequences held out")), string.Join("\n", logged.Where(m => m.Contains("validation"))));
        // The validation prefix (about 20 / 0.1 rows), the buffer, 6 x 8 drawn rows and what ML.NET's parallel
        // cursors read ahead: far from the 24,000 rows.
        Assert.IsLessThan(5_000L, mails.Read, $"rows read: {mails.Read}");
        Assert.AreEqual(6, lm.Training!.Steps);
        Assert.IsNotNull(lm.Training.Best, "validated on the held-out rows");
    }

    [TestMethod]
    public void AStreamedRunStoppedAndResumedEndsWithTheUninterruptedRunsWeights()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"streamed-resume-{Guid.NewGuid():N}");
        try
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(Mails);
            var uninterrupted = Fit(ml, data, Options(steps: 16));

            using var stop = new CancellationTokenSource();
            var first = Options(steps: 16, directory);
            first.Cancellation = stop.Token;
            first.LogEvery = 1;
            first.Progress = new SyncProgress(p => { if (p.Step == 9) stop.Cancel(); });
            Assert.AreEqual(StopReason.Cancelled, Fit(ml, data, first).Training!.Reason);
            var resumed = Fit(ml, data, Options(steps: 16, directory));

            Assert.AreEqual(16, resumed.Training!.Steps);
            var expected = uninterrupted.Model.state_dict();
            var compared = 0;
            foreach (var (name, tensor) in resumed.Model.state_dict())
            {
                Assert.IsTrue(tensor.equal(expected[name]).all().item<bool>(), $"{name} differs from the uninterrupted run's");
                compared++;
            }
            Assert.IsGreaterThan(10, compared);
        }
        finally { if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true); }
    }

    [TestMethod]
    public void AutoReadsASmallCorpusIntoMemoryAndALargeOneAsAStream()
    {
        foreach (var (limit, expected) in new[] { (1L << 30, "in memory: 600 rows x 24 tokens fit"), (10_000L, "streamed through a shuffle buffer of 32: 600 rows x 24 tokens may pass") })
        {
            var ml = new MLContext(seed: 1);
            var logged = new List<string>();
            ml.Log += (_, e) => { lock (logged) logged.Add(e.Message); };
            var options = Options(steps: 2);
            (options.Reading, options.InMemoryLimitBytes) = (CorpusReading.Auto, limit);
            Fit(ml, ml.Data.LoadFromEnumerable(Mails), options);
            Assert.IsTrue(logged.Any(m => m.Contains(expected)), $"limit {limit}: " + string.Join(" | ", logged.Where(m => m.Contains("Reading the corpus"))));
        }
    }

    [TestMethod]
    public void ACausalModelTrainsOnStreamedWindows()
    {
        var ml = new MLContext(seed: 1);
        var logged = new List<string>();
        ml.Log += (_, e) => { lock (logged) logged.Add(e.Message); };
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Tokenizer, maxLength: 64)
            .Append(ml.Pretraining.CausalLanguageModel(new CausalLanguageModelOptions
            {
                Tokenizer = Tokenizer, Layers = 1, Hidden = 16, Heads = 2, BlockSize = 16, BatchSize = 4, MaxSteps = 12, WarmupSteps = 2,
                EvaluateEvery = 6, ValidationBatches = 2, Reading = CorpusReading.Streamed, ShuffleBufferSize = 16, Device = "cpu", Seed = 3,
                LearningRate = 3e-3,
            }))
            .Fit(ml.Data.LoadFromEnumerable(Mails));
        var lm = (CausalLanguageModelTransformer)((IEnumerable<ITransformer>)model).Last();
        Assert.IsTrue(logged.Any(m => m.Contains("Reading the corpus streamed")));
        var validations = lm.Training!.Validations;
        Assert.AreEqual(12, validations[^1].Step);
        Assert.IsLessThan(validations[0].Loss - 0.05, validations[^1].Loss, "it learns from the streamed windows");
    }

}
